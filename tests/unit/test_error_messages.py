"""Errors and reprs say what was wrong, and show no credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import respx
from conftest import API_KEY, BASE_URL

from pancake_pos import PancakeClient
from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import APIStatusError, UnprocessableEntityError

if TYPE_CHECKING:
    from conftest import Payloads


async def test_a_422_names_each_field_problem(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    problems = [
        {"location": "body", "field": "events[0]", "message": "'order.refunded' is not one of"},
        {"location": "body", "field": "url", "message": "must be an absolute http(s) URL"},
    ]
    body = payloads.error("validation_error", "The request is invalid.", {"errors": problems})
    api.post("/webhooks").respond(422, json=body, headers={"X-Request-Id": "req_9"})

    with pytest.raises(UnprocessableEntityError) as caught:
        await client.webhooks.create(url="https://example.com/h", events=["order.created"])

    text = str(caught.value)
    assert text.startswith("422 validation_error: The request is invalid.")
    assert "events[0]: 'order.refunded' is not one of" in text
    assert "url: must be an absolute http(s) URL" in text
    assert text.endswith("(request_id=req_9)")
    assert caught.value.message == "The request is invalid."


async def test_a_422_with_odd_details_still_reads(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    body = payloads.error("validation_error", "Bad.", {"errors": ["plain text", 3, {"x": 1}]})
    api.get("/webhooks").respond(422, json=body)

    with pytest.raises(UnprocessableEntityError) as caught:
        await client.webhooks.list()

    assert str(caught.value) == "422 validation_error: Bad. (plain text)"


async def test_a_redirect_names_where_it_points(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks").respond(301, headers={"Location": "https://pos.pages.fm/api/v2/x"})

    with pytest.raises(APIStatusError) as caught:
        await client.webhooks.list()

    text = str(caught.value)
    assert text.startswith("301 Moved Permanently")
    assert "https://pos.pages.fm/api/v2/x" in text
    assert "base_url" in text


async def test_a_redirect_location_shows_no_key(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    api.get("/webhooks").respond(302, headers={"Location": f"/login?api_key={API_KEY}"})

    with pytest.raises(APIStatusError) as caught:
        await client.webhooks.list()

    assert API_KEY not in str(caught.value)
    assert "/login?api_key=***" in str(caught.value)


async def test_shop_id_is_percent_encoded_into_paths() -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.get(url__regex=r".*").respond(200, json={"data": []})
        async with AsyncPancakeClient(API_KEY, "a/b ?", base_url=BASE_URL) as client:
            await client.webhooks.list()

    sent = route.calls[0].request.url
    assert sent.raw_path.startswith(b"/api/v1/shops/a%2Fb%20%3F/webhooks?")


@pytest.mark.parametrize("shop_id", ["..", "."])
async def test_a_dot_shop_id_does_not_climb_the_path(shop_id: str) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.get(url__regex=r".*").respond(200, json={"data": []})
        async with AsyncPancakeClient(API_KEY, shop_id, base_url=BASE_URL) as client:
            await client.webhooks.list()

    assert b"/shops/%2E" in route.calls[0].request.url.raw_path


def test_a_too_long_shop_id_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="shop_id"):
        AsyncPancakeClient(API_KEY, "s" * 129, base_url=BASE_URL)


@pytest.mark.parametrize("client_class", [AsyncPancakeClient, PancakeClient])
def test_repr_hides_credentials_in_base_url(client_class: type) -> None:
    client = client_class(API_KEY, "shop", base_url="https://user:pa55word@pos.example.com/api/v1")
    try:
        shown = repr(client)
    finally:
        if isinstance(client, PancakeClient):
            client.close()

    assert "pa55word" not in shown
    assert "user:***@pos.example.com" in shown
    assert API_KEY not in shown


def test_a_bad_base_url_message_hides_credentials() -> None:
    with pytest.raises(ValueError) as caught:
        AsyncPancakeClient(API_KEY, "shop", base_url="ftp://user:pa55word@host/x")

    assert "pa55word" not in str(caught.value)
