"""Part 3: the sync facade per call next to the async call it wraps.

`benchmarks/bench_facade.py` (the facade's own benchmark) does the measuring when it is there;
otherwise this part measures `pancake_pos._sync.PancakeClient` itself on the loopback server.
Goal: the facade at most 1.25x the async call.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import statistics
from typing import Any

from pancake_pos._client import AsyncPancakeClient

from ._common import API_KEY, SHOP_ID, Context, PartResult, per_call_async, per_call_sync
from ._payloads import WEBHOOK_ID

__all__ = ["TITLE", "measure"]

TITLE = "3. Sync facade per call (get_by_id)"


def _from_bench_facade(context: Context, part: PartResult) -> float | None:
    bench_facade: Any = importlib.import_module("benchmarks.bench_facade")
    settings = context.settings
    accepted = inspect.signature(bench_facade.run).parameters
    arguments: dict[str, int] = {}
    if "number" in accepted:
        arguments["number"] = settings.facade_calls
    for name in ("repeat", "rounds"):
        if name in accepted and settings.facade_rounds is not None:
            arguments[name] = settings.facade_rounds
    results: dict[str, float] = bench_facade.run(**arguments)
    ratios = {name: value for name, value in results.items() if " / " in name}
    for name, value in results.items():
        if name in ratios:
            continue
        cpu = "CPU" in name
        # "facade / async" goes with the wall-clock rows, "facade / async (CPU)" with the CPU ones.
        ratio_name = next((key for key in ratios if ("CPU" in key) == cpu), None)
        side_ratio = 1.0 if name.startswith("async") else ratios.get(ratio_name or "")
        shown = name.replace(" (us/call)", "").replace(" (CPU us/call)", ", CPU time")
        part.add(shown, value, "µs", ratio=side_ratio)
    ratio = ratios.get("facade / async")
    if ratio is None:
        ratio = next((value for key, value in ratios.items() if "CPU" not in key), None)
    part.notes.append(
        "Measured by benchmarks/bench_facade.py: its own instant loopback server in a child "
        "process, the async client and the facade on warm connections in paired rounds; a "
        "ratio is the median of the rounds' ratios (wall clock, and CPU time of the process)."
    )
    return ratio


def _measure_here(context: Context, part: PartResult) -> float:
    """The facade and the async client, each open on a warm connection, timed in turns."""
    from pancake_pos._sync import PancakeClient

    settings = context.settings
    number = settings.facade_calls
    loop = asyncio.new_event_loop()
    async_times: list[float] = []
    facade_times: list[float] = []
    try:
        async_client = AsyncPancakeClient(API_KEY, SHOP_ID, base_url=context.base_url)
        try:
            with PancakeClient(API_KEY, SHOP_ID, base_url=context.base_url) as client:

                def facade_call() -> Any:
                    return client.webhooks.get_by_id(WEBHOOK_ID)

                def async_call() -> Any:
                    return async_client.webhooks.get_by_id(WEBHOOK_ID)

                loop.run_until_complete(per_call_async(async_call, settings.warmup))
                per_call_sync(facade_call, settings.warmup)
                for _ in range(settings.repeats):
                    async_times.append(loop.run_until_complete(per_call_async(async_call, number)))
                    facade_times.append(per_call_sync(facade_call, number))
        finally:
            loop.run_until_complete(async_client.close())
    finally:
        loop.close()
    async_seconds = statistics.median(async_times)
    facade_seconds = statistics.median(facade_times)
    ratio = facade_seconds / async_seconds
    part.add("async get_by_id", async_seconds * 1e6, "µs", ratio=1.0)
    part.add("facade get_by_id", facade_seconds * 1e6, "µs", ratio=ratio)
    part.notes.append("Measured here: both clients on the loopback server, timed in turns.")
    return ratio


def measure(context: Context) -> PartResult:
    """Run part 3; see the module's docstring."""
    part = PartResult(TITLE)
    try:
        ratio = _from_bench_facade(context, part)
    except Exception as error:
        part.failed("benchmarks/bench_facade.py", error)
        ratio = _measure_here(context, part)
    part.ratio_goal("facade / async per call", ratio, 1.25, key="facade")
    return part
