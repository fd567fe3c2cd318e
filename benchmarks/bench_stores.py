"""Part 10: what each receiver store costs per event: SQLiteStore and RedisStore side by side.

Per event a receiver makes two store calls: `claim` (free: claimed) and `complete`. Each store
gets the same events (distinct ids), one after the other, from one asyncio loop; the figures
are medians per event (claim + complete) over interleaved rounds. `MemoryStore` is the floor.
To show what dominates, the same work is also timed in parts:

* SQLite: the two transactions run inline (no thread), and the two hops to the store's thread
  alone (a no-op); the store runs its database calls in a thread of its own so that a lock held
  by another process never blocks the event loop.
* Redis (a real `redis-server` on loopback, started for the part): a `PING` round trip on the
  same client; an event costs two round trips (`SET NX PX`, then the Lua script that
  completes).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ._common import Context, PartResult

__all__ = ["TITLE", "measure"]

TITLE = "10. Receiver stores: cost per event (claim + complete)"

MEMORY = "MemoryStore (floor)"
SQLITE = "SQLiteStore (WAL, file on local disk)"
SQLITE_INLINE = "of which: the two SQLite transactions, inline"
SQLITE_HOPS = "of which: two hops to the store's thread and back"
REDIS = "RedisStore (redis-server on loopback)"
REDIS_PING = "of which: one PING round trip (x2 per event)"


async def _per_event(claim_complete: Callable[[str], Awaitable[Any]], ids: list[str]) -> float:
    start = time.perf_counter()
    for event_id in ids:
        await claim_complete(event_id)
    return (time.perf_counter() - start) / len(ids)


def _store_cycle(store: Any) -> Callable[[str], Awaitable[Any]]:
    async def cycle(event_id: str) -> None:
        claim = await store.claim(event_id, lease=60)
        await store.complete(event_id, claim.token, retention=3600)

    return cycle


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_redis(folder: str) -> tuple[str, subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", folder, "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0", process
        except OSError:
            time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    raise RuntimeError("redis-server did not start")


async def _round(
    stores: dict[str, Any], count: int, round_: int, results: dict[str, list[float]]
) -> None:
    for name, store in stores.items():
        ids = [f"evt_{round_}_{name[:5]}_{n}" for n in range(count)]
        results[name].append(await _per_event(_store_cycle(store), ids))
    sqlite = stores.get(SQLITE)
    if sqlite is not None:
        ids = [f"evt_{round_}_inline_{n}" for n in range(count)]
        start = time.perf_counter()
        for event_id in ids:
            claim = sqlite._claim(event_id, 60.0)
            sqlite._complete(event_id, claim.token, 3600.0)
        results[SQLITE_INLINE].append((time.perf_counter() - start) / count)

        def noop() -> None:
            pass

        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        for _ in range(count):
            await loop.run_in_executor(sqlite._thread(), noop)
            await loop.run_in_executor(sqlite._thread(), noop)
        results[SQLITE_HOPS].append((time.perf_counter() - start) / count)
    redis = stores.get(REDIS)
    if redis is not None:
        client = redis._redis()
        start = time.perf_counter()
        for _ in range(count):
            await client.ping()
        results[REDIS_PING].append((time.perf_counter() - start) / count)


async def _run(
    count: int, rounds: int, folder: str, redis_url: str | None
) -> dict[str, list[float]]:
    from pancake_pos.receiver import MemoryStore, RedisStore, SQLiteStore

    stores: dict[str, Any] = {
        MEMORY: MemoryStore(),
        SQLITE: SQLiteStore(Path(folder) / "events.db"),
    }
    if redis_url is not None:
        stores[REDIS] = RedisStore(redis_url, prefix="bench:")
    names = [*stores, SQLITE_INLINE, SQLITE_HOPS] + ([REDIS_PING] if redis_url else [])
    results: dict[str, list[float]] = {name: [] for name in names}
    try:
        await _round(stores, min(count, 50), -1, {name: [] for name in names})  # warm up
        for round_ in range(rounds):
            await _round(stores, count, round_, results)
    finally:
        for store in stores.values():
            await store.aclose()
    return results


def measure(context: Context) -> PartResult:
    """Run part 10; see the module's docstring."""
    part = PartResult(TITLE)
    settings = context.settings
    count = max(10, settings.signing_number // 10)
    rounds = max(3, settings.repeats)
    with tempfile.TemporaryDirectory(prefix="pancake-bench-stores-") as folder:
        redis_url: str | None = None
        process: subprocess.Popen[bytes] | None = None
        try:
            redis_url, process = _start_redis(folder)
        except RuntimeError as error:
            part.failed(REDIS, str(error), "µs")
        try:
            results = asyncio.run(_run(count, rounds, folder, redis_url))
        finally:
            if process is not None:
                os.kill(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
    medians = {name: statistics.median(values) for name, values in results.items() if values}
    floor = medians[MEMORY]
    for name, value in medians.items():
        reference = {SQLITE_INLINE: SQLITE, SQLITE_HOPS: SQLITE, REDIS_PING: REDIS}.get(name)
        ratio = value / medians[reference] if reference in medians else value / floor
        part.add(name, value * 1e6, "µs", ratio=ratio)
    for name in (SQLITE, REDIS):
        if name in medians:
            cost = medians[name]
            part.check_goal(
                f"{name.split(' ')[0]}: per event, on loopback",
                "< 1 ms",
                f"{cost * 1e6:.0f} µs",
                cost < 1e-3,
                key="store_cost",
            )
    sqlite = medians[SQLITE]
    inline, hops = medians[SQLITE_INLINE], medians[SQLITE_HOPS]
    part.notes.append(
        f"SQLite, {sqlite * 1e6:.0f} µs an event: the two transactions themselves take "
        f"{inline * 1e6:.0f} µs ({inline / sqlite:.0%}; WAL, synchronous=NORMAL, so a commit "
        f"does not wait for the disk), the two hops to its thread {hops * 1e6:.0f} µs "
        f"({hops / sqlite:.0%}). Ratios of the 'of which' rows are to their store's row; the "
        "others to MemoryStore."
    )
    if REDIS in medians:
        redis, ping = medians[REDIS], medians[REDIS_PING]
        part.notes.append(
            f"Redis, {redis * 1e6:.0f} µs an event: two round trips to the server; one PING "
            f"takes {ping * 1e6:.0f} µs, so the round trips are {2 * ping / redis:.0%} of it. On "
            "a real network, add the network's round trip twice."
        )
    part.notes.append(
        f"{count} events a round, {rounds} rounds, one event after the other on one loop."
    )
    return part
