"""Part 11: sandbox delivery throughput, 1,000 and 10,000 emitted events side by side.

A `SandboxServer` (no automatic retries) delivers every emitted event to one webhook whose
receiver answers 200 at once (a bare asyncio server in its own thread that reads each request
and answers it, with no verification, so the sandbox's own work is what is timed). The time runs
from the first `emit` to the moment every delivery is stored as a success. Goal: the larger run
takes at most 12x the smaller one for 10x the events (linear), with none lost.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from ._common import Context, PartResult

__all__ = ["TITLE", "InstantReceiver", "deliver", "measure"]

TITLE = "11. Sandbox delivery throughput (emitted events to an instant receiver)"
_BUDGET = 600.0
_ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


class _Answering(asyncio.Protocol):
    """Reads HTTP/1.1 requests (with a Content-Length body) and answers each with 200."""

    def __init__(self, counter: list[int]) -> None:
        self.buffer = bytearray()
        self.counter = counter
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in bytes(self.buffer[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            self.counter[0] += 1
            assert self.transport is not None
            self.transport.write(_ANSWER)


class InstantReceiver:
    """The receiver: `with InstantReceiver() as receiver: receiver.url`."""

    def __init__(self) -> None:
        self.received = [0]
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="instant-receiver", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _Answering(self.received), "127.0.0.1", 0)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    def __enter__(self) -> InstantReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def deliver(count: int) -> dict[str, Any]:
    """Emit `count` events to one webhook; seconds until all are stored, and how many were lost."""
    import httpx

    from pancake_pos.sandbox import SandboxServer

    with InstantReceiver() as receiver, SandboxServer(retry_schedule=()) as sandbox:
        created = httpx.post(
            f"{sandbox.base_url}/shops/{sandbox.shop_id}/webhooks",
            params={"api_key": sandbox.api_key},
            json={"url": receiver.url, "events": ["order.created"]},
        )
        created.raise_for_status()
        assert sandbox.app is not None
        store = sandbox.app.state.store
        from pancake_pos.sandbox._store import DeliveryFilters

        def successes() -> int:
            _, total = store.list_deliveries(
                sandbox.shop_id, DeliveryFilters(status="success"), page_size=1, page_number=1
            )
            return total

        start = time.perf_counter()
        for _ in range(count):
            sandbox.emit("order.created")
        emitted = time.perf_counter() - start
        deadline = start + _BUDGET
        # Watch the receiver's counter first (free); counting stored deliveries takes the
        # store's lock, so it is done only once they have all arrived.
        while receiver.received[0] < count and time.perf_counter() < deadline:
            time.sleep(0.005)
        done = successes()
        while done < count and time.perf_counter() < deadline:
            time.sleep(0.005)
            done = successes()
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "emit_seconds": emitted,
        "delivered": done,
        "lost": count - done,
        "received": receiver.received[0],
    }


def measure(context: Context) -> PartResult:
    """Run part 11; see the module's docstring."""
    part = PartResult(TITLE)
    small, large = context.settings.sandbox_events
    results: dict[int, dict[str, Any]] = {}
    for count in (small, large):
        try:
            results[count] = deliver(count)
        except Exception as error:
            part.failed(f"{count:,} events", error, "s")
            continue
        result = results[count]
        part.add(
            f"{count:,} events: time to all delivered and stored",
            result["seconds"],
            "s",
            note=f"{count / result['seconds']:,.0f} deliveries/s; emits took "
            f"{result['emit_seconds']:.2f} s",
        )
        part.add(f"{count:,} events: lost", result["lost"], "")
    if small in results and large in results:
        ratio = results[large]["seconds"] / results[small]["seconds"]
        part.ratio_goal(
            f"sandbox delivery: {large:,} events / {small:,} events (time)",
            ratio,
            12.0 * large / small / 10,
            key="sandbox-linear",
            detail=f"{large // small}x the events",
        )
        lost = results[small]["lost"] + results[large]["lost"]
        part.check_goal(
            "sandbox delivery: events lost", "0", str(lost), lost == 0, key="sandbox-lost"
        )
    return part
