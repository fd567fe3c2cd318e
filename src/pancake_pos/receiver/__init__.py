"""Receiving webhooks: verify, drop duplicates, dispatch typed events, answer the right status.

:class:`WebhookReceiver` sits between the socket and your code. For each delivery it:

1. verifies it (a forged, stale or malformed delivery is ``rejected``: 401, or 400 when the
   signature is fine but the body is not a payload; nothing runs, nothing is stored);
2. claims the event id in its store, atomically (already done: ``duplicate``, 200; claimed by a
   worker whose lease has not run out: ``in_progress``, 409, so the sender retries later);
3. runs the handlers registered for the event, in order (none: the ``on_unhandled`` handler, or
   ``ignored``);
4. marks the event done (``processed`` or ``ignored``, 200), or, when a handler raised, releases
   the claim so the sender's retry runs it again (``failed``, 500; logged with the event id).

A store that cannot be reached gives ``unavailable``, 503, and runs nothing.

Stores: :class:`MemoryStore` (one process, the default), :class:`SQLiteStore` (several processes
on one machine, durable), :class:`RedisStore` (any number of machines; extra ``redis``).

Example::

    from pancake_pos.events import OrderEvent
    from pancake_pos.receiver import SQLiteStore, WebhookReceiver

    receiver = WebhookReceiver(secret, store=SQLiteStore("pancake-events.db"))

    @receiver.on("order.created", "order.status_changed")
    async def on_order(event: OrderEvent) -> None:
        print(event.data.id, event.data.status_name)

    app = Starlette(routes=[Route("/webhooks/pancake", receiver.asgi())])
"""

from __future__ import annotations

from pancake_pos.receiver._receiver import HandleResult, Outcome, ReplayReport, WebhookReceiver
from pancake_pos.receiver._redis import RedisStore
from pancake_pos.receiver._stores import (
    Claim,
    ClaimState,
    EventStore,
    MemoryStore,
    SQLiteStore,
    StoreUnavailableError,
)

__all__ = [
    "Claim",
    "ClaimState",
    "EventStore",
    "HandleResult",
    "MemoryStore",
    "Outcome",
    "RedisStore",
    "ReplayReport",
    "SQLiteStore",
    "StoreUnavailableError",
    "WebhookReceiver",
]
