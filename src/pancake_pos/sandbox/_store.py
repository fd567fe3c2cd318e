"""The sandbox's state in SQLite: webhooks, deliveries (completed and pending), idempotency keys.

One connection, shared by the event loop and the threads that look in (tests, the server object),
guarded by a lock; every call is short. Times are kept as integer microseconds since the epoch, so
ordering and date filters are plain integer comparisons.

Example:

    >>> store = Store(None)
    >>> hook = store.create_webhook(
    ...     shop_id="shop_1", url="http://127.0.0.1:9/hook", events=["order.created"],
    ...     description=None, is_active=True, secret="whsec_x", now=0,
    ... )
    >>> store.get_webhook("shop_1", hook.id).url
    'http://127.0.0.1:9/hook'
    >>> store.close()
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ._config import format_timestamp, new_id

__all__ = [
    "COMPLETED",
    "DeliveryFilters",
    "DeliveryRecord",
    "IdempotencyRecord",
    "Store",
    "WebhookRecord",
]

COMPLETED = ("success", "failed")
HEALTH_WINDOW = 100
BODY_LIMIT = 4096

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    is_active INTEGER NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until INTEGER,
    description TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_triggered_at INTEGER
);
CREATE INDEX IF NOT EXISTS webhooks_by_shop ON webhooks (shop_id, created_at, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    response TEXT,
    status TEXT NOT NULL,
    failure_reason TEXT,
    created_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    next_attempt_at INTEGER,
    is_test INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_shop ON deliveries (shop_id, created_at, id);
CREATE INDEX IF NOT EXISTS deliveries_by_webhook ON deliveries (webhook_id, created_at, id);
CREATE TABLE IF NOT EXISTS idempotency (
    shop_id TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, path, key)
);
"""


