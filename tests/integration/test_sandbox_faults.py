"""Retries end to end: the SDK against faults injected into a running sandbox (429 with
Retry-After, 503, dropped connections, an answer lost after the work was done)."""

from __future__ import annotations

import httpx
import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import APIConnectionError, InternalServerError, RateLimitError
from pancake_pos.sandbox import SandboxServer


def webhooks_path(sandbox: SandboxServer) -> str:
    return f"/api/v1/shops/{sandbox.shop_id}/webhooks"


@pytest.mark.slow  # waits out a Retry-After of 1 s
async def test_429_with_retry_after_is_waited_out(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    sandbox.inject_fault("429", count=1, retry_after=1)
    listed = await client.webhooks.list()
    assert listed.data == []
    assert sandbox.app is not None
    assert sandbox.app.state.faults.armed() == []  # the fault was hit, then the retry passed


async def test_503_on_a_post_is_retried_and_creates_one_webhook(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    sandbox.inject_fault("503", count=1, retry_after=0, method="POST")
    created = await client.webhooks.create(url="http://127.0.0.1:9/a", events=["order.created"])
    assert [hook.id for hook in (await client.webhooks.list()).data] == [created.id]


@pytest.mark.slow  # real retry back-off
async def test_500_then_success_on_a_get(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    sandbox.inject_fault("500", count=2)
    assert (await client.webhooks.get_pending_deliveries()).total_count == 0


async def test_a_dropped_connection_on_a_get_is_retried(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    sandbox.inject_fault("drop", count=1, path=webhooks_path(sandbox))
    assert (await client.webhooks.list()).data == []
    assert sandbox.app is not None
    assert sandbox.app.state.faults.armed() == []


async def test_a_drop_is_a_real_disconnect(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("drop")
    async with httpx.AsyncClient(params={"api_key": sandbox.api_key}) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"{sandbox.base_url}/shops/{sandbox.shop_id}/webhooks")


async def test_faults_hit_only_authenticated_calls(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("503")
    url = f"{sandbox.base_url}/shops/{sandbox.shop_id}/webhooks"
    async with httpx.AsyncClient() as http:
        stranger = await http.get(url, params={"api_key": "wrong"})
        assert stranger.status_code == 401
        assert sandbox.app is not None
        assert len(sandbox.app.state.faults.armed()) == 1  # still armed
        hit = await http.get(url, params={"api_key": sandbox.api_key})
        assert hit.status_code == 503
    assert sandbox.app.state.faults.armed() == []


async def test_without_retries_the_faults_surface_as_typed_errors(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    once = client.with_options(max_retries=0)
    sandbox.inject_fault("429", retry_after=7)
    with pytest.raises(RateLimitError) as limited:
        await once.webhooks.list()
    assert limited.value.retry_after == 7
    assert limited.value.code == "rate_limited"
    sandbox.inject_fault("503")
    with pytest.raises(InternalServerError) as unavailable:
        await once.webhooks.list()
    assert unavailable.value.status_code == 503
    assert unavailable.value.request_id


async def test_a_lost_create_answer_is_repeated_safely_with_the_same_key(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    sandbox.inject_fault("drop_after", method="POST", path=webhooks_path(sandbox))
    with pytest.raises(APIConnectionError):  # the SDK never resends a POST the server got
        await client.webhooks.create(
            url="http://127.0.0.1:9/a", events=["order.created"], idempotency_key="lost-answer"
        )
    [stored] = (await client.webhooks.list()).data  # the work was done

    repeated = await client.webhooks.create(
        url="http://127.0.0.1:9/a", events=["order.created"], idempotency_key="lost-answer"
    )

    assert repeated.id == stored.id
    assert repeated.secret_key is not None  # the first answer, replayed whole
    assert len((await client.webhooks.list()).data) == 1


async def test_a_slow_answer_still_arrives(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    sandbox.inject_fault("slow", delay=0.2)
    assert (await client.webhooks.list()).data == []


async def test_the_fault_control_endpoint(sandbox: SandboxServer) -> None:
    control = f"{sandbox.url}/_sandbox/faults"
    async with httpx.AsyncClient(params={"api_key": sandbox.api_key}) as http:
        armed = await http.post(control, json={"kind": "503", "count": 2, "retry_after": 3})
        assert armed.status_code == 201
        assert (await http.get(control)).json()["faults"][0]["count"] == 2
        hit = await http.get(f"{sandbox.base_url}/shops/{sandbox.shop_id}/webhooks")
        assert hit.status_code == 503
        assert hit.headers["retry-after"] == "3"
        assert hit.json()["error"]["code"] == "unavailable"
        assert (await http.get(control)).json()["faults"][0]["count"] == 1
        assert (await http.delete(control)).status_code == 204
        assert (await http.get(control)).json()["faults"] == []
        refused = await http.post(control, json={"kind": "teapot"})
        assert refused.status_code == 422
        assert "kind" in refused.json()["error"]["message"]
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(control)).status_code == 401
