"""Webhook verification: pancake_pos.signing against the standardwebhooks reference library.

Both verify the same delivery (a realistic event payload, a fresh timestamp, a plain dict of
headers) and the numbers are verifications per second, the median of several timeit repeats.

* ``verify_signature`` (headers, timestamp, signature) is compared with the reference's
  ``Webhook.verify(..., json_parse=False)``, which does the same checks;
* ``verify`` (those checks, then the JSON parsed into a typed ``WebhookEventPayload``) with the
  reference's ``Webhook.verify(...)``, which parses the JSON into a dict.

Run: ``python benchmarks/bench_signing.py``
"""

from __future__ import annotations

import json
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

from standardwebhooks.webhooks import Webhook

from pancake_pos.signing import WebhookVerifier, build_headers

__all__ = ["run"]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"


def _body() -> bytes:
    payload = {
        "id": MSG_ID,
        "event": "order.created",
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {
            "order_id": "123",
            "total_amount": 1000000,
            "customer": {"id": "cus_9", "name": "Nguyễn Văn A", "phone": "0900000000"},
            "items": [
                {"product_id": f"prod_{n}", "quantity": n, "price": 25000 * n} for n in range(1, 6)
            ],
        },
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def _per_second(function: Callable[[], Any], number: int, repeat: int) -> float:
    timings = timeit.repeat(function, number=number, repeat=repeat)
    return number / statistics.median(timings)


def run(number: int = 20_000, repeat: int = 7) -> dict[str, float]:
    """Measure verifications per second; return them keyed by what was measured."""
    body = _body()
    # Fresh, so the reference library (which always checks against the real clock) accepts it
    # for the whole run.
    headers = build_headers(SECRET, MSG_ID, int(time.time()), body)
    ours = WebhookVerifier(SECRET)
    reference = Webhook(SECRET)

    # Both must accept the delivery before their speed means anything.
    ours.verify(body, headers)
    reference.verify(body, headers)

    results = {
        "pancake_pos verify_signature": _per_second(
            lambda: ours.verify_signature(body, headers), number, repeat
        ),
        "standardwebhooks verify(json_parse=False)": _per_second(
            lambda: reference.verify(body, headers, json_parse=False), number, repeat
        ),
        "pancake_pos verify (typed payload)": _per_second(
            lambda: ours.verify(body, headers), number, repeat
        ),
        "standardwebhooks verify (dict)": _per_second(
            lambda: reference.verify(body, headers), number, repeat
        ),
    }
    results["body_bytes"] = float(len(body))
    return results


def main() -> None:
    results = run()
    print(f"body: {results.pop('body_bytes'):.0f} bytes")
    width = max(map(len, results))
    for name, per_second in results.items():
        print(f"{name:<{width}}  {per_second:>12,.0f} verifications/s")
    signature_ratio = (
        results["pancake_pos verify_signature"]
        / results["standardwebhooks verify(json_parse=False)"]
    )
    parse_ratio = (
        results["pancake_pos verify (typed payload)"] / results["standardwebhooks verify (dict)"]
    )
    print(f"signature only: {signature_ratio:.2f}x the reference; with parsing: {parse_ratio:.2f}x")


if __name__ == "__main__":
    main()
