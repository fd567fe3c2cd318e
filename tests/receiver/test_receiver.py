"""WebhookReceiver.handle: the four steps, their outcomes and status codes, with every store."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from receiving import SECRET, make_delivery

from pancake_pos.events import CustomerEvent, Event, OrderEvent, UnknownEvent
from pancake_pos.receiver import (
    Claim,
    ClaimState,
    EventStore,
    HandleResult,
    MemoryStore,
    Outcome,
    ReplayReport,
    StoreUnavailableError,
    WebhookReceiver,
)
from pancake_pos.signing import generate_secret


def receiver_with(store: EventStore | None = None, **options: Any) -> WebhookReceiver:
    return WebhookReceiver(SECRET, store=store, **options)


async def test_an_authentic_delivery_is_processed_once_then_a_duplicate(
    store: EventStore,
) -> None:
    receiver = receiver_with(store)
    seen: list[Event] = []

    @receiver.on("order.created")
    async def on_order(event: OrderEvent) -> None:
        seen.append(event)

    body, headers = make_delivery()
    result = await receiver.handle(body, headers)
    assert (result.outcome, result.status_code) == (Outcome.PROCESSED, 200)
    assert result.event_id == headers["webhook-id"]
    assert isinstance(result.event, OrderEvent)
    assert result.json() == b'{"outcome": "processed"}'
    again = await receiver.handle(body, headers)
    assert (again.outcome, again.status_code) == (Outcome.DUPLICATE, 200)
    assert len(seen) == 1
    assert isinstance(seen[0], OrderEvent)
    assert seen[0].data.id == 1024


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda b, h: (b + b" ", h), "no signature matched"),
        (lambda b, h: (b, {**h, "webhook-timestamp": "1000"}), "too old"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-id"}), "missing"),
        (lambda b, h: (b, {}), "missing"),
    ],
    ids=["forged", "stale", "no id", "no headers"],
)
async def test_an_inauthentic_delivery_is_rejected_401_and_nothing_runs_or_is_stored(
    tamper: Any, reason: str
) -> None:
    store = MemoryStore()
    receiver = receiver_with(store)
    ran: list[Event] = []
    receiver.on("order.*")(ran.append)
    body, headers = make_delivery()
    bad_body, bad_headers = tamper(body, headers)
    result = await receiver.handle(bad_body, bad_headers)
    assert (result.outcome, result.status_code) == (Outcome.REJECTED, 401)
    assert result.reason is not None
    assert reason in result.reason
    assert SECRET.removeprefix("whsec_") not in result.reason
    assert ran == []
    assert repr(store) == "MemoryStore(<0 event(s)>)"
    assert (await receiver.handle(body, headers)).outcome is Outcome.PROCESSED


def signed_raw(body: bytes, msg_id: str = "msg_raw") -> tuple[bytes, dict[str, str]]:
    import time

    from pancake_pos.signing import build_headers

    return body, build_headers(SECRET, msg_id, int(time.time()), body)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        json.dumps({"id": "msg_raw", "event": "order.created"}).encode(),
        json.dumps(
            {
                "id": "msg_other",
                "event": "order.created",
                "shop_id": "s",
                "created_at": "2024-04-29T10:15:00Z",
                "data": {},
            }
        ).encode(),
    ],
    ids=["not json", "array", "not utf-8", "no envelope", "id mismatch"],
)
async def test_a_signed_body_that_is_not_a_payload_is_rejected_400(body: bytes) -> None:
    receiver = receiver_with()
    ran: list[Event] = []
    receiver.on_unhandled(ran.append)
    result = await receiver.handle(*signed_raw(body))
    assert (result.outcome, result.status_code) == (Outcome.REJECTED, 400)
    assert result.event_id == "msg_raw"
    assert ran == []


async def test_no_handler_is_ignored_and_remembered() -> None:
    receiver = receiver_with()
    receiver.on("customer.*")(lambda event: None)
    delivery = make_delivery("order.created")
    result = await receiver.handle(*delivery)
    assert (result.outcome, result.status_code) == (Outcome.IGNORED, 200)
    assert (await receiver.handle(*delivery)).outcome is Outcome.DUPLICATE


async def test_the_unhandled_handler_takes_what_nothing_else_matches() -> None:
    receiver = receiver_with()
    unhandled: list[Event] = []
    orders: list[Event] = []
    receiver.on("order.*")(orders.append)
    receiver.on_unhandled(unhandled.append)
    assert (await receiver.handle(*make_delivery("refund.created", {"x": 1}))).outcome is (
        Outcome.PROCESSED
    )
    await receiver.handle(*make_delivery("order.created"))
    assert [type(e) for e in unhandled] == [UnknownEvent]
    assert [type(e) for e in orders] == [OrderEvent]


async def test_handlers_run_in_registration_order_once_each_exact_or_group() -> None:
    receiver = receiver_with()
    calls: list[str] = []

    @receiver.on("customer.*")
    async def first(event: CustomerEvent) -> None:
        calls.append("first")

    @receiver.on("customer.created", "customer.*")  # matches twice: runs once
    def second(event: CustomerEvent) -> None:
        calls.append("second")

    receiver.on("customer.created")(second)  # registered again: still once
    receiver.on("customer.updated")(lambda event: calls.append("updated only"))
    receiver.on("order.created")(lambda event: calls.append("orders"))

    await receiver.handle(*make_delivery("customer.created", {"name": "Lan"}))
    assert calls == ["first", "second"]


async def test_a_method_registered_twice_runs_once() -> None:
    receiver = receiver_with()
    calls: list[str] = []

    class Orders:
        def handle(self, event: OrderEvent) -> None:
            calls.append("method")

    orders = Orders()
    # Each `orders.handle` is a new bound-method object, equal to the others.
    receiver.on("order.created")(orders.handle)
    receiver.on("order.*")(orders.handle)
    receiver.on("order.*")(Orders().handle)  # another instance: another handler

    await receiver.handle(*make_delivery())
    assert calls == ["method", "method"]


async def test_a_plain_function_that_returns_a_coroutine_has_it_awaited() -> None:
    # Such as an async handler under a decorator written as a plain function.
    receiver = receiver_with()
    calls: list[str] = []

    async def on_order(event: OrderEvent) -> None:
        calls.append(event.id)

    def logged(event: OrderEvent) -> Any:
        return on_order(event)

    receiver.on("order.created")(logged)
    body, headers = make_delivery()
    result = await receiver.handle(body, headers)
    assert result.outcome is Outcome.PROCESSED
    assert calls == [headers["webhook-id"]]

    async def failing(event: OrderEvent) -> None:
        raise RuntimeError("from the coroutine")

    other = receiver_with()
    other.on("order.created")(lambda event: failing(event))
    assert (await other.handle(*make_delivery())).outcome is Outcome.FAILED


async def test_a_bare_group_name_is_not_in_the_group() -> None:
    receiver = receiver_with()
    calls: list[str] = []
    receiver.on("order.*")(lambda event: calls.append("order.*"))
    result = await receiver.handle(*make_delivery("order", {"id": 1}))
    assert result.outcome is Outcome.IGNORED
    assert isinstance(result.event, UnknownEvent)
    assert calls == []


async def test_sync_handlers_run_in_a_worker_thread_and_async_ones_on_the_loop() -> None:
    receiver = receiver_with()
    threads: dict[str, int] = {}

    @receiver.on("order.created")
    def sync_handler(event: OrderEvent) -> None:
        threads["sync"] = threading.get_ident()

    @receiver.on("order.created")
    async def async_handler(event: OrderEvent) -> None:
        threads["async"] = threading.get_ident()

    await receiver.handle(*make_delivery())
    assert threads["async"] == threading.get_ident()
    assert threads["sync"] != threading.get_ident()


async def test_a_failing_handler_stops_the_event_answers_500_and_its_retry_runs_again(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = receiver_with(store)
    attempts: list[str] = []
    after: list[str] = []

    @receiver.on("order.created")
    async def flaky(event: OrderEvent) -> None:
        attempts.append(event.id)
        if len(attempts) == 1:
            raise RuntimeError("database password=hunter2 refused")

    @receiver.on("order.*")
    async def later(event: OrderEvent) -> None:
        after.append(event.id)

    delivery = make_delivery()
    with caplog.at_level(logging.ERROR, logger="pancake_pos"):
        failed = await receiver.handle(*delivery)
    assert (failed.outcome, failed.status_code) == (Outcome.FAILED, 500)
    assert b"hunter2" not in failed.json()
    assert failed.reason is None
    assert after == []  # the first raising handler stops the event
    [record] = [r for r in caplog.records if r.name.startswith("pancake_pos")]
    assert delivery[1]["webhook-id"] in record.getMessage()
    assert record.exc_info is not None
    retried = await receiver.handle(*delivery)
    assert retried.outcome is Outcome.PROCESSED
    assert attempts == [delivery[1]["webhook-id"]] * 2
    assert len(after) == 1
    assert (await receiver.handle(*delivery)).outcome is Outcome.DUPLICATE


async def test_a_delivery_while_another_is_handled_is_in_progress_409(store: EventStore) -> None:
    receiver = receiver_with(store)
    started = asyncio.Event()
    finish = asyncio.Event()

    @receiver.on("order.created")
    async def slow(event: OrderEvent) -> None:
        started.set()
        await finish.wait()

    delivery = make_delivery()
    first = asyncio.create_task(receiver.handle(*delivery))
    await started.wait()
    second = await receiver.handle(*delivery)
    assert (second.outcome, second.status_code) == (Outcome.IN_PROGRESS, 409)
    finish.set()
    assert (await first).outcome is Outcome.PROCESSED


async def test_a_claim_whose_worker_died_expires_after_the_lease(store: EventStore) -> None:
    receiver = receiver_with(store, lease=0.3)
    ran: list[str] = []
    receiver.on("order.created")(lambda event: ran.append(event.id))
    body, headers = make_delivery()
    dead_worker = await store.claim(headers["webhook-id"], lease=0.3)  # and then it died
    assert dead_worker.state is ClaimState.CLAIMED
    assert (await receiver.handle(body, headers)).outcome is Outcome.IN_PROGRESS
    await asyncio.sleep(0.35)
    assert (await receiver.handle(body, headers)).outcome is Outcome.PROCESSED
    assert ran == [headers["webhook-id"]]


class BrokenStore:
    """A store whose server is down."""

    def __init__(self, fail_on: str = "claim") -> None:
        self.fail_on = fail_on
        self.inner = MemoryStore()

    async def claim(self, event_id: str, *, lease: float) -> Claim:
        if self.fail_on == "claim":
            raise StoreUnavailableError("down")
        return await self.inner.claim(event_id, lease=lease)

    async def complete(self, event_id: str, token: str, *, retention: float) -> bool:
        raise ConnectionError("down")

    async def release(self, event_id: str, token: str) -> bool:
        raise ConnectionError("down")


async def test_a_store_that_is_down_answers_503_and_runs_nothing() -> None:
    receiver = receiver_with(BrokenStore())
    ran: list[Event] = []
    receiver.on_unhandled(ran.append)
    result = await receiver.handle(*make_delivery())
    assert (result.outcome, result.status_code) == (Outcome.UNAVAILABLE, 503)
    assert ran == []


async def test_a_store_lost_before_completing_answers_503_never_200() -> None:
    receiver = receiver_with(BrokenStore(fail_on="complete"))
    receiver.on_unhandled(lambda event: None)
    result = await receiver.handle(*make_delivery())
    assert (result.outcome, result.status_code) == (Outcome.UNAVAILABLE, 503)


async def test_a_body_over_max_body_is_413() -> None:
    receiver = receiver_with(max_body=100)
    body, headers = make_delivery(data={"note": "x" * 200})
    result = await receiver.handle(body, headers)
    assert (result.outcome, result.status_code) == (Outcome.REJECTED, 413)


def test_handle_sync_from_plain_code_and_from_many_threads() -> None:
    receiver = receiver_with()
    ran: list[str] = []
    receiver.on("order.created")(lambda event: ran.append(event.id))
    delivery = make_delivery()
    results: list[HandleResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(receiver.handle_sync(*delivery)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(result.outcome for result in results)
    assert outcomes.count(Outcome.PROCESSED) == 1
    assert set(outcomes) <= {Outcome.PROCESSED, Outcome.DUPLICATE, Outcome.IN_PROGRESS}
    assert len(ran) == 1
    receiver.close()
    assert receiver.handle_sync(*delivery).outcome is Outcome.DUPLICATE  # a new loop thread
    receiver.close()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"secrets": "whsec_"}, ValueError, "secret is empty"),
        ({"secrets": {SECRET}}, TypeError, "not a set"),
        ({"secrets": "whsec_c2hvcnQ="}, ValueError, "5 bytes long"),
        ({"tolerance": -1}, ValueError, "tolerance must be a finite number"),
        ({"tolerance": "300"}, TypeError, "tolerance must be a number"),
        ({"lease": 0}, ValueError, "lease must be a finite number of seconds > 0"),
        ({"retention": "1d"}, TypeError, "retention must be a number"),
        ({"max_body": 0}, ValueError, "max_body must be at least 1"),
        ({"max_body": 1.5}, TypeError, "max_body must be an int"),
        ({"store": object()}, TypeError, "store must have async claim, complete and release"),
    ],
)
def test_setup_mistakes_are_raised_when_the_receiver_is_made(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"secrets": SECRET, **options}
    with pytest.raises(error, match=message):
        WebhookReceiver(**arguments)


def test_float_tolerance_and_a_secret_list_are_accepted() -> None:
    WebhookReceiver([generate_secret(), SECRET], tolerance=12.5)


@pytest.mark.parametrize("name", ["order", "*", "order.*.x", "Order.Created", "", "order created"])
def test_on_refuses_what_is_not_an_event_name_or_group(name: str) -> None:
    with pytest.raises(ValueError, match="is not an event name"):
        receiver_with().on(name)


def test_on_needs_a_name_and_a_callable() -> None:
    with pytest.raises(TypeError, match="at least one event name"):
        receiver_with().on()
    with pytest.raises(TypeError, match="a handler must be callable"):
        receiver_with().on("order.created")(42)  # type: ignore[type-var]


# -- replay ------------------------------------------------------------------------------


def payload(event_id: str, event: str = "order.created") -> dict[str, Any]:
    return {
        "id": event_id,
        "event": event,
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {"id": 1},
    }


def exported(event_id: str, attempt: int, event: str = "order.created") -> dict[str, Any]:
    """A delivery as `pancake-pos deliveries export` writes it."""
    return {
        "id": f"dlv_{event_id}_{attempt}",
        "webhook_id": "wh_1",
        "event": event,
        "payload": payload(event_id, event),
        "response": None,
        "status": "failed",
        "created_at": "2024-04-29T10:15:00Z",
        "duration_ms": 5,
    }


async def test_replay_handles_each_event_once_and_counts_it_once(store: EventStore) -> None:
    receiver = receiver_with(store)
    ran: list[str] = []
    receiver.on("order.*")(lambda event: ran.append(event.id))
    items: list[Any] = [
        exported("e1", 1),
        exported("e1", 2),  # another attempt of the same event
        payload("e2"),
        exported("e3", 1, "refund.created"),  # no handler
        payload("e2"),
    ]
    report = await receiver.replay(items)
    assert report == ReplayReport(processed=2, duplicates=0, ignored=1, failed=0)
    assert report.total == 3
    assert sorted(ran) == ["e1", "e2"]
    second = await receiver.replay(items)
    assert second == ReplayReport(processed=0, duplicates=3, ignored=0, failed=0)
    assert sorted(ran) == ["e1", "e2"]


async def test_a_live_delivery_after_a_replay_is_a_duplicate() -> None:
    receiver = receiver_with()
    receiver.on("order.*")(lambda event: None)
    body, headers = make_delivery()
    report = await receiver.replay([json.loads(body)])
    assert report.processed == 1
    assert (await receiver.handle(body, headers)).outcome is Outcome.DUPLICATE


async def test_replay_counts_failures_and_a_second_replay_retries_only_them() -> None:
    receiver = receiver_with()
    failing = {"e2"}

    @receiver.on("order.*")
    async def handler(event: OrderEvent) -> None:
        if event.id in failing:
            raise ValueError("not yet")

    items = [payload("e1"), payload("e2"), payload("e3")]
    report = await receiver.replay(items)
    assert (report.processed, report.failed, report.failed_ids) == (2, 1, ["e2"])
    failing.clear()
    again = await receiver.replay(items)
    assert (again.processed, again.duplicates, again.failed) == (1, 2, 0)


async def test_replay_takes_an_async_iterable_and_model_objects() -> None:
    from pancake_pos._converter import structure
    from pancake_pos.models import WebhookDelivery, WebhookEventPayload

    receiver = receiver_with()
    ran: list[str] = []
    receiver.on("order.*")(lambda event: ran.append(event.id))

    async def walk() -> AsyncIterator[Any]:
        yield structure(exported("a1", 1), WebhookDelivery)
        yield structure(payload("a2"), WebhookEventPayload)

    report = await receiver.replay(walk())
    assert report.processed == 2
    assert sorted(ran) == ["a1", "a2"]


def test_replay_sync_reads_a_plain_iterable() -> None:
    receiver = receiver_with()
    ran: list[str] = []
    receiver.on("order.*")(lambda event: ran.append(event.id))
    items: Iterable[Any] = (exported(f"s{n}", 1) for n in range(3))
    report = receiver.replay_sync(items)
    assert report.processed == 3
    receiver.close()


async def test_replay_names_an_item_that_is_not_a_delivery() -> None:
    receiver = receiver_with()
    with pytest.raises(ValueError, match="item 1"):
        await receiver.replay([payload("ok"), {"id": "x"}])
    with pytest.raises(ValueError, match="item 0 is not a delivery or an event payload"):
        await receiver.replay(["text"])
    with pytest.raises(TypeError, match="deliveries must be an iterable"):
        await receiver.replay(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("deliveries", [payload("one"), "text", b"bytes", 42])
def test_replay_sync_refuses_what_is_not_an_iterable_of_deliveries(deliveries: Any) -> None:
    # One delivery's dict instead of a list of them is a TypeError, as replay() says.
    receiver = receiver_with()
    with pytest.raises(TypeError, match="deliveries must be an iterable"):
        receiver.replay_sync(deliveries)
    receiver.close()


async def test_replay_with_the_store_down_raises_store_unavailable() -> None:
    receiver = receiver_with(BrokenStore())
    with pytest.raises(StoreUnavailableError):
        await receiver.replay([payload("e1")])


def test_handle_sync_with_redis_then_close_leaves_no_connection_open(redis_url: str) -> None:
    import gc
    import uuid

    from pancake_pos.receiver import RedisStore

    receiver = WebhookReceiver(SECRET, store=RedisStore(redis_url, prefix=f"t-{uuid.uuid4().hex}:"))
    receiver.on("order.*")(lambda event: None)
    delivery = make_delivery()
    assert receiver.handle_sync(*delivery).outcome is Outcome.PROCESSED
    assert receiver.handle_sync(*delivery).outcome is Outcome.DUPLICATE
    receiver.close()
    gc.collect()  # an unclosed connection would warn here, and warnings are errors
