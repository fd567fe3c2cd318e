"""A webhook receiver for Pancake POS deliveries, on Starlette (FastAPI works the same way).

`WebhookReceiver` verifies each delivery's signature over the raw body, drops redeliveries of an
event already handled (remembered in a SQLite file, shared by every worker process), runs the
handler registered for the event with a typed event, and answers the status that makes Pancake
do the right thing: 200 when handled, 500 when a handler raised (Pancake retries later), 401 for
a forged or stale delivery.

Run it (``pip install "pancake-pos[sandbox]"`` brings Starlette and uvicorn)::

    export PANCAKE_WEBHOOK_SECRET=whsec_...     # the webhook's secret_key
    uvicorn receiver_starlette:app --port 8000

then point a webhook at ``http://<host>:8000/webhooks/pancake``. ``PANCAKE_EVENTS_DB`` names
the SQLite file (default ``pancake-events.db``).
"""

from __future__ import annotations

import logging
import os

from starlette.applications import Starlette
from starlette.routing import Route

from pancake_pos.events import CustomerEvent, Event, OrderEvent
from pancake_pos.receiver import EventStore, SQLiteStore, WebhookReceiver

__all__ = ["app", "create_app"]

# Configured here, at import, so that `uvicorn receiver_starlette:app` shows the event log.
logger = logging.getLogger("receiver")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for _name in ("receiver", "pancake_pos"):  # pancake_pos: rejected deliveries, failures
        logging.getLogger(_name).addHandler(_handler)
        logging.getLogger(_name).setLevel(logging.INFO)


def create_receiver(secret: str | list[str], store: EventStore | None = None) -> WebhookReceiver:
    """The receiver and its handlers; ``secret`` may be a list while rotating."""
    receiver = WebhookReceiver(secret, store=store)

    @receiver.on("order.created", "order.status_changed")
    async def on_order(event: OrderEvent) -> None:
        order = event.data
        logger.info("%s order %s is %s (%s)", event.event, order.id, order.status_name, event.id)

    @receiver.on("customer.*")
    def on_customer(event: CustomerEvent) -> None:  # a sync handler runs in a worker thread
        logger.info("%s customer %s (%s)", event.event, event.data.name, event.id)

    @receiver.on_unhandled
    async def on_anything_else(event: Event) -> None:
        logger.info("%s in shop %s (%s)", event.event, event.shop_id, event.id)

    return receiver


def create_app(
    secret: str | list[str],
    *,
    store: EventStore | None = None,
    path: str = "/webhooks/pancake",
) -> Starlette:
    """A Starlette app receiving deliveries signed with ``secret`` at ``path``."""
    receiver = create_receiver(secret, store)
    return Starlette(routes=[Route(path, receiver.asgi())])


def _secret_from_environment() -> str:
    secret = os.environ.get("PANCAKE_WEBHOOK_SECRET")
    if not secret:
        raise RuntimeError("set PANCAKE_WEBHOOK_SECRET to the webhook's secret (whsec_...)")
    return secret


app = create_app(
    _secret_from_environment(),
    store=SQLiteStore(os.environ.get("PANCAKE_EVENTS_DB", "pancake-events.db")),
)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
