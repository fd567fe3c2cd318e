"""The sync facade's per-call cost against the async call it wraps.

Both clients call `webhooks.get_by_id()` one call after another on a warm keep-alive
connection, against a loopback server that answers at once with a canned `Webhook` (a raw
asyncio HTTP/1.1 server in a child process, so it takes no CPU from the process measured).
Numbers are microseconds per call, medians of several rounds; the goal (docs/performance.md) is a
facade at most 1.25x the async call.

Run: ``python benchmarks/bench_facade.py``
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._sync import PancakeClient

__all__ = ["run"]

API_KEY = "sk_bench"
SHOP_ID = "shop_bench"
WEBHOOK_ID = "wh_bench"

WEBHOOK = {
    "id": WEBHOOK_ID,
    "url": "https://shop.example.com/webhooks/orders",
    "events": ["order.created", "order.status_changed"],
    "is_active": True,
    "secret_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "description": "New orders",
    "created_at": "2024-04-29T10:15:00Z",
    "updated_at": "2024-04-29T10:15:00Z",
    "last_triggered_at": "2024-04-29T11:00:00Z",
    "health_status": {
        "status": "healthy",
        "success_rate": 99.5,
        "last_success_at": "2024-04-29T11:00:00Z",
    },
}


# -- the server (runs in a child process) ---------------------------------------------------


def _response() -> bytes:
    body = json.dumps(WEBHOOK).encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Request-Id: req_bench\r\n"
        "\r\n"
    )
    return head.encode() + body


class _InstantHttp(asyncio.Protocol):
    """Answers every request (GET, no body) with the same response, keeping the connection."""

    answer = _response()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(self.answer)


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_InstantHttp, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Serve until the parent closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


@contextmanager
def instant_server() -> Iterator[str]:
    """Start the instant server in a child process; yield the API base URL."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


# -- the measurements -----------------------------------------------------------------------

Timing = tuple[float, float]
"""Seconds taken by a batch of calls: (wall clock, CPU time of the whole process)."""


def _clocks() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def _time_async(
    loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]], number: int
) -> Timing:
    async def calls() -> Timing:
        start = _clocks()
        for _ in range(number):
            await call()
        return _since(start)

    return loop.run_until_complete(calls())


def _time_sync(call: Callable[[], object], number: int) -> Timing:
    start = _clocks()
    for _ in range(number):
        call()
    return _since(start)


def run(number: int = 200, repeat: int = 15) -> dict[str, float]:
    """Microseconds per call of the async client and of the facade, and their ratio.

    Both clients stay open on warm connections; each of the `repeat` rounds times `number` async
    calls then `number` facade calls, so a noisy moment on the machine lands on both sides.
    Times are the medians of the rounds, ratios the medians of the rounds' ratios. Wall clock
    is what a caller waits; CPU time (of every thread of the process) is what the facade adds
    in work, and is less disturbed by other processes on a busy machine.
    """
    loop = asyncio.new_event_loop()
    try:
        with instant_server() as base_url:
            async_client = AsyncPancakeClient(API_KEY, SHOP_ID, base_url=base_url)
            try:
                with PancakeClient(API_KEY, SHOP_ID, base_url=base_url) as client:
                    async_timings, facade_timings = _rounds(
                        loop, async_client, client, number, repeat
                    )
            finally:
                loop.run_until_complete(async_client.close())
    finally:
        loop.close()

    def per_call(timings: list[Timing], clock: int) -> float:
        return statistics.median(timing[clock] for timing in timings) / number * 1e6

    def ratio(clock: int) -> float:
        pairs = zip(facade_timings, async_timings, strict=True)
        return statistics.median(facade[clock] / async_[clock] for facade, async_ in pairs)

    return {
        "async get_by_id (us/call)": per_call(async_timings, 0),
        "facade get_by_id (us/call)": per_call(facade_timings, 0),
        "facade / async": ratio(0),
        "async get_by_id (CPU us/call)": per_call(async_timings, 1),
        "facade get_by_id (CPU us/call)": per_call(facade_timings, 1),
        "facade / async (CPU)": ratio(1),
    }


def _rounds(
    loop: asyncio.AbstractEventLoop,
    async_client: AsyncPancakeClient,
    client: PancakeClient,
    number: int,
    rounds: int,
) -> tuple[list[Timing], list[Timing]]:
    def async_call() -> Awaitable[object]:
        return async_client.webhooks.get_by_id(WEBHOOK_ID)

    def facade_call() -> object:
        return client.webhooks.get_by_id(WEBHOOK_ID)

    # Warm: connections open, caches filled, before any clock starts.
    _time_async(loop, async_call, 20)
    _time_sync(facade_call, 20)
    async_timings = []
    facade_timings = []
    for _ in range(rounds):
        async_timings.append(_time_async(loop, async_call, number))
        facade_timings.append(_time_sync(facade_call, number))
    return async_timings, facade_timings


def main() -> None:
    """Print the results as a small table."""
    results = run()
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.2f}")
    print(f"{'goal (wall clock): facade / async':<{width}}  {'<= 1.25':>10}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(_serve())
    else:
        main()
