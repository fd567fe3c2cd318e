"""`pancake-pos deliveries recover`: after a receiver outage, each missed event once."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

import pytest
from typer.testing import Result

from pancake_pos._sync import PancakeClient
from pancake_pos.models import Webhook, WebhookDelivery
from pancake_pos.sandbox._receiver import RecordingReceiver

MakeDeliveries = Callable[..., list[WebhookDelivery]]
Cli = Callable[..., Result]
TODAY = datetime.datetime.now(datetime.UTC).date().isoformat()


def test_recover_after_an_outage_then_again_retries_nothing(
    cli: Cli,
    client: PancakeClient,
    webhook: Webhook,
    make_deliveries: MakeDeliveries,
    receiver: RecordingReceiver,
) -> None:
    make_deliveries(webhook, 2)
    missed = make_deliveries(webhook, 3, fail=True)  # the outage
    receiver.fail_next(1)
    assert client.webhooks.retry_delivery(missed[0].id).status == "failed"  # a retry failed too
    before = len(receiver.received)

    dry = cli("deliveries", "recover", "--webhook-id", webhook.id, "--since", TODAY, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Dry run: would retry 3 events." in dry.stdout
    assert len(receiver.received) == before

    result = cli("deliveries", "recover", "--webhook-id", webhook.id, "--since", TODAY)
    assert result.exit_code == 0, result.output
    assert "Recovered 3 events: 3 succeeded, 0 failed again." in result.stdout
    assert [line.split() for line in result.stdout.splitlines()[1:]] == [
        ["Events", "seen", "5"],
        ["Already", "delivered", "2"],
        ["Automatic", "retry", "pending", "0"],
        ["Retried", "3"],
        ["Recovered", "3"],
        ["Still", "failing", "0"],
    ]
    assert "Reading" in result.stderr  # the progress bar
    assert "Retrying" in result.stderr
    resent = receiver.received[before:]
    assert [delivery.event_id for delivery in resent] == [d.payload["id"] for d in missed]

    again = cli("--json", "deliveries", "recover", "--webhook-id", webhook.id, "--since", TODAY)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["retried"], summary["already_delivered"], summary["events_seen"]) == (0, 5, 5)
    assert len(receiver.received) == before + 3


def test_recover_exits_1_and_names_the_events_still_failing(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries, receiver: RecordingReceiver
) -> None:
    missed = make_deliveries(webhook, 2, fail=True)
    receiver.fail_next(2)
    result = cli("deliveries", "recover", "--webhook-id", webhook.id, "--since", TODAY)
    assert result.exit_code == 1, result.output
    for delivery in missed:
        assert f"still failing: {delivery.payload['id']}" in result.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-02-30", "2024-02-30 is not a date that exists"),
        ("2024-4-1", "expected a day as YYYY-MM-DD, got '2024-4-1'"),
        ("2024-04-01T25:00", "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"),
    ],
)
def test_recover_refuses_dates_the_sdk_would_refuse(cli: Cli, value: str, message: str) -> None:
    result = cli("deliveries", "recover", "--webhook-id", "wh_1", "--since", value)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_recover_refuses_since_after_until(cli: Cli) -> None:
    result = cli(
        "deliveries", "recover", "--webhook-id", "wh_1", "--since", "2024-04-02",
        "--until", "2024-04-01",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--since (2024-04-02) must not be after --until (2024-04-01)" in result.stderr


@pytest.mark.parametrize("value", ["2024-02-30", "2024-4-1"])
def test_day_options_refuse_what_the_sdk_refuses(cli: Cli, value: str) -> None:
    for args in (
        ["deliveries", "list", "--from", value],
        ["deliveries", "clear", "--webhook-id", "wh_1", "--before", value, "--yes"],
        ["webhooks", "stats", "wh_1", "--to", value],
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert value in result.stderr
