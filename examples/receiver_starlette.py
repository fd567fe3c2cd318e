"""A webhook receiver for Pancake POS deliveries, on Starlette (FastAPI works the same way).

It verifies each delivery's signature over the raw body, drops duplicates by their
``webhook-id`` (a failed or slow answer makes the service send the same event again), answers
2xx at once and does the work afterwards, in a background task.

Run it (``pip install "pancake-pos[sandbox]"`` brings Starlette and uvicorn)::

    export PANCAKE_WEBHOOK_SECRET=whsec_...     # the webhook's secret_key
    uvicorn receiver_starlette:app --port 8000

then point a webhook at ``http://<host>:8000/webhooks/pancake``.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pancake_pos.errors import WebhookVerificationError
from pancake_pos.models import WebhookEventPayload
from pancake_pos.signing import WebhookVerifier

__all__ = ["app", "create_app"]

logger = logging.getLogger("receiver")

EventHandler = Callable[[WebhookEventPayload], Awaitable[None] | None]


class SeenIds:
    """The webhook-ids already accepted, forgetting the oldest beyond ``capacity``.

    In memory, so it is per process and lost on restart: in production keep them in your
    database (a unique key on the event id, written with the work) or in Redis (``SET id 1 NX
    EX 86400``), shared by every worker.
    """

    def __init__(self, capacity: int) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def add(self, msg_id: str) -> bool:
        """Remember ``msg_id``; False if it was already there."""
        if msg_id in self._ids:
            self._ids.move_to_end(msg_id)
            return False
        self._ids[msg_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


async def log_event(event: WebhookEventPayload) -> None:
    """The default work: log the event. Replace it with yours."""
    logger.info("%s %s in shop %s: %s", event.id, event.event, event.shop_id, event.data)


def create_app(
    secret: str | list[str],
    *,
    handle_event: EventHandler = log_event,
    path: str = "/webhooks/pancake",
    remember: int = 10_000,
) -> Starlette:
    """A Starlette app that receives deliveries signed with ``secret`` (or a list, to rotate).

    ``handle_event`` runs once per event, after the answer has been sent.
    """
    verifier = WebhookVerifier(secret)
    seen = SeenIds(remember)

    async def receive(request: Request) -> Response:
        body = await request.body()  # the raw bytes: the signature covers them exactly
        try:
            event = verifier.verify(body, request.headers)
        except WebhookVerificationError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        # No await between the check and the add: one event loop, so no other request can
        # slip in between.
        if not seen.add(event.id):
            return JSONResponse({"status": "duplicate"}, status_code=200)
        return JSONResponse(
            {"status": "accepted"},
            status_code=202,
            background=BackgroundTask(handle_event, event),  # a sync handler runs in a thread
        )

    return Starlette(routes=[Route(path, receive, methods=["POST"])])


def _secret_from_environment() -> str:
    secret = os.environ.get("PANCAKE_WEBHOOK_SECRET")
    if not secret:
        raise RuntimeError("set PANCAKE_WEBHOOK_SECRET to the webhook's secret (whsec_...)")
    return secret


app = create_app(_secret_from_environment())


if __name__ == "__main__":
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host="127.0.0.1", port=8000)
