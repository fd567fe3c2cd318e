"""Recovery across webhooks: each webhook's copy of an event is its own thing to retry, so its
failure is reported under its own key and counted once."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Any

import httpx

from pancake_pos._recovery import recover_events
from pancake_pos.errors import APIConnectionError, APIError
from pancake_pos.models import PendingDeliveries, RetryWebhookResult, WebhookDelivery

NOW = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.UTC)


def _failed(delivery_id: str, webhook_id: str, event_id: str, minute: int) -> WebhookDelivery:
    return WebhookDelivery(
        id=delivery_id,
        webhook_id=webhook_id,
        event="order.created",
        payload={"id": event_id, "created_at": NOW.isoformat()},
        response=None,
        status="failed",
        failure_reason="connection refused",
        created_at=NOW + datetime.timedelta(minutes=minute),
        duration_ms=3,
    )


class FakeWebhooks:
    """The few operations recovery uses: one history, and retries that cannot be sent."""

    def __init__(self, history: list[WebhookDelivery], unsendable: set[str]) -> None:
        self.history = history
        self.unsendable = unsendable
        self.retried: list[str] = []

    async def get_by_id(self, webhook_id: str) -> None:
        del webhook_id

    async def get_pending_deliveries(self) -> PendingDeliveries:
        return PendingDeliveries(total_count=0, deliveries=[])

    async def iter_deliveries(self, **filters: Any) -> AsyncIterator[WebhookDelivery]:
        for delivery in sorted(self.history, key=lambda d: d.created_at, reverse=True):
            if filters.get("webhook_id") in (None, delivery.webhook_id):
                yield delivery

    async def retry_delivery(self, delivery_id: str) -> RetryWebhookResult:
        self.retried.append(delivery_id)
        if delivery_id in self.unsendable:
            request = httpx.Request("POST", f"http://127.0.0.1/retry/{delivery_id}")
            raise APIConnectionError(request, f"could not send {delivery_id}")
        return RetryWebhookResult(delivery_id=f"new_{delivery_id}", status="failed")


def _history() -> list[WebhookDelivery]:
    # One event sent to two webhooks, and a second event to the first one.
    return [
        _failed("dlv_a1", "wh_a", "evt_1", 0),
        _failed("dlv_b1", "wh_b", "evt_1", 1),
        _failed("dlv_a2", "wh_a", "evt_2", 2),
    ]


async def test_across_webhooks_each_copy_of_an_event_has_its_own_error() -> None:
    webhooks = FakeWebhooks(_history(), unsendable={"dlv_a1", "dlv_b1"})
    failures: dict[str, APIError] = {}
    result = await recover_events(
        webhooks,  # type: ignore[arg-type]
        webhook_id=None,
        since=None,
        failures=failures,
    )
    assert sorted(webhooks.retried) == ["dlv_a1", "dlv_a2", "dlv_b1"]
    assert (result.events_seen, result.retried, result.still_failing) == (3, 3, 3)
    keys = result.event_ids_still_failing
    assert len(keys) == len(set(keys)) == 3  # no key twice
    assert set(keys) == {"wh_a/evt_1", "wh_b/evt_1", "wh_a/evt_2"}
    assert len(result.errors) == 2  # both retries that could not be sent are counted
    assert "dlv_a1" in result.errors["wh_a/evt_1"]
    assert "dlv_b1" in result.errors["wh_b/evt_1"]
    assert set(failures) == {"wh_a/evt_1", "wh_b/evt_1"}


async def test_for_one_webhook_the_keys_are_the_event_ids() -> None:
    webhooks = FakeWebhooks(_history(), unsendable={"dlv_a1"})
    result = await recover_events(
        webhooks,  # type: ignore[arg-type]
        webhook_id="wh_a",
        since=NOW.date(),
    )
    assert result.event_ids_still_failing == ["evt_1", "evt_2"]
    assert list(result.errors) == ["evt_1"]
