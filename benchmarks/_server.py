"""A minimal, fast HTTP/1.1 server on loopback that answers at once with canned JSON.

It is not the sandbox: no business logic, no framework, just a raw `asyncio.Protocol` with
keep-alive that answers by path with bytes built in advance, so what the benchmarks measure is
the client. `LoopbackServer` runs it in a separate process, so it shares neither the client's
CPU time nor its GIL.

Routes (any shop id, any `api_key`):

* ``GET /api/v1/shops/{shop}/webhooks/{id}``: a `Webhook`.
* ``GET /api/v1/shops/{shop}/webhook-deliveries``: a `DeliveryPage` of 100 deliveries; with
  ``webhook_id=walk_<N>`` it serves a history of N deliveries page by page (``page_size``,
  ``page_number``), each delivery id unique.
* ``GET /__stats``: ``{"connections": accepted, "open": open, "requests": answered}``.
* anything else: 404 with the API's error envelope.

Example:

    with LoopbackServer() as server:
        async with AsyncPancakeClient("key", "shop", base_url=server.base_url) as client:
            await client.webhooks.get_by_id("wh_1")
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs

from ._payloads import (
    PAGE_MARKER,
    PAGE_NUMBER_MARKER,
    YEAR_MARKER,
    delivery_page_bytes,
    page_template,
    webhook_bytes,
)

__all__ = ["CannedServer", "LoopbackServer", "http_response", "serve"]

ROOT = Path(__file__).resolve().parents[1]
_MAX_HEAD = 64 * 1024


def http_response(body: bytes, status: str = "200 OK") -> bytes:
    """A whole keep-alive HTTP/1.1 answer with a JSON body."""
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nx-request-id: req_bench\r\n\r\n"
    )
    return head.encode("ascii") + body


_NOT_FOUND = http_response(
    b'{"success":false,"error":{"code":"not_found","message":"No such route"}}',
    "404 Not Found",
)


class CannedServer:
    """The answers and the counters; `protocol()` makes one connection's handler."""

    def __init__(self, page_items: int = 100) -> None:
        self.webhook = http_response(webhook_bytes())
        self.page = http_response(delivery_page_bytes(page_items))
        self._templates: dict[tuple[int, int, int], bytes] = {}
        self.connections = 0
        self.open = 0
        self.requests = 0

    def protocol(self) -> _Connection:
        return _Connection(self)

    def answer(self, method: bytes, target: bytes) -> bytes:
        self.requests += 1
        path, _, query = target.partition(b"?")
        if method != b"GET":
            return _NOT_FOUND
        if path.endswith(b"/webhook-deliveries"):
            return self._deliveries(query)
        if b"/webhooks/" in path:
            return self.webhook
        if path == b"/__stats":
            stats = {"connections": self.connections, "open": self.open, "requests": self.requests}
            return http_response(json.dumps(stats).encode())
        return _NOT_FOUND

    def _deliveries(self, query: bytes) -> bytes:
        params = parse_qs(query.decode("latin-1")) if query else {}
        webhook_id = params.get("webhook_id", [""])[0]
        if not webhook_id.startswith("walk_"):
            return self.page
        total = int(webhook_id.removeprefix("walk_"))
        page_size = int(params.get("page_size", ["20"])[0])
        page_number = int(params.get("page_number", ["1"])[0])
        count = max(0, min(page_size, total - (page_number - 1) * page_size))
        key = (count, page_size, total)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = page_template(count, page_size, total)
        body = (
            template.replace(PAGE_MARKER.encode(), b"%08d" % page_number)
            .replace(PAGE_NUMBER_MARKER.encode(), b"%d" % page_number)
            .replace(YEAR_MARKER.encode(), b"%04d" % (9999 - page_number))
        )
        return http_response(body)


class _Connection(asyncio.Protocol):
    def __init__(self, server: CannedServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections += 1
        self._server.open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.open -= 1
        self._transport = None

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        transport = self._transport
        while transport is not None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    transport.close()
                return
            original = bytes(buffer[:end])
            head = original.lower()
            length = 0
            marker = head.find(b"\r\ncontent-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker + 2)
                length = int(head[marker + 17 : line_end if line_end >= 0 else None])
            if len(buffer) < end + 4 + length:
                return
            del buffer[: end + 4 + length]
            method, target, _ = original.split(b"\r\n", 1)[0].split(b" ", 2)
            transport.write(self._server.answer(method, target))
            if b"\r\nconnection: close" in head:
                transport.close()
                return


async def serve(host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until standard input ends: the parent closed it, or went away."""
    loop = asyncio.get_running_loop()
    canned = CannedServer()
    server = await loop.create_server(canned.protocol, host, port, backlog=4096)
    bound_port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {bound_port}", flush=True)
    async with server:
        await loop.run_in_executor(None, sys.stdin.buffer.read)


class LoopbackServer:
    """Runs `serve()` in a child process: `with LoopbackServer() as server: server.base_url`."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """The API's base URL on this server (`http://127.0.0.1:<port>/api/v1`)."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [environment.get("PYTHONPATH")])]
        )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=ROOT,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"the loopback server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the server stops when its standard input ends
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.host, arguments.port))


if __name__ == "__main__":
    _main()
