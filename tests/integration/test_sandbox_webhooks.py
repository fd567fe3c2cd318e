"""The SDK against a running sandbox over real sockets: every webhook operation, with real signed
deliveries received and verified by a real receiver. Every answer is checked against the
document by the `spec_check` fixture."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
)
from pancake_pos.models import DeliveryStatus, HealthState, WebhookEvent
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver
from pancake_pos.signing import WebhookVerifier

Eventually = Callable[..., Awaitable[Any]]


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


async def test_create_get_list_update_set_active_delete(client: AsyncPancakeClient) -> None:
    created = await client.webhooks.create(
        url="https://shop.example.com/hooks/orders",
        events=[WebhookEvent.ORDER_CREATED, "order.status_changed"],
        description="Orders",
    )
    assert created.id.startswith("wh_")
    assert created.secret_key is not None
    assert created.secret_key.startswith("whsec_")
    assert created.is_active is True
    assert created.health_status.status == HealthState.HEALTHY
    assert created.health_status.success_rate == 100

    second = await client.webhooks.create(url="http://127.0.0.1:9/x", events=["customer.created"])
    listed = await client.webhooks.list()
    assert [hook.id for hook in listed.data] == [second.id, created.id]  # newest first
    assert all(hook.secret_key is None for hook in listed.data)

    fetched = await client.webhooks.get_by_id(created.id)
    assert fetched.secret_key == created.secret_key
    assert fetched.description == "Orders"

    updated = await client.webhooks.update(created.id, events=["order.cancelled"], description=None)
    assert updated.events == [WebhookEvent.ORDER_CANCELLED]
    assert updated.description is None
    assert updated.url == created.url  # left out, kept

    disabled = await client.webhooks.set_active(created.id, False)
    assert disabled.is_active is False
    assert (await client.webhooks.get_by_id(created.id)).is_active is False

    assert await client.webhooks.delete(created.id) is None
    with pytest.raises(NotFoundError) as caught:
        await client.webhooks.get_by_id(created.id)
    assert caught.value.code == "not_found"
    assert caught.value.request_id
    assert [hook.id for hook in (await client.webhooks.list()).data] == [second.id]


async def test_a_test_delivery_is_signed_received_and_recorded(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)

    result = await client.webhooks.test(webhook.id, "order.created", {"order_id": "test-123"})

    assert result.status == DeliveryStatus.SUCCESS
    assert result.response is not None
    assert result.response.status_code == 200
    [received] = receiver.received
    assert received.verified
    assert received.payload is not None
    assert received.payload["data"] == {"order_id": "test-123"}
    assert received.payload["id"] == received.event_id
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"].startswith("pancake-pos-sandbox/")
    event = WebhookVerifier(webhook.secret_key).verify(received.body, received.headers)
    assert event.shop_id == client.shop_id

    delivery = await client.webhooks.get_delivery_by_id(result.delivery_id)
    assert delivery.status == DeliveryStatus.SUCCESS
    assert delivery.webhook_id == webhook.id
    assert delivery.payload["id"] == received.event_id
    assert delivery.response is not None
    assert delivery.response.status_code == 200
    assert delivery.response.headers["content-type"] == "application/json"
    assert delivery.duration_ms >= 0
    refreshed = await client.webhooks.get_by_id(webhook.id)
    assert refreshed.last_triggered_at is not None
    assert refreshed.health_status.last_success_at is not None


async def test_a_failed_test_is_reported_and_never_retried(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)
    receiver.fail_next(1, status=500)

    result = await client.webhooks.test(webhook.id, WebhookEvent.ORDER_CREATED)

    assert result.status == DeliveryStatus.FAILED
    assert result.failure_reason == "HTTP 500 from receiver"
    assert result.response is not None
    assert result.response.status_code == 500
    assert (await client.webhooks.get_pending_deliveries()).total_count == 0
    assert receiver.received[0].payload is not None
    assert receiver.received[0].payload["data"]["status_name"] == "new"  # no payload: a sample


async def test_unreachable_receiver_fails_with_connection_refused(
    client: AsyncPancakeClient,
) -> None:
    webhook = await client.webhooks.create(
        url="http://127.0.0.1:9/nobody", events=["order.created"]
    )
    result = await client.webhooks.test(webhook.id, "order.created")
    assert result.status == DeliveryStatus.FAILED
    assert result.failure_reason == "connection refused"
    assert result.response is None
    delivery = await client.webhooks.get_delivery_by_id(result.delivery_id)
    assert delivery.response is None


async def test_events_go_to_active_subscribed_webhooks_only(
    client: AsyncPancakeClient,
    raw: httpx.AsyncClient,
    receiver: RecordingReceiver,
    eventually: Eventually,
) -> None:
    subscribed = await client.webhooks.create(url=receiver.url, events=["order.created"])
    inactive = await client.webhooks.create(
        url=receiver.url, events=["order.created"], is_active=False
    )
    other = await client.webhooks.create(url=receiver.url, events=["customer.created"])
    for hook in (subscribed, inactive, other):
        assert hook.secret_key is not None
        receiver.trust(hook.secret_key)

    answer = await raw.post("/sandbox/events", json={"event": "order.created", "data": {"n": 1}})

    assert answer.status_code == 202
    assert answer.json()["webhook_ids"] == [subscribed.id]
    [received] = receiver.wait_for(1)
    assert received.verified
    assert received.event_id == answer.json()["id"]
    page = await eventually(
        lambda: client.webhooks.list_deliveries(webhook_id=subscribed.id),
        lambda page: page.total == 1,
    )
    assert page.data[0].status == DeliveryStatus.SUCCESS
    assert page.data[0].attempt == 1
    assert (await client.webhooks.list_deliveries(webhook_id=inactive.id)).total == 0


async def test_automatic_retry_is_pending_then_becomes_a_delivery(
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
    receiver: RecordingReceiver,
    eventually: Eventually,
) -> None:
    sandbox = make_sandbox(retry_schedule=(0.5,))
    client = make_client(sandbox)
    webhook = await client.webhooks.create(url=receiver.url, events=["product.created"])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)
    receiver.fail_next(1, status=503)
    async with httpx.AsyncClient(params={"api_key": sandbox.api_key}) as http:
        emitted = await http.post(
            f"{sandbox.base_url}/shops/{sandbox.shop_id}/sandbox/events",
            json={"event": "product.created"},
        )
    assert emitted.status_code == 202

    pending = await eventually(
        client.webhooks.get_pending_deliveries, lambda pending: pending.total_count == 1
    )
    [retry] = pending.deliveries
    assert retry.status == DeliveryStatus.PENDING
    assert retry.response is None
    assert retry.next_attempt_at is not None
    assert retry.attempt == 2
    first = (await client.webhooks.list_deliveries(webhook_id=webhook.id)).data[0]
    assert first.status == DeliveryStatus.FAILED
    assert first.failure_reason == "HTTP 503 from receiver"

    received = receiver.wait_for(2)
    assert [delivery.status_code for delivery in received] == [503, 200]
    assert received[0].event_id == received[1].event_id == emitted.json()["id"]
    done = await eventually(
        lambda: client.webhooks.get_delivery_by_id(retry.id),
        lambda delivery: delivery.status != DeliveryStatus.PENDING,
    )
    assert done.status == DeliveryStatus.SUCCESS
    assert done.attempt == 2
    assert (await client.webhooks.get_pending_deliveries()).total_count == 0
    assert (await client.webhooks.list_deliveries(webhook_id=webhook.id)).total == 2


async def test_retry_delivery_sends_the_same_event_again(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)
    receiver.fail_next(1)
    failed = await client.webhooks.test(webhook.id, "order.created", {"order_id": "9"})
    assert failed.status == DeliveryStatus.FAILED

    retried = await client.webhooks.retry_delivery(failed.delivery_id)

    assert retried.status == DeliveryStatus.SUCCESS
    assert retried.delivery_id != failed.delivery_id
    first, second = receiver.received
    assert first.event_id == second.event_id
    assert second.verified
    new = await client.webhooks.get_delivery_by_id(retried.delivery_id)
    assert new.attempt == 2
    assert new.payload == (await client.webhooks.get_delivery_by_id(failed.delivery_id)).payload


async def test_rotation_signs_with_both_secrets_during_the_grace_period(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    old_secret = webhook.secret_key
    assert old_secret is not None

    rotated = await client.webhooks.rotate_secret(webhook.id)
    receiver.trust(rotated.secret_key)
    await client.webhooks.test(webhook.id, "order.created")

    assert rotated.secret_key != old_secret
    assert (await client.webhooks.get_by_id(webhook.id)).secret_key == rotated.secret_key
    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    WebhookVerifier(old_secret).verify_signature(received.body, received.headers)
    WebhookVerifier(rotated.secret_key).verify_signature(received.body, received.headers)


async def test_without_grace_only_the_new_secret_signs(
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
    receiver: RecordingReceiver,
) -> None:
    client = make_client(make_sandbox(rotation_grace=0))
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    rotated = await client.webhooks.rotate_secret(webhook.id)
    receiver.trust(rotated.secret_key)
    await client.webhooks.test(webhook.id, "order.created")
    [received] = receiver.received
    assert received.verified
    assert len(received.headers["webhook-signature"].split(" ")) == 1


async def test_stats_and_health_follow_the_deliveries(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)
    receiver.fail_next(1)
    for event in ("order.created", "order.created", "customer.created"):
        await client.webhooks.test(webhook.id, event)

    stats = await client.webhooks.get_stats(webhook.id, from_date=today(), to_date=today())

    assert stats.total_deliveries == 3
    assert stats.success_count == 2
    assert stats.failure_count == 1
    assert stats.event_counts == {"order.created": 2, "customer.created": 1}
    assert stats.average_duration_ms >= 0
    assert sum(hour.total for hour in stats.hourly_stats) == 3
    assert [hour.hour for hour in stats.hourly_stats] == sorted(h.hour for h in stats.hourly_stats)
    assert all(hour.hour.minute == 0 and hour.hour.second == 0 for hour in stats.hourly_stats)
    yesterday = today() - datetime.timedelta(days=1)
    empty = await client.webhooks.get_stats(webhook.id, from_date=yesterday, to_date=yesterday)
    assert empty.total_deliveries == 0
    assert empty.hourly_stats == []
    assert empty.average_duration_ms == 0

    health = (await client.webhooks.get_by_id(webhook.id)).health_status
    assert health.success_rate == pytest.approx(66.67)
    assert health.status == HealthState.ERROR
    assert health.last_failure_reason == "HTTP 500 from receiver"
    assert health.last_failure_at is not None
    assert health.last_success_at is not None


async def test_list_and_iterate_deliveries_with_filters(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    other = await client.webhooks.create(url=receiver.url, events=["order.created"])
    for hook in (webhook, other):
        assert hook.secret_key is not None
        receiver.trust(hook.secret_key)
    receiver.fail_next(2)
    ids = [(await client.webhooks.test(webhook.id, "order.created")).delivery_id for _ in range(5)]
    await client.webhooks.test(other.id, "customer.created")

    page = await client.webhooks.list_deliveries(webhook_id=webhook.id, page_size=2)
    assert (page.total, page.total_pages, page.page_number, page.page_size) == (5, 3, 1, 2)
    assert [delivery.id for delivery in page.data] == ids[::-1][:2]  # newest first
    past_the_end = await client.webhooks.list_deliveries(webhook_id=webhook.id, page_number=4)
    assert past_the_end.data == []

    walked = [
        d.id async for d in client.webhooks.iter_deliveries(webhook_id=webhook.id, page_size=2)
    ]
    assert walked == ids[::-1]
    failed = await client.webhooks.list_deliveries(status="failed")
    assert {delivery.id for delivery in failed.data} == set(ids[:2])
    customers = await client.webhooks.list_deliveries(event="customer.created")
    assert [delivery.webhook_id for delivery in customers.data] == [other.id]
    assert (await client.webhooks.list_deliveries(from_date=today(), to_date=today())).total == 6
    tomorrow = today() + datetime.timedelta(days=1)
    assert (await client.webhooks.list_deliveries(from_date=tomorrow)).total == 0


async def test_clear_history_deletes_as_filtered(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)
    receiver.fail_next(2)
    for _ in range(5):
        await client.webhooks.test(webhook.id, "order.created")

    before_today = await client.webhooks.clear_delivery_history(webhook.id, before_date=today())
    assert before_today.deleted_count == 0  # before_date is exclusive
    failed = await client.webhooks.clear_delivery_history(webhook.id, status="failed")
    assert failed.deleted_count == 2
    everything = await client.webhooks.clear_delivery_history(webhook.id)
    assert everything.deleted_count == 3
    assert (await client.webhooks.list_deliveries(webhook_id=webhook.id)).total == 0


async def test_errors_are_typed_and_carry_the_envelope(
    sandbox: SandboxServer, client: AsyncPancakeClient
) -> None:
    with pytest.raises(NotFoundError) as missing_webhook:
        await client.webhooks.get_by_id("wh_missing")
    assert missing_webhook.value.status_code == 404
    assert missing_webhook.value.code == "not_found"
    with pytest.raises(NotFoundError):
        await client.webhooks.get_delivery_by_id("dlv_missing")
    with pytest.raises(NotFoundError):
        await client.webhooks.retry_delivery("dlv_missing")

    async with AsyncPancakeClient(
        "sk_wrong", sandbox.shop_id, base_url=sandbox.base_url, http_client=client.http_client
    ) as bad_key:
        with pytest.raises(AuthenticationError) as unauthorized:
            await bad_key.webhooks.get_by_id("wh_missing")  # 401 comes before 404
    assert unauthorized.value.code == "unauthorized"
    assert "sk_wrong" not in str(unauthorized.value)
    async with AsyncPancakeClient(
        sandbox.api_key, "shop_other", base_url=sandbox.base_url, http_client=client.http_client
    ) as other_shop:
        with pytest.raises(NotFoundError) as unknown_shop:
            await other_shop.webhooks.list()
    assert unknown_shop.value.body is not None


async def test_the_same_idempotency_key_creates_one_webhook(client: AsyncPancakeClient) -> None:
    first = await client.webhooks.create(
        url="http://127.0.0.1:9/a", events=["order.created"], idempotency_key="create-once"
    )
    again = await client.webhooks.create(
        url="http://127.0.0.1:9/a", events=["order.created"], idempotency_key="create-once"
    )
    assert again.id == first.id
    assert [hook.id for hook in (await client.webhooks.list()).data] == [first.id]
    with pytest.raises(ConflictError) as conflict:
        await client.webhooks.create(
            url="http://127.0.0.1:9/other", events=["order.created"], idempotency_key="create-once"
        )
    assert conflict.value.code == "idempotency_conflict"


async def test_state_survives_a_restart_with_a_database_file(
    tmp_path: Any,
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
    receiver: RecordingReceiver,
) -> None:
    database = tmp_path / "sandbox.db"
    first = make_sandbox(db=database)
    client = make_client(first)
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    result = await client.webhooks.test(webhook.id, "order.created")
    first.stop()

    second = make_sandbox(db=database, api_key=first.api_key, shop_id=first.shop_id)
    again = make_client(second)
    assert (await again.webhooks.get_by_id(webhook.id)).secret_key == webhook.secret_key
    delivery = await again.webhooks.get_delivery_by_id(result.delivery_id)
    assert delivery.webhook_id == webhook.id
    assert [hook.id for hook in (await again.webhooks.list()).data] == [webhook.id]
