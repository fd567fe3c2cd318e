"""The API key never shows: not in exceptions, reprs, URLs the SDK shows, nor any log record."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import respx
from loopback import LoopbackServer, Reset, Respond, Truncate

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._logging import RedactingFilter, redact_url
from pancake_pos.errors import APIError

if TYPE_CHECKING:
    from conftest import FakeSleep, Payloads

# Characters that get percent-encoded, so both the raw and the encoded forms are looked for.
SECRET = "sk_live_Zx9+/q=w&8 y"


def secret_forms() -> set[str]:
    return {SECRET, quote(SECRET, safe=""), quote_plus(SECRET), quote(SECRET), "Zx9"}


def everything_shown(error: BaseException) -> Iterator[str]:
    """Every text a user could see of an error: str, repr, traceback, causes, the request."""
    yield str(error)
    yield repr(error)
    yield "".join(traceback.format_exception(error))
    cause = error.__cause__
    while cause is not None:
        yield str(cause)
        yield repr(cause)
        cause = cause.__cause__
    if isinstance(error, APIError):
        yield repr(error.request)
        yield str(error.request.url)
        response = getattr(error, "response", None)
        if response is not None:
            yield repr(response.request)
            yield str(response.request.url)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger at DEBUG (caplog puts the levels back afterwards)."""
    for name in ("httpx", "httpcore", "pancake_pos"):
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    return caplog


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in caplog.records]


def assert_no_secret(texts: list[str]) -> None:
    assert texts
    for text in texts:
        for form in secret_forms():
            assert form not in text, f"{form!r} leaked in: {text}"


async def test_a_failing_run_over_sockets_shows_the_key_nowhere(
    all_logs: pytest.LogCaptureFixture, fake_sleep: FakeSleep, payloads: Payloads
) -> None:
    echo = payloads.error("unauthorized", f"Invalid api_key {SECRET}.", {"api_key": SECRET})
    script = [
        Reset(),
        Respond.json(401, echo, {"X-Request-Id": "req_1"}),
        Respond.json(503, payloads.error("unavailable", f"GET /x?api_key={quote(SECRET)}")),
        Respond.json(503, payloads.error("unavailable", "later")),
        Respond.json(503, payloads.error("unavailable", "later")),
        Respond(200, b"<html>not json</html>", {"Content-Type": "text/html"}),
        Truncate(),
    ]
    errors: list[BaseException] = []
    async with (
        LoopbackServer(script) as server,
        AsyncPancakeClient(SECRET, "shop_42", base_url=server.base_url) as client,
    ):
        client._transport.sleep = fake_sleep
        calls: list[Any] = [
            client.webhooks.list,  # reset, then 401 with the key echoed
            client.webhooks.get_pending_deliveries,  # 503 three times
            lambda: client.webhooks.get_by_id("wh_1"),  # HTML
            lambda: client.webhooks.test("wh_1", "order.created"),  # truncated, POST
        ]
        for call in calls:
            with pytest.raises(APIError) as caught:
                await call()
            errors.append(caught.value)

    texts = [text for error in errors for text in everything_shown(error)]
    texts += log_texts(all_logs)
    texts.append(repr(client))
    assert_no_secret(texts)
    assert any(record.name == "httpx" for record in all_logs.records)
    assert any(record.name.startswith("httpcore") for record in all_logs.records)
    assert any("api_key=***" in text for text in log_texts(all_logs))
    assert "Invalid api_key ***." in str(errors[0])


async def test_connection_errors_and_timeouts_show_no_key(
    all_logs: pytest.LogCaptureFixture, fake_sleep: FakeSleep
) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(
            side_effect=[
                httpx.ConnectError(f"cannot reach http://h/?api_key={SECRET}"),
                httpx.ReadTimeout("timed out"),
            ]
        )
        async with AsyncPancakeClient(
            SECRET, "shop_42", base_url="http://127.0.0.1:8765/api/v1", max_retries=0
        ) as client:
            errors = []
            for call in (client.webhooks.list, client.webhooks.list):
                with pytest.raises(APIError) as caught:
                    await call()
                errors.append(caught.value)

    refused, timed_out = errors
    # httpx's own exception (the __cause__) had the key in its text: it is redacted too.
    assert_no_secret([*everything_shown(refused), repr(refused.request)])
    assert "api_key=***" in str(refused)
    assert_no_secret([*everything_shown(timed_out), *log_texts(all_logs)])


def test_redact_url() -> None:
    url = httpx.URL("https://pos.pages.fm/api/v1/shops/s/webhooks", params={"api_key": SECRET})

    shown = redact_url(url)

    assert shown == "https://pos.pages.fm/api/v1/shops/s/webhooks?api_key=***"
    assert redact_url("https://h/p?a=1&API_KEY=abc#frag") == "https://h/p?a=1&API_KEY=***#frag"
    assert redact_url("https://h/p?a=1") == "https://h/p?a=1"


def test_the_httpx_filter_is_installed_once() -> None:
    for _ in range(3):
        AsyncPancakeClient("key", "shop")

    filters = logging.getLogger("httpx").filters
    assert sum(isinstance(f, RedactingFilter) for f in filters) == 1


def test_the_filter_redacts_httpx_s_own_request_line() -> None:
    url = httpx.URL("http://127.0.0.1/api/v1/shops/s/webhooks", params={"api_key": SECRET})
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: %s %s "%s %d %s"',
        ("GET", url, "HTTP/1.1", 200, "OK"),
        None,
    )

    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == (
        'HTTP Request: GET http://127.0.0.1/api/v1/shops/s/webhooks?api_key=*** "HTTP/1.1 200 OK"'
    )
