"""The sandbox's 422 answers say which field is wrong and why, in a line a person can read."""

from __future__ import annotations

import httpx
import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import UnprocessableEntityError
from pancake_pos.sandbox import SandboxServer


async def test_an_unknown_event_is_named_by_its_field_and_reads_short(
    client: AsyncPancakeClient,
) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.webhooks.create(
            url="http://127.0.0.1:9/hook", events=["order.created", "order.refunded"]
        )
    text = str(caught.value)
    assert "events[1]: 'order.refunded' is not a known event" in text
    assert "..." not in text  # nothing cut off


async def test_a_value_of_the_wrong_type_is_one_problem_not_two(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        answer = await http.post(
            f"/shops/{sandbox.shop_id}/webhooks",
            params={"api_key": sandbox.api_key},
            json={"url": "http://127.0.0.1:9/hook", "events": [3]},
        )
    assert answer.status_code == 422
    problems = answer.json()["error"]["details"]["errors"]
    assert problems == [
        {"location": "body", "field": "events[0]", "message": "3 is not of type 'string'"}
    ]


async def test_a_short_list_of_allowed_values_is_spelled_out(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        answer = await http.get(
            f"/shops/{sandbox.shop_id}/webhook-deliveries",
            params={"api_key": sandbox.api_key, "status": "pending"},
        )
    assert answer.status_code == 422
    problems = answer.json()["error"]["details"]["errors"]
    assert problems == [
        {
            "location": "query",
            "field": "status",
            "message": "'pending' is not one of 'success', 'failed'",
        }
    ]


async def test_a_path_outside_the_api_says_where_the_api_is(sandbox: SandboxServer) -> None:
    # A base URL without /api/v1 is the usual cause.
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        answer = await http.get(
            f"/shops/{sandbox.shop_id}/webhooks", params={"api_key": sandbox.api_key}
        )
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "/api/v1" in message
    assert "base URL" in message