@dataclasses.dataclass(kw_only=True)
class WebhookRecord:
    """A stored webhook (with both secrets; the API shows only what the operation allows)."""

    id: str
    shop_id: str
    url: str
    events: list[str]
    is_active: bool
    secret: str
    previous_secret: str | None
    previous_secret_until: int | None
    description: str | None
    created_at: int
    updated_at: int
    last_triggered_at: int | None

    def signing_secrets(self, now: int) -> list[str]:
        """The secrets deliveries are signed with: the current one, plus the previous one during
        the grace period after a rotation."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def __repr__(self) -> str:
        return f"WebhookRecord(id={self.id!r}, url={self.url!r}, secret='***')"


@dataclasses.dataclass(kw_only=True)
class DeliveryRecord:
    """A stored delivery attempt; `status == "pending"` for an automatic retry still to come."""

    id: str
    shop_id: str
    webhook_id: str
    event: str
    event_id: str
    payload: dict[str, Any]
    response: dict[str, Any] | None
    status: str
    failure_reason: str | None
    created_at: int
    duration_ms: int
    attempt: int
    next_attempt_at: int | None
    is_test: bool

    def to_json(self) -> dict[str, Any]:
        """The `WebhookDelivery` JSON of the API."""
        body: dict[str, Any] = {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "event": self.event,
            "payload": self.payload,
            "response": self.response,
            "status": self.status,
            "created_at": format_timestamp(self.created_at),
            "duration_ms": self.duration_ms,
            "attempt": self.attempt,
        }
        if self.failure_reason is not None:
            body["failure_reason"] = self.failure_reason
        if self.next_attempt_at is not None:
            body["next_attempt_at"] = format_timestamp(self.next_attempt_at)
        return body


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeliveryFilters:
    """The filters of `GET /webhook-deliveries` (times as microseconds, `until` exclusive)."""

    webhook_id: str | None = None
    status: str | None = None
    event: str | None = None
    since: int | None = None
    until: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdempotencyRecord:
    """The first answer given to a request with an `Idempotency-Key`."""

    fingerprint: str
    status: int
    body: bytes
    created_at: int


_WEBHOOK_COLUMNS = (
    "id, shop_id, url, events, is_active, secret, previous_secret, previous_secret_until, "
    "description, created_at, updated_at, last_triggered_at"
)
_DELIVERY_COLUMNS = (
    "id, shop_id, webhook_id, event, event_id, payload, response, status, failure_reason, "
    "created_at, duration_ms, attempt, next_attempt_at, is_test"
)


def _webhook(row: Sequence[Any]) -> WebhookRecord:
    return WebhookRecord(
        id=row[0],
        shop_id=row[1],
        url=row[2],
        events=json.loads(row[3]),
        is_active=bool(row[4]),
        secret=row[5],
        previous_secret=row[6],
        previous_secret_until=row[7],
        description=row[8],
        created_at=row[9],
        updated_at=row[10],
        last_triggered_at=row[11],
    )


def _delivery(row: Sequence[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        id=row[0],
        shop_id=row[1],
        webhook_id=row[2],
        event=row[3],
        event_id=row[4],
        payload=json.loads(row[5]),
        response=None if row[6] is None else json.loads(row[6]),
        status=row[7],
        failure_reason=row[8],
        created_at=row[9],
        duration_ms=row[10],
        attempt=row[11],
        next_attempt_at=row[12],
        is_test=bool(row[13]),
    )


class Store:
    """The sandbox's SQLite database (in memory when `path` is `None`)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else os.fspath(path), check_same_thread=False
        )
        with self._lock, self._conn:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:
            yield self._conn

    # Webhooks

    def create_webhook(
        self,
        *,
        shop_id: str,
        url: str,
        events: list[str],
        description: str | None,
        is_active: bool,
        secret: str,
        now: int,
    ) -> WebhookRecord:
        """Store a new webhook and return it."""
        record = WebhookRecord(
            id=new_id("wh"),
            shop_id=shop_id,
            url=url,
            events=list(events),
            is_active=is_active,
            secret=secret,
            previous_secret=None,
            previous_secret_until=None,
            description=description,
            created_at=now,
            updated_at=now,
            last_triggered_at=None,
        )
        with self._transaction() as conn:
            conn.execute(
                f"INSERT INTO webhooks ({_WEBHOOK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    shop_id,
                    url,
                    json.dumps(record.events),
                    int(is_active),
                    secret,
                    None,
                    None,
                    description,
                    now,
                    now,
                    None,
                ),
            )
        return record

    def get_webhook(self, shop_id: str, webhook_id: str) -> WebhookRecord | None:
        """The webhook, or `None` when the shop has no such webhook."""
        with self._transaction() as conn:
            row = conn.execute(
                f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE shop_id = ? AND id = ?",
                (shop_id, webhook_id),
            ).fetchone()
        return None if row is None else _webhook(row)

    def list_webhooks(self, shop_id: str) -> list[WebhookRecord]:
        """The shop's webhooks, newest first."""
        with self._transaction() as conn:
            rows = conn.execute(
                f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE shop_id = ? "
                "ORDER BY created_at DESC, id DESC",
                (shop_id,),
            ).fetchall()
        return [_webhook(row) for row in rows]

    def active_webhooks_for(self, shop_id: str, event: str) -> list[WebhookRecord]:
        """The shop's active webhooks subscribed to `event`, oldest first."""
        return [
            hook
            for hook in reversed(self.list_webhooks(shop_id))
            if hook.is_active and event in hook.events
        ]

    def update_webhook(self, webhook: WebhookRecord, *, now: int) -> None:
        """Write back every changeable field of `webhook` and set its `updated_at` to `now`."""
        webhook.updated_at = now
        with self._transaction() as conn:
            conn.execute(
                "UPDATE webhooks SET url = ?, events = ?, is_active = ?, secret = ?, "
                "previous_secret = ?, previous_secret_until = ?, description = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    webhook.url,
                    json.dumps(webhook.events),
                    int(webhook.is_active),
                    webhook.secret,
                    webhook.previous_secret,
                    webhook.previous_secret_until,
                    webhook.description,
                    now,
                    webhook.id,
                ),
            )

    def touch_webhook(self, webhook_id: str, *, now: int) -> None:
        """Record that a delivery to the webhook was attempted at `now`."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE webhooks SET last_triggered_at = ? WHERE id = ?", (now, webhook_id)
            )

    def delete_webhook(self, shop_id: str, webhook_id: str) -> bool:
        """Delete the webhook with its deliveries and pending retries; `False` if unknown."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM webhooks WHERE shop_id = ? AND id = ?", (shop_id, webhook_id)
            ).rowcount
            conn.execute("DELETE FROM deliveries WHERE webhook_id = ?", (webhook_id,))
        return deleted > 0

    def health(self, webhook_id: str) -> dict[str, Any]:
        """The `WebhookHealthStatus` JSON, from the last 100 completed deliveries."""
        with self._transaction() as conn:
            recent = conn.execute(
                "SELECT status FROM deliveries WHERE webhook_id = ? AND status IN (?, ?) "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (webhook_id, *COMPLETED, HEALTH_WINDOW),
            ).fetchall()
            last_success = conn.execute(
                "SELECT MAX(created_at) FROM deliveries WHERE webhook_id = ? AND status = ?",
                (webhook_id, "success"),
            ).fetchone()[0]
            last_failure = conn.execute(
                "SELECT created_at, failure_reason FROM deliveries "
                "WHERE webhook_id = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                (webhook_id, "failed"),
            ).fetchone()
        successes = sum(1 for (status,) in recent if status == "success")
        rate = 100.0 if not recent else round(100.0 * successes / len(recent), 2)
        state = "healthy" if rate >= 95 else "warning" if rate >= 80 else "error"
        health: dict[str, Any] = {"status": state, "success_rate": rate}
        if last_failure is not None:
            if last_failure[1] is not None:
                health["last_failure_reason"] = last_failure[1]
            health["last_failure_at"] = format_timestamp(last_failure[0])
        if last_success is not None:
            health["last_success_at"] = format_timestamp(last_success)
        return health

    def webhook_json(self, webhook: WebhookRecord, *, with_secret: bool) -> dict[str, Any]:
        """The `Webhook` JSON of the API (`secret_key` only when `with_secret`)."""
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
        body["health_status"] = self.health(webhook.id)
        return body

    # Deliveries

    def save_delivery(self, delivery: DeliveryRecord) -> None:
        """Insert the delivery, or replace the stored one with the same id."""
        with self._transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO deliveries ({_DELIVERY_COLUMNS}) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    delivery.id,
                    delivery.shop_id,
                    delivery.webhook_id,
                    delivery.event,
                    delivery.event_id,
                    json.dumps(delivery.payload, separators=(",", ":")),
                    None if delivery.response is None else json.dumps(delivery.response),
                    delivery.status,
                    delivery.failure_reason,
                    delivery.created_at,
                    delivery.duration_ms,
                    delivery.attempt,
                    delivery.next_attempt_at,
                    int(delivery.is_test),
                ),
            )

    def get_delivery(self, shop_id: str, delivery_id: str) -> DeliveryRecord | None:
        """The delivery (completed or pending), or `None`."""
        with self._transaction() as conn:
            row = conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE shop_id = ? AND id = ?",
                (shop_id, delivery_id),
            ).fetchone()
        return None if row is None else _delivery(row)

    def _where(self, shop_id: str, filters: DeliveryFilters) -> tuple[str, list[Any]]:
        clauses = ["shop_id = ?", "status IN (?, ?)"]
        values: list[Any] = [shop_id, *COMPLETED]
        for column, value in (
            ("webhook_id = ?", filters.webhook_id),
            ("status = ?", filters.status),
            ("event = ?", filters.event),
            ("created_at >= ?", filters.since),
            ("created_at < ?", filters.until),
        ):
            if value is not None:
                clauses.append(column)
                values.append(value)
        return " AND ".join(clauses), values

    def list_deliveries(
        self, shop_id: str, filters: DeliveryFilters, *, page_size: int, page_number: int
    ) -> dict[str, Any]:
        """The `DeliveryPage` JSON: completed deliveries, newest first by (created_at, id)."""
        where, values = self._where(shop_id, filters)
        with self._transaction() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM deliveries WHERE {where}", values)
            total_count = int(total.fetchone()[0])
            offset = (page_number - 1) * page_size
            # Past the last page there is nothing to read (and an offset beyond 2**63 - 1,
            # which `page_number` allows, is more than SQLite can take).
            rows = (
                []
                if offset >= total_count
                else conn.execute(
                    f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE {where} "
                    "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                    [*values, page_size, offset],
                ).fetchall()
            )
        return {
            "data": [_delivery(row).to_json() for row in rows],
            "total": total_count,
            "page_number": page_number,
            "page_size": page_size,
            "total_pages": math.ceil(total_count / page_size),
        }

    def pending_deliveries(self, shop_id: str | None = None) -> list[DeliveryRecord]:
        """Automatic retries still to come (of one shop, or of all), soonest first."""
        query = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending'"
        values: list[Any] = []
        if shop_id is not None:
            query += " AND shop_id = ?"
            values.append(shop_id)
        with self._transaction() as conn:
            rows = conn.execute(query + " ORDER BY next_attempt_at, id", values).fetchall()
        return [_delivery(row) for row in rows]

    def next_attempt_number(self, webhook_id: str, event_id: str) -> int:
        """The attempt number of the next delivery of this event to this webhook."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT MAX(attempt) FROM deliveries WHERE webhook_id = ? AND event_id = ?",
                (webhook_id, event_id),
            ).fetchone()
        return int(row[0] or 0) + 1

    def drop_pending(self, webhook_id: str, event_id: str) -> list[str]:
        """Delete the pending retries of this event to this webhook; return their ids."""
        with self._transaction() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM deliveries WHERE webhook_id = ? AND event_id = ? "
                    "AND status = 'pending'",
                    (webhook_id, event_id),
                )
            ]
            conn.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in ids])
        return ids

    def clear_history(self, webhook_id: str, *, before: int | None, status: str | None) -> int:
        """Delete completed deliveries of the webhook (created before `before`, with `status`)."""
        where = "webhook_id = ? AND status IN (?, ?)"
        values: list[Any] = [webhook_id, *COMPLETED]
        if before is not None:
            where += " AND created_at < ?"
            values.append(before)
        if status is not None:
            where += " AND status = ?"
            values.append(status)
        with self._transaction() as conn:
            return int(conn.execute(f"DELETE FROM deliveries WHERE {where}", values).rowcount)

    def stats(self, webhook_id: str, *, since: int, until: int) -> dict[str, Any]:
        """The `WebhookStats` JSON over completed deliveries with since <= created_at < until."""
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT status, event, created_at, duration_ms FROM deliveries "
                "WHERE webhook_id = ? AND status IN (?, ?) AND created_at >= ? AND created_at < ? "
                "ORDER BY created_at",
                (webhook_id, *COMPLETED, since, until),
            ).fetchall()
        hour_micros = 3600 * 1_000_000
        events: dict[str, int] = {}
        hours: dict[int, dict[str, int]] = {}
        for status, event, created_at, _duration in rows:
            events[event] = events.get(event, 0) + 1
            bucket = hours.setdefault(
                created_at - created_at % hour_micros, {"total": 0, "success": 0, "failed": 0}
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

    # Idempotency

    def get_idempotent(self, shop_id: str, path: str, key: str) -> IdempotencyRecord | None:
        """The answer first given for this key on this path, if any."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT fingerprint, status, body, created_at FROM idempotency "
                "WHERE shop_id = ? AND path = ? AND key = ?",
                (shop_id, path, key),
            ).fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            fingerprint=row[0], status=row[1], body=bytes(row[2]), created_at=row[3]
        )

    def put_idempotent(self, shop_id: str, path: str, key: str, record: IdempotencyRecord) -> None:
        """Remember the answer given for this key on this path."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO idempotency "
                "(shop_id, path, key, fingerprint, status, body, created_at) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    shop_id,
                    path,
                    key,
                    record.fingerprint,
                    record.status,
                    record.body,
                    record.created_at,
                ),
            )
