"""`WebhookReceiver`: verify, drop duplicates, dispatch typed events, answer the right status."""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import inspect
import logging
import os
import re
import threading
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import anyio.to_thread
import attrs

from pancake_pos.errors import WebhookVerificationError
from pancake_pos.events import Event, _decode_json_object, _event_from_dict, parse_event
from pancake_pos.models import WebhookDelivery, WebhookEventPayload
from pancake_pos.receiver._stores import (
    ClaimState,
    EventStore,
    MemoryStore,
    StoreUnavailableError,
)
from pancake_pos.signing import DEFAULT_TOLERANCE, WebhookVerifier

__all__ = ["HandleResult", "Outcome", "ReplayReport", "WebhookReceiver"]

logger = logging.getLogger("pancake_pos.receiver")

Handler = Callable[[Any], Any]
H = TypeVar("H", bound=Handler)
T = TypeVar("T")

_NAME = re.compile(r"[a-z0-9_]+\.([a-z0-9_]+|\*)")


class Outcome(enum.StrEnum):
    """What became of one delivery."""

    PROCESSED = "processed"
    """The handlers ran and all returned (or the unhandled handler did): 200."""
    DUPLICATE = "duplicate"
    """The event was already done: 200, no handler ran."""
    IN_PROGRESS = "in_progress"
    """Another delivery of the event is being handled right now: 409, the sender retries."""
    IGNORED = "ignored"
    """No handler matches the event: 200, remembered as done."""
    REJECTED = "rejected"
    """Not an authentic delivery (401), not a payload (400), too big (413), not a POST (405)."""
    FAILED = "failed"
    """A handler raised: 500, the claim is released so the sender's retry runs it again."""
    UNAVAILABLE = "unavailable"
    """The store could not be reached: 503, no handler ran, the sender retries."""


_STATUS = {
    Outcome.PROCESSED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.IGNORED: 200,
    Outcome.IN_PROGRESS: 409,
    Outcome.FAILED: 500,
    Outcome.UNAVAILABLE: 503,
}


@attrs.frozen(kw_only=True)
class HandleResult:
    """The answer to one delivery.

    Attributes:
        outcome: What became of it.
        status_code: The HTTP status to answer the sender.
        event_id: The event's id when known (the ``webhook-id`` of an authentic delivery).
        event: The typed event, when the delivery was authentic and a payload.
        reason: Why a delivery was rejected (never the secret, never a handler's exception).
    """

    outcome: Outcome
    status_code: int
    event_id: str | None = None
    event: Event | None = attrs.field(default=None, repr=False)
    reason: str | None = None

    def json(self) -> bytes:
        """The answer's body: ``{"outcome": "..."}``."""
        return b'{"outcome": "' + self.outcome.value.encode() + b'"}'


@attrs.define(kw_only=True)
class ReplayReport:
    """What a replay did; each distinct event id is counted once, in exactly one field.

    Attributes:
        processed: Events whose handlers ran and returned (the unhandled handler included).
        duplicates: Events already done before (or being handled elsewhere during) the replay.
        ignored: Events no handler matches.
        failed: Events whose handler raised; run the replay again to retry them.
        failed_ids: The ids of the failed events.
    """

    processed: int = 0
    duplicates: int = 0
    ignored: int = 0
    failed: int = 0
    failed_ids: list[str] = attrs.field(factory=list)

    @property
    def total(self) -> int:
        """How many distinct events the replay saw."""
        return self.processed + self.duplicates + self.ignored + self.failed


