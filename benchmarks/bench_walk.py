"""Part 4: walking 10,000 and 100,000 deliveries with `iter_deliveries(page_size=100)`.

For each size: the time of the walk, then (in a second walk, since tracing slows everything down)
the peak of traced memory during the walk minus the traced memory before it. The goal: memory
stays flat, the peak of the long walk no more than the short one's plus 10% (or 256 KiB).
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from pancake_pos._client import AsyncPancakeClient

from ._common import API_KEY, SHOP_ID, Context, PartResult

__all__ = ["TITLE", "measure"]

TITLE = "4. Walking the delivery history (iter_deliveries, page_size=100)"

_SLACK_BYTES = 256 * 1024
_SLACK_FRACTION = 0.10


async def _walk(client: AsyncPancakeClient, total: int) -> int:
    count = 0
    previous = ""
    async for delivery in client.webhooks.iter_deliveries(webhook_id=f"walk_{total}"):
        if delivery.id == previous:
            raise AssertionError(f"delivery {delivery.id} came twice")
        previous = delivery.id
        count += 1
    if count != total:
        raise AssertionError(f"walked {count} deliveries of {total}")
    return count


async def _timed_walk(context: Context, total: int) -> float:
    async with AsyncPancakeClient(API_KEY, SHOP_ID, base_url=context.base_url) as client:
        await client.webhooks.get_by_id("wh_warm")  # the connection is open before the clock
        gc.collect()
        start = time.perf_counter()
        await _walk(client, total)
        return time.perf_counter() - start


async def _traced_walk(context: Context, total: int) -> int:
    """Peak traced bytes during the walk above what was traced just before it."""
    async with AsyncPancakeClient(API_KEY, SHOP_ID, base_url=context.base_url) as client:
        await client.webhooks.get_by_id("wh_warm")
        # One short walk first, so that caches filled on first use are not counted.
        await _walk(client, 200)
        gc.collect()
        tracemalloc.start()
        try:
            baseline, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            await _walk(client, total)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak - baseline


async def measure(context: Context) -> PartResult:
    """Run part 4; see the module's docstring."""
    part = PartResult(TITLE)
    peaks: dict[int, int] = {}
    for total in context.settings.walk_sizes:
        try:
            seconds = await _timed_walk(context, total)
            part.add(f"walk {total:,} deliveries: time", seconds, "s")
            part.add(f"walk {total:,} deliveries: per delivery", seconds / total * 1e6, "µs")
        except Exception as error:
            part.failed(f"walk {total:,} deliveries: time", error, "s")
        try:
            peaks[total] = await _traced_walk(context, total)
            part.add(f"walk {total:,} deliveries: peak memory", peaks[total] / 2**20, "MiB")
        except Exception as error:
            part.failed(f"walk {total:,} deliveries: peak memory", error, "MiB")
    sizes = sorted(peaks)
    if len(sizes) >= 2:
        small, large = peaks[sizes[0]], peaks[sizes[-1]]
        allowed = max(small * (1 + _SLACK_FRACTION), small + _SLACK_BYTES)
        part.check_goal(
            f"memory flat: peak of {sizes[-1]:,} vs {sizes[0]:,}",
            f"<= {sizes[0]:,}'s peak +10% (or +256 KiB)",
            f"{large / 2**20:.2f} MiB vs {small / 2**20:.2f} MiB ({large / small:.2f}x)",
            large <= allowed,
            key="memory",
        )
    else:
        part.check_goal("memory flat", "<= smaller walk's peak +10%", "not measured", None)
    part.notes.append(
        "Peak memory is tracemalloc's peak during the walk minus what was traced just before it "
        "(one page of 100 deliveries is about 65 KB of JSON)."
    )
    return part
