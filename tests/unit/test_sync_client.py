"""The sync `PancakeClient`: its loop thread, errors, delivery walks, copies and lifecycle.

Requests go to a respx mock (respx patches httpx's transport for every thread, so it sees the
requests the facade's loop thread sends). Real sockets, many threads and interpreter exit are
in tests/integration/test_sync_client_lifecycle.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
import sniffio
from loopback import LoopbackServer, Respond

from pancake_pos._client import DEFAULT_TIMEOUT
from pancake_pos._pagination import DeliveryIterator, DeliveryPageIterator
from pancake_pos._sync import PancakeClient
from pancake_pos.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    PancakeError,
    RateLimitError,
    UnprocessableEntityError,
)
from pancake_pos.models import DeliveryPage, WebhookDelivery, WebhookList

API_KEY = "sk_test_sync_S3CR3T_7d1e"
SHOP_ID = "shop_42"
BASE_URL = "http://127.0.0.1:8765/api/v1"
SHOP_URL = f"{BASE_URL}/shops/{SHOP_ID}"


def delivery(delivery_id: str) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "webhook_id": "wh_1",
        "event": "order.created",
        "payload": {"id": f"msg_{delivery_id}", "event": "order.created", "data": {}},
        "response": None,
        "status": "failed",
        "failure_reason": "connection refused",
        "created_at": "2024-04-29T10:15:01Z",
        "duration_ms": 5,
    }


class History:
    """A delivery history served newest first, page by page (with totals), like the API."""

    def __init__(self, count: int) -> None:
        self.ids = [f"dlv_{number:04d}" for number in range(count, 0, -1)]
        self.requested_pages: list[int] = []
        self.new_per_page = 0
        self.fail_page: int | None = None
        self._next_number = count + 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page_size = int(request.url.params["page_size"])
        page_number = int(request.url.params["page_number"])
        self.requested_pages.append(page_number)
        if page_number == self.fail_page:
            self.fail_page = None
            return httpx.Response(500, json={"success": False, "error": {"code": "boom"}})
        chosen = self.ids[(page_number - 1) * page_size : page_number * page_size]
        body = {
            "data": [delivery(delivery_id) for delivery_id in chosen],
            "total": len(self.ids),
            "page_number": page_number,
            "page_size": page_size,
            "total_pages": -(-len(self.ids) // page_size),
        }
        for _ in range(self.new_per_page):  # new deliveries arrive at the head
            self.ids.insert(0, f"dlv_{self._next_number:04d}")
            self._next_number += 1
        return httpx.Response(200, json=body)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=SHOP_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client() -> Iterator[PancakeClient]:
    with PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL, max_retries=0) as client:
        yield client


@pytest.fixture
def history(api: respx.MockRouter) -> History:
    served = History(250)
    api.get("/webhook-deliveries").mock(side_effect=served)
    return served


def webhook(webhook_id: str) -> dict[str, Any]:
    return {
        "id": webhook_id,
        "url": "https://example.com/hook",
        "events": ["order.created"],
        "is_active": True,
        "created_at": "2024-04-01T08:00:00Z",
        "updated_at": "2024-04-01T08:00:00Z",
        "health_status": {"status": "healthy", "success_rate": 100},
    }


def open_fds() -> set[tuple[str, str]]:
    """This process's file descriptors, with what each one is (a socket's inode is unique)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        # FileNotFoundError: the listing's own descriptor, closed by now.
        with contextlib.suppress(FileNotFoundError):
            found.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
    return found


def new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """Threads running now that were not running before (threads other tests left behind
    may end meanwhile; that does not count)."""
    return set(threading.enumerate()) - before


# -- configuration --------------------------------------------------------------------------


def test_the_client_reads_its_settings_like_the_async_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PANCAKE_API_KEY", API_KEY)
    monkeypatch.setenv("PANCAKE_SHOP_ID", "shop_env")
    monkeypatch.setenv("PANCAKE_BASE_URL", "http://127.0.0.1:9/api/v1/")

    with PancakeClient(default_headers={"X-Team": "ops"}) as client:
        assert client.shop_id == "shop_env"
        assert client.base_url == "http://127.0.0.1:9/api/v1"
        assert client.timeout == DEFAULT_TIMEOUT
        assert client.max_retries == 2
        assert httpx.Headers(client.default_headers)["x-team"] == "ops"
        assert isinstance(client.http_client, httpx.AsyncClient)
        assert API_KEY not in repr(client)
        assert repr(client) == (
            "PancakeClient(shop_id='shop_env', base_url='http://127.0.0.1:9/api/v1', "
            "api_key='***', max_retries=2)"
        )


