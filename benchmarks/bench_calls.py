"""Part 1: the cost of one call, one after the other, on the loopback server.

Contenders, each with its own keep-alive connection to the same server, timed in turn:

* `AsyncPancakeClient` (`webhooks.get_by_id`, `webhooks.list_deliveries(page_size=100)`);
* the floor: a bare `httpx.AsyncClient.get()` of the same URL (the API key already in it) and
  `json.loads` of the body;
* the async client openapi-python-client generates from our document;
* `AsyncPancakeClient` on the aiohttp engine (`httpx_aiohttp.AiohttpTransport`).

Goals: the SDK at most 1.10x the floor and faster than the generated client; on the aiohttp
engine, cheaper than the bare httpx call.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.models import DeliveryPage, Webhook

from ._common import API_KEY, SHOP_ID, Context, PartResult, describe_error, interleave_async
from ._payloads import WEBHOOK_ID

__all__ = ["TITLE", "measure"]

TITLE = "1. Per call (sequential, loopback)"

OURS = "AsyncPancakeClient"
FLOOR = "bare httpx.AsyncClient + json.loads (floor)"
GENERATED = "openapi-python-client generated client"
AIOHTTP = "AsyncPancakeClient on the aiohttp engine"


def aiohttp_http_client() -> httpx.AsyncClient:
    """An `httpx.AsyncClient` on httpx-aiohttp's transport (raises ImportError without it)."""
    from httpx_aiohttp import AiohttpTransport

    return httpx.AsyncClient(transport=AiohttpTransport())


def _check(name: str, result: Any, expected: type | tuple[type, ...]) -> None:
    if not isinstance(result, expected):
        raise TypeError(f"{name} answered {type(result).__name__}, expected {expected}")


async def _operations(
    context: Context, stack: contextlib.AsyncExitStack, part: PartResult
) -> dict[str, dict[str, Callable[[], Awaitable[Any]]]]:
    """For each operation, the contenders' calls (a contender that cannot be set up is left out,
    with its error recorded)."""
    base = context.base_url
    get_url = f"{base}/shops/{SHOP_ID}/webhooks/{WEBHOOK_ID}?api_key={API_KEY}"
    list_url = f"{base}/shops/{SHOP_ID}/webhook-deliveries?api_key={API_KEY}&page_size=100"
    calls: dict[str, dict[str, Callable[[], Awaitable[Any]]]] = {"get_by_id": {}, "list": {}}

    bare = await stack.enter_async_context(httpx.AsyncClient())

    async def bare_get() -> Any:
        return json.loads((await bare.get(get_url)).content)

    async def bare_list() -> Any:
        return json.loads((await bare.get(list_url)).content)

    calls["get_by_id"][FLOOR] = bare_get
    calls["list"][FLOOR] = bare_list

    ours = await stack.enter_async_context(AsyncPancakeClient(API_KEY, SHOP_ID, base_url=base))
    calls["get_by_id"][OURS] = lambda: ours.webhooks.get_by_id(WEBHOOK_ID)
    calls["list"][OURS] = lambda: ours.webhooks.list_deliveries(page_size=100)

    generated = context.generated
    if generated is not None and generated.client is not None:
        try:
            from pancake_generated_client import Client
            from pancake_generated_client.api.deliveries import list_deliveries
            from pancake_generated_client.api.webhooks import get_webhook

            their = await stack.enter_async_context(
                Client(base_url=base, httpx_args={"params": {"api_key": API_KEY}})
            )
            calls["get_by_id"][GENERATED] = lambda: get_webhook.asyncio(
                SHOP_ID, WEBHOOK_ID, client=their
            )
            calls["list"][GENERATED] = lambda: list_deliveries.asyncio(
                SHOP_ID, client=their, page_size=100
            )
        except Exception as error:
            part.failed(f"get_by_id: {GENERATED}", error, "µs")
    else:
        reason = "not generated" if generated is None else generated.client_error
        part.failed(f"get_by_id: {GENERATED}", reason or "not generated", "µs")
        part.failed(f"list_deliveries: {GENERATED}", reason or "not generated", "µs")

    try:
        engine = await stack.enter_async_context(aiohttp_http_client())
        fast = await stack.enter_async_context(
            AsyncPancakeClient(API_KEY, SHOP_ID, base_url=base, http_client=engine)
        )
        calls["get_by_id"][AIOHTTP] = lambda: fast.webhooks.get_by_id(WEBHOOK_ID)
        calls["list"][AIOHTTP] = lambda: fast.webhooks.list_deliveries(page_size=100)
    except Exception as error:
        part.failed(f"get_by_id: {AIOHTTP}", error, "µs")
    return calls


