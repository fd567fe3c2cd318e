"""The handlers: one per operation of the document, each given a call already checked.

A handler returns the status and the JSON of its answer, or raises `APIProblem`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from .._constants import DEFAULT_PAGE_SIZE
from ..signing import generate_secret
from ._config import SandboxConfig
from ._dispatcher import Dispatcher
from ._errors import APIProblem
from ._render import (
    attempt_result,
    delivery_json,
    delivery_page,
    stats_json,
    webhook_json,
)
from ._samples import sample_data
from ._store import DeliveryFilters, DeliveryRecord, Store, WebhookRecord

__all__ = ["Call", "Handler", "SandboxAPI"]

T = TypeVar("T")

_DAY_MICROS = 86_400 * 1_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _day_start(day: date) -> int:
    """Microseconds since the epoch at 00:00 UTC of `day`."""
    return (day.toordinal() - _EPOCH_ORDINAL) * _DAY_MICROS


def _day_end(day: str) -> int:
    """Microseconds since the epoch at the end of the UTC day `day` (`YYYY-MM-DD`)."""
    return _day_start(date.fromisoformat(day)) + _DAY_MICROS


def _day_range(from_date: str | None, to_date: str | None) -> tuple[int | None, int | None]:
    """The days as [since, until) in microseconds (`until` is the end of `to_date`).

    A reversed range is not refused: it is a range with nothing in it.
    """
    since = None if from_date is None else _day_start(date.fromisoformat(from_date))
    until = None if to_date is None else _day_end(to_date)
    return since, until


def _found(record: T | None, kind: str, record_id: str) -> T:
    """`record`, or the 404 that names what was not found."""
    if record is None:
        raise APIProblem(404, "not_found", f"No {kind} {record_id}.", {f"{kind}_id": record_id})
    return record


@dataclasses.dataclass(kw_only=True)
class Call:
    """One validated API call, as the handlers see it."""

    shop_id: str
    path: dict[str, str]
    query: dict[str, str]
    body: Any
    now: int


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]


class SandboxAPI:
    """The handlers, one per operation of the document."""

    def __init__(self, config: SandboxConfig, store: Store, dispatcher: Dispatcher) -> None:
        self.config = config
        self.store = store
        self.dispatcher = dispatcher

    def handlers(self) -> dict[str, Handler]:
        """`operationId` -> handler."""
        return {
            "listWebhooks": self.list_webhooks,
            "createWebhook": self.create_webhook,
            "getWebhook": self.get_webhook,
            "updateWebhook": self.update_webhook,
            "deleteWebhook": self.delete_webhook,
            "setWebhookActive": self.set_webhook_active,
            "testWebhook": self.test_webhook,
            "rotateWebhookSecret": self.rotate_secret,
            "getWebhookStats": self.get_stats,
            "clearDeliveryHistory": self.clear_history,
            "listDeliveries": self.list_deliveries,
            "getPendingDeliveries": self.pending_deliveries,
            "getDelivery": self.get_delivery,
            "retryDelivery": self.retry_delivery,
            "emitSandboxEvent": self.emit_event,
        }

    def _webhook(self, call: Call) -> WebhookRecord:
        webhook_id = call.path["webhook_id"]
        return _found(self.store.get_webhook(call.shop_id, webhook_id), "webhook", webhook_id)

    def _delivery(self, call: Call) -> DeliveryRecord:
        delivery_id = call.path["delivery_id"]
        return _found(self.store.get_delivery(call.shop_id, delivery_id), "delivery", delivery_id)

    def _json(self, webhook: WebhookRecord, *, with_secret: bool) -> dict[str, Any]:
        return webhook_json(webhook, self.store.health_facts(webhook.id), with_secret=with_secret)

    async def list_webhooks(self, call: Call) -> tuple[int, Any]:
        webhooks = self.store.list_webhooks(call.shop_id)
        return 200, {"data": [self._json(w, with_secret=False) for w in webhooks]}

    async def create_webhook(self, call: Call) -> tuple[int, Any]:
        body = call.body
        webhook = self.store.create_webhook(
            shop_id=call.shop_id,
            url=body["url"],
            events=body["events"],
            description=body.get("description"),
            is_active=body.get("is_active", True),
            secret=generate_secret(),
            now=call.now,
        )
        return 201, self._json(webhook, with_secret=True)

    async def get_webhook(self, call: Call) -> tuple[int, Any]:
        return 200, self._json(self._webhook(call), with_secret=True)

    async def update_webhook(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        was_active = webhook.is_active
        for name in ("url", "events", "description", "is_active"):
            if name in call.body:
                setattr(webhook, name, call.body[name])
        self.store.update_webhook(webhook, now=call.now)
        if webhook.is_active and not was_active:
            self.dispatcher.resume(webhook)
        return 200, self._json(webhook, with_secret=False)

    async def delete_webhook(self, call: Call) -> tuple[int, Any]:
        self._webhook(call)
        self.store.delete_webhook(call.shop_id, call.path["webhook_id"])
        return 204, None

    async def set_webhook_active(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        was_active = webhook.is_active
        webhook.is_active = call.body["is_active"]
        self.store.update_webhook(webhook, now=call.now)
        if webhook.is_active and not was_active:
            self.dispatcher.resume(webhook)
        return 200, self._json(webhook, with_secret=False)

    async def test_webhook(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        event = call.body["event"]
        data = call.body.get("payload")
        record = await self.dispatcher.send_test(
            webhook, event, sample_data(event) if data is None else data
        )
        return 200, attempt_result(record)

    async def rotate_secret(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        webhook.rotate(
            generate_secret(), now=call.now, grace=round(self.config.rotation_grace * 1_000_000)
        )
        self.store.update_webhook(webhook, now=call.now)
        return 200, {"secret_key": webhook.secret}

    async def get_stats(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        # A reversed range is a range with nothing in it: zero stats.
        since = _day_start(date.fromisoformat(call.query["from_date"]))
        rows = self.store.completed_between(
            webhook.id, since=since, until=_day_end(call.query["to_date"])
        )
        return 200, stats_json(rows)

    async def clear_history(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        before, _ = _day_range(call.body.get("before_date"), None)
        deleted = self.store.clear_history(
            webhook.id, before=before, status=call.body.get("status")
        )
        return 200, {"deleted_count": deleted}

    async def list_deliveries(self, call: Call) -> tuple[int, Any]:
        query = call.query
        since, until = _day_range(query.get("from_date"), query.get("to_date"))
        filters = DeliveryFilters(
            webhook_id=query.get("webhook_id"),
            status=query.get("status"),
            event=query.get("event"),
            since=since,
            until=until,
        )
        page_size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
        page_number = int(query.get("page_number", 1))
        deliveries, total = self.store.list_deliveries(
            call.shop_id, filters, page_size=page_size, page_number=page_number
        )
        return 200, delivery_page(
            deliveries, total=total, page_size=page_size, page_number=page_number
        )

    async def pending_deliveries(self, call: Call) -> tuple[int, Any]:
        pending = self.store.pending_retries(call.shop_id)
        return 200, {"total_count": len(pending), "deliveries": [delivery_json(d) for d in pending]}

    async def get_delivery(self, call: Call) -> tuple[int, Any]:
        return 200, delivery_json(self._delivery(call))

    async def retry_delivery(self, call: Call) -> tuple[int, Any]:
        delivery = self._delivery(call)
        # Deliveries go with their webhook, so it is found; checked all the same.
        webhook = _found(
            self.store.get_webhook(call.shop_id, delivery.webhook_id),
            "webhook",
            delivery.webhook_id,
        )
        record = await self.dispatcher.retry(delivery, webhook)
        return 200, attempt_result(record)

    async def emit_event(self, call: Call) -> tuple[int, Any]:
        event = call.body["event"]
        data = call.body.get("data")
        event_id, webhook_ids = self.dispatcher.emit(
            call.shop_id, event, sample_data(event) if data is None else data
        )
        return 202, {"id": event_id, "event": event, "webhook_ids": webhook_ids}
