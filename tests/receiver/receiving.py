"""Helpers of the receiver's tests: the receiver's secret, signed deliveries, free ports."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

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


def make_store(kind: str, location: str) -> Any:
    """A store of ``kind`` ("sqlite": a file path; "redis": ``url|prefix``)."""
    from pancake_pos.receiver import RedisStore, SQLiteStore

    if kind == "sqlite":
        return SQLiteStore(location)
    url, _, prefix = location.partition("|")
    return RedisStore(url, prefix=prefix)


def process_worker(
    secret: str,
    kind: str,
    location: str,
    deliveries: list[tuple[bytes, dict[str, str]]],
    concurrency: int,
    log_path: str,
    start: Any,
    results: Any,
) -> None:
    """One OS process: a receiver on the shared store handles every delivery ``concurrency``
    times at once; each handler run appends the event id to ``log_path``."""
    import asyncio

    from pancake_pos.receiver import WebhookReceiver

    async def main() -> list[str]:
        store = make_store(kind, location)
        receiver = WebhookReceiver(secret, store=store)

        @receiver.on("order.*")
        def handler(event: Any) -> None:  # sync: runs in a worker thread
            time.sleep(0.02)
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(event.id + "\n")

        start.wait()
        outcomes = await asyncio.gather(
            *(receiver.handle(body, headers) for body, headers in deliveries * concurrency)
        )
        await store.aclose()
        return [result.outcome.value for result in outcomes]

    results.put(asyncio.run(main()))


def dying_worker(
    secret: str, kind: str, location: str, body: bytes, headers: dict[str, str]
) -> None:
    """A process whose handler dies mid-event (its claim is left behind)."""
    import asyncio
    import os

    from pancake_pos.receiver import WebhookReceiver

    async def main() -> None:
        receiver = WebhookReceiver(secret, store=make_store(kind, location), lease=1.0)

        @receiver.on("order.*")
        def handler(event: Any) -> None:
            os._exit(3)

        await receiver.handle(body, headers)

    asyncio.run(main())


def redis_binary() -> str:
    """The redis-server binary; skips (locally) or fails (under CI=true) when it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = (
            "redis-server is not installed (Debian: apt-get install redis-server); "
            "the Redis store tests need a real server"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; under CI=true this is a failure, not a skip")
        pytest.skip(reason)
    return binary