def test_a_missing_key_raises_at_construction_and_leaves_no_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PANCAKE_API_KEY", raising=False)
    threads = set(threading.enumerate())

    with pytest.raises(PancakeError, match="api_key") as caught:
        PancakeClient(shop_id=SHOP_ID)

    assert "PANCAKE_API_KEY" in str(caught.value)
    assert new_threads(threads) == set()


def test_a_bad_setting_raises_its_own_error_at_construction() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        PancakeClient(API_KEY, SHOP_ID, max_retries=-1)
    with pytest.raises(TypeError, match="http_client"):
        PancakeClient(API_KEY, SHOP_ID, http_client=httpx.Client())  # type: ignore[arg-type]


# -- errors ---------------------------------------------------------------------------------


def test_status_errors_keep_their_class_and_attributes(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks/wh_404").respond(
        404,
        json={"success": False, "error": {"code": "not_found", "message": "No webhook wh_404."}},
        headers={"X-Request-Id": "req_7"},
    )

    with pytest.raises(NotFoundError) as caught:
        client.webhooks.get_by_id("wh_404")

    error = caught.value
    assert error.status_code == 404
    assert error.code == "not_found"
    assert error.message == "No webhook wh_404."
    assert error.request_id == "req_7"
    assert error.body == {
        "success": False,
        "error": {"code": "not_found", "message": "No webhook wh_404."},
    }
    assert "api_key=***" in str(error.request.url)
    assert API_KEY not in f"{error} {error!r} {error.request.url}"


