"""Part 8: `WebhookReceiver.handle` against the standardwebhooks library's verify + json.loads.

Both sides take the same signed deliveries (an order event, each with its own id, signed before
the timing starts). Ours is the whole of `await receiver.handle(body, headers)` with a
`MemoryStore` and one empty async handler: verify, parse into a typed `OrderEvent`, claim the id,
run the handler, mark it done. The reference is `Webhook(secret).verify(body, headers)` of
`standardwebhooks`, which verifies and parses the JSON into a dict (`json.loads`). Rounds are
interleaved; the figures are medians per delivery. Goal: at most 1.5x the reference.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from ._common import Context, PartResult

__all__ = ["TITLE", "deliveries", "measure"]

TITLE = "8. Receiving one delivery: WebhookReceiver.handle (per delivery)"

OURS = "WebhookReceiver.handle (MemoryStore, one empty async handler)"
REFERENCE = "standardwebhooks verify + json.loads (reference)"
VERIFY = "of which: WebhookVerifier.verify_signature"
PARSE = "of which: parse_event (JSON + typed OrderEvent)"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def order_body(msg_id: str) -> bytes:
    """A realistic order event, about 600 bytes."""
    payload = {
        "id": msg_id,
        "event": "order.created",
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {
            "id": 1024,
            "shop_id": 42,
            "status": 1,
            "status_name": "confirmed",
            "items": [
                {"product_id": f"prd_{n}", "variation_id": f"var_{n}", "quantity": n}
                for n in range(1, 4)
            ],
            "shipping_address": {
                "province_id": "79",
                "district_id": "760",
                "commune_id": "26734",
                "address": "12 Nguyen Hue",
                "full_name": "Nguyễn Văn A",
                "phone_number": "0901234567",
            },
            "shipping_fee": 30000,
            "total_discount": 0,
            "inserted_at": "2024-04-29T10:15:00Z",
            "updated_at": "2024-04-29T10:15:00Z",
            "bill_full_name": "Nguyễn Văn A",
            "bill_phone_number": "0901234567",
            "is_free_shipping": False,
            "customer_pay_fee": True,
        },
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def deliveries(count: int, prefix: str) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` signed deliveries with distinct ids, timestamped now."""
    from pancake_pos.signing import build_headers

    now = int(time.time())
    signed = []
    for n in range(count):
        msg_id = f"msg_{prefix}_{n}"
        body = order_body(msg_id)
        signed.append((body, build_headers(SECRET, msg_id, now, body)))
    return signed


async def _ours(batch: list[tuple[bytes, dict[str, str]]]) -> float:
    from pancake_pos.receiver import MemoryStore, Outcome, WebhookReceiver

    receiver = WebhookReceiver(SECRET, store=MemoryStore())

    @receiver.on("order.created")
    async def handler(event: Any) -> None:
        pass

    handle = receiver.handle
    start = time.perf_counter()
    for body, headers in batch:
        result = await handle(body, headers)
    elapsed = time.perf_counter() - start
    assert result.outcome is Outcome.PROCESSED
    return elapsed / len(batch)


def _reference(batch: list[tuple[bytes, dict[str, str]]]) -> float:
    from standardwebhooks.webhooks import Webhook

    webhook = Webhook(SECRET)
    verify = webhook.verify
    start = time.perf_counter()
    for body, headers in batch:
        verify(body, headers)
    return (time.perf_counter() - start) / len(batch)


def _verify_only(batch: list[tuple[bytes, dict[str, str]]]) -> float:
    from pancake_pos.signing import WebhookVerifier

    verify = WebhookVerifier(SECRET).verify_signature
    start = time.perf_counter()
    for body, headers in batch:
        verify(body, headers)
    return (time.perf_counter() - start) / len(batch)


def _parse_only(batch: list[tuple[bytes, dict[str, str]]]) -> float:
    from pancake_pos.events import parse_event

    start = time.perf_counter()
    for body, _ in batch:
        parse_event(body)
    return (time.perf_counter() - start) / len(batch)


def measure(context: Context) -> PartResult:
    """Run part 8; see the module's docstring."""
    part = PartResult(TITLE)
    settings = context.settings
    count = max(20, settings.signing_number // 5)
    rounds = max(3, settings.repeats * 3)
    ours: list[float] = []
    theirs: list[float] = []
    verify_only: list[float] = []
    parse_only: list[float] = []
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_ours(deliveries(min(count, 200), "warm")))
        for round_ in range(rounds):
            batch = deliveries(count, f"r{round_}")
            ours.append(loop.run_until_complete(_ours(batch)))
            theirs.append(_reference(batch))
            verify_only.append(_verify_only(batch))
            parse_only.append(_parse_only(batch))
    finally:
        loop.close()
    mine, reference = statistics.median(ours), statistics.median(theirs)
    verify, parse = statistics.median(verify_only), statistics.median(parse_only)
    part.add(OURS, mine * 1e6, "µs", ratio=mine / reference)
    part.add(REFERENCE, reference * 1e6, "µs", ratio=1.0)
    part.add(VERIFY, verify * 1e6, "µs", ratio=verify / reference)
    part.add(PARSE, parse * 1e6, "µs", ratio=parse / reference)
    rest = mine - verify - parse
    part.notes.append(
        f"Where handle's {mine * 1e6:.1f} µs go: verifying the signature {verify * 1e6:.1f} µs, "
        f"JSON and the typed OrderEvent (envelope, Order, 3 OrderItem, CustomerAddress) "
        f"{parse * 1e6:.1f} µs, the store (claim, complete) and the dispatch {rest * 1e6:.1f} "
        "µs. The reference stops at a dict."
    )
    part.ratio_goal(
        "receiver.handle / standardwebhooks verify + json.loads",
        mine / reference,
        1.5,
        key="receiver_handle",
    )
    part.notes.append(
        f"{count} deliveries of {len(order_body('msg_x'))} bytes a round, {rounds} "
        "rounds; medians per delivery. Ours also parses the payload into typed models, claims "
        "and completes the event in the store and awaits the handler."
    )
    return part
