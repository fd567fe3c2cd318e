"""Walking the delivery history page by page: `iter_delivery_pages()` and `iter_deliveries()`.

The history is newest first, so while a walk runs new deliveries arrive at the head and push
older ones onto later pages. A walk keeps a `Watermark` (the oldest `created_at` yielded, and the
ids yielded at that timestamp) and yields only what lies behind it: each delivery that existed
when the walk began, once, in order, in constant memory, however many pages arrive meanwhile.

The sync facade's iterators (`DeliveryPageIterator`, `DeliveryIterator`) are plain iterators over
the async page iterator: one trip to the client's loop per page, so the paging and stop rules
are the same code.

Both async iterators are plain async iterators rather than async generators: they hold no
connection and start no task, so breaking out of an `async for` leaves nothing to clean up (an
abandoned async generator would have the event loop schedule an `aclose()` task for it).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

import attrs

from .errors import PancakeError
from .models import DeliveryPage, WebhookDelivery

__all__ = [
    "AsyncDeliveryIterator",
    "AsyncDeliveryPageIterator",
    "DeliveryIterator",
    "DeliveryPageIterator",
    "FetchPage",
    "RunOnLoop",
    "Watermark",
]

FetchPage = Callable[[dict[str, Any]], Awaitable[DeliveryPage]]
"""Fetches one page given the query parameters (filters, `page_size` and `page_number`)."""


class Watermark:
    """Where a walk has got to: the oldest `created_at` yielded so far, and the ids yielded at
    that very timestamp.

    The history is newest first, so everything the walk still has to yield is older than the
    watermark, or shares its timestamp without being among the ids seen there. Anything newer
    arrived after the walk began (or was yielded already) and is left out. Memory stays
    constant: only the ids sharing one timestamp are kept, whatever the length of the history,
    and the order a server gives equal timestamps does not matter.
    """

    __slots__ = ("created_at", "ids")

    def __init__(self) -> None:
        self.created_at: datetime.datetime | None = None
        self.ids: set[str] = set()

    def is_behind(self, delivery: WebhookDelivery) -> bool:
        """Whether `delivery` is still to be yielded (older than the watermark, or at its
        timestamp and not yet seen)."""
        if self.created_at is None:
            return True
        if delivery.created_at == self.created_at:
            return delivery.id not in self.ids
        return delivery.created_at < self.created_at

    def advance(self, delivery: WebhookDelivery) -> None:
        """Move the watermark to `delivery`, which is being yielded."""
        if self.created_at is None or delivery.created_at < self.created_at:
            self.created_at = delivery.created_at
            self.ids = {delivery.id}
        else:
            self.ids.add(delivery.id)


class AsyncDeliveryPageIterator(AsyncIterator[DeliveryPage]):
    """An async iterator of `DeliveryPage`, fetching page 1, 2, ... one at a time, on demand.

    A walk is a snapshot of the history as it stood when the walk began: every delivery that
    existed then is yielded once, in order, and none that arrived later, however many arrive
    while it runs (they push older deliveries onto later pages). A page's `data` leaves out
    deliveries already yielded or newer than the walk; a page left with nothing to yield is
    skipped, and the walk goes on to the next one.

    It stops after the last page: the page numbered `total_pages`, or, when the server leaves
    the totals out, an empty page or one shorter than its `page_size`.

    When a page holds nothing to yield (everything on it arrived after the walk began), the walk
    does not just move on one page: deliveries may be arriving faster than it reads, and it would
    never reach the end. It jumps to where the rest of the snapshot now begins, estimated from
    the page's `total` (the new deliveries are at the head), and takes the jump back, halving it,
    when the page it lands on shows that it went too far. An error while fetching
    a page is raised from `__anext__` (the pages before it were already yielded); iterating
    again retries that page.

    Example:

        async for page in client.webhooks.iter_delivery_pages(status="failed"):
            print(page.page_number, len(page.data))
    """

    __slots__ = (
        "_done",
        "_fetch",
        "_first_total",
        "_last_ids",
        "_last_total",
        "_next_page_number",
        "_params",
        "_sure_page_number",
        "_watermark",
        "_yielded",
    )

    def __init__(self, fetch: FetchPage, params: dict[str, Any]) -> None:
        self._fetch = fetch
        self._params = params
        self._next_page_number = 1
        # The page after the last one read: it cannot lie past an unread delivery of the
        # snapshot (new deliveries arrive at the head and push the rest onto later pages).
        self._sure_page_number = 1
        self._watermark = Watermark()
        self._last_ids: tuple[str, str] | None = None
        self._done = False
        self._first_total: int | None = None  # the history's size when the walk began
        self._last_total: int | None = None  # its size at the page read last
        self._yielded = 0

    def __aiter__(self) -> AsyncDeliveryPageIterator:
        return self

    async def __anext__(self) -> DeliveryPage:
        while not self._done:
            page_number = self._next_page_number
            page = await self._fetch({**self._params, "page_number": page_number})
            if page_number > self._sure_page_number and not self._landed_well(page):
                # Jumped too far: halve the jump (down to the page after the last one read).
                sure = self._sure_page_number
                self._next_page_number = sure + (page_number - sure) // 2
                continue
            if self._first_total is None:
                self._first_total = page.total
            self._next_page_number = self._sure_page_number = page_number + 1
            fresh = self._fresh(page.data)
            self._yielded += len(fresh)
            self._done = self._is_last(page, page_number, stalled=not fresh)
            if not fresh and not self._done:
                self._next_page_number = max(self._next_page_number, self._catch_up(page))
            self._last_total = page.total
            if page.data:
                self._last_ids = (page.data[0].id, page.data[-1].id)
            if len(fresh) == len(page.data):
                if fresh or page_number == 1:
                    return page
            elif fresh:
                return attrs.evolve(page, data=fresh)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """End the walk: later iterations stop at once. Nothing else needs releasing."""
        self._done = True

    def _fresh(self, deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
        """The deliveries of a page still to be yielded, in order; the watermark moves past
        them."""
        fresh: list[WebhookDelivery] = []
        for delivery in deliveries:
            if self._watermark.is_behind(delivery):
                self._watermark.advance(delivery)
                fresh.append(delivery)
        return fresh

    def _catch_up(self, page: DeliveryPage) -> int:
        """The page holding the newest delivery in front of the rest of the snapshot, by the
        next fetch: the deliveries that arrived since the walk began are at the head (as many
        again as arrived since the page before are expected by then), and those yielded follow
        them."""
        if page.total is None or self._first_total is None or page.page_size < 1:
            return self._next_page_number
        arriving = 0 if self._last_total is None else max(page.total - self._last_total, 0)
        ahead = max(page.total - self._first_total, 0) + arriving + self._yielded
        return max(ahead - 1, 0) // page.page_size + 1

    def _landed_well(self, page: DeliveryPage) -> bool:
        """Whether a page reached by a jump starts before the rest of the snapshot: its first
        delivery arrived after the walk began (strictly newer than the watermark), so nothing
        unread lies on the pages jumped over."""
        watermark = self._watermark.created_at
        if not page.data or watermark is None:
            return not page.data and watermark is None
        return page.data[0].created_at > watermark

    def _is_last(self, page: DeliveryPage, page_number: int, *, stalled: bool) -> bool:
        if not page.data:
            return True
        if page.page_number != page_number:
            return True  # the server ignores page_number: it would send the same page forever
        if page.total_pages is not None:
            return page_number >= page.total_pages
        if len(page.data) < page.page_size:
            return True
        # Without totals, a page with nothing new that repeats the page before it means a
        # server that ignores page_number while echoing it.
        return stalled and self._last_ids == (page.data[0].id, page.data[-1].id)


class AsyncDeliveryIterator(AsyncIterator[WebhookDelivery]):
    """An async iterator of `WebhookDelivery` over an `AsyncDeliveryPageIterator`.

    Holds one page at a time and fetches the next only when the current one is used up.

    Example:

        async for delivery in client.webhooks.iter_deliveries(webhook_id="wh_1"):
            if delivery.status == DeliveryStatus.FAILED:
                print(delivery.id, delivery.failure_reason)
    """

    __slots__ = ("_deliveries", "_pages")

    def __init__(self, pages: AsyncDeliveryPageIterator) -> None:
        self._pages = pages
        self._deliveries: Iterator[WebhookDelivery] = iter(())

    def __aiter__(self) -> AsyncDeliveryIterator:
        return self

    async def __anext__(self) -> WebhookDelivery:
        while True:
            delivery = next(self._deliveries, None)
            if delivery is not None:
                return delivery
            page = await self._pages.__anext__()
            self._deliveries = iter(page.data)

    async def aclose(self) -> None:
        """End the walk and drop the page held; later iterations stop at once."""
        self._deliveries = iter(())
        await self._pages.aclose()


T = TypeVar("T")


class RunOnLoop(Protocol):
    """Runs an async function on the client's loop thread and returns its result."""

    def __call__(self, function: Callable[[], Awaitable[T]], /) -> T: ...


