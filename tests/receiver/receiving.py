"""Helpers of the receiver's tests: the receiver's secret, signed deliveries, free ports."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from pancake_pos.sandbox._server import ThreadedUvicorn
from pancake_pos.signing import build_headers, generate_secret

SECRET = generate_secret()

Delivery = tuple[bytes, dict[str, str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_delivery(
    event: str = "order.created",
    data: dict[str, Any] | None = None,
    *,
    msg_id: str | None = None,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> Delivery:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    payload = {
        "id": msg_id,
        "event": event,
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {"id": 1024, "status_name": "new"} if data is None else data,
    }
    body = json.dumps(payload).encode()
    headers = build_headers(secret, msg_id, timestamp or int(time.time()), body)
    return body, headers


@contextlib.contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port, in a thread; yield its URL."""
    runner = ThreadedUvicorn(app, "127.0.0.1", 0)
    runner.start()
    try:
        yield f"http://127.0.0.1:{runner.port}"
    finally:
        runner.stop()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextlib.contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve a WSGI app with wsgiref on a free loopback port, in a thread; yield its URL."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
