"""The API's JSON for the sandbox's stored records: webhooks, deliveries, pages, stats, health."""

from __future__ import annotations

import math
from typing import Any

from ._config import format_timestamp
from ._store import DeliveryRecord, HealthFacts, WebhookRecord

__all__ = [
    "attempt_result",
    "delivery_json",
    "delivery_page",
    "health_json",
    "stats_json",
    "webhook_json",
]

_HOUR = 3600 * 1_000_000


def health_json(facts: HealthFacts) -> dict[str, Any]:
    """`WebhookHealthStatus`: healthy from 95 % successes, warning from 80 %, error below."""
    successes = sum(1 for status in facts.recent if status == "success")
    rate = 100.0 if not facts.recent else round(100.0 * successes / len(facts.recent), 2)
    state = "healthy" if rate >= 95 else "warning" if rate >= 80 else "error"
    health: dict[str, Any] = {"status": state, "success_rate": rate}
    if facts.last_failure_at is not None:
        if facts.last_failure_reason is not None:
            health["last_failure_reason"] = facts.last_failure_reason
        health["last_failure_at"] = format_timestamp(facts.last_failure_at)
    if facts.last_success_at is not None:
        health["last_success_at"] = format_timestamp(facts.last_success_at)
    return health


def webhook_json(
    webhook: WebhookRecord, health: HealthFacts, *, with_secret: bool
) -> dict[str, Any]:
    """`Webhook` (`secret_key` only when `with_secret`)."""
    body: dict[str, Any] = {
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events,
        "is_active": webhook.is_active,
    }
    if with_secret:
        body["secret_key"] = webhook.secret
    if webhook.description is not None:
        body["description"] = webhook.description
    body["created_at"] = format_timestamp(webhook.created_at)
    body["updated_at"] = format_timestamp(webhook.updated_at)
    if webhook.last_triggered_at is not None:
        body["last_triggered_at"] = format_timestamp(webhook.last_triggered_at)
    body["health_status"] = health_json(health)
    return body


def delivery_json(delivery: DeliveryRecord) -> dict[str, Any]:
    """`WebhookDelivery`."""
    body: dict[str, Any] = {
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "event": delivery.event,
        "payload": delivery.payload,
        "response": delivery.response,
        "status": delivery.status,
        "created_at": format_timestamp(delivery.created_at),
        "duration_ms": delivery.duration_ms,
        "attempt": delivery.attempt,
    }
    if delivery.failure_reason is not None:
        body["failure_reason"] = delivery.failure_reason
    if delivery.next_attempt_at is not None:
        body["next_attempt_at"] = format_timestamp(delivery.next_attempt_at)
    return body


def delivery_page(
    deliveries: list[DeliveryRecord], *, total: int, page_size: int, page_number: int
) -> dict[str, Any]:
    """`DeliveryPage`."""
    return {
        "data": [delivery_json(delivery) for delivery in deliveries],
        "total": total,
        "page_number": page_number,
        "page_size": page_size,
        "total_pages": math.ceil(total / page_size),
    }


def stats_json(rows: list[tuple[str, str, int, int]]) -> dict[str, Any]:
    """`WebhookStats` of completed deliveries given as (status, event, created_at, duration_ms),
    oldest first; hours are UTC buckets."""
    events: dict[str, int] = {}
    hours: dict[int, dict[str, int]] = {}
    for status, event, created_at, _duration in rows:
        events[event] = events.get(event, 0) + 1
        bucket = hours.setdefault(
            created_at - created_at % _HOUR, {"total": 0, "success": 0, "failed": 0}
        )
        bucket["total"] += 1
        bucket[status] += 1
    successes = sum(1 for row in rows if row[0] == "success")
    durations = [row[3] for row in rows]
    return {
        "total_deliveries": len(rows),
        "success_count": successes,
        "failure_count": len(rows) - successes,
        "average_duration_ms": round(sum(durations) / len(durations), 2) if durations else 0,
        "event_counts": events,
        "hourly_stats": [
            {"hour": format_timestamp(hour).replace(".000000Z", "Z"), **counts}
            for hour, counts in sorted(hours.items())
        ],
    }


def attempt_result(record: DeliveryRecord) -> dict[str, Any]:
    """`WebhookTestResult` / `RetryWebhookResult` of one attempt."""
    result: dict[str, Any] = {"delivery_id": record.id, "status": record.status}
    if record.response is not None:
        result["response"] = {
            "status_code": record.response["status_code"],
            "body": record.response.get("body", ""),
        }
    if record.failure_reason is not None:
        result["failure_reason"] = record.failure_reason
    return result
