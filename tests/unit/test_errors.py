"""Error answers become the typed exceptions of `pancake_pos.errors`, with what they carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
import respx

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PancakeError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WebhookVerificationError,
    status_error_class,
)

if TYPE_CHECKING:
    from conftest import Payloads


def test_the_tree() -> None:
    assert issubclass(APIError, PancakeError)
    assert issubclass(WebhookVerificationError, PancakeError)
    assert not issubclass(WebhookVerificationError, APIError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(APIResponseValidationError, APIError)
    assert not issubclass(APIResponseValidationError, APIStatusError)
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (400, BadRequestError, "bad_request"),
        (401, AuthenticationError, "unauthorized"),
        (403, PermissionDeniedError, "forbidden"),
        (404, NotFoundError, "not_found"),
        (409, ConflictError, "idempotency_conflict"),
        (422, UnprocessableEntityError, "validation_error"),
        (429, RateLimitError, "rate_limited"),
        (500, InternalServerError, "internal_error"),
        (502, InternalServerError, "bad_gateway"),
        (503, InternalServerError, "unavailable"),
        (504, InternalServerError, "timeout"),
        (405, APIStatusError, "method_not_allowed"),
        (418, APIStatusError, "teapot"),
    ],
)
async def test_each_status_maps_to_its_class(
    client: AsyncPancakeClient,
    api: respx.MockRouter,
    payloads: Payloads,
    status: int,
    error_class: type[APIStatusError],
    code: str,
) -> None:
    body = payloads.error(code, "It went wrong.", {"field": "url"})
    api.get("/webhooks/wh_1").respond(status, json=body, headers={"X-Request-Id": "req_x"})
    no_retries = client.with_options(max_retries=0)

    with pytest.raises(error_class) as caught:
        await no_retries.webhooks.get_by_id("wh_1")

    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.code == code
    assert error.message == "It went wrong."
    assert error.details == {"field": "url"}
    assert error.request_id == "req_x"
    assert error.body == body
    assert error.response.status_code == status
    assert error.request.method == "GET"
    assert str(error) == f"{status} {code}: It went wrong. (request_id=req_x)"


async def test_not_found_reads_as_documented(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    api.get("/webhooks/wh_404").respond(
        404,
        json=payloads.error("not_found", "No webhook wh_404.", {"webhook_id": "wh_404"}),
        headers={"X-Request-Id": "req_x"},
    )

    with pytest.raises(NotFoundError) as caught:
        await client.webhooks.get_by_id("wh_404")

    assert str(caught.value) == "404 not_found: No webhook wh_404. (request_id=req_x)"
    assert repr(caught.value) == (
        "NotFoundError('404 not_found: No webhook wh_404. (request_id=req_x)')"
    )


async def test_an_error_body_that_is_not_json(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks").respond(
        400, text="Bad request: missing shop", headers={"Content-Type": "text/plain"}
    )

    with pytest.raises(BadRequestError) as caught:
        await client.webhooks.list()

    error = caught.value
    assert error.code is None
    assert error.request_id is None
    assert error.body == "Bad request: missing shop"
    assert error.message == "Bad request: missing shop"
    assert str(error) == "400 Bad Request: Bad request: missing shop"


async def test_an_html_error_page_is_not_quoted(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    api.put("/webhooks/wh_1").respond(502, text=page, headers={"Content-Type": "text/html"})
    no_retries = client.with_options(max_retries=0)

    with pytest.raises(InternalServerError) as caught:
        await no_retries.webhooks.update("wh_1", is_active=True)

    assert caught.value.body == page
    assert str(caught.value) == "502 Bad Gateway"


async def test_an_empty_error_body(client: AsyncPancakeClient, api: respx.MockRouter) -> None:
    api.get("/webhooks/wh_1").respond(401)

    with pytest.raises(AuthenticationError) as caught:
        await client.webhooks.get_by_id("wh_1")

    assert caught.value.body is None
    assert caught.value.message == "Unauthorized"
    assert str(caught.value) == "401 Unauthorized"


async def test_a_json_error_without_the_envelope(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks/wh_1").respond(403, json=["not", "an", "envelope"])

    with pytest.raises(PermissionDeniedError) as caught:
        await client.webhooks.get_by_id("wh_1")

    assert caught.value.body == ["not", "an", "envelope"]
    assert caught.value.code is None


async def test_a_redirect_is_an_error(client: AsyncPancakeClient, api: respx.MockRouter) -> None:
    api.get("/webhooks").respond(301, headers={"Location": "https://elsewhere.example/"})

    with pytest.raises(APIStatusError) as caught:
        await client.webhooks.list()

    assert caught.value.status_code == 301


async def test_rate_limit_error_carries_retry_after(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    api.get("/webhooks").respond(
        429, json=payloads.error("rate_limited", "Too many requests."), headers={"Retry-After": "7"}
    )

    with pytest.raises(RateLimitError) as caught:
        await client.with_options(max_retries=0).webhooks.list()

    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html>maintenance</html>", "text/html"),
        (b"", "application/json"),
        (b'{"id": "wh_1", "url": ', "application/json"),
        (b'{"id": "wh_1"}', "text/plain"),
        (b'{"id": "wh_1"}', None),
        (b'{"id": "wh_1"}', "application/json"),
        (b'{"data": "not a list"}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"null", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[" * 100_000, "application/json"),
    ],
)
async def test_any_bad_success_body_is_a_validation_error(
    client: AsyncPancakeClient, api: respx.MockRouter, body: bytes, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    api.get("/webhooks/wh_1").mock(return_value=httpx.Response(200, content=body, headers=headers))

    with pytest.raises(APIResponseValidationError) as caught:
        await client.webhooks.get_by_id("wh_1")

    error = caught.value
    assert error.body == body
    assert error.status_code == 200
    assert "GET /api/v1/shops/shop_42/webhooks/wh_1" in str(error)


async def test_a_validation_error_names_the_problem(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    broken = payloads.webhook()
    del broken["created_at"]
    api.get("/webhooks/wh_1").respond(200, json=broken)

    with pytest.raises(APIResponseValidationError) as caught:
        await client.webhooks.get_by_id("wh_1")

    assert "created_at" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)


async def test_connection_errors_are_chained(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    api.get("/webhook-deliveries/pending").mock(side_effect=httpx.ReadTimeout("timed out"))
    no_retries = client.with_options(max_retries=0)

    with pytest.raises(APIConnectionError) as refused:
        await no_retries.webhooks.list()
    with pytest.raises(APITimeoutError) as timed_out:
        await no_retries.webhooks.get_pending_deliveries()

    assert type(refused.value) is APIConnectionError
    assert isinstance(refused.value.__cause__, httpx.ConnectError)
    assert str(refused.value) == (
        "Connection error: GET /api/v1/shops/shop_42/webhooks: [Errno 111] Connection refused"
    )
    assert isinstance(timed_out.value.__cause__, httpx.ReadTimeout)
    assert str(timed_out.value).startswith("Request timed out: GET ")


def test_status_error_class() -> None:
    assert status_error_class(404) is NotFoundError
    assert status_error_class(599) is InternalServerError
    assert status_error_class(410) is APIStatusError
