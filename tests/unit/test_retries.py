"""The retry policy: what is retried, how often, how long the SDK waits, and what it logs."""

from __future__ import annotations

import email.utils
import logging
import time
from typing import TYPE_CHECKING

import httpx
import pytest
import respx

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._transport import backoff_delay, parse_retry_after
from pancake_pos.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)

if TYPE_CHECKING:
    from conftest import FakeSleep, Payloads


def fail(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "success": False,
            "error": {"code": "failure", "message": "Try again.", "details": {}},
        },
        headers=headers,
    )


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_get_is_retried_on_transient_statuses_then_raises(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep, status: int
) -> None:
    route = api.get("/webhooks").mock(return_value=fail(status))

    with pytest.raises(APIStatusError) as caught:
        await client.webhooks.list()

    assert caught.value.status_code == status
    assert route.call_count == 3  # max_retries=2: one try and two retries
    assert len(fake_sleep.waits) == 2


async def test_a_retry_that_succeeds_returns_the_answer(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = api.get("/webhooks").mock(
        side_effect=[fail(503), fail(502), httpx.Response(200, json={"data": []})]
    )

    hooks = await client.webhooks.list()

    assert hooks.data == []
    assert route.call_count == 3


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteError("broken pipe"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_idempotent_methods_are_retried_on_connection_failures(
    client: AsyncPancakeClient,
    api: respx.MockRouter,
    payloads: Payloads,
    error: httpx.TransportError,
    method: str,
) -> None:
    route = api.route(method=method, path__regex=r"/webhooks/wh_1$").mock(
        side_effect=[error, httpx.Response(200, json=payloads.webhook())]
    )

    if method == "GET":
        await client.webhooks.get_by_id("wh_1")
    elif method == "PUT":
        await client.webhooks.update("wh_1", is_active=True)
    else:
        await client.webhooks.delete("wh_1")

    assert route.call_count == 2


async def test_connection_failures_exhaust_the_retries(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    route = api.get("/webhooks").mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(APITimeoutError):
        await client.with_options(max_retries=4).webhooks.list()

    assert route.call_count == 5


@pytest.mark.parametrize("status", [500, 502, 504, 408])
async def test_post_is_not_retried_when_the_server_may_have_acted(
    client: AsyncPancakeClient, api: respx.MockRouter, status: int
) -> None:
    route = api.post("/webhooks/wh_1/test").mock(return_value=fail(status))

    with pytest.raises(APIStatusError):
        await client.webhooks.test("wh_1", "order.created")

    assert route.call_count == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteTimeout("write timed out"),
    ],
)
async def test_post_is_not_retried_after_the_request_may_have_arrived(
    client: AsyncPancakeClient, api: respx.MockRouter, error: httpx.TransportError
) -> None:
    route = api.post("/webhook-deliveries/dlv_1/retry").mock(side_effect=error)

    with pytest.raises(APIConnectionError) as caught:
        await client.webhooks.retry_delivery("dlv_1")

    assert caught.value.__cause__ is error
    assert route.call_count == 1


@pytest.mark.parametrize(
    "first_answer",
    [fail(429), fail(503), httpx.ConnectError("refused"), httpx.ConnectTimeout("connect")],
    ids=["429", "503", "refused", "connect-timeout"],
)
async def test_post_is_retried_when_the_server_cannot_have_acted_with_the_same_key(
    client: AsyncPancakeClient,
    api: respx.MockRouter,
    payloads: Payloads,
    first_answer: httpx.Response | Exception,
) -> None:
    route = api.post("/webhooks").mock(
        side_effect=[first_answer, first_answer, httpx.Response(201, json=payloads.webhook())]
    )

    await client.webhooks.create(url="https://shop.example.com/hook", events=["order.created"])

    assert route.call_count == 3
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 1
    bodies = {call.request.content for call in route.calls}
    assert len(bodies) == 1


async def test_the_given_idempotency_key_is_kept_on_retries(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    route = api.post("/webhooks/wh_1/rotate-secret").mock(
        side_effect=[fail(503), httpx.Response(200, json={"secret_key": "whsec_x"})]
    )

    await client.webhooks.rotate_secret("wh_1", idempotency_key="rotate-once")

    assert [call.request.headers["idempotency-key"] for call in route.calls] == [
        "rotate-once",
        "rotate-once",
    ]


async def test_retry_after_seconds_is_waited(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    api.get("/webhooks").mock(
        side_effect=[fail(429, {"Retry-After": "2"}), httpx.Response(200, json={"data": []})]
    )

    await client.webhooks.list()

    assert fake_sleep.waits == [2.0]


async def test_retry_after_ms_is_waited(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    api.get("/webhooks").mock(
        side_effect=[
            fail(503, {"retry-after-ms": "1500", "Retry-After": "9"}),
            httpx.Response(200, json={"data": []}),
        ]
    )

    await client.webhooks.list()

    assert fake_sleep.waits == [1.5]


async def test_retry_after_as_an_http_date_is_waited(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    api.get("/webhooks").mock(
        side_effect=[
            fail(503, {"Retry-After": in_ten_seconds}),
            httpx.Response(200, json={"data": []}),
        ]
    )

    await client.webhooks.list()

    [wait] = fake_sleep.waits
    assert 8.0 < wait <= 10.0


async def test_a_long_retry_after_is_raised_at_once(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = api.get("/webhooks").mock(return_value=fail(429, {"Retry-After": "120"}))

    with pytest.raises(RateLimitError) as caught:
        await client.webhooks.list()

    assert caught.value.retry_after == 120.0
    assert route.call_count == 1
    assert fake_sleep.waits == []


async def test_a_long_retry_after_on_503_is_raised_at_once(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = api.post("/webhooks/wh_1/test").mock(return_value=fail(503, {"Retry-After": "61"}))

    with pytest.raises(InternalServerError) as caught:
        await client.webhooks.test("wh_1", "order.created")

    assert caught.value.retry_after == 61.0
    assert route.call_count == 1
    assert fake_sleep.waits == []


@pytest.mark.parametrize("value", ["0", "-3", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
async def test_an_unusable_retry_after_falls_back_to_backoff(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep, value: str
) -> None:
    api.get("/webhooks").mock(
        side_effect=[fail(503, {"Retry-After": value}), httpx.Response(200, json={"data": []})]
    )

    await client.webhooks.list()

    [wait] = fake_sleep.waits
    assert 0.375 <= wait <= 0.5


async def test_backoff_doubles_up_to_eight_seconds_with_jitter(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    api.get("/webhooks").mock(return_value=fail(500))

    with pytest.raises(InternalServerError):
        await client.with_options(max_retries=6).webhooks.list()

    assert len(fake_sleep.waits) == 6
    for retry_number, wait in enumerate(fake_sleep.waits):
        ceiling = min(0.5 * 2**retry_number, 8.0)
        assert 0.75 * ceiling <= wait <= ceiling


def test_backoff_delay_bounds() -> None:
    delays = [backoff_delay(10) for _ in range(200)]
    assert all(6.0 <= delay <= 8.0 for delay in delays)
    assert len(set(delays)) > 1


async def test_x_should_retry_false_stops_a_retryable_status(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    route = api.get("/webhooks").mock(return_value=fail(503, {"x-should-retry": "false"}))

    with pytest.raises(InternalServerError):
        await client.webhooks.list()

    assert route.call_count == 1


async def test_x_should_retry_true_retries_any_status(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    get_route = api.get("/webhooks").mock(return_value=fail(400, {"x-should-retry": "true"}))
    post_route = api.post("/webhooks/wh_1/test").mock(
        return_value=fail(500, {"x-should-retry": "true"})
    )

    with pytest.raises(BadRequestError):
        await client.webhooks.list()
    with pytest.raises(InternalServerError):
        await client.webhooks.test("wh_1", "order.created")

    assert get_route.call_count == 3
    assert post_route.call_count == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_client_errors_are_not_retried(
    client: AsyncPancakeClient, api: respx.MockRouter, status: int
) -> None:
    route = api.get("/webhooks").mock(return_value=fail(status))

    with pytest.raises(APIStatusError):
        await client.webhooks.list()

    assert route.call_count == 1


async def test_max_retries_zero_turns_retries_off(
    client: AsyncPancakeClient, api: respx.MockRouter, fake_sleep: FakeSleep
) -> None:
    route = api.get("/webhooks").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(APIConnectionError):
        await client.with_options(max_retries=0).webhooks.list()

    assert route.call_count == 1
    assert fake_sleep.waits == []


async def test_each_retry_is_logged_at_info_without_the_key(
    client: AsyncPancakeClient,
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    api_key: str,
) -> None:
    api.get("/webhooks/wh_1/stats").mock(
        side_effect=[
            fail(503, {"Retry-After": "2"}),
            httpx.ConnectError("refused"),
            httpx.Response(
                200,
                json={
                    "total_deliveries": 0,
                    "success_count": 0,
                    "failure_count": 0,
                    "average_duration_ms": 0,
                    "event_counts": {},
                    "hourly_stats": [],
                },
            ),
        ]
    )

    with caplog.at_level(logging.INFO, logger="pancake_pos"):
        await client.webhooks.get_stats("wh_1", from_date="2024-04-01", to_date="2024-04-02")

    retries = [r for r in caplog.records if r.name == "pancake_pos" and r.levelno == logging.INFO]
    messages = [record.getMessage() for record in retries]
    assert messages == [
        "Retrying GET /api/v1/shops/shop_42/webhooks/wh_1/stats (attempt 2 of 3) after 503 "
        "failure; waiting 2.00 s",
        messages[1],
    ]
    assert messages[1].startswith(
        "Retrying GET /api/v1/shops/shop_42/webhooks/wh_1/stats (attempt 3 of 3) after "
        "ConnectError; waiting "
    )
    assert all(api_key not in message for message in messages)


def test_parse_retry_after() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "2.5"})) == 2.5
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "x", "Retry-After": "4"})) == 4.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "nan"})) is None
    assert parse_retry_after(httpx.Headers({})) is None
    date = "Wed, 21 Oct 2015 07:28:30 GMT"
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert parse_retry_after(httpx.Headers({"Retry-After": date}), now=now) == 30.0
