"""The ASGI layers around the sandbox's routes: request ids, the call log, the observer, and
quiet handling of clients that hang up mid-request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import error_response
from ._faults import new_request_id
from ._spec import API_PREFIX

__all__ = [
    "CallLogMiddleware",
    "Observer",
    "ObserverMiddleware",
    "QuietOnDisconnect",
    "RequestIdMiddleware",
]

logger = logging.getLogger("pancake_pos.sandbox")


class QuietOnDisconnect:
    """An endpoint as a plain ASGI app that gives no answer to a client gone mid-request, and a
    503 to a call the stopping server cancels.

    Reading the body of a request whose client hung up raises `ClientDisconnect`. Let out, it
    would make Starlette answer a 500 nobody reads (which the observer would take for a server
    failure) and uvicorn log "Exception in ASGI application". Returning without an answer is
    what a server does for a vanished client; uvicorn, which saw the disconnect, logs nothing.
    A call still running when the server's graceful shutdown runs out (a client that never
    finishes sending its body) is cancelled: it is answered 503 `unavailable`, with no traceback.
    (A class, not a function: Starlette wraps functions given to `Route` as request handlers.)
    """

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.endpoint(Request(scope, receive, send))
        except ClientDisconnect:
            return
        except asyncio.CancelledError:
            stopping = error_response(
                503, "unavailable", "The sandbox is stopping.", headers={"Retry-After": "1"}
            )
            with contextlib.suppress(Exception):
                await stopping(scope, receive, send)
            return
        await response(scope, receive, send)


class RequestIdMiddleware:
    """Adds an `X-Request-Id` header to every answer that has none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id().encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class CallLogMiddleware:
    """Logs one line per call (method, path, status, milliseconds) to `pancake_pos.sandbox`.

    The path is logged without its query string, so the `api_key` never appears. A call that
    got no answer (a dropped connection, a client gone) is logged with status `-`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = "-"

        async def logging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, logging_send)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            logger.info("%s %s %s %.0fms", scope["method"], scope["path"], status, elapsed)


Observer = Callable[[str, str, int, dict[str, str], bytes], None]
"""Called with (method, path, status, lower-case headers, body) of every answer of the API."""


class ObserverMiddleware:
    """Shows every answer of the API (under `/api/v1`) to an observer, once it is complete."""

    def __init__(self, app: ASGIApp, observer: Observer) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        status = 0
        headers: dict[str, str] = {}
        body = bytearray()

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    self.observer(scope["method"], scope["path"], status, headers, bytes(body))
            await send(message)

        await self.app(scope, receive, observing_send)
