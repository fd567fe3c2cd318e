"""The sandbox's state in SQLite: webhooks, deliveries (completed and pending), idempotency keys.

Only SQL lives here; the API's JSON is built from these records in `_render`. One connection,
shared by the event loop and the threads that look in (tests, the server object), guarded by a
lock; every call is short. Times are integer microseconds since the epoch, so ordering and date
filters are plain integer comparisons. A file database runs in WAL mode: a committed
transaction survives the process being killed.

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
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ._config import new_id

__all__ = [
    "COMPLETED",
    "DeliveryFilters",
    "DeliveryRecord",
    "HealthFacts",
    "IdempotencyRecord",
    "Store",
    "WebhookRecord",
    "remembered_identity",
]

COMPLETED = ("success", "failed")
HEALTH_WINDOW = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    is_active INTEGER NOT NULL,
    secret TEXT NOT NULL,
    previous_secrets TEXT NOT NULL DEFAULT '[]',
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
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (webhook_id, status, next_attempt_at, id);
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
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclasses.dataclass(kw_only=True)
class WebhookRecord:
    """A stored webhook, with every secret that still signs its deliveries."""

    id: str
    shop_id: str
    url: str
    events: list[str]
    is_active: bool
    secret: str
    previous_secrets: list[tuple[str, int]]
    """Earlier secrets with the time (microseconds) their grace period ends."""
    description: str | None
    created_at: int
    updated_at: int
    last_triggered_at: int | None

    def signing_secrets(self, now: int) -> list[str]:
        """The secrets deliveries are signed with at `now`: the current one first, then every
        earlier one still inside its grace period, newest first."""
        return [self.secret, *(secret for secret, until in self.previous_secrets if now < until)]

    def rotate(self, new_secret: str, *, now: int, grace: int) -> None:
        """Make `new_secret` current; the old one signs too for `grace` more microseconds.

        Secrets whose grace period is over are forgotten.
        """
        kept = [(secret, until) for secret, until in self.previous_secrets if now < until]
        self.previous_secrets = [(self.secret, now + grace), *kept] if grace > 0 else kept
        self.secret = new_secret

    def __repr__(self) -> str:
        return f"WebhookRecord(id={self.id!r}, url={self.url!r}, secret='***')"


@dataclasses.dataclass(kw_only=True)
class DeliveryRecord:
    """A stored delivery attempt; `status == "pending"` for an attempt still to come."""

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


@dataclasses.dataclass(frozen=True, kw_only=True)
class HealthFacts:
    """What a webhook's health is computed from."""

    recent: list[str]
    """Statuses of the latest completed deliveries, newest first (at most `HEALTH_WINDOW`)."""
    last_success_at: int | None
    last_failure_at: int | None
    last_failure_reason: str | None


