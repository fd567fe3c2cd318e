"""The transport over real sockets: a loopback server that answers, resets, stalls or cuts short."""

from __future__ import annotations

import asyncio
import gc
import socket
import traceback
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport
from loopback import (
    CloseWithoutAnswer,
    LoopbackServer,
    Reset,
    Respond,
    Stall,
    Truncate,
)

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    NotFoundError,
)

if TYPE_CHECKING:
    from conftest import FakeSleep, Payloads

GUARD = 30  # seconds; a hang fails the test instead of blocking the run


@asynccontextmanager
async def client_for(
    server: LoopbackServer, fake_sleep: FakeSleep, **options: Any
) -> AsyncIterator[AsyncPancakeClient]:
    async with AsyncPancakeClient(
        "sk_loopback_key", "shop_42", base_url=server.base_url, **options
    ) as client:
        client._transport.sleep = fake_sleep
        yield client


async def test_a_real_request_on_the_wire(fake_sleep: FakeSleep, payloads: Payloads) -> None:
    async with (
        LoopbackServer([Respond.json(201, payloads.webhook())]) as server,
        client_for(server, fake_sleep) as client,
    ):
        hook = await client.webhooks.create(
            url="https://shop.example.com/hook",
            events=["order.created"],
            description="Tiếng Việt ✓",
            idempotency_key="key-1",
        )

    [request] = server.requests
    assert hook.id == "wh_1"
    assert request.method == "POST"
    assert request.target == "/api/v1/shops/shop_42/webhooks?api_key=sk_loopback_key"
    assert request.headers["idempotency-key"] == "key-1"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "url": "https://shop.example.com/hook",
        "events": ["order.created"],
        "description": "Tiếng Việt ✓",
    }


async def test_an_error_answer_over_the_wire(fake_sleep: FakeSleep, payloads: Payloads) -> None:
    answer = Respond.json(
        404, payloads.error("not_found", "No webhook wh_404."), {"X-Request-Id": "req_1"}
    )
    async with LoopbackServer([answer]) as server, client_for(server, fake_sleep) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.webhooks.get_by_id("wh_404")

    assert str(caught.value) == "404 not_found: No webhook wh_404. (request_id=req_1)"


async def test_a_reset_connection_is_retried_for_get(
    fake_sleep: FakeSleep, payloads: Payloads
) -> None:
    async with (
        LoopbackServer([Reset(), Respond.json(200, payloads.webhook())]) as server,
        client_for(server, fake_sleep) as client,
    ):
        async with asyncio.timeout(GUARD):
            hook = await client.webhooks.get_by_id("wh_1")

    assert hook.id == "wh_1"
    assert len(server.requests) == 2
    assert len(fake_sleep.waits) == 1


async def test_resets_exhaust_the_retries(fake_sleep: FakeSleep) -> None:
    async with LoopbackServer([Reset()]) as server, client_for(server, fake_sleep) as client:
        async with asyncio.timeout(GUARD):
            with pytest.raises(APIConnectionError) as caught:
                await client.webhooks.list()

    assert type(caught.value) is APIConnectionError
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(server.requests) == 3


async def test_a_reset_on_post_is_not_retried(fake_sleep: FakeSleep) -> None:
    async with LoopbackServer([Reset()]) as server, client_for(server, fake_sleep) as client:
        async with asyncio.timeout(GUARD):
            with pytest.raises(APIConnectionError):
                await client.webhooks.retry_delivery("dlv_1")

    assert len(server.requests) == 1


async def test_a_stall_past_the_timeout(fake_sleep: FakeSleep, payloads: Payloads) -> None:
    async with (
        LoopbackServer([Stall(), Respond.json(200, payloads.webhook())]) as server,
        client_for(server, fake_sleep, timeout=0.2) as client,
    ):
        async with asyncio.timeout(GUARD):
            hook = await client.webhooks.get_by_id("wh_1")

    assert hook.id == "wh_1"
    assert len(server.requests) == 2


async def test_a_stall_on_post_times_out_once(fake_sleep: FakeSleep) -> None:
    async with (
        LoopbackServer([Stall()]) as server,
        client_for(server, fake_sleep, timeout=0.2) as client,
    ):
        async with asyncio.timeout(GUARD):
            with pytest.raises(APITimeoutError) as caught:
                await client.webhooks.test("wh_1", "order.created")

    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(server.requests) == 1


