"""Walking the delivery history: laziness, stopping, no duplicates, early exit, errors, memory."""

from __future__ import annotations

import asyncio
import datetime
import gc
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import BadRequestError, InternalServerError
from pancake_pos.models import DeliveryPage

if TYPE_CHECKING:
    from conftest import Payloads


def created_at(delivery_id: str) -> str:
    """A timestamp that grows with the delivery's number, as the service's would."""
    moment = START + datetime.timedelta(seconds=int(delivery_id.removeprefix("dlv_")))
    return moment.isoformat()


START = datetime.datetime(2024, 4, 1, tzinfo=datetime.UTC)


class History:
    """A delivery history served newest first, page by page, like the API does."""

    def __init__(self, payloads: Payloads, count: int, *, with_totals: bool = True) -> None:
        self.payloads = payloads
        self.ids = [f"dlv_{number:06d}" for number in range(count, 0, -1)]
        self.with_totals = with_totals
        self.requested_pages: list[int] = []
        self.after_each_page: Callable[[], None] = lambda: None
        self._next_number = count + 1

    def add_at_head(self, count: int) -> None:
        new = [
            f"dlv_{number:06d}" for number in range(self._next_number, self._next_number + count)
        ]
        self._next_number += count
        self.ids[:0] = reversed(new)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page_size = int(request.url.params["page_size"])
        page_number = int(request.url.params["page_number"])
        self.requested_pages.append(page_number)
        start = (page_number - 1) * page_size
        chosen = self.ids[start : start + page_size]
        body = self.payloads.page(
            [
                self.payloads.delivery(delivery_id, created_at=created_at(delivery_id))
                for delivery_id in chosen
            ],
            page_number=page_number,
            page_size=page_size,
            total=len(self.ids) if self.with_totals else None,
        )
        self.after_each_page()
        return httpx.Response(200, json=body)


@pytest.fixture
def history(api: respx.MockRouter, payloads: Payloads) -> History:
    served = History(payloads, 1050)
    api.get("/webhook-deliveries").mock(side_effect=served)
    return served


async def test_walks_1050_deliveries_in_11_pages(
    client: AsyncPancakeClient, history: History
) -> None:
    ids = [delivery.id async for delivery in client.webhooks.iter_deliveries(page_size=100)]

    assert ids == history.ids
    assert history.requested_pages == list(range(1, 12))


async def test_stops_on_a_short_page_when_totals_are_left_out(
    client: AsyncPancakeClient, history: History
) -> None:
    history.with_totals = False

    ids = [delivery.id async for delivery in client.webhooks.iter_deliveries()]

    assert len(ids) == 1050
    assert history.requested_pages == list(range(1, 12))


async def test_stops_on_an_empty_page_when_totals_are_left_out(
    client: AsyncPancakeClient, history: History
) -> None:
    history.with_totals = False
    del history.ids[1000:]

    ids = [delivery.id async for delivery in client.webhooks.iter_deliveries()]

    assert len(ids) == 1000
    assert history.requested_pages == list(range(1, 12))


async def test_an_empty_history(client: AsyncPancakeClient, history: History) -> None:
    history.ids.clear()

    pages = [page async for page in client.webhooks.iter_delivery_pages()]
    deliveries = [delivery async for delivery in client.webhooks.iter_deliveries()]

    assert [page.data for page in pages] == [[]]
    assert pages[0].total == 0
    assert deliveries == []


async def test_filters_go_with_every_page(
    client: AsyncPancakeClient, api: respx.MockRouter, history: History
) -> None:
    route = api.routes[0]

    async for _ in client.webhooks.iter_deliveries(
        webhook_id="wh_1", status="failed", event="order.created", from_date="2024-04-01"
    ):
        pass

    for call in route.calls:
        params = call.request.url.params
        assert params["webhook_id"] == "wh_1"
        assert params["status"] == "failed"
        assert params["event"] == "order.created"
        assert params["from_date"] == "2024-04-01"
        assert params["page_size"] == "100"


@pytest.mark.parametrize("new_per_page", [1, 30, 60])
async def test_new_deliveries_at_the_head_are_never_yielded_twice(
    client: AsyncPancakeClient, history: History, new_per_page: int
) -> None:
    original = list(history.ids)
    history.after_each_page = lambda: history.add_at_head(new_per_page)

    ids = [delivery.id async for delivery in client.webhooks.iter_deliveries(page_size=100)]

    assert len(ids) == len(set(ids))
    assert set(original) <= set(ids)
    assert [i for i in ids if i in set(original)] == original


async def test_pages_leave_out_deliveries_already_yielded(
    client: AsyncPancakeClient, history: History
) -> None:
    history.after_each_page = lambda: history.add_at_head(10)

    pages = [page async for page in client.webhooks.iter_delivery_pages(page_size=100)]

    assert all(isinstance(page, DeliveryPage) for page in pages)
    assert len(pages[0].data) == 100
    assert len(pages[1].data) == 90
    ids = [delivery.id for page in pages for delivery in page.data]
    assert len(ids) == len(set(ids)) == 1050


