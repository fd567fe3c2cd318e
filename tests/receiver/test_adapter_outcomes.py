"""Every outcome and its status through both adapters, asgi() and wsgi(), and `event_id` on
each result: what the sender sees is what `handle` decided, and an answer never carries the text
of an exception."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from receiving import SECRET, make_delivery

from pancake_pos.events import Event
from pancake_pos.receiver import Claim, MemoryStore, Outcome, WebhookReceiver

PATH = "/webhooks/pancake"
SECRET_TEXT = "internal-detail-7f3a"


class DownStore(MemoryStore):
    """A store whose server cannot be reached."""

    async def claim(self, event_id: str, *, lease: float) -> Claim:
        raise ConnectionError(f"redis down: {SECRET_TEXT}")


def _receiver(store: Any = None) -> WebhookReceiver:
    receiver = WebhookReceiver(SECRET, store=store)

    @receiver.on("order.created")
    async def on_order(event: Event) -> None:
        del event

    @receiver.on("product.created")
    def broken(event: Event) -> None:
        raise RuntimeError(SECRET_TEXT)

    return receiver


Post = Callable[[WebhookReceiver, bytes, dict[str, str]], httpx.Response]


def _post_asgi(receiver: WebhookReceiver, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=receiver.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            return await http.post(PATH, content=body, headers=headers)

    return asyncio.run(send())


def _post_wsgi(receiver: WebhookReceiver, body: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.WSGITransport(app=receiver.wsgi())
    with httpx.Client(transport=transport, base_url="http://receiver") as http:
        return http.post(PATH, content=body, headers=headers)


ADAPTERS = pytest.mark.parametrize("post", [_post_asgi, _post_wsgi], ids=["asgi", "wsgi"])


def _expect(answer: httpx.Response, status: int, outcome: Outcome) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.content) == {"outcome": outcome.value}
    assert SECRET_TEXT not in answer.text


@ADAPTERS
def test_processed_duplicate_ignored_failed(post: Post) -> None:
    receiver = _receiver()
    try:
        delivery = make_delivery("order.created")
        _expect(post(receiver, *delivery), 200, Outcome.PROCESSED)
        _expect(post(receiver, *delivery), 200, Outcome.DUPLICATE)
        _expect(post(receiver, *make_delivery("loyalty.points_earned")), 200, Outcome.IGNORED)
        _expect(post(receiver, *make_delivery("product.created")), 500, Outcome.FAILED)
        _expect(post(receiver, b"{}", {}), 401, Outcome.REJECTED)
    finally:
        receiver.close()


@ADAPTERS
def test_on_unhandled_makes_it_processed(post: Post) -> None:
    receiver = _receiver()
    seen: list[str] = []
    receiver.on_unhandled(lambda event: seen.append(event.id))
    try:
        body, headers = make_delivery("customer.created")
        _expect(post(receiver, body, headers), 200, Outcome.PROCESSED)
    finally:
        receiver.close()
    assert seen == [headers["webhook-id"]]


@ADAPTERS
def test_in_progress_is_409(post: Post) -> None:
    store = MemoryStore()
    receiver = _receiver(store)
    body, headers = make_delivery("order.created")
    asyncio.run(store.claim(headers["webhook-id"], lease=60.0))  # another worker holds it
    try:
        _expect(post(receiver, body, headers), 409, Outcome.IN_PROGRESS)
    finally:
        receiver.close()


@ADAPTERS
def test_a_store_that_is_down_is_503_without_its_error_text(post: Post) -> None:
    receiver = _receiver(DownStore())
    try:
        _expect(post(receiver, *make_delivery("order.created")), 503, Outcome.UNAVAILABLE)
    finally:
        receiver.close()


async def test_each_result_names_its_event() -> None:
    receiver = _receiver()
    body, headers = make_delivery("order.created")
    event_id = headers["webhook-id"]
    for expected in (Outcome.PROCESSED, Outcome.DUPLICATE):
        result = await receiver.handle(body, headers)
        assert (result.outcome, result.event_id) == (expected, event_id)
    for event, expected in (
        ("loyalty.points_earned", Outcome.IGNORED),
        ("product.created", Outcome.FAILED),
    ):
        body, headers = make_delivery(event)
        result = await receiver.handle(body, headers)
        assert (result.outcome, result.event_id) == (expected, headers["webhook-id"])
    down = await _receiver(DownStore()).handle(*make_delivery(msg_id="msg_down"))
    assert (down.outcome, down.event_id) == (Outcome.UNAVAILABLE, "msg_down")
    forged = await receiver.handle(b"{}", {"webhook-id": "msg_forged"})
    assert (forged.outcome, forged.event_id) == (Outcome.REJECTED, None)  # not authentic: unknown


async def test_asgi_served_on_its_own_closes_the_store_at_shutdown() -> None:
    closed: list[str] = []

    class Store(MemoryStore):
        async def aclose(self) -> None:
            closed.append("closed")
            await super().aclose()

    app = WebhookReceiver(SECRET, store=Store()).asgi()
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert closed == ["closed"]