async def test_a_body_cut_short_is_a_dropped_connection(fake_sleep: FakeSleep) -> None:
    async with (
        LoopbackServer([Truncate()]) as server,
        client_for(server, fake_sleep, max_retries=1) as client,
    ):
        async with asyncio.timeout(GUARD):
            with pytest.raises(APIConnectionError) as caught:
                await client.webhooks.get_by_id("wh_1")

    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert len(server.requests) == 2


async def test_a_close_without_answer(fake_sleep: FakeSleep, payloads: Payloads) -> None:
    script = [
        CloseWithoutAnswer(),
        Respond.json(200, {"data": [payloads.webhook()]}),
        CloseWithoutAnswer(),
    ]
    async with LoopbackServer(script) as server, client_for(server, fake_sleep) as client:
        async with asyncio.timeout(GUARD):
            hooks = await client.webhooks.list()
            with pytest.raises(APIConnectionError):
                await client.with_options(max_retries=0).webhooks.rotate_secret("wh_1")

    assert [hook.id for hook in hooks.data] == ["wh_1"]


@pytest.mark.parametrize(
    "answer",
    [
        Respond(200, b'{"id": "wh_1", "url": ', {"Content-Type": "application/json"}),
        Respond(200, b"<html><body>Maintenance</body></html>", {"Content-Type": "text/html"}),
        Respond(200, b"", {"Content-Type": "application/json"}),
    ],
    ids=["truncated-json", "html", "empty"],
)
async def test_a_bad_body_over_the_wire(fake_sleep: FakeSleep, answer: Respond) -> None:
    async with LoopbackServer([answer]) as server, client_for(server, fake_sleep) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await client.webhooks.get_by_id("wh_1")

    assert caught.value.body == answer.body
    assert len(server.requests) == 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_refused_connection_is_retried_even_for_post(fake_sleep: FakeSleep) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/api/v1"
    async with AsyncPancakeClient("key", "shop_42", base_url=base_url) as client:
        client._transport.sleep = fake_sleep
        async with asyncio.timeout(GUARD):
            with pytest.raises(APIConnectionError) as caught:
                await client.webhooks.create(url="https://x.example/h", events=["order.created"])

    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(fake_sleep.waits) == 2


@pytest.mark.slow
async def test_a_thousand_concurrent_calls_through_a_fresh_client(
    fake_sleep: FakeSleep, payloads: Payloads
) -> None:
    async with (
        LoopbackServer([Respond.json(200, payloads.webhook())]) as server,
        client_for(server, fake_sleep) as client,
    ):
        async with asyncio.timeout(120):
            hooks = await asyncio.gather(
                *(client.webhooks.get_by_id(f"wh_{n}") for n in range(1000))
            )

    assert len(hooks) == 1000
    assert len(server.requests) == 1000
    assert server.most_open_connections <= 100
    assert fake_sleep.waits == []


async def test_in_flight_requests_stay_within_the_pool(
    fake_sleep: FakeSleep, payloads: Payloads
) -> None:
    in_flight = most_in_flight = 0
    async with (
        LoopbackServer([Respond.json(200, {"data": [payloads.webhook()]})]) as server,
        httpx.AsyncClient(limits=httpx.Limits(max_connections=5)) as mine,
        client_for(server, fake_sleep, http_client=mine) as client,
    ):
        original = client._transport.pool.http_client.send

        async def tracking_send(request: httpx.Request, **kwargs: Any) -> httpx.Response:
            nonlocal in_flight, most_in_flight
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            try:
                return await original(request, **kwargs)
            finally:
                in_flight -= 1

        mine.send = tracking_send  # type: ignore[method-assign]
        async with asyncio.timeout(GUARD):
            await asyncio.gather(*(client.webhooks.list() for _ in range(50)))

    assert len(server.requests) == 50
    assert most_in_flight == 5
    assert server.most_open_connections <= 5


@asynccontextmanager
async def aiohttp_client_for(
    server: LoopbackServer, fake_sleep: FakeSleep
) -> AsyncIterator[AsyncPancakeClient]:
    async with (
        httpx.AsyncClient(transport=AiohttpTransport()) as engine,
        client_for(server, fake_sleep, http_client=engine) as client,
    ):
        yield client


