"""`pancake-pos deliveries ...` against a running sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

from pancake_pos._converter import unstructure
from pancake_pos._sync import PancakeClient
from pancake_pos.models import Webhook, WebhookDelivery
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver

MakeDeliveries = Callable[..., list[WebhookDelivery]]

Cli = Callable[..., Result]


def test_list_shows_one_page_with_every_filter(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries
) -> None:
    made = make_deliveries(webhook, 3) + make_deliveries(webhook, 2, fail=True)
    day = made[0].created_at.date().isoformat()

    page = cli(
        "--json",
        "deliveries",
        "list",
        "--webhook-id",
        webhook.id,
        "--status",
        "failed",
        "--event",
        "order.created",
        "--from",
        day,
        "--to",
        made[-1].created_at.date().isoformat(),
        "--page-size",
        "1",
        "--page",
        "2",
    )
    assert page.exit_code == 0, page.output
    document = json.loads(page.stdout)
    assert document["total"] == 2
    assert document["page_number"] == 2
    assert document["total_pages"] == 2
    assert [delivery["id"] for delivery in document["data"]] == [made[3].id]  # newest first

    table = cli("deliveries", "list", "--webhook-id", webhook.id, "--page-size", "10")
    assert table.exit_code == 0, table.output
    for delivery in made:
        assert delivery.id in table.stdout
    assert "Page 1 of 1, 5 deliveries in all" in table.stdout
    assert "failed 500" in table.stdout
    assert "success 200" in table.stdout


def test_an_empty_history_reads_as_such(cli: Cli, webhook: Webhook) -> None:
    result = cli("deliveries", "list", "--webhook-id", webhook.id)
    assert result.exit_code == 0, result.output
    assert "No deliveries." in result.stdout
    assert "of 0" not in result.stdout

    walked = cli("deliveries", "list", "--all", "--webhook-id", webhook.id)
    assert walked.exit_code == 0, walked.output
    assert "ID" not in walked.stdout
    assert "0 deliveries" in walked.output


def test_list_all_streams_json_lines_in_the_iterators_order(
    cli: Cli, client: PancakeClient, webhook: Webhook, make_deliveries: MakeDeliveries
) -> None:
    make_deliveries(webhook, 5)
    result = cli(
        "--json", "deliveries", "list", "--all", "--webhook-id", webhook.id, "--page-size", "2"
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    expected = list(client.webhooks.iter_deliveries(webhook_id=webhook.id, page_size=2))
    assert lines == [unstructure(delivery) for delivery in expected]
    assert len(lines) == 5

    table = cli("deliveries", "list", "--all", "--webhook-id", webhook.id, "--page-size", "2")
    assert table.exit_code == 0, table.output
    assert all(delivery.id in table.stdout for delivery in expected)
    assert "Page 3 of 3" in table.stdout
    assert "5 deliveries" in table.stderr


def test_list_refuses_page_with_all(cli: Cli) -> None:
    result = cli("deliveries", "list", "--all", "--page", "2")
    assert result.exit_code == 2
    assert "--page and --all" in result.stderr


def test_get_shows_the_payload_and_the_receivers_answer(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries
) -> None:
    (delivery,) = make_deliveries(webhook, 1, fail=True)
    shown = cli("deliveries", "get", delivery.id)
    assert shown.exit_code == 0, shown.output
    assert delivery.id in shown.stdout
    assert '"number": 0' in shown.stdout
    assert "HTTP 500" in shown.stdout

    as_json = json.loads(cli("--json", "deliveries", "get", delivery.id).stdout)
    assert as_json == unstructure(delivery)


def test_retry_one_delivery(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries, receiver: RecordingReceiver
) -> None:
    (delivery,) = make_deliveries(webhook, 1, fail=True)
    retried = cli("deliveries", "retry", delivery.id)
    assert retried.exit_code == 0, retried.output
    assert "success (HTTP 200)" in retried.stdout
    assert receiver.received[-1].event_id == delivery.payload["id"]

    receiver.fail_next(1)
    again = cli("--json", "deliveries", "retry", delivery.id)
    assert again.exit_code == 1, again.output
    assert json.loads(again.stdout)["status"] == "failed"


def test_retry_needs_an_id_or_failed(cli: Cli) -> None:
    neither = cli("deliveries", "retry")
    both = cli("deliveries", "retry", "dlv_1", "--failed")
    filters_alone = cli("deliveries", "retry", "dlv_1", "--webhook-id", "wh_1")
    for result in (neither, both, filters_alone):
        assert result.exit_code == 2
        assert result.stderr.startswith("error: ")


def test_retry_failed_sends_one_retry_per_event_with_no_successful_attempt(
    cli: Cli,
    client: PancakeClient,
    webhook: Webhook,
    make_deliveries: MakeDeliveries,
    receiver: RecordingReceiver,
) -> None:
    make_deliveries(webhook, 2)
    failed = make_deliveries(webhook, 3, fail=True)
    receiver.fail_next(1)  # a second failed attempt of the first failed event
    assert client.webhooks.retry_delivery(failed[0].id).status == "failed"
    (late,) = make_deliveries(webhook, 1, fail=True)  # failed, then got through
    assert client.webhooks.retry_delivery(late.id).status == "success"
    before = len(receiver.received)

    result = cli(
        "deliveries", "retry", "--failed", "--webhook-id", webhook.id, "--concurrency", "2"
    )
    assert result.exit_code == 0, result.output
    assert "Retried 3 events: 3 succeeded, 0 failed again." in result.stdout
    assert "Already delivered        3" in result.stdout
    resent = receiver.received[before:]
    assert sorted(delivery.event_id for delivery in resent) == sorted(
        delivery.payload["id"] for delivery in failed
    )
    assert all(delivery.verified for delivery in resent)
    assert "Retrying" in result.stderr  # the progress bar's last frame

    again = cli("deliveries", "retry", "--failed", "--webhook-id", webhook.id)
    assert again.exit_code == 0, again.output
    assert "Retried 0 events" in again.stdout
    assert len(receiver.received) == before + 3


def test_retry_failed_exits_1_when_some_fail_again_and_prints_json(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries, receiver: RecordingReceiver
) -> None:
    failed = make_deliveries(webhook, 2, fail=True)
    receiver.fail_next(2)
    result = cli("--json", "deliveries", "retry", "--failed", "--webhook-id", webhook.id)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["retried"] == 2
    assert summary["recovered"] == 0
    assert summary["event_ids_still_failing"] == [d.payload["id"] for d in failed]


def test_retry_failed_dry_run_sends_nothing(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries, receiver: RecordingReceiver
) -> None:
    make_deliveries(webhook, 2, fail=True)
    before = len(receiver.received)
    result = cli("deliveries", "retry", "--failed", "--webhook-id", webhook.id, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: would retry 2 events." in result.stdout
    assert len(receiver.received) == before


def test_pending_lists_the_automatic_retries_to_come(
    cli: Cli,
    client: PancakeClient,
    webhook: Webhook,
    receiver: RecordingReceiver,
    emit: Callable[..., dict[str, Any]],
) -> None:
    receiver.fail_next(1)
    emitted = emit("order.created", {"order_id": "o-pending"})
    assert emitted["webhook_ids"] == [webhook.id]
    pending = _wait_for(lambda: _pending_of(client, webhook.id))

    table = cli("deliveries", "pending")
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if pending[0]["id"] in line)
    assert webhook.id in row
    assert "2" in row.split()  # the second attempt
    as_json = json.loads(cli("--json", "deliveries", "pending").stdout)
    assert pending[0] in as_json["deliveries"]


def _pending_of(client: PancakeClient, webhook_id: str) -> list[dict[str, Any]]:
    pending = client.webhooks.get_pending_deliveries()
    return [unstructure(d) for d in pending.deliveries if d.webhook_id == webhook_id]


def _wait_for(probe: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("nothing turned up in 10 s")


def test_clear_deletes_the_history_asked_for(
    cli: Cli, client: PancakeClient, webhook: Webhook, make_deliveries: MakeDeliveries
) -> None:
    kept = make_deliveries(webhook, 2)
    make_deliveries(webhook, 1, fail=True)

    refused = cli("deliveries", "clear", "--webhook-id", webhook.id, "--status", "failed")
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr

    cleared = cli("deliveries", "clear", "--webhook-id", webhook.id, "--status", "failed", "--yes")
    assert cleared.exit_code == 0, cleared.output
    assert f"Deleted 1 delivery of {webhook.id}." in cleared.stdout
    left = list(client.webhooks.iter_deliveries(webhook_id=webhook.id))
    assert [delivery.id for delivery in left] == [delivery.id for delivery in reversed(kept)]


def test_export_writes_the_iterators_deliveries_as_json_lines(
    cli: Cli,
    client: PancakeClient,
    webhook: Webhook,
    make_deliveries: MakeDeliveries,
    tmp_path: Path,
) -> None:
    make_deliveries(webhook, 4)
    make_deliveries(webhook, 3, fail=True)
    target = tmp_path / "history.jsonl"

    result = cli(
        "deliveries",
        "export",
        "--output",
        str(target),
        "--webhook-id",
        webhook.id,
        "--page-size",
        "3",
    )
    assert result.exit_code == 0, result.output
    assert f"Exported 7 deliveries (3 pages) to {target}." in result.stdout
    assert "7/7" in result.stderr  # the progress bar's last frame
    lines = target.read_text(encoding="utf-8").splitlines()
    expected = list(client.webhooks.iter_deliveries(webhook_id=webhook.id, page_size=3))
    assert [json.loads(line)["id"] for line in lines] == [delivery.id for delivery in expected]
    assert [json.loads(line) for line in lines] == [unstructure(d) for d in expected]

    failed_only = tmp_path / "failed.jsonl"
    filtered = cli(
        "--json",
        "deliveries",
        "export",
        "-o",
        str(failed_only),
        "--webhook-id",
        webhook.id,
        "--status",
        "failed",
    )
    assert json.loads(filtered.stdout) == {"path": str(failed_only), "deliveries": 3, "pages": 1}
    statuses = {json.loads(line)["status"] for line in failed_only.read_text().splitlines()}
    assert statuses == {"failed"}


def test_export_does_not_overwrite_a_file_without_force(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries, tmp_path: Path
) -> None:
    make_deliveries(webhook, 1)
    target = tmp_path / "history.jsonl"
    target.write_text("keep me\n")
    refused = cli("deliveries", "export", "-o", str(target), "--webhook-id", webhook.id)
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    assert target.read_text() == "keep me\n"

    forced = cli("deliveries", "export", "-o", str(target), "--webhook-id", webhook.id, "--force")
    assert forced.exit_code == 0, forced.output
    assert json.loads(target.read_text())["webhook_id"] == webhook.id


def test_an_export_the_api_refuses_leaves_no_file_and_keeps_the_old_one(
    cli: Cli, webhook: Webhook, tmp_path: Path
) -> None:
    """The first page is read before the file is opened: a refused export (here a wrong key)
    neither leaves an empty file that blocks the next run nor wipes the file --force was
    about to replace."""
    wrong_key = {"PANCAKE_API_KEY": "sk_not_the_key"}
    fresh = tmp_path / "fresh.jsonl"
    refused = cli(
        "deliveries", "export", "-o", str(fresh), "--webhook-id", webhook.id, env=wrong_key
    )
    assert refused.exit_code == 3, refused.output
    assert "401" in refused.stderr
    assert not fresh.exists()

    previous = tmp_path / "previous.jsonl"
    previous.write_text('{"id": "dlv_kept"}\n')
    forced = cli(
        "deliveries",
        "export",
        "-o",
        str(previous),
        "--webhook-id",
        webhook.id,
        "--force",
        env=wrong_key,
    )
    assert forced.exit_code == 3, forced.output
    assert previous.read_text() == '{"id": "dlv_kept"}\n'


def test_retry_failed_exits_3_when_the_api_refuses_some(
    cli: Cli,
    sandbox: SandboxServer,
    webhook: Webhook,
    make_deliveries: MakeDeliveries,
) -> None:
    failed = make_deliveries(webhook, 3, fail=True)
    sandbox.inject_fault("500", count=1, method="POST", path="/api/v1/shops/")
    try:
        result = cli("deliveries", "retry", "--failed", "--webhook-id", webhook.id)
    finally:
        sandbox.clear_faults()
    assert result.exit_code == 3, result.output
    assert "Retried 3 events: 2 succeeded, 0 failed again, 1 could not be sent." in result.stdout
    (line,) = [line for line in result.stdout.splitlines() if "still failing:" in line]
    assert line.split()[2].rstrip(":") in {d.payload["id"] for d in failed}
    assert ": 500 " in line


def test_retry_failed_counts_a_dropped_connection_and_goes_on(
    cli: Cli,
    sandbox: SandboxServer,
    webhook: Webhook,
    make_deliveries: MakeDeliveries,
    receiver: RecordingReceiver,
) -> None:
    failed = make_deliveries(webhook, 4, fail=True)
    before = len(receiver.received)
    sandbox.inject_fault("drop", count=1, method="POST", path="/api/v1/shops/")
    try:
        result = cli("deliveries", "retry", "--failed", "--webhook-id", webhook.id)
    finally:
        sandbox.clear_faults()
    assert result.exit_code == 4, result.output
    assert "Retried 4 events: 3 succeeded, 0 failed again, 1 could not be sent." in result.stdout
    (line,) = [line for line in result.stdout.splitlines() if "still failing:" in line]
    dropped = line.split()[2].rstrip(":")
    sent = {d.payload["id"] for d in failed} - {dropped}
    assert sorted(d.event_id for d in receiver.received[before:]) == sorted(sent)
    assert sandbox.api_key not in result.output