_WEBHOOK_COLUMNS = (
    "id, shop_id, url, events, is_active, secret, previous_secrets, "
    "description, created_at, updated_at, last_triggered_at"
)
_DELIVERY_COLUMNS = (
    "id, shop_id, webhook_id, event, event_id, payload, response, status, failure_reason, "
    "created_at, duration_ms, attempt, next_attempt_at, is_test"
)
_INSERT_DELIVERY = (
    f"INSERT OR REPLACE INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _webhook(row: Sequence[Any]) -> WebhookRecord:
    return WebhookRecord(
        id=row[0],
        shop_id=row[1],
        url=row[2],
        events=json.loads(row[3]),
        is_active=bool(row[4]),
        secret=row[5],
        previous_secrets=[(secret, until) for secret, until in json.loads(row[6])],
        description=row[7],
        created_at=row[8],
        updated_at=row[9],
        last_triggered_at=row[10],
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


def _delivery_row(delivery: DeliveryRecord) -> tuple[Any, ...]:
    return (
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
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file written by an earlier sandbox up to date (one previous secret per webhook)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(webhooks)")}
    if "previous_secrets" not in columns:
        conn.execute("ALTER TABLE webhooks ADD COLUMN previous_secrets TEXT NOT NULL DEFAULT '[]'")
        if "previous_secret" in columns:
            conn.execute(
                "UPDATE webhooks SET previous_secrets = "
                "json_array(json_array(previous_secret, previous_secret_until)) "
                "WHERE previous_secret IS NOT NULL AND previous_secret_until IS NOT NULL"
            )


class Store:
    """The sandbox's SQLite database (in memory when `path` is `None`)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else os.fspath(path), check_same_thread=False
        )
        if path is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock, self._conn:
            self._conn.executescript(_SCHEMA)
            _migrate(self._conn)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:
            yield self._conn

    # Settings

    def get_setting(self, name: str) -> str | None:
        """A value kept in the file (`None` when never set)."""
        with self._transaction() as conn:
            row = conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        """Keep `value` under `name`."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value)
            )

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
            previous_secrets=[],
            description=description,
            created_at=now,
            updated_at=now,
            last_triggered_at=None,
        )
        with self._transaction() as conn:
            conn.execute(
                f"INSERT INTO webhooks ({_WEBHOOK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    shop_id,
                    url,
                    json.dumps(record.events),
                    int(is_active),
                    secret,
                    "[]",
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

    def get_webhook_by_id(self, webhook_id: str) -> WebhookRecord | None:
        """The webhook, whatever its shop, or `None`."""
        with self._transaction() as conn:
            row = conn.execute(
                f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?", (webhook_id,)
            ).fetchone()
        return None if row is None else _webhook(row)

    def webhooks_with_pending(self) -> list[str]:
        """The ids of the webhooks that have pending deliveries."""
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT webhook_id FROM deliveries WHERE status = 'pending'"
            ).fetchall()
        return [str(row[0]) for row in rows]

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
                "previous_secrets = ?, description = ?, updated_at = ? WHERE id = ?",
                (
                    webhook.url,
                    json.dumps(webhook.events),
                    int(webhook.is_active),
                    webhook.secret,
                    json.dumps(webhook.previous_secrets),
                    webhook.description,
                    now,
                    webhook.id,
                ),
            )

    def delete_webhook(self, shop_id: str, webhook_id: str) -> bool:
        """Delete the webhook with its deliveries and pending retries; `False` if unknown."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM webhooks WHERE shop_id = ? AND id = ?", (shop_id, webhook_id)
            ).rowcount
            conn.execute("DELETE FROM deliveries WHERE webhook_id = ?", (webhook_id,))
        return deleted > 0

    def health_facts(self, webhook_id: str) -> HealthFacts:
        """The facts of the webhook's health, from its latest completed deliveries."""
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
        return HealthFacts(
            recent=[status for (status,) in recent],
            last_success_at=last_success,
            last_failure_at=None if last_failure is None else last_failure[0],
            last_failure_reason=None if last_failure is None else last_failure[1],
        )

    # Deliveries

    def save_delivery(self, delivery: DeliveryRecord) -> None:
        """Insert the delivery, or replace the stored one with the same id."""
        with self._transaction() as conn:
            conn.execute(_INSERT_DELIVERY, _delivery_row(delivery))

    def accept(self, deliveries: Iterable[DeliveryRecord]) -> None:
        """Store the first attempts of an accepted event, all or none."""
        with self._transaction() as conn:
            conn.executemany(_INSERT_DELIVERY, [_delivery_row(d) for d in deliveries])

    def finish_attempt(
        self,
        attempt: DeliveryRecord,
        next_retry: DeliveryRecord | None = None,
        *,
        replaces_pending: bool = False,
    ) -> bool:
        """Record a completed attempt and its next automatic retry in one transaction.

        The webhook's `last_triggered_at` moves to the attempt's time. Nothing is written, and
        `False` returned, when the webhook was deleted meanwhile. With `replaces_pending`, the
        attempt takes the place of its pending delivery; when that was dropped meanwhile (a
        retry asked for through the API succeeded), the attempt is still recorded, as it was
        sent, but `next_retry` is not.
        """
        with self._transaction() as conn:
            touched = conn.execute(
                "UPDATE webhooks SET last_triggered_at = ? WHERE id = ?",
                (attempt.created_at, attempt.webhook_id),
            ).rowcount
            if not touched:
                return False
            if replaces_pending:
                still = conn.execute(
                    "SELECT 1 FROM deliveries WHERE id = ? AND status = 'pending'", (attempt.id,)
                ).fetchone()
                if still is None:
                    next_retry = None
            conn.execute(_INSERT_DELIVERY, _delivery_row(attempt))
            if next_retry is not None:
                conn.execute(_INSERT_DELIVERY, _delivery_row(next_retry))
        return True

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
    ) -> tuple[list[DeliveryRecord], int]:
        """One page of completed deliveries, newest first by (created_at, id), and the total."""
        where, values = self._where(shop_id, filters)
        with self._transaction() as conn:
            total = int(
                conn.execute(f"SELECT COUNT(*) FROM deliveries WHERE {where}", values).fetchone()[0]
            )
            offset = (page_number - 1) * page_size
            # Past the last page there is nothing to read (and an offset beyond 2**63 - 1,
            # which `page_number` allows, is more than SQLite can take).
            rows = (
                []
                if offset >= total
                else conn.execute(
                    f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE {where} "
                    "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                    [*values, page_size, offset],
                ).fetchall()
            )
        return [_delivery(row) for row in rows], total

    def pending_retries(self, shop_id: str | None = None) -> list[DeliveryRecord]:
        """Automatic retries still to come (of one shop, or of all), soonest first.

        First attempts of accepted events waiting in the queue are not retries: not listed.
        """
        query = (
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending' AND attempt > 1"
        )
        values: list[Any] = []
        if shop_id is not None:
            query += " AND shop_id = ?"
            values.append(shop_id)
        with self._transaction() as conn:
            rows = conn.execute(query + " ORDER BY next_attempt_at, id", values).fetchall()
        return [_delivery(row) for row in rows]

    def due_pending(self, webhook_id: str, *, now: int, limit: int) -> list[str]:
        """The ids of up to `limit` of the webhook's pending attempts due at `now`, soonest
        first."""
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM deliveries "
                "WHERE webhook_id = ? AND status = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, id LIMIT ?",
                (webhook_id, now, limit),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def next_due_after(self, webhook_id: str, now: int) -> int | None:
        """When the webhook's next pending attempt not yet due at `now` is due, if any."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT MIN(next_attempt_at) FROM deliveries "
                "WHERE webhook_id = ? AND status = 'pending' AND next_attempt_at > ?",
                (webhook_id, now),
            ).fetchone()
        return None if row[0] is None else int(row[0])

    def next_attempt_number(self, webhook_id: str, event_id: str) -> int:
        """The attempt number of the next delivery of this event to this webhook."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT MAX(attempt) FROM deliveries WHERE webhook_id = ? AND event_id = ?",
                (webhook_id, event_id),
            ).fetchone()
        return int(row[0] or 0) + 1

    def drop_pending(self, webhook_id: str, event_id: str) -> list[str]:
        """Delete the pending attempts of this event to this webhook; return their ids."""
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

    def completed_between(
        self, webhook_id: str, *, since: int, until: int
    ) -> list[tuple[str, str, int, int]]:
        """(status, event, created_at, duration_ms) of the webhook's completed deliveries with
        since <= created_at < until, oldest first."""
        if since >= until:
            return []
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT status, event, created_at, duration_ms FROM deliveries "
                "WHERE webhook_id = ? AND status IN (?, ?) AND created_at >= ? AND created_at < ? "
                "ORDER BY created_at",
                (webhook_id, *COMPLETED, since, until),
            ).fetchall()
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    # Idempotency

    def get_idempotent(self, shop_id: str, key: str) -> IdempotencyRecord | None:
        """The answer first given to a request of the shop with this key, if any."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT fingerprint, status, body, created_at FROM idempotency "
                "WHERE shop_id = ? AND key = ? ORDER BY created_at DESC LIMIT 1",
                (shop_id, key),
            ).fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            fingerprint=row[0], status=row[1], body=bytes(row[2]), created_at=row[3]
        )

    def put_idempotent(self, shop_id: str, key: str, path: str, record: IdempotencyRecord) -> None:
        """Remember the answer given to the request (on `path`) with this key."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM idempotency WHERE shop_id = ? AND key = ?", (shop_id, key))
            conn.execute(
                "INSERT INTO idempotency "
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


def remembered_identity(
    path: str | os.PathLike[str], api_key: str | None, shop_id: str | None
) -> tuple[str, str]:
    """The API key and shop id a sandbox on the file `path` serves.

    A value given wins and is kept in the file; a value left out is the one the file keeps, or
    a new one (then kept) when the file has none. So a sandbox restarted on the same file
    without `api_key` or `shop_id` serves the same shop, with the same key, as before.
    """
    import secrets

    store = Store(path)
    try:
        key = api_key or store.get_setting("api_key") or f"sk_sandbox_{secrets.token_urlsafe(18)}"
        shop = shop_id or store.get_setting("shop_id") or f"shop_{secrets.token_hex(4)}"
        store.put_setting("api_key", key)
        store.put_setting("shop_id", shop)
    finally:
        store.close()
    return key, shop
