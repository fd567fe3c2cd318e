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
    the totals out, an empty page or one shorter than its `page_size`. An error while fetching
    a page is raised from `__anext__` (the pages before it were already yielded); iterating
    again retries that page.

    Example:

        async for page in client.webhooks.iter_delivery_pages(status="failed"):
            print(page.page_number, len(page.data))
    """

    __slots__ = ("_done", "_fetch", "_last_ids", "_next_page_number", "_params", "_watermark")

    def __init__(self, fetch: FetchPage, params: dict[str, Any]) -> None:
        self._fetch = fetch
        self._params = params
        self._next_page_number = 1
        self._watermark = Watermark()
        self._last_ids: tuple[str, str] | None = None
        self._done = False

    def __aiter__(self) -> AsyncDeliveryPageIterator:
        return self

    async def __anext__(self) -> DeliveryPage:
        while not self._done:
            page_number = self._next_page_number
            page = await self._fetch({**self._params, "page_number": page_number})
            self._next_page_number += 1
            fresh = self._fresh(page.data)
            self._done = self._is_last(page, page_number, stalled=not fresh)
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