class DeliveryPageIterator(Iterator[DeliveryPage]):
    """An iterator of `DeliveryPage`: the sync twin of `AsyncDeliveryPageIterator`.

    Each `next()` runs one `__anext__` of the async page iterator on the client's loop thread,
    so fetching, dedupe and the stop rules are the async core's. An error while fetching a page
    is raised from `next()`; iterating again retries that page. It holds no connection: dropping
    it part way leaves nothing behind.

    Example:

        for page in client.webhooks.iter_delivery_pages(status="failed"):
            print(page.page_number, len(page.data))
    """

    __slots__ = ("_pages", "_run")

    def __init__(self, run: RunOnLoop, pages: AsyncDeliveryPageIterator) -> None:
        self._run = run
        self._pages = pages

    def __iter__(self) -> DeliveryPageIterator:
        return self

    def __next__(self) -> DeliveryPage:
        try:
            return self._run(self._pages.__anext__)
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """End the walk: later iterations stop at once. Fine after the client is closed."""
        # PancakeError: the client is closed, so the walk cannot go on anyway.
        with contextlib.suppress(PancakeError):
            self._run(self._pages.aclose)


class DeliveryIterator(Iterator[WebhookDelivery]):
    """An iterator of `WebhookDelivery` over a `DeliveryPageIterator`: the sync twin of
    `AsyncDeliveryIterator`.

    Holds one page at a time and fetches the next only when the current one is used up.

    Example:

        for delivery in client.webhooks.iter_deliveries(webhook_id="wh_1"):
            print(delivery.id, delivery.status)
    """

    __slots__ = ("_deliveries", "_pages")

    def __init__(self, pages: DeliveryPageIterator) -> None:
        self._pages = pages
        self._deliveries: Iterator[WebhookDelivery] = iter(())

    def __iter__(self) -> DeliveryIterator:
        return self

    def __next__(self) -> WebhookDelivery:
        while True:
            delivery = next(self._deliveries, None)
            if delivery is not None:
                return delivery
            self._deliveries = iter(next(self._pages).data)

    def close(self) -> None:
        """End the walk and drop the page held; later iterations stop at once."""
        self._deliveries = iter(())
        self._pages.close()
