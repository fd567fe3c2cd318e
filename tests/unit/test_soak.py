"""A soak test: 2,000 calls through ONE `AsyncPancakeClient` against a real loopback server that
misbehaves on purpose, then a check that the client left nothing behind.

The server (an asyncio protocol on 127.0.0.1, in the test's own event loop) decides what to do
from the id in the path (or the `description` of a created webhook), and counts the attempts it
saw for each id:

* ``ok``: answers at once;
* ``503once``: 503 with ``retry-after-ms: 1`` first, then the answer (retried, GET and POST);
* ``500once``: 500 first (retried on GET after a backoff; not on POST: the server may have acted);
* ``droponce``: closes the connection without answering first (retried on GET; not on POST);
* ``cutonce``: sends half the body and closes first (retried on GET);
* ``404``: not found, every time (not retried);
* ``503always``: 503 every time (given up after ``max_retries``).

Afterwards: every call got its expected result or error after the expected number of attempts,
a retried POST kept its Idempotency-Key, no task is left, no ResourceWarning comes out of the
garbage collector, and the process has as many open file descriptors as before.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import APIConnectionError, InternalServerError, NotFoundError
from pancake_pos.models import Webhook

API_KEY = "soak-api-key"
SHOP_ID = "shop_soak"
CALLS = 2_000
WORKERS = 20


def open_fds() -> int:
    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    return len(os.listdir(folder))


def webhook_json(webhook_id: str) -> bytes:
    return json.dumps(
        {
            "id": webhook_id,
            "url": f"https://shop.example.com/hooks/{webhook_id}",
            "events": ["order.created"],
            "is_active": True,
            "description": webhook_id,
            "created_at": "2024-04-01T08:00:00Z",
            "updated_at": "2024-04-01T08:00:00Z",
            "health_status": {"status": "healthy", "success_rate": 100.0},
        }
    ).encode()


def answer(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status}", f"content-length: {len(body)}", "x-request-id: req_soak"]
    if body:
        head.append("content-type: application/json")
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def error_json(code: str) -> bytes:
    return json.dumps({"success": False, "error": {"code": code, "message": code}}).encode()


@dataclass
class Attempt:
    method: str
    key: str
    idempotency_key: str | None


class FaultyServer:
    """Keep-alive HTTP/1.1 on loopback; faults chosen by the id (see the module docstring)."""

    def __init__(self) -> None:
        self.attempts: defaultdict[str, list[Attempt]] = defaultdict(list)
        self.connections = 0
        self.unexpected: list[str] = []
        self.transports: set[asyncio.Transport] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v1"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for transport in list(self.transports):
            transport.close()
        await self._server.wait_closed()
        for _ in range(10):  # the transports' connection_lost callbacks
            await asyncio.sleep(0)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes | None:
        """The bytes to send back; None to drop the connection without an answer."""
        key = json.loads(body)["description"] if method == "POST" else path.rsplit("/", 1)[-1]
        attempts = self.attempts[key]
        attempts.append(Attempt(method, key, headers.get("idempotency-key")))
        fault = key.split("_")[-1]
        first = len(attempts) == 1
        if fault == "404":
            return answer("404 Not Found", error_json("not_found"))
        if fault == "503always" or (fault == "503once" and first):
            return answer(
                "503 Service Unavailable", error_json("unavailable"), {"retry-after-ms": "1"}
            )
        if fault == "500once" and first:
            return answer("500 Internal Server Error", error_json("internal"))
        if fault == "droponce" and first:
            return None
        if fault == "cutonce" and first:
            whole = answer("200 OK", webhook_json(key))
            return whole[: len(whole) - 40] + b"<cut>"
        if method == "DELETE":
            return answer("204 No Content")
        return answer("201 Created" if method == "POST" else "200 OK", webhook_json(key))


class _Connection(asyncio.Protocol):
    def __init__(self, server: FaultyServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections += 1
        self.server.transports.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        assert self.transport is not None
        self.server.transports.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:])
            length = int(headers.get("content-length", "0"))
            if len(rest) < length:
                return
            body, self.buffer = rest[:length], rest[length:]
            method, target, _ = lines[0].split(" ")
            path, _, query = target.partition("?")
            if not query.startswith(f"api_key={API_KEY}"):
                self.server.unexpected.append(target)
            reply = self.server.handle(method, path, headers, body)
            if reply is None or reply.endswith(b"<cut>"):
                if reply is not None:
                    self.transport.write(reply.removesuffix(b"<cut>"))
                self.transport.close()
                return
            self.transport.write(reply)


class ZeroSleep:
    """The retry loop's sleep: records the wait, yields to the loop, does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


