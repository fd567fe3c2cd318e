"""Part 9: deliveries through `receiver.asgi()` under uvicorn against a bare Starlette endpoint.

Both servers run the same way (uvicorn, h11, in a thread of this process, on loopback) and get
the same kind of signed deliveries (distinct ids, signed before the timing starts), sent one
after the other by one `httpx.AsyncClient`. Ours is a Starlette `Route` serving
`receiver.asgi()` (a `MemoryStore`, one empty async handler): verify, typed event, claim, run,
mark done, JSON answer. The bare endpoint reads the body, verifies it with the
`standardwebhooks` library and answers a small JSON body. Rounds are interleaved; the figures
are medians per request. Goal: at most 1.3x the bare endpoint.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from ._common import Context, PartResult
from .bench_receiver import SECRET, deliveries

__all__ = ["TITLE", "measure"]

TITLE = "9. Receiving over HTTP: receiver.asgi() under uvicorn (per request)"

OURS = "Starlette Route(receiver.asgi()) under uvicorn"
REFERENCE = "bare Starlette endpoint + standardwebhooks verify (reference)"
PATH = "/webhooks/pancake"


def _apps() -> tuple[Any, Any]:
    from standardwebhooks.webhooks import Webhook
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from pancake_pos.receiver import MemoryStore, WebhookReceiver

    receiver = WebhookReceiver(SECRET, store=MemoryStore())

    @receiver.on("order.created")
    async def handler(event: Any) -> None:
        pass

    webhook = Webhook(SECRET)

    async def bare(request: Request) -> Response:
        body = await request.body()
        webhook.verify(body, dict(request.headers))
        return Response(b'{"outcome": "processed"}', media_type="application/json")

    ours = Starlette(routes=[Route(PATH, receiver.asgi())])
    reference = Starlette(routes=[Route(PATH, bare, methods=["POST"])])
    return ours, reference


async def _per_request(url: str, batch: list[tuple[bytes, dict[str, str]]]) -> float:
    import httpx

    async with httpx.AsyncClient(base_url=url) as http:
        await http.post(PATH, content=batch[0][0], headers=batch[0][1])  # connect first
        start = time.perf_counter()
        for body, headers in batch[1:]:
            answer = await http.post(PATH, content=body, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"answered {answer.status_code}: {answer.text[:200]}")
        return (time.perf_counter() - start) / (len(batch) - 1)


def measure(context: Context) -> PartResult:
    """Run part 9; see the module's docstring."""
    from pancake_pos.sandbox._server import ThreadedUvicorn

    part = PartResult(TITLE)
    settings = context.settings
    count = max(10, settings.get_calls * 4)
    ours_app, reference_app = _apps()
    servers = [ThreadedUvicorn(app, "127.0.0.1", 0) for app in (ours_app, reference_app)]
    for server in servers:
        server.start()
    ours: list[float] = []
    theirs: list[float] = []
    try:
        urls = [f"http://127.0.0.1:{server.port}" for server in servers]
        asyncio.run(_per_request(urls[0], deliveries(20, "warm-ours")))
        asyncio.run(_per_request(urls[1], deliveries(20, "warm-bare")))
        for round_ in range(max(3, settings.repeats)):
            ours.append(asyncio.run(_per_request(urls[0], deliveries(count, f"o{round_}"))))
            theirs.append(asyncio.run(_per_request(urls[1], deliveries(count, f"b{round_}"))))
    finally:
        for server in servers:
            server.stop()
    mine, reference = statistics.median(ours), statistics.median(theirs)
    part.add(OURS, mine * 1e6, "µs", ratio=mine / reference)
    part.add(REFERENCE, reference * 1e6, "µs", ratio=1.0)
    part.ratio_goal(
        "receiver.asgi() / bare Starlette endpoint",
        mine / reference,
        1.3,
        key="receiver_asgi",
    )
    part.notes.append(
        f"{count} sequential requests a round, {len(ours)} rounds; both servers and the client "
        "share this process (uvicorn in threads), as in the other HTTP parts."
    )
    return part
