"""Each operation of `client.webhooks`: the request it sends and the model it returns."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._types import NOT_GIVEN
from pancake_pos.errors import APIResponseValidationError

if TYPE_CHECKING:
    from conftest import Payloads

from pancake_pos.models import (
    ClearHistoryResult,
    DeliveryPage,
    DeliveryStatus,
    HealthState,
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


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def sent_query(route: respx.Route) -> dict[str, str]:
    return dict(route.calls.last.request.url.params)


async def test_list_returns_the_webhooks(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads, api_key: str
) -> None:
    route = api.get("/webhooks").respond(
        200, json={"data": [payloads.webhook(), payloads.webhook(id="wh_2")]}
    )

    hooks = await client.webhooks.list()

    assert isinstance(hooks, WebhookList)
    assert [hook.id for hook in hooks.data] == ["wh_1", "wh_2"]
    assert hooks.data[0].events == [WebhookEvent.ORDER_CREATED, WebhookEvent.ORDER_STATUS_CHANGED]
    assert hooks.data[0].health_status.status is HealthState.HEALTHY
    assert sent_query(route) == {"api_key": api_key}


async def test_get_by_id_percent_encodes_the_id(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    route = api.get("/webhooks/wh%2F1%20%3Fx%23").respond(200, json=payloads.webhook(id="wh/1 ?x#"))

    hook = await client.webhooks.get_by_id("wh/1 ?x#")

    assert isinstance(hook, Webhook)
    assert hook.id == "wh/1 ?x#"
    assert route.calls.last.request.url.raw_path.startswith(
        b"/api/v1/shops/shop_42/webhooks/wh%2F1%20%3Fx%23?"
    )


async def test_create_sends_only_the_given_fields(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    route = api.post("/webhooks").respond(201, json=payloads.webhook())

    hook = await client.webhooks.create(
        url="https://shop.example.com/webhooks/orders",
        events=[WebhookEvent.ORDER_CREATED, "order.status_changed", "order.created"],
    )

    assert isinstance(hook, Webhook)
    assert hook.secret_key == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert sent_json(route) == {
        "url": "https://shop.example.com/webhooks/orders",
        "events": ["order.created", "order.status_changed"],
    }
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/json"
    assert uuid.UUID(request.headers["idempotency-key"]).version == 4


async def test_create_with_every_field(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    route = api.post("/webhooks").respond(201, json=payloads.webhook(is_active=False))

    await client.webhooks.create(
        url="http://127.0.0.1:9000/hook",
        events=["order.refunded"],
        description="Refunds",
        is_active=False,
        idempotency_key="create-1",
    )

    assert sent_json(route) == {
        "url": "http://127.0.0.1:9000/hook",
        "events": ["order.refunded"],
        "description": "Refunds",
        "is_active": False,
    }
    assert route.calls.last.request.headers["idempotency-key"] == "create-1"


async def test_each_post_gets_its_own_idempotency_key(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    route = api.post("/webhooks/wh_1/rotate-secret").respond(200, json={"secret_key": "whsec_new"})

    await client.webhooks.rotate_secret("wh_1")
    await client.webhooks.rotate_secret("wh_1")

    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert len(keys) == 2


async def test_update_sends_given_fields_and_explicit_none_as_null(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    route = api.put("/webhooks/wh_1").respond(200, json=payloads.webhook(description=None))

    hook = await client.webhooks.update("wh_1", events=["customer.created"], description=None)

    assert isinstance(hook, Webhook)
    assert sent_json(route) == {"events": ["customer.created"], "description": None}
    assert "idempotency-key" not in route.calls.last.request.headers


async def test_update_with_nothing_given_sends_an_empty_object(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    route = api.put("/webhooks/wh_1").respond(200, json=payloads.webhook())

    await client.webhooks.update(
        "wh_1", url=NOT_GIVEN, events=NOT_GIVEN, description=NOT_GIVEN, is_active=NOT_GIVEN
    )
    await client.webhooks.update("wh_1", url="https://new.example.com/webhook", is_active=True)

    assert json.loads(route.calls[0].request.content) == {}
    assert sent_json(route) == {"url": "https://new.example.com/webhook", "is_active": True}


async def test_delete_accepts_204_and_a_json_acknowledgement(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    route = api.delete("/webhooks/wh_1").mock(
        side_effect=[httpx.Response(204), httpx.Response(200, json={"success": True})]
    )

    assert await client.webhooks.delete("wh_1") is None
    assert await client.webhooks.delete("wh_1") is None
    assert route.call_count == 2


async def test_delete_refuses_an_html_acknowledgement(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    api.delete("/webhooks/wh_1").respond(
        200, text="<html>ok</html>", headers={"Content-Type": "text/html"}
    )

    with pytest.raises(APIResponseValidationError) as caught:
        await client.webhooks.delete("wh_1")

    assert caught.value.body == b"<html>ok</html>"


async def test_set_active(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    route = api.put("/webhooks/wh_1/set-active").respond(
        200, json=payloads.webhook(is_active=False)
    )

    hook = await client.webhooks.set_active("wh_1", False)

    assert hook.is_active is False
    assert sent_json(route) == {"is_active": False}


async def test_test_sends_event_and_payload(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    route = api.post("/webhooks/wh_1/test").respond(
        200,
        json={
            "delivery_id": "dlv_T3st0001",
            "status": "success",
            "response": {"status_code": 200, "body": "ok"},
        },
    )

    result = await client.webhooks.test(
        "wh_1", WebhookEvent.ORDER_CREATED, {"order_id": "test-123", "total_amount": 1000000}
    )
    await client.webhooks.test("wh_1", "order.created", idempotency_key="test-2")

    assert isinstance(result, WebhookTestResult)
    assert result.status is DeliveryStatus.SUCCESS
    assert result.response is not None
    assert result.response.status_code == 200
    assert json.loads(route.calls[0].request.content) == {
        "event": "order.created",
        "payload": {"order_id": "test-123", "total_amount": 1000000},
    }
    assert sent_json(route) == {"event": "order.created"}
    assert route.calls.last.request.headers["idempotency-key"] == "test-2"


async def test_rotate_secret(client: AsyncPancakeClient, api: respx.MockRouter) -> None:
    route = api.post("/webhooks/wh_1/rotate-secret").respond(
        200, json={"secret_key": "whsec_NEWSECRETVALUE0123456789"}
    )

    rotated = await client.webhooks.rotate_secret("wh_1", idempotency_key="rot-1")

    assert isinstance(rotated, RotateSecretResult)
    assert rotated.secret_key == "whsec_NEWSECRETVALUE0123456789"
    assert route.calls.last.request.content == b""
    assert route.calls.last.request.headers["idempotency-key"] == "rot-1"


async def test_get_stats_sends_the_days_as_query(
    client: AsyncPancakeClient, api: respx.MockRouter, api_key: str
) -> None:
    route = api.get("/webhooks/wh_1/stats").respond(
        200,
        json={
            "total_deliveries": 12,
            "success_count": 11,
            "failure_count": 1,
            "average_duration_ms": 143.5,
            "event_counts": {"order.created": 9, "order.status_changed": 3},
            "hourly_stats": [
                {"hour": "2024-04-29T10:00:00Z", "total": 12, "success": 11, "failed": 1}
            ],
        },
    )

    stats = await client.webhooks.get_stats(
        "wh_1", from_date=datetime.date(2024, 4, 1), to_date="2024-04-29"
    )

    assert isinstance(stats, WebhookStats)
    assert stats.event_counts == {"order.created": 9, "order.status_changed": 3}
    assert stats.hourly_stats[0].hour == datetime.datetime(2024, 4, 29, 10, tzinfo=datetime.UTC)
    assert sent_query(route) == {
        "api_key": api_key,
        "from_date": "2024-04-01",
        "to_date": "2024-04-29",
    }


async def test_clear_delivery_history(client: AsyncPancakeClient, api: respx.MockRouter) -> None:
    route = api.post("/webhooks/wh_1/clear-history").respond(200, json={"deleted_count": 42})

    everything = await client.webhooks.clear_delivery_history("wh_1")
    filtered = await client.webhooks.clear_delivery_history(
        "wh_1", before_date="2024-04-01", status=DeliveryStatus.FAILED
    )

    assert isinstance(everything, ClearHistoryResult)
    assert filtered.deleted_count == 42
    assert json.loads(route.calls[0].request.content) == {}
    assert sent_json(route) == {"before_date": "2024-04-01", "status": "failed"}


async def test_list_deliveries_sends_the_filters(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads, api_key: str
) -> None:
    route = api.get("/webhook-deliveries").respond(
        200, json=payloads.page([payloads.delivery("dlv_1")], page_number=2, page_size=20, total=21)
    )

    page = await client.webhooks.list_deliveries(
        webhook_id="wh_1",
        page_size=20,
        page_number=2,
        status="failed",
        event=WebhookEvent.ORDER_CREATED,
        from_date="2024-04-01",
        to_date=datetime.date(2024, 4, 29),
    )

    assert isinstance(page, DeliveryPage)
    assert (page.total, page.total_pages, page.page_number) == (21, 2, 2)
    assert isinstance(page.data[0], WebhookDelivery)
    assert page.data[0].response is not None
    assert page.data[0].response.status_code == 500
    assert sent_query(route) == {
        "api_key": api_key,
        "webhook_id": "wh_1",
        "status": "failed",
        "event": "order.created",
        "from_date": "2024-04-01",
        "to_date": "2024-04-29",
        "page_size": "20",
        "page_number": "2",
    }


async def test_list_deliveries_leaves_out_unset_filters(
    client: AsyncPancakeClient, api: respx.MockRouter, api_key: str
) -> None:
    route = api.get("/webhook-deliveries").respond(
        200, json={"data": [], "page_number": 1, "page_size": 20}
    )

    page = await client.webhooks.list_deliveries()

    assert page.total is None
    assert page.data == []
    assert sent_query(route) == {"api_key": api_key}


async def test_get_delivery_by_id(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    api.get("/webhook-deliveries/dlv_7Hq3mN0p").respond(
        200, json=payloads.delivery("dlv_7Hq3mN0p", response=None, event="order.refunded")
    )

    delivery = await client.webhooks.get_delivery_by_id("dlv_7Hq3mN0p")

    assert isinstance(delivery, WebhookDelivery)
    assert delivery.response is None
    assert delivery.event == "order.refunded"
    assert delivery.status is DeliveryStatus.FAILED


async def test_retry_delivery(client: AsyncPancakeClient, api: respx.MockRouter) -> None:
    route = api.post("/webhook-deliveries/dlv_1/retry").respond(
        200,
        json={"delivery_id": "dlv_R3try001", "status": "failed", "failure_reason": "refused"},
    )

    outcome = await client.webhooks.retry_delivery("dlv_1")

    assert isinstance(outcome, RetryWebhookResult)
    assert (outcome.delivery_id, outcome.failure_reason) == ("dlv_R3try001", "refused")
    assert "idempotency-key" in route.calls.last.request.headers


async def test_get_pending_deliveries(
    client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    pending_json = payloads.delivery(
        "dlv_p", status="pending", response=None, next_attempt_at="2024-04-29T10:20:00Z"
    )
    api.get("/webhook-deliveries/pending").respond(
        200, json={"total_count": 1, "deliveries": [pending_json]}
    )

    pending = await client.webhooks.get_pending_deliveries()

    assert isinstance(pending, PendingDeliveries)
    assert pending.total_count == 1
    assert pending.deliveries[0].status is DeliveryStatus.PENDING
    assert pending.deliveries[0].next_attempt_at == datetime.datetime(
        2024, 4, 29, 10, 20, tzinfo=datetime.UTC
    )


async def test_every_request_carries_the_sdk_headers(
    client: AsyncPancakeClient, api: respx.MockRouter
) -> None:
    route = api.get("/webhooks").respond(200, json={"data": []})

    await client.webhooks.list()

    headers = route.calls.last.request.headers
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("pancake-pos/")


async def test_the_key_travels_as_the_api_key_parameter_and_nowhere_else(
    client: AsyncPancakeClient, api: respx.MockRouter, api_key: str, payloads: Payloads
) -> None:
    route = api.post("/webhooks").respond(201, json=payloads.webhook())
    await client.webhooks.create(url="https://shop.example/hook", events=["order.created"])
    request = route.calls.last.request
    assert request.url.params.get_list("api_key") == [api_key]
    assert api_key not in request.url.path
    assert all(api_key not in value for value in request.headers.values())
    assert api_key.encode() not in request.content


@pytest.mark.parametrize(("given", "encoded"), [(".", "%2E"), ("..", "%2E%2E")])
async def test_a_dot_segment_id_stays_inside_its_path(
    client: AsyncPancakeClient, given: str, encoded: str
) -> None:
    # Left as is, `..` would be resolved by the URL parser: delete("..") would send
    # DELETE /shops/shop_42 and delete(".") DELETE /shops/shop_42/webhooks.
    with respx.mock(assert_all_called=False) as router:
        route = router.route().respond(204)
        await client.webhooks.delete(given)
        with pytest.raises(APIResponseValidationError):
            await client.webhooks.get_delivery_by_id(given)

    paths = [call.request.url.raw_path.split(b"?")[0] for call in route.calls]
    assert paths == [
        f"/api/v1/shops/shop_42/webhooks/{encoded}".encode(),
        f"/api/v1/shops/shop_42/webhook-deliveries/{encoded}".encode(),
    ]


@pytest.mark.parametrize(("shop_id", "encoded"), [(".", "%2E"), ("..", "%2E%2E")])
async def test_a_dot_segment_shop_id_stays_inside_its_path(shop_id: str, encoded: str) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route().respond(200, json={"data": []})
        async with AsyncPancakeClient(
            "sk_test_key", shop_id, base_url="http://127.0.0.1:8765/api/v1"
        ) as client:
            await client.webhooks.list()

    assert route.calls.last.request.url.raw_path.split(b"?")[0] == (
        f"/api/v1/shops/{encoded}/webhooks".encode()
    )
