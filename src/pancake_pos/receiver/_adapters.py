"""The receiver as an ASGI application and as a WSGI application.

Both answer only POST (405 otherwise, with ``Allow: POST``), refuse bodies over the receiver's
``max_body`` (413; announced by ``Content-Length`` or found while reading a chunked body), and
answer JSON ``{"outcome": ...}`` with ``Content-Type: application/json``.
"""

from __future__ import annotations

import http
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from pancake_pos.receiver._receiver import HandleResult, Outcome

if TYPE_CHECKING:
    from pancake_pos.receiver._receiver import WebhookReceiver

__all__ = ["ASGIApp", "WSGIApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
StartResponse = Callable[..., Any]

_JSON = b"application/json"
_READ_SIZE = 65536


def _refusal(status: int) -> HandleResult:
    return HandleResult(outcome=Outcome.REJECTED, status_code=status)


def _too_big(receiver: WebhookReceiver) -> HandleResult:
    return HandleResult(
        outcome=Outcome.REJECTED,
        status_code=413,
        reason=f"the body is over {receiver.max_body} bytes",
    )


class ASGIApp:
    """The receiver as an ASGI application (``WebhookReceiver.asgi()``).

    Mount it at an exact path: ``Route("/webhooks/pancake", receiver.asgi())`` in Starlette, or
    ``app.add_route("/webhooks/pancake", receiver.asgi())`` in FastAPI.
    """

    def __init__(self, receiver: WebhookReceiver) -> None:
        self._receiver = receiver

    def __repr__(self) -> str:
        return f"<ASGI app of {self._receiver!r}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":  # served on its own: the store is closed at shutdown
            await _lifespan(self._receiver, receive, send)
            return
        if kind != "http":
            raise RuntimeError(f"the webhook receiver serves HTTP only, not {kind!r}")
        receiver = self._receiver
        if scope.get("method") != "POST":
            await _send(send, _refusal(405), allow=True)
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            headers[raw_name.decode("latin-1").lower()] = raw_value.decode("latin-1")
        announced = headers.get("content-length")
        if announced is not None and announced.isdigit() and int(announced) > receiver.max_body:
            await _send(send, _too_big(receiver))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > receiver.max_body:
                    await _send(send, _too_big(receiver))
                    return
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        result = await receiver.handle(b"".join(chunks), headers)
        await _send(send, result)


async def _send(send: Send, result: HandleResult, *, allow: bool = False) -> None:
    body = result.json()
    headers = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    if allow:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": result.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receiver: WebhookReceiver, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            aclose = getattr(receiver.store, "aclose", None)
            if aclose is not None:
                await aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


class WSGIApp:
    """The receiver as a WSGI application (``WebhookReceiver.wsgi()``).

    Mount it at an exact path, for example with werkzeug's ``DispatcherMiddleware`` in Flask.
    A chunked body (no ``Content-Length``) is read only when the server marks the input as
    terminated (``wsgi.input_terminated``, as werkzeug and gunicorn do).
    """

    def __init__(self, receiver: WebhookReceiver) -> None:
        self._receiver = receiver

    def __repr__(self) -> str:
        return f"<WSGI app of {self._receiver!r}>"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        receiver = self._receiver
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, _refusal(405), allow=True)
        body = _read_body(environ, receiver.max_body)
        if body is None:
            return _respond(start_response, _too_big(receiver))
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and isinstance(value, str)
        }
        return _respond(start_response, receiver.handle_sync(body, headers))


def _read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The request body, or None when it is over ``limit`` bytes."""
    stream = environ.get("wsgi.input")
    announced = str(environ.get("CONTENT_LENGTH") or "").strip()
    if announced:
        if not announced.isdigit():
            return b""
        length = int(announced)
        if length > limit:
            return None
        chunks = []
        while length > 0 and stream is not None:
            chunk = stream.read(min(length, _READ_SIZE))
            if not chunk:
                break
            chunks.append(chunk)
            length -= len(chunk)
        return b"".join(chunks)
    if not environ.get("wsgi.input_terminated") or stream is None:
        return b""
    chunks = []
    size = 0
    while True:
        chunk = stream.read(_READ_SIZE)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _respond(
    start_response: StartResponse, result: HandleResult, *, allow: bool = False
) -> list[bytes]:
    body = result.json()
    status = f"{result.status_code} {http.HTTPStatus(result.status_code).phrase}"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if allow:
        headers.append(("Allow", "POST"))
    start_response(status, headers)
    return [body]
