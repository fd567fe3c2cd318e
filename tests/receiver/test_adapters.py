"""asgi() in Starlette under uvicorn and wsgi() under wsgiref, fed by httpx over loopback."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from receiving import SECRET, make_delivery, serve_asgi, serve_wsgi
from starlette.applications import Starlette
from starlette.routing import Route

from pancake_pos.events import Event
from pancake_pos.receiver import WebhookReceiver
from pancake_pos.signing import build_headers

PATH = "/webhooks/pancake"


def make_receiver(ran: list[Event], **options: Any) -> WebhookReceiver:
    receiver = WebhookReceiver(SECRET, **options)

    @receiver.on("order.*")
    async def on_order(event: Event) -> None:
        ran.append(event)

    @receiver.on("customer.*")
    def on_customer(event: Event) -> None:  # sync: in a worker thread
        ran.append(event)

    @receiver.on("product.*")
    async def broken(event: Event) -> None:
        raise RuntimeError("secret internals: token=abc123")

    return receiver


def check_answer(answer: httpx.Response, status: int, outcome: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"outcome": outcome}


def exercise(base_url: str, ran: list[Event]) -> None:
    """What every adapter must do, over real HTTP."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        body, headers = make_delivery("order.created")
        check_answer(http.post(PATH, content=body, headers=headers), 200, "processed")
        check_answer(http.post(PATH, content=body, headers=headers), 200, "duplicate")
        body, headers = make_delivery("customer.updated", {"name": "Lan"})
        check_answer(http.post(PATH, content=body, headers=headers), 200, "processed")
        body, headers = make_delivery("loyalty.points_earned", {"points": 5})
        check_answer(http.post(PATH, content=body, headers=headers), 200, "ignored")
        body, headers = make_delivery("product.created", {"id": "p1"})
        failed = http.post(PATH, content=body, headers=headers)
        check_answer(failed, 500, "failed")
        assert b"abc123" not in failed.content
        check_answer(http.post(PATH, content=body + b" ", headers=headers), 401, "rejected")
        check_answer(http.post(PATH, content=b"", headers={}), 401, "rejected")
        bad_body = b'{"not": "a payload"}'
        signed = build_headers(SECRET, "msg_x", int(time.time()), bad_body)
        check_answer(http.post(PATH, content=bad_body, headers=signed), 400, "rejected")
        for method in ("GET", "PUT", "DELETE"):
            refused = http.request(method, PATH)
            check_answer(refused, 405, "rejected")
            assert refused.headers["allow"] == "POST"
        big, big_headers = make_delivery(data={"note": "x" * 2000})
        check_answer(http.post(PATH, content=big, headers=big_headers), 413, "rejected")
    assert [type(event).__name__ for event in ran] == ["OrderEvent", "CustomerEvent"]


def test_asgi_in_a_starlette_route_under_uvicorn() -> None:
    ran: list[Event] = []
    receiver = make_receiver(ran, max_body=1000)
    app = Starlette(routes=[Route(PATH, receiver.asgi())])
    with serve_asgi(app) as url:
        exercise(url, ran)


def test_asgi_added_with_add_route_and_served_on_its_own() -> None:
    ran: list[Event] = []
    receiver = make_receiver(ran, max_body=1000)
    app = Starlette()
    app.add_route(PATH, receiver.asgi())
    with serve_asgi(app) as url:
        exercise(url, ran)
    ran.clear()
    bare = make_receiver(ran, max_body=1000).asgi()  # uvicorn runs its lifespan too
    with serve_asgi(bare) as url:
        exercise(url, ran)


def chunks(data: bytes, size: int = 300) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_asgi_reads_chunked_bodies_and_refuses_big_ones_while_reading() -> None:
    ran: list[Event] = []
    receiver = make_receiver(ran, max_body=1000)
    app = Starlette(routes=[Route(PATH, receiver.asgi())])
    with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        body, headers = make_delivery(data={"note": "y" * 500})
        small = http.post(PATH, content=chunks(body), headers=headers)
        check_answer(small, 200, "processed")
        big, big_headers = make_delivery(data={"note": "x" * 3000})
        check_answer(http.post(PATH, content=chunks(big), headers=big_headers), 413, "rejected")
    assert len(ran) == 1


def test_wsgi_under_wsgiref() -> None:
    ran: list[Event] = []
    receiver = make_receiver(ran, max_body=1000)
    try:
        with serve_wsgi(receiver.wsgi()) as url:
            exercise(url, ran)
    finally:
        receiver.close()


def call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


def test_wsgi_reads_a_terminated_chunked_input_and_refuses_a_big_one() -> None:
    ran: list[Event] = []
    receiver = make_receiver(ran, max_body=1000)
    app = receiver.wsgi()
    body, headers = make_delivery()
    environ = {
        "REQUEST_METHOD": "POST",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    status, answer_headers, answer = call_wsgi(app, environ)
    assert (status, json.loads(answer)) == ("200 OK", {"outcome": "processed"})
    assert answer_headers["Content-Type"] == "application/json"
    environ["wsgi.input"] = io.BytesIO(b"x" * 1001)
    status, _, answer = call_wsgi(app, environ)
    assert (status, json.loads(answer)) == ("413 Request Entity Too Large", {"outcome": "rejected"})
    receiver.close()
    assert len(ran) == 1


def test_the_sync_handlers_of_a_wsgi_receiver_run_off_the_request_thread() -> None:
    seen: list[int] = []
    receiver = WebhookReceiver(SECRET)
    receiver.on("order.created")(lambda event: seen.append(threading.get_ident()))
    try:
        result = receiver.handle_sync(*make_delivery())
    finally:
        receiver.close()
    assert result.status_code == 200
    assert seen
    assert seen[0] != threading.get_ident()


@pytest.mark.parametrize("kind", ["websocket"])
async def test_asgi_refuses_what_is_not_http(kind: str) -> None:
    app = WebhookReceiver(SECRET).asgi()

    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: Any) -> None:
        pass

    with pytest.raises(RuntimeError, match="serves HTTP only"):
        await app({"type": kind}, receive, send)
