"""What each operation does through the sync `PancakeClient`, against a running sandbox: the same
operations without `await`, real deliveries verified by the receiver, retries through injected
faults. Every answer the sandbox gives is checked against the document by the sandbox fixture's
observer (`spec_check`).

The facade's own life (threads, closing, exit, Ctrl-C) is in test_sync_client_lifecycle.py."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from pancake_pos._sync import PancakeClient
from pancake_pos.errors import APIConnectionError, NotFoundError
from pancake_pos.models import DeliveryStatus, WebhookEvent
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver
from pancake_pos.signing import WebhookVerifier


@pytest.fixture
def sync_client(sandbox: SandboxServer) -> Iterator[PancakeClient]:
    with PancakeClient(sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url) as client:
        yield client


def test_every_operation_without_await(
    sandbox: SandboxServer, sync_client: PancakeClient, receiver: RecordingReceiver
) -> None:
    webhooks = sync_client.webhooks
    created = webhooks.create(url=receiver.url, events=[WebhookEvent.ORDER_CREATED])
    assert created.secret_key is not None
    receiver.trust(created.secret_key)
    assert [hook.id for hook in webhooks.list().data] == [created.id]
    assert webhooks.get_by_id(created.id).secret_key == created.secret_key
    assert webhooks.update(created.id, description="sync").description == "sync"
    assert webhooks.set_active(created.id, True).is_active is True

    receiver.fail_next(1)
    failed = webhooks.test(created.id, "order.created", {"order_id": "s-1"})
    assert failed.status == DeliveryStatus.FAILED
    retried = webhooks.retry_delivery(failed.delivery_id)
    assert retried.status == DeliveryStatus.SUCCESS
    first, second = receiver.received
    assert first.event_id == second.event_id
    WebhookVerifier(created.secret_key).verify(second.body, second.headers)

    rotated = webhooks.rotate_secret(created.id)
    receiver.trust(rotated.secret_key)
    assert webhooks.test(created.id, "order.created").status == DeliveryStatus.SUCCESS

    today = datetime.datetime.now(datetime.UTC).date()
    stats = webhooks.get_stats(created.id, from_date=today, to_date=today)
    assert (stats.total_deliveries, stats.success_count) == (3, 2)
    page = webhooks.list_deliveries(webhook_id=created.id, page_size=2)
    assert (page.total, page.total_pages) == (3, 2)
    walked = [delivery.id for delivery in webhooks.iter_deliveries(page_size=1)]
    assert len(walked) == len(set(walked)) == 3
    assert webhooks.get_delivery_by_id(walked[0]).id == walked[0]
    assert webhooks.get_pending_deliveries().total_count == 0
    assert webhooks.clear_delivery_history(created.id, status="failed").deleted_count == 1

    assert webhooks.delete(created.id) is None
    with pytest.raises(NotFoundError):
        webhooks.get_by_id(created.id)


@pytest.mark.slow  # real retry back-off
def test_sync_retries_through_faults_and_a_lost_answer(
    sandbox: SandboxServer, sync_client: PancakeClient
) -> None:
    sandbox.inject_fault("503", retry_after=0)
    sandbox.inject_fault("drop")
    assert sync_client.webhooks.list().data == []

    path = f"/api/v1/shops/{sandbox.shop_id}/webhooks"
    sandbox.inject_fault("drop_after", method="POST", path=path)
    arguments = {"url": "http://127.0.0.1:9/s", "events": ["order.created"]}
    with pytest.raises(APIConnectionError):
        sync_client.webhooks.create(**arguments, idempotency_key="sync-lost")
    again = sync_client.webhooks.create(**arguments, idempotency_key="sync-lost")
    assert [hook.id for hook in sync_client.webhooks.list().data] == [again.id]