async def _validate(
    calls: dict[str, dict[str, Callable[[], Awaitable[Any]]]], part: PartResult
) -> None:
    """Every contender must give the right answer before its time means anything."""
    expected: dict[str, dict[str, type]] = {
        "get_by_id": {OURS: Webhook, AIOHTTP: Webhook, FLOOR: dict},
        "list": {OURS: DeliveryPage, AIOHTTP: DeliveryPage, FLOOR: dict},
    }
    for operation, contenders in calls.items():
        for name, call in list(contenders.items()):
            try:
                result = await call()
                if name == GENERATED:
                    wanted = "Webhook" if operation == "get_by_id" else "DeliveryPage"
                    if type(result).__name__ != wanted:
                        raise TypeError(f"it answered {type(result).__name__}, not {wanted}")
                else:
                    _check(name, result, expected[operation][name])
                if operation == "list":
                    items = result["data"] if isinstance(result, dict) else result.data
                    if len(items) != 100:
                        raise ValueError(f"{len(items)} deliveries instead of 100")
            except Exception as error:
                label = "get_by_id" if operation == "get_by_id" else "list_deliveries"
                part.failed(f"{label}: {name}", describe_error(error), "µs")
                del contenders[name]


async def _measure(context: Context, part: PartResult) -> None:
    settings = context.settings
    async with contextlib.AsyncExitStack() as stack:
        calls = await _operations(context, stack, part)
        await _validate(calls, part)
        for operation, label, number in (
            ("get_by_id", "get_by_id", settings.get_calls),
            ("list", "list_deliveries (100 items)", settings.list_calls),
        ):
            contenders = calls[operation]
            timings = await interleave_async(
                contenders, number=number, rounds=settings.rounds, warmup=settings.warmup
            )
            for name, seconds in timings.medians.items():
                ratio = timings.ratio(name, FLOOR)
                best = timings.best_ratio(name, FLOOR)
                note = f"best rounds: {best:.2f}x; " if name != FLOOR and best else ""
                note += f"rounds spread {timings.spread(name):.2f}x"
                part.add(f"{label}: {name}", seconds * 1e6, "µs", ratio=ratio, note=note)
            part.ratio_goal(
                f"{label}: SDK / bare httpx + json.loads",
                timings.ratio(OURS, FLOOR),
                1.10,
                key=f"per_call_{operation}",
            )
            part.ratio_goal(
                f"{label}: SDK / generated client",
                timings.ratio(OURS, GENERATED),
                1.0,
                key=f"generated_{operation}",
                detail="below 1 is faster",
            )
            if operation == "get_by_id":
                part.ratio_goal(
                    "get_by_id on the aiohttp engine / bare httpx + json.loads",
                    timings.ratio(AIOHTTP, FLOOR),
                    1.0,
                    key="aiohttp_single",
                    detail="below 1 is cheaper",
                )


async def measure(context: Context) -> PartResult:
    """Run part 1; see the module's docstring."""
    part = PartResult(TITLE)
    await _measure(context, part)
    part.notes.append(
        "Times are medians over rounds of per-call times; in each round every contender makes "
        "its calls in turn. Ratios are medians over rounds of the ratio to the floor's time in "
        "the same round. The floor requests a prebuilt URL string (no query merging) and "
        "decodes with json.loads into dicts; the SDK and the generated client build typed "
        "models."
    )
    return part