async def test_the_aiohttp_engine_answers_and_retries_get(
    fake_sleep: FakeSleep, payloads: Payloads
) -> None:
    script = [Respond.json(200, payloads.webhook()), Reset(), Respond.json(200, payloads.webhook())]
    async with LoopbackServer(script) as server, aiohttp_client_for(server, fake_sleep) as client:
        async with asyncio.timeout(GUARD):
            first = await client.webhooks.get_by_id("wh_1")
            second = await client.webhooks.get_by_id("wh_1")

    assert (first.id, second.id) == ("wh_1", "wh_1")
    assert len(server.requests) == 3


async def test_the_aiohttp_engine_does_not_resend_a_post_after_a_reset(
    fake_sleep: FakeSleep,
) -> None:
    # httpx-aiohttp reports a reset connection as httpx.ConnectTimeout; it is neither a
    # timeout nor a connection that was never made.
    async with (
        LoopbackServer([Reset()]) as server,
        aiohttp_client_for(server, fake_sleep) as client,
    ):
        async with asyncio.timeout(GUARD):
            with pytest.raises(APIConnectionError) as caught:
                await client.webhooks.rotate_secret("wh_1")

    assert type(caught.value) is APIConnectionError
    assert str(caught.value).startswith("Connection error: POST ")
    assert len(server.requests) == 1


async def test_the_aiohttp_engine_resends_a_post_on_a_refused_connection(
    fake_sleep: FakeSleep,
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/api/v1"
    async with (
        httpx.AsyncClient(transport=AiohttpTransport()) as engine,
        AsyncPancakeClient("key", "shop_42", base_url=base_url, http_client=engine) as client,
    ):
        client._transport.sleep = fake_sleep
        async with asyncio.timeout(GUARD):
            with pytest.raises(APIConnectionError):
                await client.webhooks.rotate_secret("wh_1")

    assert len(fake_sleep.waits) == 2


async def test_a_malformed_answer_through_the_aiohttp_engine_is_a_connection_error(
    fake_sleep: FakeSleep,
) -> None:
    # httpx-aiohttp passes the aiohttp errors it does not map (here ClientResponseError, whose
    # text holds the full URL) straight through; the SDK raises only its own errors, keyless.
    malformed = Respond(200, b"{}", {"Content-Type": "application/json", "Bad Header": "x"})
    async with (
        LoopbackServer([malformed]) as server,
        aiohttp_client_for(server, fake_sleep) as client,
    ):
        async with asyncio.timeout(GUARD):
            with pytest.raises(APIConnectionError) as on_get:
                await client.webhooks.list()
            with pytest.raises(APIConnectionError) as on_post:
                await client.webhooks.rotate_secret("wh_1")

    assert len(server.requests) == 3 + 1  # GET retried twice, POST not resent
    for caught in (on_get, on_post):
        shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
        assert "sk_loopback_key" not in shown
        assert type(caught.value) is APIConnectionError
        assert str(caught.value).startswith("Connection error: ")
        assert isinstance(caught.value.__cause__, httpx.HTTPError)


async def test_answers_are_freed_without_waiting_for_the_garbage_collector(
    fake_sleep: FakeSleep, payloads: Payloads
) -> None:
    # A long walk fetches thousands of pages: each answer must go as soon as it is decoded.
    answers: list[weakref.ref[httpx.Response]] = []

    async def remember(response: httpx.Response) -> None:
        answers.append(weakref.ref(response))

    page = payloads.page(
        [payloads.delivery(f"dlv_{n}") for n in range(100)], page_number=1, page_size=100
    )
    async with (
        LoopbackServer([Respond.json(200, page)]) as server,
        httpx.AsyncClient(event_hooks={"response": [remember]}) as engine,
        client_for(server, fake_sleep, http_client=engine) as client,
    ):
        gc.disable()
        try:
            for _ in range(3):
                await client.webhooks.list_deliveries(page_size=100)
            alive = [answer for answer in answers if answer() is not None]
        finally:
            gc.enable()

    assert len(answers) == 3
    assert alive == []
