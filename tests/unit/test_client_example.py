"""examples/async_usage.py runs from start to end against a mocked API."""

from __future__ import annotations

import json
import runpy
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import respx

from pancake_pos.sandbox import SandboxServer

if TYPE_CHECKING:
    from conftest import Payloads

EXAMPLE = Path(__file__).parents[2] / "examples" / "async_usage.py"
BASE_URL = "http://127.0.0.1:8765/api/v1"


async def test_the_async_example_runs(
    monkeypatch: pytest.MonkeyPatch,
    api: respx.MockRouter,
    payloads: Payloads,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PANCAKE_API_KEY", "sk_example")
    monkeypatch.setenv("PANCAKE_SHOP_ID", "shop_42")
    monkeypatch.setenv("PANCAKE_BASE_URL", BASE_URL)
    monkeypatch.setenv("PANCAKE_WEBHOOK_URL", "https://shop.example.com/hook")
    failed = [payloads.delivery(f"dlv_{n}") for n in range(3)]
    create = api.post("/webhooks").respond(201, json=payloads.webhook(id="wh_new"))
    api.post("/webhooks/wh_new/test").respond(
        200, json={"delivery_id": "dlv_t", "status": "failed", "failure_reason": "refused"}
    )
    disable = api.put("/webhooks/wh_new/set-active").respond(
        200, json=payloads.webhook(id="wh_new", is_active=False)
    )
    api.get("/webhook-deliveries", params={"status": "failed"}).respond(
        200, json=payloads.page(failed, page_number=1, page_size=100, total=3)
    )
    api.get("/webhook-deliveries", params={"webhook_id": "wh_new"}).respond(
        200, json=payloads.page(failed[:1], page_number=1, page_size=20, total=1)
    )
    api.get("/webhooks/wh_does_not_exist").respond(
        404,
        json=payloads.error("not_found", "No webhook wh_does_not_exist."),
        headers={"X-Request-Id": "req_7"},
    )
    delete = api.delete("/webhooks/wh_new").respond(204)

    await runpy.run_path(str(EXAMPLE))["main"]()

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "created wh_new for order.created, order.status_changed",
        "test delivery failed (refused); disabling wh_new",
        "1 deliveries for wh_new",
        "  failed: dlv_0 order.created HTTP 500 from receiver",
        "  failed: dlv_1 order.created HTTP 500 from receiver",
        "  failed: dlv_2 order.created HTTP 500 from receiver",
        "not found: No webhook wh_does_not_exist. (request_id=req_7)",
        "deleted wh_new",
    ]
    assert json.loads(create.calls.last.request.content)["url"] == "https://shop.example.com/hook"
    assert json.loads(disable.calls.last.request.content) == {"is_active": False}
    assert delete.called


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_the_async_example_runs_against_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SandboxServer(retry_schedule=(30,)) as sandbox:
        monkeypatch.setenv("PANCAKE_API_KEY", sandbox.api_key)
        monkeypatch.setenv("PANCAKE_SHOP_ID", sandbox.shop_id)
        monkeypatch.setenv("PANCAKE_BASE_URL", sandbox.base_url)
        # Nobody listens there: the test delivery fails and the example disables the webhook.
        monkeypatch.setenv("PANCAKE_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")

        await runpy.run_path(str(EXAMPLE))["main"]()

    out = capsys.readouterr().out
    assert "test delivery failed (connection refused); disabling wh_" in out
    assert "1 deliveries for wh_" in out
    assert "not found: No webhook wh_does_not_exist. (request_id=req_" in out
    assert out.rstrip().splitlines()[-1].startswith("deleted wh_")
