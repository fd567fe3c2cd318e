"""Walking the delivery history page by page: `iter_delivery_pages()` and `iter_deliveries()`.

The sync facade's iterators (`DeliveryPageIterator`, `DeliveryIterator`) are plain iterators over
the async page iterator: one trip to the client's loop per page, so paging, dedupe and the stop
rules are the same code.

The history is newest first, so while a walk runs, new deliveries arrive at the head and push
older ones down: the last deliveries of page *n* show up again at the top of page *n + 1*. The
walk therefore remembers the ids of the last two pages it fetched (at most 200 ids, whatever the
length of the history) and leaves out any delivery it has already yielded. That covers up to two
pages' worth of new deliveries between two fetches.

Both iterators are plain async iterators rather than async generators: they hold no connection
and start no task, so breaking out of an `async for` leaves nothing to clean up (an abandoned
async generator would have the event loop schedule an `aclose()` task for it).

Example:

    pages = AsyncDeliveryPageIterator(fetch_page, {"status": "failed", "page_size": 100})
    async for delivery in AsyncDeliveryIterator(pages):
        print(delivery.id)
"""

from __future__ import annotations

import contextlib
from collections import deque
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
]

FetchPage = Callable[[dict[str, Any]], Awaitable[DeliveryPage]]
"""Fetches one page given the query parameters (filters, `page_size` and `page_number`)."""

_REMEMBERED_PAGES = 2


class AsyncDeliveryPageIterator(AsyncIterator[DeliveryPage]):
    """An async iterator of `DeliveryPage`, fetching page 1, 2, ... one at a time, on demand.

    It stops after the last page: the page numbered `total_pages`, or, when the server leaves
    the totals out, an empty page or one shorter than its `page_size`. A page's `data` leaves out
    deliveries already yielded; a later page left with nothing new is skipped. An error while
    fetching a page is raised from `__anext__` (the pages before it were already yielded);
    iterating again retries that page.

    Example:

        async for page in client.webhooks.iter_delivery_pages(status="failed"):
            print(page.page_number, len(page.data))
    """

    __slots__ = ("_done", "_fetch", "_next_page_number", "_params", "_seen")

    def __init__(self, fetch: FetchPage, params: dict[str, Any]) -> None:
        self._fetch = fetch
        self._params = params
        self._next_page_number = 1
        self._seen: deque[frozenset[str]] = deque(maxlen=_REMEMBERED_PAGES)
        self._done = False

    def __aiter__(self) -> AsyncDeliveryPageIterator:
        return self

    async def __anext__(self) -> DeliveryPage:
        while not self._done:
            page_number = self._next_page_number
            page = await self._fetch({**self._params, "page_number": page_number})
            self._next_page_number += 1
            ids = frozenset(delivery.id for delivery in page.data)
            fresh = self._fresh(page.data)
            self._done = self._is_last(page, page_number, repeated=bool(self._seen) and not fresh)
            self._seen.append(ids)
            if len(fresh) == len(page.data):
                if fresh or page_number == 1:
                    return page
            elif fresh:
                return attrs.evolve(page, data=fresh)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """End the walk: later iterations stop at once. Nothing else needs releasing."""
        self._done = True

    def _already_seen(self, delivery_id: str) -> bool:
        return any(delivery_id in ids for ids in self._seen)

    def _fresh(self, deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
        """The deliveries not yielded yet, in order: neither on a remembered page nor earlier on
        this one (a server may list the same delivery twice on one page)."""
        fresh: list[WebhookDelivery] = []
        taken: set[str] = set()
        for delivery in deliveries:
            if delivery.id not in taken and not self._already_seen(delivery.id):
                taken.add(delivery.id)
                fresh.append(delivery)
        return fresh

    @staticmethod
    def _is_last(page: DeliveryPage, page_number: int, *, repeated: bool) -> bool:
        if not page.data:
            return True
        if page.total_pages is not None:
            return page_number >= page.total_pages
        # Without totals, a server that ignores page_number would send page 1 forever.
        return repeated or len(page.data) < page.page_size


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
