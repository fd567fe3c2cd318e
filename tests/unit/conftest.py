"""Shared fixtures of the unit tests: a client on a mocked API, JSON bodies, a fake sleep."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import respx

from pancake_pos._client import AsyncPancakeClient

API_KEY = "sk_test_S3CR3T_key_5f1c9e"
SHOP_ID = "shop_42"
BASE_URL = "http://127.0.0.1:8765/api/v1"
SHOP_URL = f"{BASE_URL}/shops/{SHOP_ID}"

WEBHOOK: dict[str, Any] = {
    "id": "wh_1",
    "url": "https://shop.example.com/webhooks/orders",
    "events": ["order.created", "order.status_changed"],
    "is_active": True,
    "secret_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "description": "New orders",
    "created_at": "2024-04-01T08:00:00Z",
    "updated_at": "2024-04-02T09:30:00Z",
    "health_status": {"status": "healthy", "success_rate": 98.0},
}


class Payloads:
    """JSON bodies as the API sends them (the `payloads` fixture)."""

    @staticmethod
    def webhook(**changes: Any) -> dict[str, Any]:
        """A webhook, with some fields changed."""
        return copy.deepcopy(WEBHOOK) | changes

    @staticmethod
    def delivery(delivery_id: str, **changes: Any) -> dict[str, Any]:
        """A completed (failed) delivery."""
        return {
            "id": delivery_id,
            "webhook_id": "wh_1",
            "event": "order.created",
            "payload": {"id": f"msg_{delivery_id}", "event": "order.created", "data": {}},
            "response": {"status_code": 500, "headers": {}, "body": "upstream error"},
            "status": "failed",
            "failure_reason": "HTTP 500 from receiver",
            "created_at": "2024-04-29T10:15:01Z",
            "duration_ms": 184,
            "attempt": 1,
        } | changes

    @staticmethod
    def page(
        deliveries: list[dict[str, Any]],
        *,
        page_number: int,
        page_size: int,
        total: int | None = None,
    ) -> dict[str, Any]:
        """The paged envelope of `GET /webhook-deliveries`; no totals when `total` is None."""
        page: dict[str, Any] = {
            "data": deliveries,
            "page_number": page_number,
            "page_size": page_size,
        }
        if total is not None:
            page["total"] = total
            page["total_pages"] = -(-total // page_size)
        return page

    @staticmethod
    def error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
        """The error envelope."""
        return {
            "success": False,
            "error": {"code": code, "message": message, "details": details or {}},
        }


@pytest.fixture
def payloads() -> Payloads:
    return Payloads()


@pytest.fixture
def api_key() -> str:
    """The API key of the `client` fixture (a secret: it must never be shown)."""
    return API_KEY


class FakeSleep:
    """Stands in for `anyio.sleep` in the retry loop: records each wait, sleeps not at all."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A respx router for the shop's paths; every request must match a route."""
    with respx.mock(base_url=SHOP_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(fake_sleep: FakeSleep) -> AsyncIterator[AsyncPancakeClient]:
    """A client on the mocked API whose retries wait on `fake_sleep`."""
    async with AsyncPancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL) as client:
        client._transport.sleep = fake_sleep
        yield client
