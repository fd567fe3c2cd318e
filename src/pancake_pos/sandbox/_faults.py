"""Injected faults: make the next API calls fail the way real networks and servers do.

Sandbox only, outside `/api/v1` and outside the document: `POST /_sandbox/faults` with
`{"kind": ..., "count": N}` (or `SandboxServer.inject_fault`) arms a fault for the next `count` API
calls that carry the right `api_key` (an unauthenticated call is answered 401 and uses up no
fault), optionally only those whose path starts with `path` and whose method is `method`:

- `"429"`: answer 429 with `Retry-After: retry_after` (seconds, default 1);
- `"500"`: answer 500; `"503"`: answer 503 with `Retry-After`;
- `"slow"`: wait `delay` seconds (default 1), then answer normally;
- `"drop"`: close the connection without answering (the client sees it dropped);
- `"drop_after"`: do the work, then close the connection without answering (a lost answer).

Example:

    curl -X POST "http://127.0.0.1:8765/_sandbox/faults?api_key=$PANCAKE_API_KEY" \\
         -d '{"kind": "503", "count": 2, "retry_after": 1}'
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import secrets
import threading
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._spec import API_PREFIX

__all__ = ["FAULT_KINDS", "Fault", "FaultMiddleware", "Faults", "new_request_id", "parse_fault"]

FAULT_KINDS = ("429", "500", "503", "slow", "drop", "drop_after")
_API_PREFIX = API_PREFIX + "/"


def new_request_id() -> str:
    """A fresh `X-Request-Id` value (`req_` + 16 hex digits)."""
    return f"req_{secrets.token_hex(8)}"


@dataclasses.dataclass(kw_only=True)
class Fault:
    """One armed fault and how many more calls it will hit."""

    kind: str
    count: int = 1
    retry_after: int = 1
    delay: float = 1.0
    path: str | None = None
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether a call with this method and URL path is hit by the fault."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or path.startswith(self.path)

    def to_json(self) -> dict[str, Any]:
        """The fault as the control endpoint shows it."""
        return dataclasses.asdict(self)


def parse_fault(data: Any) -> Fault:
    """A `Fault` from the control endpoint's JSON; `ValueError` naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    unknown = sorted(set(data) - {"kind", "count", "retry_after", "delay", "path", "method"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    kind = str(data.get("kind", ""))
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    count, retry_after, delay = data.get("count", 1), data.get("retry_after", 1), data.get("delay")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
        raise ValueError("count must be an integer from 1 to 10000")
    if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
        raise ValueError("retry_after must be a non-negative integer (seconds)")
    if delay is None:
        delay = 1.0
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 60:
        raise ValueError("delay must be a number of seconds from 0 to 60")
    path, method = data.get("path"), data.get("method")
    if path is not None and not isinstance(path, str):
        raise ValueError("path must be a string (a URL path prefix)")
    if method is not None and not isinstance(method, str):
        raise ValueError("method must be a string")
    return Fault(
        kind=kind,
        count=count,
        retry_after=retry_after,
        delay=float(delay),
        path=path,
        method=method,
    )


class Faults:
    """The armed faults of one sandbox (shared with other threads, hence the lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault; it hits after the faults armed before it are used up."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        """A copy of the faults still armed."""
        with self._lock:
            return [dataclasses.replace(fault) for fault in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that hits this call, if any (and count it as used)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return dataclasses.replace(fault)
        return None


_ERRORS = {
    "429": (429, "rate_limited", "Too many requests."),
    "500": (500, "internal_error", "Something went wrong."),
    "503": (503, "unavailable", "Try again shortly."),
}


async def _answer_error(fault: Fault, send: Send) -> None:
    status, code, message = _ERRORS[fault.kind]
    body = json.dumps(
        {"success": False, "error": {"code": code, "message": message, "details": {}}}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", new_request_id().encode()),
    ]
    if status in (429, 503):
        headers.append((b"retry-after", str(fault.retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(receive: Receive, send: Send) -> None:
    """Close the connection without a byte of answer.

    uvicorn exposes no ASGI way to abort a connection, but its `send` is a bound method of the
    request cycle that owns the transport. Closing that transport and waiting for the disconnect
    makes uvicorn neither answer nor log. Under another server, fall back to an answer whose body
    never comes (the server then closes the connection).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if isinstance(transport, asyncio.WriteTransport):
        transport.close()
        async with asyncio.timeout(5):
            while (await receive())["type"] != "http.disconnect":
                pass
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}
    )


def _has_key(scope: Scope, api_key: str) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    given = next((value for name, value in parse_qsl(query) if name == "api_key"), "")
    return hmac.compare_digest(given.encode(), api_key.encode())


class FaultMiddleware:
    """Applies armed faults to authenticated `/api/v1` calls."""

    def __init__(self, app: ASGIApp, faults: Faults, api_key: str) -> None:
        self.app = app
        self.faults = faults
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(_API_PREFIX)
            or not _has_key(scope, self.api_key)
        ):
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind in _ERRORS:
            await _answer_error(fault, send)
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.kind == "drop":
            await _drop(receive, send)
        else:  # drop_after: the work is done, the answer is lost

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _drop(receive, send)