class WebhookReceiver:
    """Everything between the socket and your code: verify, drop duplicates, dispatch, answer.

    ``secrets`` and ``tolerance`` are as :class:`~pancake_pos.signing.WebhookVerifier` takes
    them; its setup errors (``ValueError`` / ``TypeError``) are raised here. ``store`` remembers
    which events were handled (default: a new :class:`MemoryStore`); ``lease`` is how long (s) a
    claim on an event lasts, so an event whose worker died runs again after it; ``retention`` is
    how long (s) a done event is remembered to drop its redeliveries; ``max_body`` (bytes) is the
    largest body the adapters read.

    Example::

        receiver = WebhookReceiver(secret, store=SQLiteStore("pancake-events.db"))

        @receiver.on("order.created", "order.status_changed")
        async def on_order(event: OrderEvent) -> None:
            ...

        app.add_route("/webhooks/pancake", receiver.asgi())
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        store: EventStore | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        lease: float = 60.0,
        retention: float = 604800.0,
        max_body: int = 1048576,
    ) -> None:
        self._verifier = WebhookVerifier(secrets, tolerance=tolerance)
        if store is None:
            store = MemoryStore()
        elif not isinstance(store, EventStore):
            raise TypeError(
                "store must have async claim, complete and release methods (MemoryStore, "
                f"SQLiteStore, RedisStore), got {type(store).__name__}"
            )
        self._store = store
        self._lease = _positive_seconds("lease", lease)
        self._retention = _positive_seconds("retention", retention)
        if isinstance(max_body, bool) or not isinstance(max_body, int):
            raise TypeError(f"max_body must be an int number of bytes, got {max_body!r}")
        if max_body < 1:
            raise ValueError(f"max_body must be at least 1 byte, got {max_body}")
        self._max_body = max_body
        self._registrations: list[tuple[frozenset[str], Handler, bool]] = []
        self._unhandled: tuple[Handler, bool] | None = None
        self._dispatch: dict[str, tuple[tuple[Handler, bool], ...]] = {}
        self._portal: _LoopThread | None = None
        self._portal_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"WebhookReceiver(<{len(self._registrations)} handler(s)>, store={self._store!r}, "
            f"lease={self._lease}, retention={self._retention})"
        )

    @property
    def store(self) -> EventStore:
        """The store that remembers handled events."""
        return self._store

    @property
    def max_body(self) -> int:
        """The largest body, in bytes, the adapters read."""
        return self._max_body

    # -- registering handlers ------------------------------------------------------------

    def on(self, *events: str) -> Callable[[H], H]:
        """Register the decorated function for events: exact names or ``group.*``.

        Handlers run one after another in the order they were registered; a function (or the
        same object's method) registered for two names that both match runs once. ``async def``
        handlers run on the event loop, plain functions in a worker thread (an awaitable a plain
        function returns is awaited on the loop).

        Example::

            @receiver.on("order.created", "customer.*")
            async def handle(event: Event) -> None:
                ...
        """
        if not events:
            raise TypeError("on() needs at least one event name, such as 'order.created'")
        for name in events:
            if not isinstance(name, str):
                raise TypeError(f"event names are str, got {type(name).__name__}")
            if not _NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not an event name: use an exact name such as "
                    "'order.created' or a group such as 'order.*'"
                )
        patterns = frozenset(events)

        def register(handler: H) -> H:
            if not callable(handler):
                raise TypeError(f"a handler must be callable, got {type(handler).__name__}")
            self._registrations.append((patterns, handler, _is_async(handler)))
            self._dispatch.clear()
            return handler

        return register

    def on_unhandled(self, handler: H) -> H:
        """Register the decorated function for events no other handler matches.

        Example::

            @receiver.on_unhandled
            def log_it(event: Event) -> None:
                print("no handler for", event.event)
        """
        if not callable(handler):
            raise TypeError(f"a handler must be callable, got {type(handler).__name__}")
        self._unhandled = (handler, _is_async(handler))
        self._dispatch.clear()
        return handler

    def _handlers_for(self, name: str) -> tuple[tuple[Handler, bool], ...]:
        found = self._dispatch.get(name)
        if found is None:
            prefix, dot, _ = name.partition(".")
            group = prefix + ".*" if dot else None  # "order" alone is not an "order.*" name
            selected: list[tuple[Handler, bool]] = []
            for patterns, handler, is_async in self._registrations:
                # Equality, not identity: each `obj.method` is a new bound method, equal to
                # the others of the same object.
                if (name in patterns or group in patterns) and all(
                    handler != chosen for chosen, _ in selected
                ):
                    selected.append((handler, is_async))
            found = tuple(selected)
            self._dispatch[name] = found
        return found

    # -- handling ------------------------------------------------------------------------

    async def handle(self, body: bytes | str, headers: Mapping[str, str] | Any) -> HandleResult:
        """Handle one delivery: verify, claim, run the handlers, remember; never raises for it.

        ``body`` is the raw request body exactly as received; ``headers`` any mapping of the
        request's headers (or ``(name, value)`` pairs).

        Example::

            result = await receiver.handle(await request.body(), request.headers)
            return Response(result.json(), status_code=result.status_code)
        """
        if isinstance(body, bytes | bytearray | str) and len(body) > self._max_body:
            return _rejected(413, f"the body is over {self._max_body} bytes")
        try:
            msg_id, data = self._verifier._authenticated(body, headers)
        except WebhookVerificationError as exc:
            logger.info("rejected a delivery: %s", exc)
            return _rejected(401, str(exc))
        try:
            event = _event_from_dict(_decode_json_object(data))
        except ValueError as exc:
            logger.info("rejected delivery %s: %s", msg_id, exc)
            return _rejected(400, str(exc), msg_id)
        if event.id != msg_id:
            reason = "the payload's id does not match the webhook-id header"
            logger.info("rejected delivery %s: %s", msg_id, reason)
            return _rejected(400, reason, msg_id)
        return await self._process(event)

    def handle_sync(self, body: bytes | str, headers: Mapping[str, str] | Any) -> HandleResult:
        """:meth:`handle` for synchronous code (a Flask or Django view, WSGI, a script).

        Runs on an event loop the receiver keeps in a thread of its own.

        Example::

            result = receiver.handle_sync(request.get_data(), request.headers)
            return result.json(), result.status_code, {"Content-Type": "application/json"}
        """
        return self._run_sync(self.handle(body, headers))

    async def _process(self, event: Event) -> HandleResult:
        event_id = event.id
        try:
            claim = await self._store.claim(event_id, lease=self._lease)
        except Exception as exc:
            _log_unavailable(exc, event_id)
            return _result(Outcome.UNAVAILABLE, event)
        if claim.state is ClaimState.DONE:
            return _result(Outcome.DUPLICATE, event)
        if claim.state is ClaimState.BUSY or claim.token is None:
            return _result(Outcome.IN_PROGRESS, event)
        token = claim.token
        handlers = self._handlers_for(str(event.event))
        outcome = Outcome.PROCESSED
        if not handlers:
            if self._unhandled is None:
                outcome = Outcome.IGNORED
            else:
                handlers = (self._unhandled,)
        try:
            for handler, is_async in handlers:
                if is_async:
                    await handler(event)
                else:
                    returned = await anyio.to_thread.run_sync(handler, event)
                    if inspect.isawaitable(returned):  # an async handler under a plain wrapper
                        await returned
        except Exception:
            logger.exception(
                "handler %s failed for event %s (%s); released for a retry",
                _name(handler),
                event_id,
                event.event,
            )
            await self._release(event_id, token)
            return _result(Outcome.FAILED, event)
        except BaseException:  # cancelled, interrupted: let the retry run it
            await asyncio.shield(self._release(event_id, token))
            raise
        try:
            completed = await self._store.complete(event_id, token, retention=self._retention)
        except Exception as exc:
            _log_unavailable(exc, event_id)
            return _result(Outcome.UNAVAILABLE, event)
        if not completed:
            logger.warning(
                "event %s took longer than the lease (%s s): another worker may have run it "
                "too; raise the receiver's lease",
                event_id,
                self._lease,
            )
        return _result(outcome, event)

    async def _release(self, event_id: str, token: str) -> None:
        try:
            await self._store.release(event_id, token)
        except Exception as exc:
            logger.warning(
                "could not release event %s (%s); it runs again once its lease expires",
                event_id,
                type(exc).__name__,
            )

    # -- replaying history ---------------------------------------------------------------

    async def replay(
        self,
        deliveries: Iterable[WebhookDelivery | WebhookEventPayload | Mapping[str, Any]]
        | AsyncIterable[WebhookDelivery | WebhookEventPayload | Mapping[str, Any]],
    ) -> ReplayReport:
        """Run past events through the handlers: each distinct event once, duplicates dropped.

        ``deliveries`` is a sync or async iterable of ``WebhookDelivery`` objects (such as
        ``client.webhooks.iter_deliveries(...)``), of dicts shaped like a delivery (as
        ``pancake-pos deliveries export`` writes them) or like a payload. There is no signature
        to check: the history came from the API itself. Events already done are counted as
        duplicates, so running a replay again only retries what failed.

        Raises:
            ValueError: an item is not a delivery or payload (the ones before it were handled).
            StoreUnavailableError: the store could not be reached.

        Example::

            report = await receiver.replay(
                client.webhooks.iter_deliveries(webhook_id="wh_1", from_date=yesterday)
            )
            print(report.processed, report.failed)
        """
        report = ReplayReport()
        seen: set[str] = set()
        index = 0
        if isinstance(deliveries, AsyncIterable):
            async for item in deliveries:
                await self._replay_one(item, index, seen, report)
                index += 1
        elif isinstance(deliveries, Iterable) and not isinstance(deliveries, str | bytes | Mapping):
            for item in deliveries:
                await self._replay_one(item, index, seen, report)
                index += 1
        else:
            raise TypeError(
                "deliveries must be an iterable (or async iterable) of deliveries, "
                f"got {type(deliveries).__name__}"
            )
        return report

    def replay_sync(
        self, deliveries: Iterable[WebhookDelivery | WebhookEventPayload | Mapping[str, Any]]
    ) -> ReplayReport:
        """:meth:`replay` for synchronous code; ``deliveries`` is a plain iterable.

        Example::

            with PancakeClient(...) as client:
                report = receiver.replay_sync(client.webhooks.iter_deliveries(webhook_id="wh_1"))
        """
        if isinstance(deliveries, AsyncIterable):
            raise TypeError("replay_sync takes a plain iterable; await replay() for async ones")
        if not isinstance(deliveries, Iterable) or isinstance(deliveries, str | bytes | Mapping):
            raise TypeError(
                "deliveries must be an iterable of deliveries (a list, a generator, "
                f"iter_deliveries(...)), got {type(deliveries).__name__}"
            )
        # The items are read here, in the caller's thread (a sync client's walk must not run
        # on the receiver's loop), and handed over one at a time.
        report = ReplayReport()
        seen: set[str] = set()
        for index, item in enumerate(deliveries):
            self._run_sync(self._replay_one(item, index, seen, report))
        return report

    async def _replay_one(
        self, item: object, index: int, seen: set[str], report: ReplayReport
    ) -> None:
        event = _replayed_event(item, index)
        if event.id in seen:
            return
        seen.add(event.id)
        result = await self._process(event)
        match result.outcome:
            case Outcome.PROCESSED:
                report.processed += 1
            case Outcome.IGNORED:
                report.ignored += 1
            case Outcome.DUPLICATE | Outcome.IN_PROGRESS:
                report.duplicates += 1
            case Outcome.FAILED:
                report.failed += 1
                report.failed_ids.append(event.id)
            case _:
                raise StoreUnavailableError(
                    f"the receiver's store could not be reached while replaying event {event.id}"
                )

    # -- adapters ------------------------------------------------------------------------

    def asgi(self) -> Any:
        """An ASGI application answering deliveries at the path it is mounted on.

        Example::

            app = Starlette(routes=[Route("/webhooks/pancake", receiver.asgi())])
            fastapi_app.add_route("/webhooks/pancake", receiver.asgi())
        """
        from pancake_pos.receiver._adapters import ASGIApp

        return ASGIApp(self)

    def wsgi(self) -> Any:
        """A WSGI application answering deliveries (for Flask, Django or any WSGI server).

        Example::

            flask_app.wsgi_app = DispatcherMiddleware(
                flask_app.wsgi_app, {"/webhooks/pancake": receiver.wsgi()}
            )
        """
        from pancake_pos.receiver._adapters import WSGIApp

        return WSGIApp(self)

    # -- the loop of the sync methods ----------------------------------------------------

    def _run_sync(self, coroutine: Coroutine[Any, Any, T]) -> T:
        with self._portal_lock:
            portal = self._portal
            if portal is None or not portal.usable():
                portal = self._portal = _LoopThread()
        return portal.run(coroutine)

    def close(self) -> None:
        """Stop the thread the sync methods run on, closing the store's connections made there.

        A later sync call starts a new one.
        """
        with self._portal_lock:
            portal, self._portal = self._portal, None
        if portal is not None:
            aclose = getattr(self._store, "aclose", None)
            portal.stop(aclose)


class _LoopThread:
    """An event loop in a daemon thread; one per receiver, made again after a fork."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pancake-pos-receiver", daemon=True
        )
        self._thread.start()

    def usable(self) -> bool:
        return self._pid == os.getpid() and self._thread.is_alive()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a sync receiver method was called from a handler; await it")
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
            coroutine, self._loop
        )
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def stop(self, before: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        if not self.usable():
            return

        async def shutdown() -> None:
            if before is not None:
                try:
                    await before()
                except Exception as exc:
                    logger.warning("closing the receiver's store failed (%s)", type(exc).__name__)
            await self._loop.shutdown_asyncgens()
            await self._loop.shutdown_default_executor()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


# -- helpers -----------------------------------------------------------------------------


def _replayed_event(item: object, index: int) -> Event:
    payload: object = item
    if isinstance(item, WebhookDelivery):
        payload = item.payload
    elif isinstance(item, Mapping) and "payload" in item:  # a delivery, as exported
        payload = item["payload"]
    if isinstance(payload, Mapping) and not isinstance(payload, dict):
        payload = dict(payload)
    if not isinstance(payload, WebhookEventPayload | dict):
        raise ValueError(
            f"item {index} is not a delivery or an event payload ({type(item).__name__})"
        )
    try:
        return parse_event(payload)
    except ValueError as exc:
        raise ValueError(f"item {index}: {exc}") from None


def _is_async(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


def _name(handler: Handler) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__qualname__


def _positive_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value}")
    return float(value)


def _rejected(status: int, reason: str, event_id: str | None = None) -> HandleResult:
    return HandleResult(
        outcome=Outcome.REJECTED, status_code=status, event_id=event_id, reason=reason
    )


def _result(outcome: Outcome, event: Event) -> HandleResult:
    return HandleResult(
        outcome=outcome, status_code=_STATUS[outcome], event_id=event.id, event=event
    )


def _log_unavailable(exc: Exception, event_id: str) -> None:
    logger.error(
        "the receiver's store could not be reached for event %s (%s); answered 503",
        event_id,
        exc if isinstance(exc, StoreUnavailableError) else type(exc).__name__,
    )
