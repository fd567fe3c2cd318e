"""`pancake-pos webhooks ...` against a running sandbox."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

import pytest
from typer.testing import Result

from pancake_pos._sync import PancakeClient
from pancake_pos.models import Webhook, WebhookDelivery
from pancake_pos.sandbox._receiver import RecordingReceiver

Cli = Callable[..., Result]


def test_create_get_update_disable_enable_rotate_and_delete_a_webhook(
    cli: Cli, client: PancakeClient, receiver: RecordingReceiver
) -> None:
    created = cli(
        "--json",
        "webhooks",
        "create",
        "--url",
        receiver.url,
        "--event",
        "order.created,order.updated",
        "--event",
        "customer.created",
        "--description",
        "From the CLI",
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert hook["events"] == ["order.created", "order.updated", "customer.created"]
    assert hook["secret_key"].startswith("whsec_")
    webhook_id = hook["id"]

    shown = cli("webhooks", "get", webhook_id)
    assert shown.exit_code == 0, shown.output
    assert webhook_id in shown.stdout
    assert "From the CLI" in shown.stdout
    assert hook["secret_key"] not in shown.stdout  # masked unless --show-secret
    assert "whsec_" in shown.stdout

    as_json = json.loads(cli("--json", "webhooks", "get", webhook_id).stdout)
    assert "secret_key" not in as_json
    with_secret = json.loads(cli("--json", "webhooks", "get", webhook_id, "--show-secret").stdout)
    assert with_secret["secret_key"] == hook["secret_key"]

    updated = cli(
        "webhooks", "update", webhook_id, "--event", "order.created", "--clear-description"
    )
    assert updated.exit_code == 0, updated.output
    after = client.webhooks.get_by_id(webhook_id)
    assert after.events == ["order.created"]
    assert after.description is None
    assert after.url == receiver.url

    disabled = cli("webhooks", "disable", webhook_id)
    assert disabled.exit_code == 0, disabled.output
    assert f"Webhook {webhook_id} is disabled." in disabled.stdout
    assert client.webhooks.get_by_id(webhook_id).is_active is False
    enabled = cli("--json", "webhooks", "enable", webhook_id)
    assert json.loads(enabled.stdout)["is_active"] is True

    rotated = cli("webhooks", "rotate-secret", webhook_id)
    assert rotated.exit_code == 0, rotated.output
    new_secret = client.webhooks.get_by_id(webhook_id).secret_key
    assert new_secret is not None
    assert new_secret != hook["secret_key"]
    assert new_secret in rotated.stdout

    deleted = cli("webhooks", "delete", webhook_id, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert f"Deleted webhook {webhook_id}." in deleted.stdout
    gone = cli("webhooks", "get", webhook_id)
    assert gone.exit_code == 3
    assert f"404 not_found: No webhook {webhook_id}." in gone.stderr


def test_list_shows_the_webhooks_as_a_table_and_as_json(cli: Cli, webhook: Webhook) -> None:
    table = cli("webhooks", "list")
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if webhook.id in line)
    assert webhook.url in row
    assert "healthy" in row

    listed = json.loads(cli("--json", "webhooks", "list").stdout)
    ids = [hook["id"] for hook in listed["data"]]
    assert webhook.id in ids
    assert all("secret_key" not in hook for hook in listed["data"])


def test_update_needs_something_to_change(cli: Cli, webhook: Webhook) -> None:
    result = cli("webhooks", "update", webhook.id)
    assert result.exit_code == 2
    assert "nothing to change" in result.stderr


def test_delete_refuses_without_yes_when_nobody_can_be_asked(
    cli: Cli, client: PancakeClient, webhook: Webhook
) -> None:
    result = cli("webhooks", "delete", webhook.id)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert client.webhooks.get_by_id(webhook.id).id == webhook.id


def test_test_reports_the_receivers_answer_and_exits_1_when_it_failed(
    cli: Cli, webhook: Webhook, receiver: RecordingReceiver
) -> None:
    accepted = cli("webhooks", "test", webhook.id, "--data", '{"order_id": "t-1"}')
    assert accepted.exit_code == 0, accepted.output
    assert "success (HTTP 200)" in accepted.stdout
    delivered = receiver.received[-1]
    assert delivered.verified
    assert delivered.payload is not None
    assert delivered.payload["event"] == "order.created"  # the webhook's first event
    assert delivered.payload["data"] == {"order_id": "t-1"}

    receiver.fail_next(1, status=503)
    refused = cli("--json", "webhooks", "test", webhook.id, "--event", "order.updated")
    assert refused.exit_code == 1, refused.output
    result = json.loads(refused.stdout)
    assert result["status"] == "failed"
    assert result["response"]["status_code"] == 503


def test_test_refuses_data_that_is_not_a_json_object(cli: Cli, webhook: Webhook) -> None:
    result = cli("webhooks", "test", webhook.id, "--data", "[1, 2]")
    assert result.exit_code == 2
    assert "JSON object" in result.stderr


@pytest.mark.parametrize("data", ['{"total": NaN}', '{"total": Infinity}'])
def test_test_refuses_data_that_python_reads_but_json_does_not(
    cli: Cli, webhook: Webhook, data: str
) -> None:
    result = cli("webhooks", "test", webhook.id, "--data", data)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the test data is not valid JSON: ")
    assert "is not a JSON number" in result.stderr


def test_stats_prints_totals_rate_events_and_an_hourly_chart(
    cli: Cli,
    webhook: Webhook,
    make_deliveries: Callable[..., list[WebhookDelivery]],
) -> None:
    made = make_deliveries(webhook, 2) + make_deliveries(webhook, 1, fail=True)
    days = sorted({delivery.created_at.astimezone(datetime.UTC).date() for delivery in made})
    first, last = days[0].isoformat(), days[-1].isoformat()

    result = cli("webhooks", "stats", webhook.id, "--from", first, "--to", last)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Webhook {webhook.id}, {first} to {last}" in out
    assert "Success rate      66.7%" in out
    assert "order.created  3" in out
    assert "Deliveries per hour (UTC): █ succeeded, ░ failed" in out
    bars = [line for line in out.splitlines() if line.startswith(("19", "20")) and "█" in line]
    assert bars, out
    assert sum(int(bar.split()[3]) for bar in bars) == 3  # "2024-04-29 10:00Z ███░ 3 (1 failed)"
    assert sum("░" in bar for bar in bars) == 1

    stats = json.loads(cli("--json", "webhooks", "stats", webhook.id).stdout)
    assert stats["total_deliveries"] == 3
    assert stats["success_count"] == 2
    assert stats["event_counts"] == {"order.created": 3}
    assert sum(hour["total"] for hour in stats["hourly_stats"]) == 3


def test_stats_refuses_from_after_to(cli: Cli, webhook: Webhook) -> None:
    result = cli("webhooks", "stats", webhook.id, "--from", "2024-05-01", "--to", "2024-04-01")
    assert result.exit_code == 2
    assert "--from (2024-05-01) must not be after --to (2024-04-01)" in result.stderr
