"""The canned JSON the loopback server answers with (and the decoding benchmarks read).

Realistic bodies that every contender accepts (our attrs models, the client openapi-python-client
generates, pydantic v2 models from datamodel-code-generator): a `Webhook`, and a `DeliveryPage` of
deliveries mixing successes, failures with a receiver's answer and failures with none (a timeout).

Only the standard library is used: the server process imports this module.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "PAGE_MARKER",
    "PAGE_NUMBER_MARKER",
    "WEBHOOK_ID",
    "YEAR_MARKER",
    "delivery",
    "delivery_page_bytes",
    "page_template",
    "webhook",
    "webhook_bytes",
]

WEBHOOK_ID = "wh_2ZbX9kQ1"
PAGE_MARKER = "PPPPPPPP"
"""Stands for the page number inside delivery ids of a page template (8 digits, zero-padded)."""
PAGE_NUMBER_MARKER = "NNNNNNNN"
"""Stands for the page's `page_number` in a page template (a plain JSON number once replaced)."""
YEAR_MARKER = "YYYY"
"""Stands for the year of the deliveries' `created_at` in a page template: `9999 - page_number`,
so that later pages hold older deliveries, newest first like the API."""

_EVENTS = ("order.created", "order.status_changed", "customer.updated", "inventory.updated")


def webhook() -> dict[str, Any]:
    """A webhook as `GET /webhooks/{id}` answers it (with its secret and health)."""
    return {
        "id": WEBHOOK_ID,
        "url": "https://shop.example.com/webhooks/orders",
        "events": ["order.created", "order.status_changed", "order.cancelled"],
        "is_active": True,
        "secret_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "description": "New orders and status changes",
        "created_at": "2024-04-01T08:00:00Z",
        "updated_at": "2024-04-02T09:30:00Z",
        "last_triggered_at": "2024-04-29T10:15:01Z",
        "health_status": {
            "status": "healthy",
            "success_rate": 98.0,
            "last_success_at": "2024-04-29T10:15:02Z",
            "last_failure_at": "2024-04-28T22:01:40Z",
            "last_failure_reason": "receiver answered 503",
        },
    }


def delivery(delivery_id: str, index: int) -> dict[str, Any]:
    """One delivery: every 5th failed with the receiver's 500, every 10th failed without answer."""
    event = _EVENTS[index % len(_EVENTS)]
    minute, second = divmod(index % 3600, 60)
    created_at = f"2024-04-29T10:{minute:02d}:{second:02d}Z"
    message_id = f"msg_{delivery_id}"
    result: dict[str, Any] = {
        "id": delivery_id,
        "webhook_id": WEBHOOK_ID,
        "event": event,
        "payload": {
            "id": message_id,
            "event": event,
            "shop_id": "shop_42",
            "created_at": created_at,
            "data": {
                "order_id": f"ord_{index:06d}",
                "status": "confirmed",
                "total_amount": 1_250_000 + index,
                "customer": {"id": f"cus_{index % 97}", "name": "Nguyễn Văn A"},
                "items": [
                    {"product_id": "prod_1", "quantity": 2, "price": 250_000},
                    {"product_id": "prod_7", "quantity": 1, "price": 750_000},
                ],
            },
        },
        "response": {
            "status_code": 200,
            "headers": {"content-type": "application/json", "x-request-id": f"req_{index:06d}"},
            "body": '{"received":true}',
        },
        "status": "success",
        "created_at": created_at,
        "duration_ms": 40 + index % 200,
        "attempt": 1,
    }
    if index % 10 == 9:
        result["response"] = None
        result["status"] = "failed"
        result["failure_reason"] = "timed out after 10 s"
        result["duration_ms"] = 10_000
    elif index % 5 == 4:
        result["response"] = {
            "status_code": 500,
            "headers": {"content-type": "text/plain"},
            "body": "Internal Server Error",
        }
        result["status"] = "failed"
        result["failure_reason"] = "receiver answered 500"
        result["attempt"] = 2
    return result


def _page(data: list[dict[str, Any]], page_number: int, page_size: int, total: int) -> bytes:
    page = {
        "data": data,
        "total": total,
        "page_number": page_number,
        "page_size": page_size,
        "total_pages": -(-total // page_size),
    }
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()


def delivery_page_bytes(count: int = 100) -> bytes:
    """Page 1 of a history of `count` deliveries, all on that page (`page_size` = `count`)."""
    size = max(count, 1)
    data = [delivery(f"dlv_{index:06d}", index) for index in range(count)]
    return _page(data, 1, size, count)


def page_template(count: int, page_size: int, total: int) -> bytes:
    """A page of `count` deliveries whose ids hold `PAGE_MARKER` (replace it with the page
    number, zero-padded to 8 digits), whose `page_number` is `PAGE_NUMBER_MARKER`, and whose
    `created_at` years are `YEAR_MARKER` (see there); newest first within the page.
    """
    data = [delivery(f"dlv_{PAGE_MARKER}_{index:03d}", index) for index in range(count)]
    for index, item in enumerate(data):
        minute, second = divmod(3599 - index, 60)
        item["created_at"] = f"{YEAR_MARKER}-04-29T10:{minute:02d}:{second:02d}Z"
    body = _page(data, 1, page_size, total)
    return body.replace(b'"page_number":1,', f'"page_number":{PAGE_NUMBER_MARKER},'.encode())


def webhook_bytes() -> bytes:
    """The JSON of `webhook()`."""
    return json.dumps(webhook(), ensure_ascii=False, separators=(",", ":")).encode()
