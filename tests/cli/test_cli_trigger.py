"""`pancake-pos trigger`: emitted by the sandbox to a real receiver, or sent as a test delivery
where the API has no emit endpoint (the real API, played here by respx)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import respx
from typer.testing import Result

from pancake_pos.models import Webhook
from pancake_pos.sandbox._receiver import RecordingReceiver

Cli = Callable[..., Result]

REAL_API = "https://pos.example.test/api/v1"
SHOP_URL = f"{REAL_API}/shops/shop_real"


def test_trigger_reaches_the_subscribed_receiver(
    cli: Cli, webhook: Webhook, receiver: RecordingReceiver
) -> None:
    before = len(receiver.received)
    result = cli("trigger", "order.updated", "--data", '{"order_id": "A-1"}')
    assert result.exit_code == 0, result.output
    assert "Emitted order.updated msg_" in result.stdout
    assert webhook.id in result.stdout
    event_id = result.stdout.split()[2]
    (arrived,) = [d for d in receiver.wait_for(before + 1) if d.event_id == event_id]
    assert arrived.verified
    assert arrived.payload is not None
    assert arrived.payload["data"] == {"order_id": "A-1"}


def test_trigger_reads_data_from_a_file_and_prints_json(
    cli: Cli, webhook: Webhook, receiver: RecordingReceiver, tmp_path: Path
) -> None:
    data = tmp_path / "order.json"
    data.write_text('{"order_id": "from-file"}')
    before = len(receiver.received)
    result = cli("--json", "trigger", "order.created", "--data", f"@{data}")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["sent_by"] == "sandbox"
    assert webhook.id in answer["webhook_ids"]
    arrived = [d for d in receiver.wait_for(before + 1) if d.event_id == answer["event_id"]]
    assert arrived[0].payload is not None
    assert arrived[0].payload["data"] == {"order_id": "from-file"}


def test_trigger_says_when_no_webhook_is_subscribed(cli: Cli) -> None:
    result = cli("trigger", "product.deleted")
    assert result.exit_code == 0, result.output
    assert "to 0 webhooks" in result.stdout
    assert "No active webhook is subscribed to product.deleted" in result.stderr


def test_trigger_refuses_bad_input(cli: Cli, tmp_path: Path) -> None:
    for args, message in (
        (["trigger", "created"], "EVENT"),
        (["trigger", "order.created", "--data", "[1]"], "must be a JSON object"),
        (["trigger", "order.created", "--data", "{"], "--data is not valid JSON"),
        (["trigger", "order.created", "--data", '{"x": NaN}'], "--data is not valid JSON"),
        (["trigger", "order.created", "--data", '{"x": -Infinity}'], "is not a JSON number"),
        (["trigger", "order.created", "--data", f"@{tmp_path}/none.json"], "cannot read"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr


def _real_api(router: respx.MockRouter) -> None:
    router.post("/sandbox/events").respond(
        404, json={"success": False, "error": {"code": "not_found", "message": "Not found."}}
    )
    router.post("/webhooks/wh_real/test").respond(
        200,
        json={"delivery_id": "dlv_test1", "status": "success", "response": {"status_code": 200}},
    )
    router.get("/webhook-deliveries/dlv_test1").respond(
        200,
        json={
            "id": "dlv_test1",
            "webhook_id": "wh_real",
            "event": "order.created",
            "payload": {
                "id": "msg_real1",
                "event": "order.created",
                "shop_id": "shop_real",
                "created_at": "2024-04-29T10:15:00Z",
                "data": {},
            },
            "response": {"status_code": 200, "headers": {}},
            "status": "success",
            "created_at": "2024-04-29T10:15:00Z",
            "duration_ms": 12,
        },
    )


def test_trigger_against_the_real_api_sends_a_test_delivery(cli: Cli) -> None:
    env: dict[str, str | None] = {"PANCAKE_BASE_URL": REAL_API, "PANCAKE_SHOP_ID": "shop_real"}
    with respx.mock(base_url=SHOP_URL, using="httpx") as router:
        _real_api(router)
        result = cli("trigger", "order.created", "--webhook-id", "wh_real", env=env)
        test_call = router.routes[1].calls.last.request
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [
        "Sent", "order.created", "msg_real1", "to", "webhook", "wh_real", "(test", "delivery",
        "dlv_test1):", "success", "(HTTP", "200)",
    ]  # fmt: skip
    assert json.loads(test_call.content) == {"event": "order.created"}


def test_trigger_against_the_real_api_needs_a_webhook_id(cli: Cli) -> None:
    env: dict[str, str | None] = {"PANCAKE_BASE_URL": REAL_API, "PANCAKE_SHOP_ID": "shop_real"}
    with respx.mock(base_url=SHOP_URL, using="httpx", assert_all_called=False) as router:
        _real_api(router)
        result = cli("trigger", "order.created", env=env)
        emit_calls, test_calls = router.routes[0].call_count, router.routes[1].call_count
    assert result.exit_code == 2, result.output
    assert "pass --webhook-id" in result.stderr
    assert (emit_calls, test_calls) == (1, 0)


def test_trigger_against_the_real_api_prints_json(cli: Cli) -> None:
    env: dict[str, str | None] = {"PANCAKE_BASE_URL": REAL_API, "PANCAKE_SHOP_ID": "shop_real"}
    with respx.mock(base_url=SHOP_URL, using="httpx") as router:
        _real_api(router)
        result = cli("--json", "trigger", "order.created", "--webhook-id", "wh_real", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "event_id": "msg_real1",
        "event": "order.created",
        "sent_by": "test",
        "webhook_id": "wh_real",
        "delivery_id": "dlv_test1",
        "status": "success",
        "status_code": 200,
        "failure_reason": None,
    }


def test_the_trigger_line_is_one_line_at_80_columns(cli: Cli, webhook: Webhook) -> None:
    # Piped to a file or another program, a result line must stay whole to be read back.
    result = cli("trigger", "order.created", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Emitted")]
    assert len(line) > 80
    assert line.split()[2].startswith("msg_")
    assert webhook.id in line.split(": ", 1)[1].split(", ")
