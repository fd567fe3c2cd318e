"""Delivering events: sign, POST, record the attempt, schedule the automatic retries.

Every attempt is stored as a delivery as soon as it completes (`success` for a 2xx answer, `failed`
otherwise). A failed attempt of an emitted event schedules the next automatic retry, stored as a
`pending` delivery with `next_attempt_at`; when its time comes the same delivery id becomes a
normal attempt. Test deliveries and retries asked for through the API are not retried
automatically. Background work runs in tasks the dispatcher tracks, cancels and awaits on close.

Example (inside the sandbox's event loop):

    dispatcher = Dispatcher(store, config)
    await dispatcher.start()
    event_id, webhook_ids = dispatcher.emit("shop_1", "order.created", {"order_id": "1"})
    await dispatcher.aclose()
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import time
from collections.abc import Coroutine
from typing import Any

import httpx

from ..signing import build_headers
from ._config import SandboxConfig, format_timestamp, new_id, to_micros
from ._store import DeliveryRecord, Store, WebhookRecord

__all__ = ["BODY_LIMIT", "Dispatcher", "sample_data"]

BODY_LIMIT = 4096
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def sample_data(event: str) -> dict[str, Any]:
    """The `data` sent when a test or an emitted event gives none: a small plausible object."""
    group = event.split(".", 1)[0]
    samples: dict[str, dict[str, Any]] = {
        "order": {"order_id": "sample-1001", "status": "new", "total_amount": 250000},
        "customer": {"customer_id": "sample-2001", "name": "Nguyen Van A"},
        "inventory": {"product_id": "sample-3001", "warehouse_id": "main", "quantity": 12},
        "product": {"product_id": "sample-3001", "name": "Sample product"},
        "transaction": {"transaction_id": "sample-4001", "amount": 250000},
        "loyalty": {"customer_id": "sample-2001", "points": 25},
    }
    return {"sample": True, **samples.get(group, {})}


def _is_loopback(url: str) -> bool:
    try:
        host = httpx.URL(url).host
    except Exception:  # an unusable URL fails later with a clear reason
        return True
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _connect_failure(exc: httpx.ConnectError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    if "refused" in text or "connect call failed" in text:
        return "connection refused"
    return f"connection failed: {exc}" if str(exc) else "connection failed"


class Dispatcher:
    """Sends deliveries and runs the automatic retries of one sandbox."""

    def __init__(self, store: Store, config: SandboxConfig) -> None:
        self._store = store
        self._config = config
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._scheduled: dict[str, asyncio.Task[Any]] = {}
        self._closing = False

    async def start(self) -> None:
        """Open the HTTP client and schedule the pending retries found in the store."""
        self._client = httpx.AsyncClient(
            timeout=self._config.delivery_timeout, follow_redirects=False, trust_env=False
        )
        for pending in self._store.pending_deliveries():
            webhook = self._store.get_webhook(pending.shop_id, pending.webhook_id)
            if webhook is not None and webhook.is_active:
                self.schedule(pending)

    async def aclose(self) -> None:
        """Cancel and await every background task, then close the HTTP client."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # What the API asks for

    def emit(self, shop_id: str, event: str, data: dict[str, Any]) -> tuple[str, list[str]]:
        """Deliver a new event, in the background, to every active webhook subscribed to it.

        Returns the event id and the ids of the webhooks it goes to.
        """
        event_id = new_id("msg", 18)
        payload: dict[str, Any] = {
            "id": event_id,
            "event": event,
            "shop_id": shop_id,
            "created_at": format_timestamp(to_micros(self._config.clock())),
            "data": data,
        }
        webhooks = self._store.active_webhooks_for(shop_id, event)
        for webhook in webhooks:
            self._spawn(self.attempt(webhook, payload, attempt=1, auto_retry=True))
        return event_id, [webhook.id for webhook in webhooks]

    async def send_test(
        self, webhook: WebhookRecord, event: str, data: dict[str, Any]
    ) -> DeliveryRecord:
        """Deliver a test event to `webhook` now and return the recorded attempt (no retries)."""
        payload = {
            "id": new_id("msg", 18),
            "event": event,
            "shop_id": webhook.shop_id,
            "created_at": format_timestamp(to_micros(self._config.clock())),
            "data": data,
        }
        return await self.attempt(webhook, payload, attempt=1, is_test=True, auto_retry=False)

    async def retry(self, delivery: DeliveryRecord, webhook: WebhookRecord) -> DeliveryRecord:
        """Send a delivery's event again now (same event id) and record it as a new delivery.

        When it succeeds, the automatic retries still pending for the same event are dropped.
        """
        attempt = self._store.next_attempt_number(webhook.id, delivery.event_id)
        record = await self.attempt(
            webhook, delivery.payload, attempt=attempt, is_test=delivery.is_test, auto_retry=False
        )
        if record.status == "success":
            for pending_id in self._store.drop_pending(webhook.id, delivery.event_id):
                task = self._scheduled.pop(pending_id, None)
                if task is not None:
                    task.cancel()
        return record

    def resume(self, webhook: WebhookRecord) -> None:
        """Schedule the pending retries of a webhook that was just (re)activated."""
        for pending in self._store.pending_deliveries(webhook.shop_id):
            if pending.webhook_id == webhook.id:
                self.schedule(pending)

    def schedule(self, pending: DeliveryRecord) -> None:
        """Run the pending delivery at its `next_attempt_at` (once, however often asked)."""
        current = self._scheduled.get(pending.id)
        if self._closing or (current is not None and not current.done()):
            return
        self._scheduled[pending.id] = self._spawn(self._run_pending(pending.shop_id, pending.id))

    async def _run_pending(self, shop_id: str, delivery_id: str) -> None:
        try:
            pending = self._store.get_delivery(shop_id, delivery_id)
            if pending is None or pending.next_attempt_at is None:
                return
            wait = (pending.next_attempt_at - to_micros(self._config.clock())) / 1_000_000
            if wait > 0:
                await asyncio.sleep(wait)
            pending = self._store.get_delivery(shop_id, delivery_id)
            if pending is None or pending.status != "pending":
                return
            webhook = self._store.get_webhook(shop_id, pending.webhook_id)
            if webhook is None or not webhook.is_active:
                return  # kept pending; `resume` schedules it again when the webhook is enabled
            await self.attempt(
                webhook,
                pending.payload,
                attempt=pending.attempt,
                delivery_id=pending.id,
                auto_retry=True,
            )
        finally:
            if self._scheduled.get(delivery_id) is asyncio.current_task():
                del self._scheduled[delivery_id]

    # One attempt

    async def attempt(
        self,
        webhook: WebhookRecord,
        payload: dict[str, Any],
        *,
        attempt: int,
        delivery_id: str | None = None,
        is_test: bool = False,
        auto_retry: bool = True,
    ) -> DeliveryRecord:
        """POST the signed payload to the webhook, store the attempt, schedule a retry if due."""
        started_at = self._config.clock()
        now = to_micros(started_at)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = build_headers(
            webhook.signing_secrets(now), payload["id"], int(started_at.timestamp()), body
        )
        headers["content-type"] = "application/json"
        headers["user-agent"] = self._config.user_agent
        clock_start = time.perf_counter()
        response, failure = await self._post(webhook.url, body, headers)
        duration_ms = max(0, round((time.perf_counter() - clock_start) * 1000))
        record = DeliveryRecord(
            id=delivery_id or new_id("dlv"),
            shop_id=webhook.shop_id,
            webhook_id=webhook.id,
            event=payload["event"],
            event_id=payload["id"],
            payload=payload,
            response=response,
            status="failed" if failure else "success",
            failure_reason=failure,
            created_at=now,
            duration_ms=duration_ms,
            attempt=attempt,
            next_attempt_at=None,
            is_test=is_test,
        )
        if self._store.get_webhook(webhook.shop_id, webhook.id) is None:
            return record  # deleted while the attempt ran: nothing to record it under
        self._store.save_delivery(record)
        self._store.touch_webhook(webhook.id, now=now)
        schedule = self._config.retry_schedule
        if failure and auto_retry and attempt <= len(schedule) and not self._closing:
            scheduled_at = to_micros(self._config.clock())
            pending = DeliveryRecord(
                id=new_id("dlv"),
                shop_id=webhook.shop_id,
                webhook_id=webhook.id,
                event=record.event,
                event_id=record.event_id,
                payload=payload,
                response=None,
                status="pending",
                failure_reason=None,
                created_at=scheduled_at,
                duration_ms=0,
                attempt=attempt + 1,
                next_attempt_at=scheduled_at + round(schedule[attempt - 1] * 1_000_000),
                is_test=False,
            )
            self._store.save_delivery(pending)
            self.schedule(pending)
        return record

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Send one delivery; return the stored response (or `None`) and the failure reason."""
        if self._client is None:
            raise RuntimeError("the dispatcher is not started")
        if self._config.loopback_only and not _is_loopback(url):
            return None, "connection refused (this sandbox delivers only to loopback addresses)"
        try:
            async with self._client.stream("POST", url, content=body, headers=headers) as answer:
                received = bytearray()
                async for chunk in answer.aiter_bytes():
                    received += chunk
                    if len(received) >= BODY_LIMIT:
                        break
        except httpx.TimeoutException:
            return None, "timeout"
        except httpx.ConnectError as exc:
            return None, _connect_failure(exc)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            return None, "invalid URL"
        except httpx.HTTPError as exc:
            return None, f"connection error ({type(exc).__name__})"
        except Exception as exc:  # a delivery must never take the dispatcher down
            return None, f"delivery error ({type(exc).__name__})"
        response: dict[str, Any] = {
            "status_code": answer.status_code,
            "headers": {name.lower(): value for name, value in answer.headers.items()},
            "body": bytes(received[:BODY_LIMIT]).decode("utf-8", errors="replace"),
        }
        if 200 <= answer.status_code < 300:
            return response, None
        return response, f"HTTP {answer.status_code} from receiver"
