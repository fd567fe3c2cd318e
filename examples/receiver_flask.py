"""A webhook receiver for Pancake POS deliveries in a Flask app (``pip install flask``).

Two ways, pick one: mount ``receiver.wsgi()`` at the webhook's path (it answers by itself), or
call ``receiver.handle_sync()`` in a view of your own (say, to add authentication or metrics
around it). Both verify the signature over the raw body, drop redeliveries (a SQLite file
shared by the worker processes), run the handlers and answer the status Pancake needs.

Run it::

    export PANCAKE_WEBHOOK_SECRET=whsec_...
    flask --app receiver_flask run --port 8000

then point a webhook at ``http://<host>:8000/webhooks/pancake``.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from pancake_pos.events import Event, OrderEvent
from pancake_pos.receiver import EventStore, SQLiteStore, WebhookReceiver

__all__ = ["app", "create_app"]

logger = logging.getLogger("receiver")


def create_app(secret: str | list[str], *, store: EventStore | None = None) -> Flask:
    """A Flask app with the receiver at /webhooks/pancake and the same in a view."""
    receiver = WebhookReceiver(secret, store=store)

    @receiver.on("order.*")
    def on_order(event: OrderEvent) -> None:  # sync handlers run in a worker thread
        logger.info("%s order %s (%s)", event.event, event.data.id, event.id)

    @receiver.on_unhandled
    def on_anything_else(event: Event) -> None:
        logger.info("%s (%s)", event.event, event.id)

    flask_app = Flask(__name__)

    # 1. The receiver as a WSGI app at an exact path, in front of the Flask app.
    flask_app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        flask_app.wsgi_app, {"/webhooks/pancake": receiver.wsgi()}
    )

    # 2. Or in a view of your own.
    @flask_app.post("/hooks/pancake")
    def pancake_view() -> Response:
        result = receiver.handle_sync(request.get_data(), request.headers)
        return Response(result.json(), result.status_code, mimetype="application/json")

    return flask_app


def _secret_from_environment() -> str:
    secret = os.environ.get("PANCAKE_WEBHOOK_SECRET")
    if not secret:
        raise RuntimeError("set PANCAKE_WEBHOOK_SECRET to the webhook's secret (whsec_...)")
    return secret


app = create_app(
    _secret_from_environment(),
    store=SQLiteStore(os.environ.get("PANCAKE_EVENTS_DB", "pancake-events.db")),
)
