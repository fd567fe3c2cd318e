"""The API key is in no exception reachable from an SDK error: not in the `__cause__` /
`__context__` chain (httpx's own exceptions included, with their `.request.url`), and not in a
status error's `body`, `details` or response when the server echoes it.

Error trackers (Sentry, for one) record every chained exception, so each link counts.
"""

from __future__ import annotations

import socket
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import respx
from loopback import LoopbackServer, Reset, Respond, Stall

from pancake_pos import PancakeClient
from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
)

if TYPE_CHECKING:
    from conftest import FakeSleep, Payloads

SECRET = "sk_live_Ch41n+/q=w&8"
FORMS = {SECRET, quote(SECRET, safe=""), quote_plus(SECRET), quote(SECRET), "Ch41n"}


def chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and every exception reachable from it through causes, contexts and groups."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
        pending.extend(getattr(current, "exceptions", ()))


def texts_of(error: BaseException) -> Iterator[str]:
    yield "".join(traceback.format_exception(error))
    for link in chain(error):
        yield str(link)
        yield repr(link)
        yield repr(link.args)
        yield repr(getattr(link, "__notes__", ""))
        try:
            request = link.request  # type: ignore[attr-defined]
        except (AttributeError, RuntimeError):  # RuntimeError: an httpx error with no request
            request = None
        if isinstance(request, httpx.Request):
            yield str(request.url)
            yield repr(request)
        response = getattr(link, "response", None)
        if isinstance(response, httpx.Response):
            yield str(response.url)
            yield response.text
        for name in ("body", "details"):
            yield repr(getattr(link, name, None))


def assert_keyless(error: BaseException) -> None:
    for text in texts_of(error):
        for form in FORMS:
            assert form not in text, f"{form!r} leaked in: {text}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_a_refused_connection_chains_no_key() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    async with AsyncPancakeClient(SECRET, "shop", base_url=url, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.webhooks.list()

    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert "api_key=***" in str(caught.value.__cause__.request.url)
    assert_keyless(caught.value)


async def test_a_reset_after_retries_chains_no_key(fake_sleep: FakeSleep) -> None:
    async with (
        LoopbackServer([Reset(), Reset(), Reset()]) as server,
        AsyncPancakeClient(SECRET, "shop", base_url=server.base_url, max_retries=2) as client,
    ):
        client._transport.sleep = fake_sleep
        with pytest.raises(APIConnectionError) as caught:
            await client.webhooks.get_by_id("wh_1")

    assert len(server.requests) == 3
    assert caught.value.__cause__ is not None
    assert_keyless(caught.value)


async def test_a_timeout_chains_no_key() -> None:
    async with (
        LoopbackServer([Stall()]) as server,
        AsyncPancakeClient(SECRET, "shop", base_url=server.base_url, max_retries=0) as client,
    ):
        with pytest.raises(APITimeoutError) as caught:
            await client.with_options(timeout=0.2).webhooks.list()

    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert_keyless(caught.value)


async def test_an_httpx_error_whose_text_holds_the_url_chains_no_key() -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(
            side_effect=httpx.ConnectError(f"cannot reach http://h/x?api_key={quote_plus(SECRET)}")
        )
        async with AsyncPancakeClient(
            SECRET, "shop", base_url="http://127.0.0.1:8765/api/v1", max_retries=0
        ) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.webhooks.list()

    assert_keyless(caught.value)


async def test_a_key_echoed_in_an_error_body_is_redacted_everywhere(payloads: Payloads) -> None:
    echo = payloads.error(
        "validation_error",
        f"GET /webhooks?api_key={quote_plus(SECRET)} is invalid",
        {"errors": [{"field": "url", "message": f"bad url http://h/?api_key={SECRET}"}]},
    )
    echo["request"] = {"url": f"http://h/?api_key={SECRET}", "key": SECRET}
    async with (
        LoopbackServer([Respond.json(422, echo)]) as server,
        AsyncPancakeClient(SECRET, "shop", base_url=server.base_url, max_retries=0) as client,
    ):
        with pytest.raises(APIStatusError) as caught:
            await client.webhooks.list()

    error = caught.value
    assert_keyless(error)
    assert isinstance(error.body, dict)
    assert error.body["request"]["key"] == "***"
    assert error.details is not None
    assert error.details["errors"][0]["message"] == "bad url http://h/?api_key=***"
    assert error.response.json()["request"]["key"] == "***"


async def test_a_response_that_does_not_fit_chains_no_key() -> None:
    # A value the converter quotes in its own error message.
    body: dict[str, Any] = {"total_count": SECRET, "deliveries": []}
    async with (
        LoopbackServer([Respond.json(200, body)]) as server,
        AsyncPancakeClient(SECRET, "shop", base_url=server.base_url, max_retries=0) as client,
    ):
        with pytest.raises(APIResponseValidationError) as caught:
            await client.webhooks.get_pending_deliveries()

    error = caught.value
    links = list(chain(error))
    for link in links[1:]:
        for text in (str(link), repr(link), repr(link.args), repr(getattr(link, "__notes__", ""))):
            for form in FORMS:
                assert form not in text
    assert_keyless_message(error)


def assert_keyless_message(error: APIError) -> None:
    for form in FORMS:
        assert form not in str(error)
        assert form not in str(error.request.url)


def test_the_facade_raises_the_same_keyless_chain() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    with (
        PancakeClient(SECRET, "shop", base_url=url, max_retries=0) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.webhooks.list()

    assert_keyless(caught.value)
