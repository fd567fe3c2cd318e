"""Delivering events: a bounded queue, a fixed set of workers, one connection pool.

An accepted event is stored first, as one `pending` delivery per subscribed webhook, and only
then announced; the store is the queue of record. A feeder moves due pending deliveries into a
bounded in-memory queue, never holding more than `deliveries_per_webhook` of one webhook
(queued or in flight), so a receiver that hangs can take only its share of the workers. Each
worker takes a delivery, signs and POSTs it, and writes the attempt, plus the next automatic
retry when it failed, in one transaction. The HTTP pool has a connection for every worker and
every API-driven attempt, so no request ever waits for a connection.

A delivery cut short (the sandbox stops, the process dies) stays `pending` and is attempted
again when a sandbox starts on the same database: every accepted event is delivered at least
once. Test deliveries and retries asked for through the API are sent at once, outside the
queue, and are not retried automatically.

Example (inside the sandbox's event loop):

    dispatcher = Dispatcher(store, config)
    await dispatcher.start()
    event_id, webhook_ids = dispatcher.emit("shop_1", "order.created", {"id": 1})
    await dispatcher.aclose()
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import logging
import time
from typing import Any

import httpx

from ..signing import build_headers
from ._config import SandboxConfig, format_timestamp, new_id, to_micros
from ._errors import APIProblem
from ._store import DeliveryRecord, Store, WebhookRecord

__all__ = ["RESPONSE_BODY_LIMIT", "SHUTDOWN_GRACE", "Dispatcher"]

RESPONSE_BODY_LIMIT = 4096
"""How much of a receiver's answer is kept with the delivery."""
SHUTDOWN_GRACE = 1.0
"""Seconds deliveries in flight get to finish when the sandbox stops."""
_INLINE_ATTEMPTS = 8
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})

logger = logging.getLogger("pancake_pos.sandbox")