async def test_nothing_is_fetched_before_iteration_and_pages_are_lazy(
    client: AsyncPancakeClient, history: History
) -> None:
    walk = client.webhooks.iter_deliveries(page_size=100)
    assert history.requested_pages == []

    for _ in range(100):
        await walk.__anext__()
    assert history.requested_pages == [1]

    await walk.__anext__()
    assert history.requested_pages == [1, 2]


async def test_breaking_out_fetches_one_page_and_leaves_nothing_behind(
    client: AsyncPancakeClient, history: History
) -> None:
    tasks_before = asyncio.all_tasks()
    seen = []

    async for delivery in client.webhooks.iter_deliveries(page_size=100):
        seen.append(delivery.id)
        if len(seen) == 5:
            break
    gc.collect()

    assert seen == history.ids[:5]
    assert history.requested_pages == [1]
    assert asyncio.all_tasks() == tasks_before


async def test_aclose_ends_the_walk(client: AsyncPancakeClient, history: History) -> None:
    walk = client.webhooks.iter_deliveries(page_size=10)
    first = await walk.__anext__()

    await walk.aclose()

    assert first.id == history.ids[0]
    with pytest.raises(StopAsyncIteration):
        await walk.__anext__()
    assert history.requested_pages == [1]


async def test_an_error_on_a_later_page_comes_after_the_earlier_deliveries(
    client: AsyncPancakeClient, history: History, api: respx.MockRouter
) -> None:
    ok = history

    def third_page_fails(request: httpx.Request) -> httpx.Response:
        if request.url.params["page_number"] == "3":
            return httpx.Response(400, json={"success": False, "error": {"code": "x"}})
        return ok(request)

    api.routes[0].side_effect = third_page_fails
    walk = client.webhooks.iter_deliveries(page_size=100)

    received = [(await walk.__anext__()).id for _ in range(200)]
    with pytest.raises(BadRequestError):
        await walk.__anext__()

    assert received == history.ids[:200]


async def test_a_failed_page_is_fetched_again_on_the_next_iteration(
    client: AsyncPancakeClient, history: History, api: respx.MockRouter
) -> None:
    failures = iter([True])

    def second_page_fails_once(request: httpx.Request) -> httpx.Response:
        if request.url.params["page_number"] == "2" and next(failures, False):
            return httpx.Response(500, headers={"x-should-retry": "false"})
        return history(request)

    api.routes[0].side_effect = second_page_fails_once
    walk = client.webhooks.iter_delivery_pages(page_size=100)

    first = await walk.__anext__()
    with pytest.raises(InternalServerError):
        await walk.__anext__()
    second = await walk.__anext__()

    assert (first.page_number, second.page_number) == (1, 2)
    assert second.data[0].id == history.ids[100]


async def test_a_server_that_ignores_page_number_does_not_loop_forever(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    same_page = payloads.page(
        [payloads.delivery(f"dlv_{n}") for n in range(10)], page_number=1, page_size=10
    )
    route = api.get("/webhook-deliveries").respond(200, json=same_page)

    ids = [delivery.id async for delivery in client.webhooks.iter_deliveries(page_size=10)]

    assert len(ids) == 10
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"page_size": 0}, ValueError),
        ({"page_size": 101}, ValueError),
        ({"page_size": "10"}, TypeError),
        ({"status": "pending"}, ValueError),
        ({"event": "ORDER"}, ValueError),
        ({"from_date": "2024-05-01", "to_date": "2024-04-01"}, ValueError),
        ({"webhook_id": ""}, ValueError),
    ],
)
async def test_arguments_are_checked_when_the_walk_is_made(
    client: AsyncPancakeClient, history: History, arguments: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        client.webhooks.iter_deliveries(**arguments)
    with pytest.raises(error):
        client.webhooks.iter_delivery_pages(**arguments)

    assert history.requested_pages == []


@pytest.mark.slow
async def test_memory_stays_flat_over_100_000_deliveries(
    client: AsyncPancakeClient, history: History, api: respx.MockRouter
) -> None:
    history.ids = [f"dlv_{number:06d}" for number in range(100_000, 0, -1)]
    history.after_each_page = api.reset  # respx would keep every answer otherwise
    alive = most_alive = count = 0

    def forget() -> None:
        nonlocal alive
        alive -= 1

    async for delivery in client.webhooks.iter_deliveries(page_size=100):
        weakref.finalize(delivery, forget)
        alive += 1
        count += 1
        most_alive = max(most_alive, alive)

    assert count == 100_000
    assert len(history.requested_pages) == 1000
    assert most_alive <= 200


async def test_an_id_repeated_within_one_page_is_yielded_once(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    # A server can list the same delivery twice on one page (a row updated between the two
    # halves of its query); the walk still never yields an id twice, in iter_deliveries or in
    # the pages of iter_delivery_pages.
    ids = ["dlv_3", "dlv_2", "dlv_3", "dlv_1", "dlv_2"]
    api.get("/webhook-deliveries").respond(
        200,
        json=payloads.page(
            [payloads.delivery(i) for i in ids], page_number=1, page_size=10, total=5
        ),
    )

    walked = [delivery.id async for delivery in client.webhooks.iter_deliveries(page_size=10)]
    pages = [page async for page in client.webhooks.iter_delivery_pages(page_size=10)]

    assert walked == ["dlv_3", "dlv_2", "dlv_1"]
    assert [[delivery.id for delivery in page.data] for page in pages] == [walked]
