"""The sandbox's delivery queue: every emitted event delivered and stored, and one receiver that
hangs (or is gone) takes nothing from the others."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.models import DeliveryStatus
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver
from pancake_pos.sandbox._store import DeliveryFilters


@pytest.fixture
def hanging_url() -> Iterator[tuple[str, socket.socket]]:
    """A receiver that never answers: it listens but never accepts, so connections queue up in
    the kernel and requests get no reply. Closing the socket makes it gone."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", listener
    finally:
        listener.close()


async def _register(client: AsyncPancakeClient, receiver: RecordingReceiver, event: str) -> str:
    webhook = await client.webhooks.create(url=receiver.url, events=[event])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)
    return webhook.id


def _stored(
    sandbox: SandboxServer, webhook_id: str, *, at_least: int = 0
) -> list[tuple[str, str, str | None]]:
    """(event id, status, failure reason) of every stored delivery of the webhook, once there
    are `at_least` (an attempt is stored just after its answer arrives)."""
    assert sandbox.app is not None
    store = sandbox.app.state.store
    deadline = time.monotonic() + 30
    while True:
        deliveries, total = store.list_deliveries(
            sandbox.shop_id, DeliveryFilters(webhook_id=webhook_id), page_size=10**6, page_number=1
        )
        if total >= at_least or time.monotonic() > deadline:
            return [(d.event_id, d.status, d.failure_reason) for d in deliveries]
        time.sleep(0.02)


async def _emit_and_check_all_delivered(
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
    count: int,
) -> None:
    sandbox = make_sandbox(retry_schedule=())
    client = make_client(sandbox)
    with RecordingReceiver() as receiver:
        webhook_id = await _register(client, receiver, "order.created")
        event_ids = {sandbox.emit("order.created") for _ in range(count)}
        received = receiver.wait_for(count, timeout=max(30.0, count / 20))
        stored = _stored(sandbox, webhook_id, at_least=count)
    assert len(event_ids) == count
    assert {delivery.event_id for delivery in received} == event_ids  # each arrived...
    assert len(received) == count  # ...once
    assert all(delivery.verified for delivery in received)
    assert sorted(event_id for event_id, _, _ in stored) == sorted(event_ids)
    assert {status for _, status, _ in stored} == {"success"}
    assert (await client.webhooks.get_pending_deliveries()).total_count == 0


async def test_emitted_events_are_all_delivered_once_and_stored(
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
) -> None:
    await _emit_and_check_all_delivered(make_sandbox, make_client, 300)


@pytest.mark.slow
async def test_ten_thousand_emitted_events_are_all_delivered_and_stored(
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
) -> None:
    await _emit_and_check_all_delivered(make_sandbox, make_client, 10_000)


async def test_a_hanging_receiver_takes_nothing_from_a_healthy_one(
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
    hanging_url: tuple[str, socket.socket],
) -> None:
    url, listener = hanging_url
    sandbox = make_sandbox(retry_schedule=(), delivery_timeout=1.0)
    client = make_client(sandbox)
    hanging = await client.webhooks.create(url=url, events=["order.created"])
    with RecordingReceiver() as receiver:
        healthy = await _register(client, receiver, "customer.created")
        # A burst to the hanging receiver: far more than every delivery slot at once.
        for _ in range(400):
            sandbox.emit("order.created")
        during = {sandbox.emit("customer.created") for _ in range(10)}
        assert {d.event_id for d in receiver.wait_for(10)} == during

        listener.close()  # the hanging receiver is gone; its deliveries keep failing
        after = {sandbox.emit("customer.created") for _ in range(10)}
        test = await client.webhooks.test(healthy, "customer.created")
        assert test.status == DeliveryStatus.SUCCESS
        received = receiver.wait_for(21)
    assert {d.event_id for d in received} >= during | after
    stored = _stored(sandbox, healthy, at_least=21)
    assert len(stored) == 21
    assert {status for _, status, _ in stored} == {"success"}  # never a timeout recorded
    # What the hanging receiver got was recorded for what it was: timeouts, then connections
    # reset or refused once it was gone.
    reasons = {reason or "" for _, _, reason in _stored(sandbox, hanging.id)}
    assert reasons
    assert all(reason.startswith(("timeout", "connection")) for reason in reasons), reasons


@pytest.mark.slow  # waits past a retry due in 1 s
async def test_a_disabled_webhook_keeps_its_pending_deliveries_until_enabled(
    make_sandbox: Callable[..., SandboxServer],
    make_client: Callable[..., AsyncPancakeClient],
    eventually: Callable[..., Awaitable[Any]],
) -> None:
    sandbox = make_sandbox(retry_schedule=(1.0,))
    client = make_client(sandbox)
    with RecordingReceiver() as receiver:
        webhook_id = await _register(client, receiver, "order.created")
        receiver.fail_next(1, status=503)
        event_id = sandbox.emit("order.created")
        receiver.wait_for(1)
        await client.webhooks.set_active(webhook_id, False)
        pending = await eventually(
            client.webhooks.get_pending_deliveries, lambda found: found.total_count == 1
        )
        assert [d.attempt for d in pending.deliveries] == [2]
        await asyncio.sleep(1.3)  # past the retry's time: nothing is sent while disabled
        assert len(receiver.received) == 1
        await client.webhooks.set_active(webhook_id, True)
        [first, retry] = receiver.wait_for(2)
    assert (first.status_code, retry.status_code) == (503, 200)
    assert first.event_id == retry.event_id == event_id
    assert (await client.webhooks.get_pending_deliveries()).total_count == 0