def test_a_long_retry_after_is_raised_at_once_with_its_value(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    route = api.get("/webhooks").respond(
        429,
        json={"success": False, "error": {"code": "rate_limited"}},
        headers={"Retry-After": "120"},
    )

    with pytest.raises(RateLimitError) as caught:
        client.with_options(max_retries=3).webhooks.list()

    assert caught.value.retry_after == 120
    assert route.call_count == 1


def test_connection_errors_keep_their_class_and_cause(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks").mock(side_effect=httpx.ConnectError("refused"))
    api.get("/webhook-deliveries/pending").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(APIConnectionError) as refused:
        client.webhooks.list()
    with pytest.raises(APITimeoutError):
        client.webhooks.get_pending_deliveries()

    assert isinstance(refused.value.__cause__, httpx.ConnectError)


def test_a_body_that_does_not_fit_keeps_the_raw_body(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks").respond(200, json={"data": "not a list"})

    with pytest.raises(APIResponseValidationError) as caught:
        client.webhooks.list()

    assert caught.value.body == b'{"data":"not a list"}'


def test_bad_arguments_raise_before_anything_is_sent(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    route = api.post("/webhooks").respond(201)

    with pytest.raises(ValueError, match="url"):
        client.webhooks.create(url="ftp://example.com", events=["order.created"])
    with pytest.raises(ValueError, match="page_size"):
        client.webhooks.iter_deliveries(page_size=0)  # checked when the walk is made
    with pytest.raises(ValueError, match="webhook_id"):
        client.webhooks.get_by_id("")

    assert route.call_count == 0


def test_a_422_keeps_its_details(client: PancakeClient, api: respx.MockRouter) -> None:
    errors = [{"field": "url", "message": "unreachable"}]
    api.put("/webhooks/wh_1").respond(
        422,
        json={
            "success": False,
            "error": {"code": "validation_error", "message": "Bad", "details": {"errors": errors}},
        },
    )

    with pytest.raises(UnprocessableEntityError) as caught:
        client.webhooks.update("wh_1", url="https://example.com/x")

    assert caught.value.details == {"errors": errors}


def test_a_traceback_starts_at_the_callers_line(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks/wh_404").respond(404)

    with pytest.raises(NotFoundError) as status_error:
        client.webhooks.get_by_id("wh_404")
    with pytest.raises(ValueError) as argument_error:
        client.webhooks.get_stats("wh_1", from_date="2024-05-01", to_date="2024-04-01")

    for caught, call in [(status_error, "get_by_id("), (argument_error, "get_stats(")]:
        frames = traceback.extract_tb(caught.tb)
        assert frames[0].filename == __file__
        assert frames[0].name == "test_a_traceback_starts_at_the_callers_line"
        assert call in (frames[0].line or "")
        # ... and still reaches down to where the async core raised it.
        assert any(
            frame.filename.endswith(os.path.join("pancake_pos", "_transport.py"))
            or frame.filename.endswith(os.path.join("pancake_pos", "_validation.py"))
            for frame in frames[1:]
        )


# -- where it runs --------------------------------------------------------------------------


def test_calls_work_inside_a_running_event_loop(
    client: PancakeClient, api: respx.MockRouter, history: History
) -> None:
    api.get("/webhooks").respond(200, json={"data": []})

    async def notebook_cell() -> tuple[WebhookList, int]:
        asyncio.get_running_loop()  # a loop is running here, as in a notebook
        hooks = client.webhooks.list()
        count = sum(1 for _ in client.webhooks.iter_deliveries(page_size=100))
        return hooks, count

    hooks, count = asyncio.run(notebook_cell())

    assert hooks == WebhookList(data=[])
    assert count == 250


async def test_calls_work_from_an_async_test(client: PancakeClient, api: respx.MockRouter) -> None:
    api.get("/webhooks").respond(200, json={"data": []})

    assert client.webhooks.list() == WebhookList(data=[])


def test_calls_run_on_the_clients_own_daemon_thread(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    seen: list[threading.Thread] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(threading.current_thread())
        return httpx.Response(200, json={"data": []})

    api.get("/webhooks").mock(side_effect=record)
    client.webhooks.list()

    assert seen[0] is not threading.current_thread()
    assert seen[0].daemon
    assert seen[0].name.startswith("pancake-pos-loop-")


def test_one_client_serves_many_threads(client: PancakeClient, api: respx.MockRouter) -> None:
    def answer(request: httpx.Request, webhook_id: str) -> httpx.Response:
        return httpx.Response(200, json=webhook(webhook_id))

    api.get(path__regex=r"/webhooks/(?P<webhook_id>wh_\d+)$").mock(side_effect=answer)
    results: dict[int, list[str]] = {}

    def work(number: int) -> None:
        results[number] = [client.webhooks.get_by_id(f"wh_{number}").id for _ in range(10)]

    threads = [threading.Thread(target=work, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {number: [f"wh_{number}"] * 10 for number in range(8)}


# -- delivery walks -------------------------------------------------------------------------


def test_iter_deliveries_walks_the_whole_history_in_order(
    client: PancakeClient, history: History
) -> None:
    walk = client.webhooks.iter_deliveries(page_size=100)

    assert isinstance(walk, DeliveryIterator)
    ids = [item.id for item in walk]
    assert ids == history.ids
    assert history.requested_pages == [1, 2, 3]
    assert all(isinstance(item, WebhookDelivery) for item in client.webhooks.iter_deliveries())


def test_pages_are_fetched_lazily_one_at_a_time(client: PancakeClient, history: History) -> None:
    walk = client.webhooks.iter_deliveries(page_size=100)
    assert history.requested_pages == []

    for _ in range(100):
        next(walk)
    assert history.requested_pages == [1]

    next(walk)
    assert history.requested_pages == [1, 2]


def test_iter_delivery_pages_yields_pages(client: PancakeClient, history: History) -> None:
    walk = client.webhooks.iter_delivery_pages(webhook_id="wh_1", status="failed", page_size=100)

    pages = list(walk)

    assert isinstance(walk, DeliveryPageIterator)
    assert all(isinstance(page, DeliveryPage) for page in pages)
    assert [len(page.data) for page in pages] == [100, 100, 50]
    assert next(walk, None) is None  # stays finished


@pytest.mark.parametrize("new_per_page", [1, 30, 60])
def test_new_deliveries_at_the_head_are_never_yielded_twice(
    client: PancakeClient, history: History, new_per_page: int
) -> None:
    original = list(history.ids)
    history.new_per_page = new_per_page

    ids = [item.id for item in client.webhooks.iter_deliveries(page_size=100)]

    assert len(ids) == len(set(ids))
    assert [i for i in ids if i in set(original)] == original


def test_breaking_out_fetches_no_more_pages(client: PancakeClient, history: History) -> None:
    seen = []
    for item in client.webhooks.iter_deliveries(page_size=100):
        seen.append(item.id)
        if len(seen) == 5:
            break
    gc.collect()

    assert seen == history.ids[:5]
    assert history.requested_pages == [1]


def test_close_ends_a_walk(client: PancakeClient, history: History) -> None:
    walk = client.webhooks.iter_deliveries(page_size=10)
    pages = client.webhooks.iter_delivery_pages(page_size=10)
    first = next(walk)
    next(pages)

    walk.close()
    pages.close()

    assert first.id == history.ids[0]
    assert next(walk, None) is None
    assert next(pages, None) is None
    assert history.requested_pages == [1, 1]


def test_a_failed_page_is_fetched_again_on_the_next_iteration(
    client: PancakeClient, history: History
) -> None:
    history.fail_page = 2
    walk = client.webhooks.iter_delivery_pages(page_size=100)

    first = next(walk)
    with pytest.raises(InternalServerError):
        next(walk)
    second = next(walk)

    assert (first.page_number, second.page_number) == (1, 2)
    assert second.data[0].id == history.ids[100]


def test_a_walk_of_a_closed_client_raises_a_clear_error(history: History) -> None:
    client = PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL)
    walk = client.webhooks.iter_deliveries(page_size=100)
    next(walk)
    client.close()

    with pytest.raises(PancakeError, match="closed"):
        for _ in walk:
            pass
    walk.close()  # closing it is still fine


# -- with_options ---------------------------------------------------------------------------


def test_with_options_shares_the_loop_thread_and_the_pool(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    threads = set(threading.enumerate())
    route = api.get("/webhooks").respond(200, json={"data": []})

    patient = client.with_options(timeout=120, max_retries=5, default_headers={"X-Team": "ops"})
    patient.webhooks.list()

    assert new_threads(threads) == set()
    assert patient.http_client is client.http_client
    assert (patient.max_retries, patient.timeout) == (5, httpx.Timeout(120))
    assert (client.max_retries, client.timeout) == (0, DEFAULT_TIMEOUT)
    assert route.calls.last.request.headers["x-team"] == "ops"
    assert isinstance(patient, PancakeClient)


def test_with_options_changes_the_retries_of_the_copy_only(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    route = api.get("/webhooks").mock(
        side_effect=[
            httpx.Response(503, headers={"retry-after-ms": "1"}),
            httpx.Response(200, json={"data": []}),
            httpx.Response(503, headers={"retry-after-ms": "1"}),
        ]
    )

    assert client.with_options(max_retries=1).webhooks.list() == WebhookList(data=[])
    with pytest.raises(InternalServerError):
        client.webhooks.list()
    assert route.call_count == 3


def test_closing_a_copy_closes_nothing_and_closing_the_original_closes_both(
    api: respx.MockRouter,
) -> None:
    api.get("/webhooks").respond(200, json={"data": []})
    client = PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL)
    copy = client.with_options(max_retries=0)

    with copy:
        copy.webhooks.list()
    client.webhooks.list()
    assert not client.is_closed

    client.close()

    assert client.is_closed
    assert copy.is_closed
    assert client.http_client.is_closed
    with pytest.raises(PancakeError, match="closed"):
        copy.webhooks.list()
    with pytest.raises(PancakeError, match="closed"):
        client.with_options(max_retries=1)


# -- lifecycle ------------------------------------------------------------------------------


def test_close_is_idempotent_and_leaves_no_thread_or_fd_behind(
    api: respx.MockRouter, history: History
) -> None:
    api.get("/webhooks").respond(200, json={"data": []})
    threads = set(threading.enumerate())
    fds = open_fds()

    with PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL) as client:
        client.webhooks.list()
        list(client.with_options(timeout=5).webhooks.iter_deliveries(status="failed"))
        assert new_threads(threads) == {client._loop_thread._thread}
    client.close()

    assert client.is_closed
    assert new_threads(threads) == set()
    assert open_fds() <= fds


def test_calls_racing_close_either_finish_or_raise_the_closed_error(
    api: respx.MockRouter,
) -> None:
    api.get("/webhooks").respond(200, json={"data": []})
    client = PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL)
    outcomes: list[str] = []
    started = threading.Barrier(9)

    def hammer() -> None:
        started.wait()
        while True:
            try:
                client.webhooks.list()
            except PancakeError as error:
                outcomes.append(str(error))
                return

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.wait()
    client.webhooks.list()
    client.close()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in threads)
    assert len(outcomes) == 8
    assert all("PancakeClient is closed" in outcome for outcome in outcomes)


def test_a_client_dropped_without_close_ends_its_loop_thread(api: respx.MockRouter) -> None:
    api.get("/webhooks").respond(200, json={"data": []})
    client = PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL)
    client.with_options(max_retries=0).webhooks.list()
    loop_thread = client._loop_thread._thread

    del client
    gc.collect()
    loop_thread.join(timeout=30)

    assert not loop_thread.is_alive()


def test_a_copy_keeps_the_loop_of_a_dropped_original_running(api: respx.MockRouter) -> None:
    api.get("/webhooks").respond(200, json={"data": []})
    copy = PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL).with_options(max_retries=0)
    gc.collect()

    assert copy.webhooks.list() == WebhookList(data=[])
    assert not copy.is_closed
    copy._origin.close()  # type: ignore[union-attr]


# -- the hand-over to the loop --------------------------------------------------------------


class HeldCall:
    """An async respx side effect that holds each request on the loop until `release()`."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        self.started.set()
        try:
            await self._release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return httpx.Response(200, json={"data": []})

    def release(self) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)


def test_close_waits_for_a_call_in_flight_then_closes_the_pool(api: respx.MockRouter) -> None:
    held = HeldCall()
    api.get("/webhooks").mock(side_effect=held)
    client = PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL, max_retries=0)
    results: list[WebhookList] = []
    caller = threading.Thread(target=lambda: results.append(client.webhooks.list()))
    caller.start()
    assert held.started.wait(timeout=30)

    closer = threading.Thread(target=client.close)
    closer.start()
    while not client.is_closed:  # close() refuses new calls at once...
        closer.join(timeout=0.01)
    with pytest.raises(PancakeError, match="closed"):
        client.webhooks.get_pending_deliveries()
    closer.join(timeout=0.2)
    pool_open_while_held = not client.http_client.is_closed
    assert closer.is_alive()  # ... but waits for the call in flight,
    assert pool_open_while_held  # and keeps the pool open for it.

    held.release()
    caller.join(timeout=30)
    closer.join(timeout=30)

    assert not caller.is_alive()
    assert not closer.is_alive()
    assert results == [WebhookList(data=[])]
    assert not held.cancelled.is_set()
    assert client.http_client.is_closed
    assert not client._loop_thread._thread.is_alive()


def test_an_interrupt_while_waiting_cancels_the_call_on_the_loop(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    held = HeldCall()
    api.get("/webhooks/wh_1").mock(side_effect=held)
    api.get("/webhooks").respond(200, json={"data": []})
    waiting = threading.get_ident()  # pytest runs tests in the main thread, where SIGINT lands

    def press_ctrl_c() -> None:
        if held.started.wait(timeout=30):
            signal.pthread_kill(waiting, signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.webhooks.get_by_id("wh_1")
        cancelled = held.cancelled.wait(timeout=30)
    finally:
        presser.join()
        held.release()  # a call left running would hold close() at the end of the test

    assert cancelled
    assert client.webhooks.list() == WebhookList(data=[])  # the client is still usable
    assert not client.is_closed


def test_a_call_from_the_loop_thread_itself_raises_instead_of_hanging(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    errors: list[str] = []

    def call_back_in(request: httpx.Request) -> httpx.Response:
        try:
            client.webhooks.get_pending_deliveries()
        except RuntimeError as error:
            errors.append(str(error))
        return httpx.Response(200, json={"data": []})

    api.get("/webhooks").mock(side_effect=call_back_in)

    assert client.webhooks.list() == WebhookList(data=[])
    assert len(errors) == 1
    assert "its own event loop thread" in errors[0]


def test_a_caller_whose_context_names_another_async_library_is_served() -> None:
    # Real sockets: httpcore picks its I/O backend with sniffio, from the calling task's context.
    with (
        LoopbackServer([Respond.json(200, {"data": []})]) as server,
        PancakeClient(API_KEY, SHOP_ID, base_url=server.base_url, max_retries=0) as client,
    ):
        token = sniffio.current_async_library_cvar.set("trio")  # as in a trio program
        try:
            hooks = client.webhooks.list()
        finally:
            sniffio.current_async_library_cvar.reset(token)

    assert hooks == WebhookList(data=[])
    assert len(server.requests) == 1
