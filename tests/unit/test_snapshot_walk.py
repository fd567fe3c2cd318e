"""A walk is a snapshot of the history as it stood when it began, however fast the history grows.

The fake service orders deliveries newest first, ties on `created_at` by id, descending, and many
deliveries share a timestamp. Between two fetches whole pages of new deliveries arrive at the
head (a receiver was down and retries pile up), more than once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx
from conftest import API_KEY, BASE_URL, SHOP_ID

from pancake_pos import PancakeClient
from pancake_pos._client import AsyncPancakeClient

if TYPE_CHECKING:
    from conftest import Payloads

START = datetime.datetime(2024, 4, 29, 10, 0, tzinfo=datetime.UTC)
PAGE_SIZE = 10


class GrowingHistory:
    """Deliveries as `(created_at, id)`, served newest first with ties by id descending."""

    def __init__(self, payloads: Payloads, count: int, *, per_second: int = 3) -> None:
        self.payloads = payloads
        self.per_second = per_second
        self.rows: list[tuple[datetime.datetime, str]] = []
        self._next = 0
        self.add(count)
        self.snapshot = [delivery_id for _, delivery_id in self.ordered()]
        self.arrivals: list[int] = []  # new deliveries to add after each fetch, in turn
        self.requests = 0

    def add(self, count: int) -> None:
        for _ in range(count):
            second = self._next // self.per_second
            self.rows.append((START + datetime.timedelta(seconds=second), f"dlv_{self._next:05d}"))
            self._next += 1

    def ordered(self) -> list[tuple[datetime.datetime, str]]:
        return sorted(self.rows, reverse=True)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        page_size = int(request.url.params["page_size"])
        page_number = int(request.url.params["page_number"])
        rows = self.ordered()
        chosen = rows[(page_number - 1) * page_size : page_number * page_size]
        body = self.payloads.page(
            [
                self.payloads.delivery(delivery_id, created_at=created.isoformat())
                for created, delivery_id in chosen
            ],
            page_number=page_number,
            page_size=page_size,
            total=len(rows),
        )
        if self.arrivals:
            self.add(self.arrivals.pop(0))
        return httpx.Response(200, json=body)


@pytest.fixture
def growing(payloads: Payloads) -> Iterator[GrowingHistory]:
    history = GrowingHistory(payloads, 95)
    # Three full pages arrive after the first fetch, again after the second and the fourth,
    # and a few at other times.
    history.arrivals = [3 * PAGE_SIZE, 3 * PAGE_SIZE, 2, 3 * PAGE_SIZE, 7, 0, 3 * PAGE_SIZE + 1]
    with respx.mock(base_url=f"{BASE_URL}/shops/{SHOP_ID}") as router:
        router.get("/webhook-deliveries").mock(side_effect=history)
        yield history


async def test_the_async_walk_yields_the_snapshot_once_each_in_order(
    client: AsyncPancakeClient, growing: GrowingHistory
) -> None:
    ids = [d.id async for d in client.webhooks.iter_deliveries(page_size=PAGE_SIZE)]

    assert ids == growing.snapshot
    assert len(growing.rows) > 2 * len(growing.snapshot)  # the history more than doubled


async def test_the_async_page_walk_yields_the_snapshot_once_each_in_order(
    client: AsyncPancakeClient, growing: GrowingHistory
) -> None:
    pages = [p async for p in client.webhooks.iter_delivery_pages(page_size=PAGE_SIZE)]

    assert [d.id for page in pages for d in page.data] == growing.snapshot
    assert all(page.data for page in pages)


def test_the_sync_walks_yield_the_snapshot_once_each_in_order(growing: GrowingHistory) -> None:
    with PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL, max_retries=0) as client:
        ids = [d.id for d in client.webhooks.iter_deliveries(page_size=PAGE_SIZE)]
        first_snapshot = growing.snapshot
        growing.arrivals = [3 * PAGE_SIZE, 3 * PAGE_SIZE, 3 * PAGE_SIZE]
        growing.snapshot = [delivery_id for _, delivery_id in growing.ordered()]
        pages = list(client.webhooks.iter_delivery_pages(page_size=PAGE_SIZE))

    assert ids == first_snapshot
    assert [d.id for page in pages for d in page.data] == growing.snapshot


async def test_equal_timestamps_in_any_order_are_each_yielded_once(
    client: AsyncPancakeClient, payloads: Payloads
) -> None:
    # All deliveries share one second, and the server's order among them changes between
    # fetches (ties in no particular order): the ids seen at the watermark's timestamp decide.
    ids = [f"dlv_{n:02d}" for n in range(25)]
    orders = iter([ids, list(reversed(ids)), ids[5:] + ids[:5]])

    def serve(request: httpx.Request) -> httpx.Response:
        page_number = int(request.url.params["page_number"])
        order = next(orders)
        chosen = order[(page_number - 1) * PAGE_SIZE : page_number * PAGE_SIZE]
        body: dict[str, Any] = payloads.page(
            [payloads.delivery(i) for i in chosen],
            page_number=page_number,
            page_size=PAGE_SIZE,
            total=len(ids),
        )
        return httpx.Response(200, json=body)

    with respx.mock(base_url=f"{BASE_URL}/shops/{SHOP_ID}") as router:
        router.get("/webhook-deliveries").mock(side_effect=serve)
        walked = [d.id async for d in client.webhooks.iter_deliveries(page_size=PAGE_SIZE)]

    assert len(walked) == len(set(walked))
    assert walked[:10] == ids[:10]


async def test_a_page_of_only_newer_deliveries_does_not_end_the_walk(
    client: AsyncPancakeClient, payloads: Payloads
) -> None:
    history = GrowingHistory(payloads, 25)
    history.arrivals = [PAGE_SIZE]  # page 2 then holds exactly what page 1 held
    with respx.mock(base_url=f"{BASE_URL}/shops/{SHOP_ID}") as router:
        router.get("/webhook-deliveries").mock(side_effect=history)
        walked = [d.id async for d in client.webhooks.iter_deliveries(page_size=PAGE_SIZE)]

    assert walked == history.snapshot


@pytest.mark.parametrize("arrivals", [[13], [27], [55], [10, 13, 20, 7, 31]])
async def test_a_walk_catches_up_with_a_history_growing_faster_than_it_reads(
    client: AsyncPancakeClient, payloads: Payloads, arrivals: list[int]
) -> None:
    # More than a page of new deliveries arrives after every fetch, for as long as the walk
    # reads: a walk that moved on one page per fetch would never reach the snapshot's end.
    history = GrowingHistory(payloads, 95)
    history.arrivals = arrivals * (300 // len(arrivals))
    with respx.mock(base_url=f"{BASE_URL}/shops/{SHOP_ID}") as router:
        router.get("/webhook-deliveries").mock(side_effect=history)
        walked = [d.id async for d in client.webhooks.iter_deliveries(page_size=PAGE_SIZE)]

    assert walked == history.snapshot
    assert history.arrivals  # it ended while the history was still growing


async def test_a_jump_that_went_too_far_is_taken_back(
    client: AsyncPancakeClient, payloads: Payloads
) -> None:
    # After the first fetch, a page of new deliveries arrives at the head, and many more land
    # in the middle of the history (older than what the walk has read): the total grows by far
    # more than what stands in front of the rest of the snapshot, so the walk's jump overshoots.
    history = GrowingHistory(payloads, 95, per_second=1)
    history.arrivals = [PAGE_SIZE]
    middle = history.ordered()[30][0]
    asked: list[int] = []

    def serve(request: httpx.Request) -> httpx.Response:
        asked.append(int(request.url.params["page_number"]))
        response = history(request)
        if len(asked) == 1:
            history.rows += [(middle, f"dlv_mid_{n:03d}") for n in range(6 * PAGE_SIZE)]
        return response

    with respx.mock(base_url=f"{BASE_URL}/shops/{SHOP_ID}") as router:
        router.get("/webhook-deliveries").mock(side_effect=serve)
        walked = [d.id async for d in client.webhooks.iter_deliveries(page_size=PAGE_SIZE)]

    assert [i for i in walked if not i.startswith("dlv_mid_")] == history.snapshot
    assert len(walked) == len(set(walked))
    assert asked != sorted(asked)  # it went back after jumping too far