class _NotSent(Exception):
    """The request never left: nothing happened that could be recorded as an attempt."""


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
    """Sends the deliveries of one sandbox and runs their automatic retries."""

    def __init__(self, store: Store, config: SandboxConfig) -> None:
        self._store = store
        self._config = config
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue(
            maxsize=config.delivery_workers
        )
        self._claimed: set[str] = set()
        self._with_work: set[str] = set()
        """Webhooks that may have pending deliveries; the feeder looks only at these."""
        self._held: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._inline = asyncio.Semaphore(_INLINE_ATTEMPTS)
        self._busy = 0
        self._idle = asyncio.Event()
        self._closing = False

    async def start(self) -> None:
        """Open the connection pool and start the feeder and the workers.

        Pending deliveries found in the store (left by an earlier run) are picked up at once.
        """
        connections = self._config.delivery_workers + _INLINE_ATTEMPTS
        self._client = httpx.AsyncClient(
            timeout=self._config.delivery_timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            follow_redirects=False,
            trust_env=False,
        )
        self._loop = asyncio.get_running_loop()
        self._with_work.update(self._store.webhooks_with_pending())
        self._idle.set()
        self._tasks.append(self._loop.create_task(self._feed(), name="sandbox-feeder"))
        for number in range(self._config.delivery_workers):
            worker = self._loop.create_task(self._work(), name=f"sandbox-worker-{number}")
            self._tasks.append(worker)
        self._wake.set()

    async def aclose(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Stop: no new attempts; those in flight get `grace` seconds, then are cancelled.

        A cancelled attempt records nothing: its delivery stays pending in the store.
        """
        self._closing = True
        if self._tasks:
            self._tasks[0].cancel()  # the feeder
            try:
                async with asyncio.timeout(grace):
                    await self._idle.wait()
            except TimeoutError:
                pass
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def notify(self, webhook_ids: list[str]) -> None:
        """Tell the feeder these webhooks may have new work (from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._mark(webhook_ids)
        else:
            loop.call_soon_threadsafe(self._mark, webhook_ids)

    def _mark(self, webhook_ids: list[str]) -> None:
        self._with_work.update(webhook_ids)
        self._wake.set()

    # What the API asks for

    def emit(self, shop_id: str, event: str, data: dict[str, Any]) -> tuple[str, list[str]]:
        """Accept a new event for every active webhook of the shop subscribed to it.

        Its deliveries are stored as pending before this returns, and sent in the background.
        Returns the event id and the ids of the webhooks it goes to. Safe from any thread.
        """
        now = to_micros(self._config.clock())
        event_id = new_id("msg", 18)
        payload: dict[str, Any] = {
            "id": event_id,
            "event": event,
            "shop_id": shop_id,
            "created_at": format_timestamp(now),
            "data": data,
        }
        webhooks = self._store.active_webhooks_for(shop_id, event)
        self._store.accept(
            DeliveryRecord(
                id=new_id("dlv"),
                shop_id=shop_id,
                webhook_id=webhook.id,
                event=event,
                event_id=event_id,
                payload=payload,
                response=None,
                status="pending",
                failure_reason=None,
                created_at=now,
                duration_ms=0,
                attempt=1,
                next_attempt_at=now,
                is_test=False,
            )
            for webhook in webhooks
        )
        if webhooks:
            self.notify([webhook.id for webhook in webhooks])
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
        async with self._inline:
            record = await self._attempt_now(webhook, payload, attempt=1, is_test=True)
        self._store.finish_attempt(record)
        return record

    async def retry(self, delivery: DeliveryRecord, webhook: WebhookRecord) -> DeliveryRecord:
        """Send a delivery's event again now (same event id) and record it as a new delivery.

        When it succeeds, the automatic retries still pending for the same event are dropped.
        """
        attempt = self._store.next_attempt_number(webhook.id, delivery.event_id)
        async with self._inline:
            record = await self._attempt_now(
                webhook, delivery.payload, attempt=attempt, is_test=delivery.is_test
            )
        self._store.finish_attempt(record)
        if record.status == "success":
            self._store.drop_pending(webhook.id, delivery.event_id)
        return record

    def resume(self, webhook: WebhookRecord) -> None:
        """A webhook was (re)activated: its pending deliveries go out again."""
        self.notify([webhook.id])

    # The queue

    async def _feed(self) -> None:
        while True:
            try:
                wait = await self._feed_once()
            except Exception:  # the store failed; try again shortly rather than stop delivering
                logger.exception("the sandbox's delivery queue could not be filled")
                wait = 1.0
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _feed_once(self) -> float | None:
        """Queue the due deliveries each webhook has room for; how long until the next is due."""
        per_webhook = self._config.deliveries_per_webhook
        self._wake.clear()
        now = to_micros(self._config.clock())
        next_due: int | None = None
        for webhook_id in list(self._with_work):
            webhook = self._store.get_webhook_by_id(webhook_id)
            if webhook is None or not webhook.is_active:
                self._with_work.discard(webhook_id)  # `resume` marks it again when enabled
                continue
            room = per_webhook - self._held.get(webhook.id, 0)
            if room > 0:
                for delivery_id in self._store.due_pending(webhook.id, now=now, limit=per_webhook):
                    if room == 0:
                        break
                    if delivery_id in self._claimed:
                        continue
                    self._claimed.add(delivery_id)
                    self._held[webhook.id] = self._held.get(webhook.id, 0) + 1
                    room -= 1
                    await self._queue.put((webhook.shop_id, webhook.id, delivery_id))
            due = self._store.next_due_after(webhook.id, now)
            if due is not None and (next_due is None or due < next_due):
                next_due = due
            if (
                due is None
                and not self._held.get(webhook.id)
                and not self._store.due_pending(webhook.id, now=now, limit=1)
            ):
                self._with_work.discard(webhook.id)  # nothing pending at all
        if next_due is None:
            return None
        return max(0.0, (next_due - to_micros(self._config.clock())) / 1_000_000)

    async def _work(self) -> None:
        while True:
            shop_id, webhook_id, delivery_id = await self._queue.get()
            self._busy += 1
            self._idle.clear()
            try:
                if not self._closing:
                    await self._deliver(shop_id, delivery_id)
            except _NotSent:
                pass  # still pending; the feeder hands it out again
            except Exception:  # a delivery must never take a worker down
                logger.exception("delivery %s failed inside the sandbox", delivery_id)
            finally:
                self._claimed.discard(delivery_id)
                held = self._held.get(webhook_id, 1) - 1
                if held > 0:
                    self._held[webhook_id] = held
                else:
                    self._held.pop(webhook_id, None)
                self._busy -= 1
                if self._busy == 0:
                    self._idle.set()
                self._queue.task_done()
                self._wake.set()

    async def _deliver(self, shop_id: str, delivery_id: str) -> None:
        pending = self._store.get_delivery(shop_id, delivery_id)
        if pending is None or pending.status != "pending":
            return  # dropped (a manual retry succeeded, the webhook was deleted)
        webhook = self._store.get_webhook(shop_id, pending.webhook_id)
        if webhook is None or not webhook.is_active:
            return  # kept pending until the webhook is enabled again
        record = await self._attempt(
            webhook, pending.payload, attempt=pending.attempt, delivery_id=pending.id
        )
        schedule = self._config.retry_schedule
        next_retry = None
        if record.status == "failed" and record.attempt <= len(schedule):
            scheduled_at = to_micros(self._config.clock())
            next_retry = DeliveryRecord(
                id=new_id("dlv"),
                shop_id=webhook.shop_id,
                webhook_id=webhook.id,
                event=record.event,
                event_id=record.event_id,
                payload=pending.payload,
                response=None,
                status="pending",
                failure_reason=None,
                created_at=scheduled_at,
                duration_ms=0,
                attempt=record.attempt + 1,
                next_attempt_at=scheduled_at + round(schedule[record.attempt - 1] * 1_000_000),
                is_test=False,
            )
        self._store.finish_attempt(record, next_retry, replaces_pending=True)
        if next_retry is not None:
            self._mark([webhook.id])

    # One attempt

    async def _attempt_now(
        self, webhook: WebhookRecord, payload: dict[str, Any], *, attempt: int, is_test: bool
    ) -> DeliveryRecord:
        """An attempt asked for through the API; a 503 when it could not even be sent."""
        try:
            return await self._attempt(webhook, payload, attempt=attempt, is_test=is_test)
        except _NotSent:
            raise APIProblem(
                503,
                "unavailable",
                "No connection was free to make the delivery; nothing was sent.",
                headers={"Retry-After": "1"},
            ) from None

    async def _attempt(
        self,
        webhook: WebhookRecord,
        payload: dict[str, Any],
        *,
        attempt: int,
        delivery_id: str | None = None,
        is_test: bool = False,
    ) -> DeliveryRecord:
        """POST the signed payload to the webhook; the attempt as a (not yet stored) record."""
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
        logger.info(
            "delivery %s %s -> %s %s %dms",
            payload["event"],
            payload["id"],
            webhook.id,
            failure or (response["status_code"] if response else ""),
            duration_ms,
        )
        return DeliveryRecord(
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

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Send one delivery; return the stored response (or `None`) and the failure reason.

        Raises `_NotSent` when the request never left (no connection was free in time).
        """
        if self._client is None:
            raise RuntimeError("the dispatcher is not started")
        if self._config.loopback_only and not _is_loopback(url):
            return None, "connection refused (this sandbox delivers only to loopback addresses)"
        try:
            async with self._client.stream("POST", url, content=body, headers=headers) as answer:
                received = bytearray()
                async for chunk in answer.aiter_bytes():
                    received += chunk
                    if len(received) >= RESPONSE_BODY_LIMIT:
                        break
        except httpx.PoolTimeout:
            raise _NotSent from None
        except httpx.ConnectTimeout:
            return None, "timeout (connecting)"
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
            "body": bytes(received[:RESPONSE_BODY_LIMIT]).decode("utf-8", errors="replace"),
        }
        if 200 <= answer.status_code < 300:
            return response, None
        return response, f"HTTP {answer.status_code} from receiver"
