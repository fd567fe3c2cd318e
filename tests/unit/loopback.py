"""A tiny real HTTP/1.1 server on 127.0.0.1 for tests where sockets matter.

It runs its own event loop in a daemon thread, so it serves async tests and blocking (sync)
tests alike, and answers each request with the next scripted behaviour: a normal answer, a reset
connection, a stall past the client's timeout, a body cut short, or a close without an answer.

    with LoopbackServer([Reset(), Respond(200, b'{"data": []}')]) as server:
        ...  # point a client at server.base_url; server.requests lists what arrived

The last behaviour of the script repeats. `requests` records each request's method, target,
headers and body; `connections` counts the connections accepted, `most_open_connections` the
most open at once. Leaving the `with` block closes every connection and stops the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = [
    "CloseWithoutAnswer",
    "LoopbackServer",
    "RecordedRequest",
    "Reset",
    "Respond",
    "Stall",
    "Truncate",
]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Respond:
    """Answer normally (keep-alive)."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Respond:
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json"} | (headers or {}),
        )


@dataclass(frozen=True)
class Reset:
    """Reset the connection (TCP RST) instead of answering."""


@dataclass(frozen=True)
class CloseWithoutAnswer:
    """Close the connection cleanly without answering."""


@dataclass(frozen=True)
class Stall:
    """Send nothing until the server stops (the client's read timeout fires first)."""


@dataclass(frozen=True)
class Truncate:
    """Announce `declared_length` bytes of body, send `body` (shorter), then close."""

    body: bytes = b'{"id": "wh_1", "url": "htt'
    declared_length: int = 200


Behaviour = Respond | Reset | CloseWithoutAnswer | Stall | Truncate
Script = Sequence[Behaviour] | Callable[[RecordedRequest], Behaviour]

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 404: "Not Found", 500: "Error"}


class LoopbackServer:
    """A scripted HTTP/1.1 server on a free port of 127.0.0.1 (see the module docstring)."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._served = 0
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.open_connections = 0
        self.most_open_connections = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """The API base URL on this server (`http://127.0.0.1:<port>/api/v1`)."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LoopbackServer:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- the server thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # surfaced by start()
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._handle(reader, writer)
            finally:
                handlers.discard(task)

        server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(handlers):
                task.cancel()
            if handlers:
                await asyncio.gather(*handlers, return_exceptions=True)
            await server.wait_closed()

    def _next_behaviour(self, request: RecordedRequest) -> Behaviour:
        if callable(self._script):
            return self._script(request)
        index = min(self._served, len(self._script) - 1)
        self._served += 1
        return self._script[index]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self.most_open_connections = max(self.most_open_connections, self.open_connections)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                behaviour = self._next_behaviour(request)
                if isinstance(behaviour, Respond):
                    writer.write(_answer(behaviour.status, behaviour.headers, behaviour.body))
                    await writer.drain()
                    continue
                if isinstance(behaviour, Reset):
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if isinstance(behaviour, Stall):
                    assert self._stopping is not None
                    await self._stopping.wait()
                    return
                if isinstance(behaviour, Truncate):
                    headers = {
                        "Content-Type": "application/json",
                        "Content-Length": str(behaviour.declared_length),
                    }
                    writer.write(_head(200, headers) + behaviour.body)
                    await writer.drain()
                return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return RecordedRequest(method, target, headers, body)


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(status: int, headers: dict[str, str], body: bytes) -> bytes:
    return _head(status, {**headers, "Content-Length": str(len(body))}) + body