# (operation, fault) for each call, in a repeating pattern of 20.
PATTERN = [
    ("get", "ok"),
    ("get", "ok"),
    ("get", "503once"),
    ("get", "ok"),
    ("get", "500once"),
    ("delete", "ok"),
    ("get", "ok"),
    ("get", "droponce"),
    ("post", "ok"),
    ("get", "ok"),
    ("get", "cutonce"),
    ("get", "404"),
    ("post", "503once"),
    ("get", "ok"),
    ("get", "503always"),
    ("post", "500once"),
    ("get", "ok"),
    ("post", "droponce"),
    ("delete", "503once"),
    ("get", "ok"),
]

# (operation, fault) -> (what the call ends with, attempts the server sees)
EXPECTED: dict[tuple[str, str], tuple[Any, int]] = {
    ("get", "ok"): (Webhook, 1),
    ("get", "503once"): (Webhook, 2),
    ("get", "500once"): (Webhook, 2),
    ("get", "droponce"): (Webhook, 2),
    ("get", "cutonce"): (Webhook, 2),
    ("get", "404"): (NotFoundError, 1),
    ("get", "503always"): (InternalServerError, 3),
    ("delete", "ok"): (None, 1),
    ("delete", "503once"): (None, 2),
    ("post", "ok"): (Webhook, 1),
    ("post", "503once"): (Webhook, 2),
    ("post", "500once"): (InternalServerError, 1),
    ("post", "droponce"): (APIConnectionError, 1),
}


async def call(client: AsyncPancakeClient, operation: str, key: str) -> Any:
    if operation == "get":
        return await client.webhooks.get_by_id(key)
    if operation == "delete":
        return await client.webhooks.delete(key)
    return await client.webhooks.create(
        url=f"https://shop.example.com/hooks/{key}", events=["order.created"], description=key
    )


@pytest.mark.slow
async def test_2000_calls_with_faults_through_one_client_leave_nothing_behind() -> None:
    gc.collect()
    fds_before = open_fds()
    tasks_before = asyncio.all_tasks()
    server = FaultyServer()
    base_url = await server.start()
    sleep = ZeroSleep()
    calls = [
        (operation, f"wh_{index:04d}_{fault}")
        for index, (operation, fault) in ((i, PATTERN[i % len(PATTERN)]) for i in range(CALLS))
    ]
    outcomes: dict[str, Any] = {}
    pending = iter(calls)

    async with AsyncPancakeClient(API_KEY, SHOP_ID, base_url=base_url) as client:
        client._transport.sleep = sleep  # the retry loop's waits, as the unit fixtures do

        async def worker() -> None:
            for operation, key in pending:
                try:
                    outcomes[key] = await call(client, operation, key)
                except Exception as error:
                    outcomes[key] = error

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
        assert not client.is_closed
    assert client.is_closed
    await server.stop()

    # Every call ended as expected, after the expected number of attempts.
    kinds: Counter[str] = Counter()
    for operation, key in calls:
        fault = key.split("_")[-1]
        expected, attempts = EXPECTED[(operation, fault)]
        outcome = outcomes[key]
        kinds[type(outcome).__name__] += 1
        if expected is None:
            assert outcome is None, (key, outcome)
        else:
            assert isinstance(outcome, expected), (key, outcome)
        if isinstance(outcome, Webhook):
            assert outcome.id == key
        seen = server.attempts[key]
        assert len(seen) == attempts, (key, seen)
        if operation == "post":
            keys = {attempt.idempotency_key for attempt in seen}
            assert len(keys) == 1, (key, keys)
            assert None not in keys, key
    assert len(outcomes) == CALLS
    assert kinds == {
        "Webhook": 1_400,
        "NoneType": 200,
        "NotFoundError": 100,
        "InternalServerError": 200,
        "APIConnectionError": 100,
    }
    # Retries waited on the server's retry-after-ms where there was one, else on the backoff.
    assert 0.001 in sleep.waits
    assert any(0.375 <= wait <= 0.5 for wait in sleep.waits)
    assert server.unexpected == []

    # Nothing left behind: no task, no unclosed socket, no file descriptor.
    assert asyncio.all_tasks() == tasks_before
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(warning.message) for warning in caught] == []
    assert open_fds() == fds_before


@pytest.mark.parametrize("max_retries", [0, 2])
async def test_a_dropped_get_is_retried_only_when_retries_are_on(max_retries: int) -> None:
    fds_before = open_fds()
    server = FaultyServer()
    base_url = await server.start()
    async with AsyncPancakeClient(
        API_KEY, SHOP_ID, base_url=base_url, max_retries=max_retries
    ) as client:
        client._transport.sleep = ZeroSleep()
        if max_retries:
            hook = await client.webhooks.get_by_id("wh_1_droponce")
            assert hook.id == "wh_1_droponce"
        else:
            with pytest.raises(APIConnectionError):
                await client.webhooks.get_by_id("wh_1_droponce")
    await server.stop()
    assert len(server.attempts["wh_1_droponce"]) == 1 + (max_retries > 0)
    gc.collect()
    assert open_fds() == fds_before
