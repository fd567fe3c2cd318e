"""`client.webhooks.recover()`: event-level recovery after a receiver outage, against a real
sandbox and a real receiver."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from pancake_pos import AsyncPancakeClient, NotFoundError, PancakeClient, RecoverResult
from pancake_pos.models import Webhook
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver

TODAY = datetime.datetime.now(datetime.UTC).date()
Eventually = Callable[..., Awaitable[Any]]


@pytest.fixture
def sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    # Automatic retries ten minutes away: an emitted event that fails stays pending.
    return make_sandbox(retry_schedule=(600,))


async def _webhook(client: AsyncPancakeClient, receiver: RecordingReceiver) -> Webhook:
    hook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    assert hook.secret_key is not None
    receiver.trust(hook.secret_key)
    return hook


async def _test_event(client: AsyncPancakeClient, hook: Webhook, number: int) -> tuple[str, str]:
    """A test delivery (never retried automatically); returns (event id, delivery id)."""
    result = await client.webhooks.test(hook.id, "order.created", {"number": number})
    delivery = await client.webhooks.get_delivery_by_id(result.delivery_id)
    return str(delivery.payload["id"]), delivery.id


async def _outage_history(
    client: AsyncPancakeClient,
    receiver: RecordingReceiver,
    raw: httpx.AsyncClient,
    eventually: Eventually,
) -> tuple[Webhook, dict[str, Any]]:
    """A webhook's history with every kind of event recovery must tell apart."""
    hook = await _webhook(client, receiver)
    delivered = [(await _test_event(client, hook, n))[0] for n in range(2)]

    receiver.fail_next(1)  # failed, then a manual retry got it through
    late, late_attempt = await _test_event(client, hook, 10)
    assert (await client.webhooks.retry_delivery(late_attempt)).status == "success"

    receiver.fail_next(2)  # failed twice: its latest failed attempt is the retry
    twice, first_attempt = await _test_event(client, hook, 20)
    retried_again = await client.webhooks.retry_delivery(first_attempt)
    assert retried_again.status == "failed"

    receiver.fail_next(3)  # the outage
    outage = [(await _test_event(client, hook, 30 + n))[0] for n in range(3)]

    receiver.fail_next(1)  # an emitted event whose automatic retry is still to come
    answer = await raw.post("/sandbox/events", json={"event": "order.created", "data": {}})
    assert answer.status_code == 202
    waiting = answer.json()["id"]
    await eventually(
        lambda: client.webhooks.list_deliveries(webhook_id=hook.id, page_size=1),
        lambda page: page.total == 2 + 2 + 2 + 3 + 1,
    )
    return hook, {
        "delivered": [*delivered, late],
        "to_retry": [twice, *outage],
        "pending": waiting,
        "latest_failed_of_twice": retried_again.delivery_id,
    }


async def test_recover_retries_each_undelivered_event_once_oldest_first(
    client: AsyncPancakeClient,
    receiver: RecordingReceiver,
    raw: httpx.AsyncClient,
    eventually: Eventually,
) -> None:
    hook, history = await _outage_history(client, receiver, raw, eventually)
    received_before = len(receiver.received)

    dry = await client.webhooks.recover(hook.id, since=TODAY, dry_run=True)
    assert dry == RecoverResult(
        events_seen=8,
        already_delivered=3,
        pending=1,
        retried=4,
        recovered=0,
        still_failing=4,
        event_ids_still_failing=history["to_retry"],
        dry_run=True,
    )
    assert len(receiver.received) == received_before  # a dry run sends nothing

    progress: list[tuple[str, int, int | None]] = []
    result = await client.webhooks.recover(
        hook.id, since=TODAY, on_progress=lambda *step: progress.append(step)
    )
    assert result == RecoverResult(
        events_seen=8,
        already_delivered=3,
        pending=1,
        retried=4,
        recovered=4,
        still_failing=0,
        event_ids_still_failing=[],
    )
    resent = receiver.received[received_before:]
    assert [delivery.event_id for delivery in resent] == history["to_retry"]  # oldest first
    assert all(delivery.verified for delivery in resent)
    assert progress[-1] == ("retrying", 4, 4)
    assert ("reading", 10, None) in progress

    again = await client.webhooks.recover(hook.id, since=TODAY)
    assert (again.retried, again.already_delivered, again.pending) == (0, 7, 1)
    assert len(receiver.received) == received_before + 4


async def test_recover_retries_the_latest_failed_attempt(
    client: AsyncPancakeClient,
    receiver: RecordingReceiver,
    raw: httpx.AsyncClient,
    eventually: Eventually,
) -> None:
    hook, history = await _outage_history(client, receiver, raw, eventually)
    receiver.fail_next(4)  # still down: every retry fails again
    result = await client.webhooks.recover(hook.id, since=TODAY.isoformat())
    assert (result.retried, result.recovered, result.still_failing) == (4, 0, 4)
    assert result.event_ids_still_failing == history["to_retry"]
    twice = history["to_retry"][0]
    attempts = [
        delivery
        async for delivery in client.webhooks.iter_deliveries(webhook_id=hook.id)
        if delivery.payload["id"] == twice
    ]
    assert [delivery.attempt for delivery in attempts] == [3, 2, 1]  # one new attempt, no more


