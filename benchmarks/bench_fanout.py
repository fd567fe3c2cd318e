"""Part 5: 1,000 concurrent calls (`asyncio.gather`) through ONE fresh client.

* `AsyncPancakeClient` (httpx engine), a fresh client per repeat;
* a bare fresh `httpx.AsyncClient` doing the same fan-out (`get` + `json.loads`): httpx 0.28's
  pool crawls when many requests queue on it (encode/httpx#3215), so it runs under a time
  budget and is reported as ">= budget (stopped)" when it does not finish;
* `AsyncPancakeClient` on the aiohttp engine (`httpx_aiohttp.AiohttpTransport`).

For each: wall time, errors, warnings raised, file descriptors open before and after (the client
closed), and the connections the server accepted.

Goals: no errors, no warnings, no file-descriptor growth, and the SDK at least 5x faster than the
bare client.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from pancake_pos._client import AsyncPancakeClient

from ._common import API_KEY, SHOP_ID, Context, PartResult, describe_error, open_file_descriptors
from .bench_calls import aiohttp_http_client

__all__ = ["TITLE", "FanOut", "fan_out", "measure"]

TITLE = "5. 1,000 concurrent calls through one fresh client"


@dataclass
class FanOut:
    """What one fan-out did."""

    calls: int
    seconds: float
    completed: int
    errors: int
    warnings: int
    fds_before: int | None
    fds_after: int | None
    connections: int | None
    stopped: bool = False
    first_error: str = ""

    @property
    def fd_growth(self) -> int | None:
        if self.fds_before is None or self.fds_after is None:
            return None
        return self.fds_after - self.fds_before


def _server_connections(context: Context) -> int | None:
    try:
        with httpx.Client() as probe:
            return int(probe.get(f"{context.server.origin}/__stats").json()["connections"])
    except Exception:
        return None


async def _settle() -> None:
    """Let closed transports finish closing (their callbacks run on the next loop turns)."""
    for _ in range(5):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    gc.collect()


async def fan_out(
    context: Context,
    calls: int,
    open_client: Callable[[], Awaitable[tuple[Callable[[int], Awaitable[Any]], Any]]],
    *,
    budget: float | None = None,
) -> FanOut:
    """Open a client with `open_client()` (which returns `(call, close)`), make `calls`
    concurrent calls `call(i)`, close the client; count what happened."""
    connections_before = _server_connections(context)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fds_before = open_file_descriptors()
        call, close = await open_client()
        completed = 0
        errors: list[BaseException] = []

        async def one(index: int) -> None:
            nonlocal completed
            try:
                await call(index)
            except Exception as error:
                errors.append(error)
            completed += 1

        stopped = False
        start = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(calls))), budget)
        except TimeoutError:
            stopped = True
        seconds = time.perf_counter() - start
        if stopped and budget is not None:
            seconds = budget  # not the time the cancelled calls took to unwind
        await close()
        await _settle()
        fds_after = open_file_descriptors()
    connections_after = _server_connections(context)
    connections = None
    if connections_before is not None and connections_after is not None:
        connections = connections_after - connections_before - 1  # the probe's own
    return FanOut(
        calls=calls,
        seconds=seconds,
        completed=completed,
        errors=len(errors),
        warnings=len(caught),
        fds_before=fds_before,
        fds_after=fds_after,
        connections=connections,
        stopped=stopped,
        first_error=describe_error(errors[0]) if errors else "",
    )


def _sdk(context: Context, *, aiohttp: bool = False) -> Callable[[], Awaitable[Any]]:
    async def open_client() -> tuple[Callable[[int], Awaitable[Any]], Any]:
        engine = aiohttp_http_client() if aiohttp else None
        client = AsyncPancakeClient(API_KEY, SHOP_ID, base_url=context.base_url, http_client=engine)

        async def close() -> None:
            await client.close()
            if engine is not None:
                await engine.aclose()

        return (lambda index: client.webhooks.get_by_id(f"wh_{index}")), close

    return open_client


def _bare(context: Context) -> Callable[[], Awaitable[Any]]:
    prefix = f"{context.base_url}/shops/{SHOP_ID}/webhooks/wh_"
    suffix = f"?api_key={API_KEY}"

    async def open_client() -> tuple[Callable[[int], Awaitable[Any]], Any]:
        # No pool timeout: with httpx's default (5 s) most queued calls fail with PoolTimeout.
        client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0, pool=None))

        async def call(index: int) -> Any:
            response = await client.get(f"{prefix}{index}{suffix}")
            response.raise_for_status()
            return json.loads(response.content)

        return call, client.aclose

    return open_client


async def sustained(context: Context, calls: int, workers: int) -> tuple[float, int | None]:
    """`calls` calls made by `workers` tasks through one client, each task calling again as
    soon as its answer is in: seconds, and connections the server accepted meanwhile."""
    before = _server_connections(context)
    async with AsyncPancakeClient(API_KEY, SHOP_ID, base_url=context.base_url) as client:
        numbers = iter(range(calls))

        async def worker() -> None:
            for index in numbers:
                await client.webhooks.get_by_id(f"wh_{index}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        seconds = time.perf_counter() - start
    after = _server_connections(context)
    if before is None or after is None:
        return seconds, None
    return seconds, after - before - 1


def _record(part: PartResult, label: str, runs: list[FanOut], budget: float | None) -> float:
    """Add the rows of one contender; return its median seconds (or the budget if stopped)."""
    seconds = statistics.median(run.seconds for run in runs)
    stopped = any(run.stopped for run in runs)
    last = runs[-1]
    note = f"median of {len(runs)}" if len(runs) > 1 else ""
    if stopped:
        note = (
            f">= {budget:g} s (stopped after {budget:g} s with {last.completed:,} of "
            f"{last.calls:,} calls done)"
        )
    part.add(f"{label}: time", seconds, "s", note=note)
    part.add(f"{label}: calls per second", last.completed / last.seconds, "calls/s")
    part.add(f"{label}: errors", float(sum(run.errors for run in runs)), "", note=last.first_error)
    part.add(f"{label}: warnings", float(sum(run.warnings for run in runs)), "")
    growth = [run.fd_growth for run in runs]
    part.add(
        f"{label}: file descriptors before -> after",
        float(max(g for g in growth if g is not None)) if None not in growth else None,
        "fds",
        note=f"{last.fds_before} -> {last.fds_after} (growth shown)",
    )
    if last.connections is not None:
        part.add(f"{label}: connections opened", float(last.connections), "")
    return seconds


async def measure(context: Context) -> PartResult:
    """Run part 5; see the module's docstring."""
    part = PartResult(TITLE)
    settings = context.settings
    sdk_seconds: float | None = None
    try:
        runs = [
            await fan_out(context, settings.fanout, _sdk(context))
            for _ in range(settings.fanout_repeats)
        ]
        sdk_seconds = _record(part, f"AsyncPancakeClient x{settings.fanout:,}", runs, None)
        errors = sum(run.errors for run in runs)
        warned = sum(run.warnings for run in runs)
        growth = max((run.fd_growth or 0) for run in runs)
        part.check_goal(
            "fan-out: errors, warnings, fd growth",
            "0, 0, 0",
            f"{errors}, {warned}, {growth}",
            errors == 0 and warned == 0 and growth <= 0,
            key="fanout_clean",
        )
    except Exception as error:
        part.failed(f"AsyncPancakeClient x{settings.fanout:,}", error, "s")
    bare_seconds: float | None = None
    bare_stopped = False
    try:
        bare = await fan_out(
            context, settings.bare_fanout, _bare(context), budget=settings.bare_fanout_budget
        )
        bare_stopped = bare.stopped
        bare_seconds = _record(
            part,
            f"bare httpx.AsyncClient x{settings.bare_fanout:,}",
            [bare],
            settings.bare_fanout_budget,
        )
        if settings.bare_fanout != settings.fanout:
            bare_seconds *= settings.fanout / settings.bare_fanout
    except Exception as error:
        part.failed(f"bare httpx.AsyncClient x{settings.bare_fanout:,}", error, "s")
    if sdk_seconds and bare_seconds:
        speedup = bare_seconds / sdk_seconds
        goal = part.ratio_goal(
            "fan-out: bare httpx time / SDK time",
            speedup,
            5.0,
            at_most=False,
            key="fanout_speed",
            detail="a lower bound: the bare run was stopped" if bare_stopped else "",
        )
        if bare_stopped:
            goal.measured = f">= {speedup:.1f}x"
    else:
        part.ratio_goal("fan-out: bare httpx time / SDK time", None, 5.0, at_most=False)
    try:
        runs = [
            await fan_out(context, settings.fanout, _sdk(context, aiohttp=True))
            for _ in range(settings.fanout_repeats)
        ]
        _record(part, f"AsyncPancakeClient on aiohttp x{settings.fanout:,}", runs, None)
        errors = sum(run.errors for run in runs)
        warned = sum(run.warnings for run in runs)
        growth = max((run.fd_growth or 0) for run in runs)
        part.check_goal(
            "fan-out on aiohttp: errors, warnings, fd growth",
            "0, 0, 0",
            f"{errors}, {warned}, {growth}",
            errors == 0 and warned == 0 and growth <= 0,
            key="fanout_aiohttp_clean",
        )
    except Exception as error:
        part.failed(f"AsyncPancakeClient on aiohttp x{settings.fanout:,}", error, "s")
    try:
        workers = settings.sustained_workers
        seconds, connections = await sustained(context, settings.sustained_calls, workers)
        label = f"AsyncPancakeClient, {workers} tasks x {settings.sustained_calls:,} calls"
        part.add(f"{label}: time", seconds, "s")
        churn = connections is not None and connections > workers
        part.add(
            f"{label}: connections opened",
            None if connections is None else float(connections),
            "",
            note="more than the tasks: idle connections over the keep-alive limit were closed "
            "and new ones opened"
            if churn
            else "",
        )
    except Exception as error:
        part.failed("sustained concurrency", error)
    part.notes.append(
        "Each fan-out opens a fresh client (cold pool), gathers the calls, closes the client. "
        "File descriptors are counted in /proc/self/fd before opening and after closing."
    )
    return part
