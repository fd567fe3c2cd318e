"""Each operation of the sync `client.webhooks`: the request it sends, the model it returns.

One table of operations drives the tests: each operation is called through the facade and
checked against the table (method, path, query, body, decoded type), then compared with the
same call made through `AsyncPancakeClient` (the facade must send exactly the same request and
return an equal model).
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._sync import PancakeClient
from pancake_pos._types import NOT_GIVEN
from pancake_pos.models import (
    ClearHistoryResult,
    DeliveryPage,
    DeliveryStatus,
    PendingDeliveries,
    RetryWebhookResult,
    RotateSecretResult,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookList,
    WebhookStats,
    WebhookTestResult,
)

API_KEY = "sk_test_sync_S3CR3T_7d1e"
SHOP_ID = "shop_42"
BASE_URL = "http://127.0.0.1:8765/api/v1"
SHOP_URL = f"{BASE_URL}/shops/{SHOP_ID}"

WEBHOOK = {
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
DELIVERY = {
    "id": "dlv_1",
    "webhook_id": "wh_1",
    "event": "order.created",
    "payload": {"id": "msg_1", "event": "order.created", "data": {}},
    "response": {"status_code": 500, "headers": {}, "body": "upstream error"},
    "status": "failed",
    "failure_reason": "HTTP 500 from receiver",
    "created_at": "2024-04-29T10:15:01Z",
    "duration_ms": 184,
}
ATTEMPT = {"delivery_id": "dlv_2", "status": "success", "response": {"status_code": 200}}
STATS = {
    "total_deliveries": 10,
    "success_count": 9,
    "failure_count": 1,
    "average_duration_ms": 120.5,
    "event_counts": {"order.created": 10},
    "hourly_stats": [{"hour": "2024-04-01T10:00:00Z", "total": 10, "success": 9, "failed": 1}],
}


@dataclass(frozen=True)
class Operation:
    """One call of `client.webhooks` and what it must send and return."""

    id: str
    call: Callable[[Any], Any]  # takes a sync or async `webhooks`; returns a result or awaitable
    method: str
    path: str
    answer: Any = None  # the JSON answered (None: 204 without a body)
    returns: type | None = None
    query: dict[str, str] = field(default_factory=dict)  # besides api_key
    body: Any = None  # the JSON sent (None: no body)


OPERATIONS = [
    Operation(
        "list",
        lambda webhooks: webhooks.list(),
        "GET",
        "/webhooks",
        answer={"data": [WEBHOOK]},
        returns=WebhookList,
    ),
    Operation(
        "get_by_id",
        lambda webhooks: webhooks.get_by_id("wh_1"),
        "GET",
        "/webhooks/wh_1",
        answer=WEBHOOK,
        returns=Webhook,
    ),
    Operation(
        "create",
        lambda webhooks: webhooks.create(
            url="https://shop.example.com/webhooks/orders",
            events=[WebhookEvent.ORDER_CREATED, "order.status_changed"],
            description="New orders",
            is_active=True,
            idempotency_key="create-1",
        ),
        "POST",
        "/webhooks",
        answer=WEBHOOK,
        returns=Webhook,
        body={
            "url": "https://shop.example.com/webhooks/orders",
            "events": ["order.created", "order.status_changed"],
            "description": "New orders",
            "is_active": True,
        },
    ),
    Operation(
        "update",
        lambda webhooks: webhooks.update(
            "wh_1", url="https://shop.example.com/v2", description=None, is_active=NOT_GIVEN
        ),
        "PUT",
        "/webhooks/wh_1",
        answer=WEBHOOK,
        returns=Webhook,
        body={"url": "https://shop.example.com/v2", "description": None},
    ),
    Operation(
        "delete",
        lambda webhooks: webhooks.delete("wh_1"),
        "DELETE",
        "/webhooks/wh_1",
    ),
    Operation(
        "set_active",
        lambda webhooks: webhooks.set_active("wh_1", False),
        "PUT",
        "/webhooks/wh_1/set-active",
        answer=WEBHOOK | {"is_active": False},
        returns=Webhook,
        body={"is_active": False},
    ),
    Operation(
        "test",
        lambda webhooks: webhooks.test(
            "wh_1", "order.created", {"order_id": "test-123"}, idempotency_key="test-1"
        ),
        "POST",
        "/webhooks/wh_1/test",
        answer=ATTEMPT,
        returns=WebhookTestResult,
        body={"event": "order.created", "payload": {"order_id": "test-123"}},
    ),
    Operation(
        "rotate_secret",
        lambda webhooks: webhooks.rotate_secret("wh_1", idempotency_key="rotate-1"),
        "POST",
        "/webhooks/wh_1/rotate-secret",
        answer={"secret_key": "whsec_bmV3IHNlY3JldCBrZXkgMTIzNDU2Nzg5MA=="},
        returns=RotateSecretResult,
    ),
    Operation(
        "get_stats",
        lambda webhooks: webhooks.get_stats(
            "wh_1", from_date=datetime.date(2024, 4, 1), to_date="2024-04-29"
        ),
        "GET",
        "/webhooks/wh_1/stats",
        answer=STATS,
        returns=WebhookStats,
        query={"from_date": "2024-04-01", "to_date": "2024-04-29"},
    ),
    Operation(
        "clear_delivery_history",
        lambda webhooks: webhooks.clear_delivery_history(
            "wh_1",
            before_date="2024-04-01",
            status=DeliveryStatus.FAILED,
            idempotency_key="clear-1",
        ),
        "POST",
        "/webhooks/wh_1/clear-history",
        answer={"deleted_count": 42},
        returns=ClearHistoryResult,
        body={"before_date": "2024-04-01", "status": "failed"},
    ),
    Operation(
        "list_deliveries",
        lambda webhooks: webhooks.list_deliveries(
            webhook_id="wh_1",
            page_size=20,
            page_number=2,
            status="failed",
            event=WebhookEvent.ORDER_CREATED,
            from_date="2024-04-01",
            to_date=datetime.date(2024, 4, 29),
        ),
        "GET",
        "/webhook-deliveries",
        answer={"data": [DELIVERY], "total": 21, "page_number": 2, "page_size": 20},
        returns=DeliveryPage,
        query={
            "webhook_id": "wh_1",
            "page_size": "20",
            "page_number": "2",
            "status": "failed",
            "event": "order.created",
            "from_date": "2024-04-01",
            "to_date": "2024-04-29",
        },
    ),
    Operation(
        "get_delivery_by_id",
        lambda webhooks: webhooks.get_delivery_by_id("dlv_1"),
        "GET",
        "/webhook-deliveries/dlv_1",
        answer=DELIVERY,
        returns=WebhookDelivery,
    ),
    Operation(
        "retry_delivery",
        lambda webhooks: webhooks.retry_delivery("dlv_1", idempotency_key="retry-1"),
        "POST",
        "/webhook-deliveries/dlv_1/retry",
        answer=ATTEMPT,
        returns=RetryWebhookResult,
    ),
    Operation(
        "get_pending_deliveries",
        lambda webhooks: webhooks.get_pending_deliveries(),
        "GET",
        "/webhook-deliveries/pending",
        answer={"total_count": 1, "deliveries": [DELIVERY | {"status": "pending"}]},
        returns=PendingDeliveries,
    ),
]

by_id = pytest.mark.parametrize("operation", OPERATIONS, ids=[op.id for op in OPERATIONS])


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=SHOP_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client() -> Iterator[PancakeClient]:
    with PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL, max_retries=0) as client:
        yield client


def mock(api: respx.MockRouter, operation: Operation) -> respx.Route:
    route = api.request(operation.method, operation.path)
    if operation.answer is None:
        return route.respond(204)
    return route.respond(200, json=operation.answer)


def test_the_table_covers_every_operation() -> None:
    from pancake_pos.resources.webhooks import Webhooks

    public = {name for name in vars(Webhooks) if not name.startswith("_")}
    walks = {"iter_deliveries", "iter_delivery_pages"}  # tested in test_sync_client.py
    composed = {"recover"}  # several requests: tested in tests/integration/test_recover.py

    assert {op.id for op in OPERATIONS} == public - walks - composed


@by_id
def test_each_operation_sends_its_request_and_returns_its_model(
    operation: Operation, client: PancakeClient, api: respx.MockRouter
) -> None:
    route = mock(api, operation)

    result = operation.call(client.webhooks)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == operation.method
    assert request.url.path == f"/api/v1/shops/{SHOP_ID}{operation.path}"
    assert dict(request.url.params) == {"api_key": API_KEY, **operation.query}
    if operation.body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == operation.body
    if operation.returns is None:
        assert result is None
    else:
        assert type(result) is operation.returns


@by_id
def test_the_facade_sends_and_returns_exactly_what_the_async_client_does(
    operation: Operation, client: PancakeClient, api: respx.MockRouter
) -> None:
    route = mock(api, operation)

    async def through_the_async_client() -> Any:
        async with AsyncPancakeClient(
            API_KEY, SHOP_ID, base_url=BASE_URL, max_retries=0
        ) as async_client:
            return await operation.call(async_client.webhooks)

    expected = asyncio.run(through_the_async_client())
    expected_request = route.calls.last.request
    result = operation.call(client.webhooks)
    request = route.calls.last.request

    assert result == expected
    assert request is not expected_request
    assert (request.method, request.url, request.content) == (
        expected_request.method,
        expected_request.url,
        expected_request.content,
    )
    assert request.headers.multi_items() == expected_request.headers.multi_items()


@by_id
def test_after_close_each_operation_raises_a_clear_error(
    operation: Operation, api: respx.MockRouter
) -> None:
    from pancake_pos.errors import PancakeError

    route = mock(api, operation)
    client = PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL)
    client.close()

    with pytest.raises(PancakeError, match="PancakeClient is closed"):
        operation.call(client.webhooks)
    assert route.call_count == 0


def test_a_json_acknowledgement_of_delete_is_accepted_too(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    route = api.delete("/webhooks/wh_1").respond(200, json={"success": True})

    assert client.webhooks.delete("wh_1") is None
    assert route.call_count == 1


def test_a_post_without_idempotency_key_gets_a_fresh_one_each_call(
    client: PancakeClient, api: respx.MockRouter
) -> None:
    route = api.post("/webhook-deliveries/dlv_1/retry").respond(200, json=ATTEMPT)

    client.webhooks.retry_delivery("dlv_1")
    client.webhooks.retry_delivery("dlv_1")

    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 2


def test_responses_carry_the_caller_owned_http_clients_headers(api: respx.MockRouter) -> None:
    async def make_http_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(headers={"X-Trace": "sync-facade"})

    http_client = asyncio.run(make_http_client())
    with PancakeClient(API_KEY, SHOP_ID, base_url=BASE_URL, http_client=http_client) as client:
        route = api.get("/webhooks").respond(200, json={"data": []})
        client.webhooks.list()
        assert client.http_client is http_client

    assert route.calls.last.request.headers["x-trace"] == "sync-facade"
    # Used on the facade's loop only, it could not be closed cleanly anywhere else: close()
    # closes it there.
    assert http_client.is_closed