async def test_recover_counts_a_retry_that_could_not_be_sent_and_goes_on(
    sandbox: SandboxServer,
    client: AsyncPancakeClient,
    receiver: RecordingReceiver,
) -> None:
    hook = await _webhook(client, receiver)
    receiver.fail_next(3)
    failed = [(await _test_event(client, hook, n))[0] for n in range(3)]
    sandbox.inject_fault("drop", count=1, path="/api/v1/shops/", method="POST")
    result = await client.webhooks.recover(hook.id, since=TODAY)
    assert (result.retried, result.recovered, result.still_failing) == (3, 2, 1)
    assert result.event_ids_still_failing == failed[:1]
    assert list(result.errors) == failed[:1]
    assert sandbox.api_key not in repr(result)


async def test_recover_reads_only_the_window_but_sees_later_successes(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    hook = await _webhook(client, receiver)
    receiver.fail_next(1)
    _, attempt = await _test_event(client, hook, 1)
    moment = datetime.datetime.now(datetime.UTC)
    yesterday = TODAY - datetime.timedelta(days=1)
    assert (
        await client.webhooks.recover(hook.id, since=yesterday, until=yesterday)
    ).events_seen == 0
    later = await client.webhooks.recover(hook.id, since=moment)
    assert later.events_seen == 0  # its only attempt was before `since`
    assert (await client.webhooks.retry_delivery(attempt)).status == "success"
    until_then = await client.webhooks.recover(hook.id, since=TODAY, until=moment)
    assert (until_then.events_seen, until_then.already_delivered, until_then.retried) == (1, 1, 0)


async def test_an_event_delivered_before_since_is_not_retried_for_a_later_failure(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    # Delivered, then someone retried it by hand while the receiver was down: the event was
    # delivered all the same (its earlier attempt succeeded), so recovery leaves it alone.
    hook = await _webhook(client, receiver)
    _, attempt = await _test_event(client, hook, 1)
    moment = datetime.datetime.now(datetime.UTC)
    receiver.fail_next(1)
    assert (await client.webhooks.retry_delivery(attempt)).status == "failed"

    result = await client.webhooks.recover(hook.id, since=moment)

    assert (result.events_seen, result.already_delivered, result.retried) == (1, 1, 0)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"since": "2024-4-1"}, ValueError, "since must be a day as 'YYYY-MM-DD'"),
        ({"since": datetime.datetime(2024, 4, 1)}, ValueError, "timezone-aware"),
        ({"since": "2024-04-02", "until": "2024-04-01"}, ValueError, "must not be after"),
        ({"since": 20240401}, TypeError, "since must be a datetime.date"),
    ],
)
async def test_recover_refuses_bad_arguments_before_sending(
    client: AsyncPancakeClient, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await client.webhooks.recover("wh_1", **arguments)
    with pytest.raises(ValueError, match="webhook_id must not be empty"):
        await client.webhooks.recover("", since=TODAY)


def test_the_sync_client_recovers_too(sandbox: SandboxServer, receiver: RecordingReceiver) -> None:
    with PancakeClient(sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url) as client:
        hook = client.webhooks.create(url=receiver.url, events=["order.created"])
        assert hook.secret_key is not None
        receiver.trust(hook.secret_key)
        receiver.fail_next(2)
        for number in range(2):
            assert client.webhooks.test(hook.id, "order.created", {"n": number}).status == "failed"
        result = client.webhooks.recover(hook.id, since=TODAY)
        assert (result.retried, result.recovered) == (2, 2)
        assert client.webhooks.recover(hook.id, since=TODAY).retried == 0


async def test_recover_names_a_webhook_that_does_not_exist(client: AsyncPancakeClient) -> None:
    with pytest.raises(NotFoundError):
        await client.webhooks.recover("wh_no_such_webhook", since=TODAY)


async def test_recover_reads_the_history_once(
    sandbox: SandboxServer, receiver: RecordingReceiver
) -> None:
    paths: list[str] = []

    async def record(request: httpx.Request) -> None:
        paths.append(f"{request.method} {request.url.path.split(sandbox.shop_id)[-1]}")

    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as http,
        AsyncPancakeClient(
            sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url, http_client=http
        ) as client,
    ):
        hook = await _webhook(client, receiver)
        receiver.fail_next(150)
        for number in range(150):  # two pages of history
            await _test_event(client, hook, number)
        paths.clear()
        result = await client.webhooks.recover(hook.id, since=TODAY, dry_run=True)
    assert result.retried == 150
    assert paths.count("GET /webhook-deliveries") == 2
    assert paths.count("GET /webhook-deliveries/pending") == 2  # before and after the walk
    assert not [path for path in paths if path.startswith("POST")]
