"""Bad arguments raise ValueError or TypeError naming the argument, before anything is sent."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx

from pancake_pos import _validation as check
from pancake_pos._client import AsyncPancakeClient
from pancake_pos.models import DeliveryStatus, WebhookEvent

Call = Callable[[AsyncPancakeClient], Awaitable[Any]]

URL = "https://shop.example.com/hook"

BAD_CALLS: list[tuple[str, Call, type[Exception], str]] = [
    ("empty id", lambda c: c.webhooks.get_by_id(""), ValueError, "webhook_id"),
    ("blank id", lambda c: c.webhooks.delete("   "), ValueError, "webhook_id"),
    ("id not a str", lambda c: c.webhooks.get_by_id(42), TypeError, "webhook_id"),
    ("id too long", lambda c: c.webhooks.get_by_id("w" * 129), ValueError, "webhook_id"),
    ("empty delivery id", lambda c: c.webhooks.get_delivery_by_id(""), ValueError, "delivery_id"),
    ("retry empty id", lambda c: c.webhooks.retry_delivery(""), ValueError, "delivery_id"),
    (
        "relative url",
        lambda c: c.webhooks.create(url="/hook", events=["order.created"]),
        ValueError,
        "url",
    ),
    (
        "ftp url",
        lambda c: c.webhooks.create(url="ftp://x.example/h", events=["order.created"]),
        ValueError,
        "url",
    ),
    (
        "url without host",
        lambda c: c.webhooks.create(url="https://", events=["order.created"]),
        ValueError,
        "url",
    ),
    ("update url", lambda c: c.webhooks.update("wh_1", url="example.com"), ValueError, "url"),
    ("url None", lambda c: c.webhooks.update("wh_1", url=None), TypeError, "url"),
    ("empty events", lambda c: c.webhooks.create(url=URL, events=[]), ValueError, "events"),
    (
        "events a str",
        lambda c: c.webhooks.create(url=URL, events="order.created"),
        TypeError,
        "events",
    ),
    (
        "bad event name",
        lambda c: c.webhooks.create(url=URL, events=["order.created", "OrderCreated"]),
        ValueError,
        "events[1]",
    ),
    ("update empty events", lambda c: c.webhooks.update("wh_1", events=[]), ValueError, "events"),
    ("event no group", lambda c: c.webhooks.test("wh_1", "created"), ValueError, "event"),
    ("event not a str", lambda c: c.webhooks.test("wh_1", 3), TypeError, "event"),
    (
        "payload a list",
        lambda c: c.webhooks.test("wh_1", "order.created", [1]),
        TypeError,
        "payload",
    ),
    (
        "payload not JSON",
        lambda c: c.webhooks.test("wh_1", "order.created", {"at": object()}),
        TypeError,
        "payload",
    ),
    (
        "payload with NaN",
        lambda c: c.webhooks.test("wh_1", "order.created", {"total": float("nan")}),
        ValueError,
        "payload",
    ),
    (
        "payload with Infinity",
        lambda c: c.webhooks.test("wh_1", "order.created", {"n": {"total": float("-inf")}}),
        ValueError,
        "payload",
    ),
    ("is_active an int", lambda c: c.webhooks.set_active("wh_1", 1), TypeError, "is_active"),
    (
        "create is_active a str",
        lambda c: c.webhooks.create(url=URL, events=["order.created"], is_active="yes"),
        TypeError,
        "is_active",
    ),
    (
        "description too long",
        lambda c: c.webhooks.create(url=URL, events=["order.created"], description="x" * 501),
        ValueError,
        "description",
    ),
    (
        "empty idempotency key",
        lambda c: c.webhooks.rotate_secret("wh_1", idempotency_key=""),
        ValueError,
        "idempotency_key",
    ),
    (
        "idempotency key with a line break",
        lambda c: c.webhooks.create(url=URL, events=["order.created"], idempotency_key="k\r\nX: 1"),
        ValueError,
        "idempotency_key",
    ),
    (
        "idempotency key not ASCII",
        lambda c: c.webhooks.retry_delivery("dlv_1", idempotency_key="clé-1"),
        ValueError,
        "idempotency_key",
    ),
    ("page_size 0", lambda c: c.webhooks.list_deliveries(page_size=0), ValueError, "page_size"),
    ("page_size 101", lambda c: c.webhooks.list_deliveries(page_size=101), ValueError, "page_size"),
    (
        "page_size bool",
        lambda c: c.webhooks.list_deliveries(page_size=True),
        TypeError,
        "page_size",
    ),
    (
        "page_number 0",
        lambda c: c.webhooks.list_deliveries(page_number=0),
        ValueError,
        "page_number",
    ),
    (
        "page_number float",
        lambda c: c.webhooks.list_deliveries(page_number=1.0),
        TypeError,
        "page_number",
    ),
    (
        "status unknown",
        lambda c: c.webhooks.list_deliveries(status="broken"),
        ValueError,
        "status",
    ),
    (
        "status pending",
        lambda c: c.webhooks.clear_delivery_history("wh_1", status=DeliveryStatus.PENDING),
        ValueError,
        "status",
    ),
    (
        "date format",
        lambda c: c.webhooks.list_deliveries(from_date="01/04/2024"),
        ValueError,
        "from_date",
    ),
    (
        "date impossible",
        lambda c: c.webhooks.list_deliveries(to_date="2024-02-30"),
        ValueError,
        "to_date",
    ),
    (
        "date a datetime",
        lambda c: c.webhooks.get_stats(
            "wh_1", from_date=datetime.datetime(2024, 4, 1), to_date="2024-04-02"
        ),
        TypeError,
        "from_date",
    ),
    (
        "date an int",
        lambda c: c.webhooks.clear_delivery_history("wh_1", before_date=20240401),
        TypeError,
        "before_date",
    ),
    (
        "dates reversed",
        lambda c: c.webhooks.get_stats("wh_1", from_date="2024-04-30", to_date="2024-04-01"),
        ValueError,
        "from_date",
    ),
    (
        "stats date missing",
        lambda c: c.webhooks.get_stats("wh_1", from_date=None, to_date="2024-04-01"),
        TypeError,
        "from_date",
    ),
    (
        "list dates reversed",
        lambda c: c.webhooks.list_deliveries(
            from_date=datetime.date(2024, 5, 1), to_date=datetime.date(2024, 4, 1)
        ),
        ValueError,
        "to_date",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "argument"),
    [pytest.param(call, error, argument, id=name) for name, call, error, argument in BAD_CALLS],
)
async def test_bad_arguments_raise_before_any_request(
    client: AsyncPancakeClient,
    api: respx.MockRouter,
    call: Call,
    error: type[Exception],
    argument: str,
) -> None:
    catch_all = api.route().respond(200, json={})

    with pytest.raises(error) as caught:
        await call(client)

    assert argument in str(caught.value)
    assert not catch_all.called


def test_event_names_accept_members_strings_and_unknown_names() -> None:
    assert check.event_names(
        [WebhookEvent.LOYALTY_POINTS_EARNED, "order.refunded", "order.refunded"], "events"
    ) == ["loyalty.points_earned", "order.refunded"]
    assert check.event_names(("product.deleted",), "events") == ["product.deleted"]
    assert check.event_name("inventory_v2.level_low", "event") == "inventory_v2.level_low"


@pytest.mark.parametrize(
    "name", ["order", "Order.created", "order.", ".created", "order.created.now", "order created"]
)
def test_event_name_must_be_group_dot_action(name: str) -> None:
    with pytest.raises(ValueError, match=r"group\.action"):
        check.event_name(name, "event")


def test_days() -> None:
    assert check.day(datetime.date(2024, 4, 1), "d") == "2024-04-01"
    assert check.day("2024-04-01", "d") == "2024-04-01"
    assert check.date_range("2024-04-01", "2024-04-01") == ("2024-04-01", "2024-04-01")
    assert check.date_range(None, None) == (None, None)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        check.day("2024-4-1", "d")


def test_statuses_accept_members_and_strings() -> None:
    assert check.delivery_status(DeliveryStatus.SUCCESS, "status") == "success"
    assert check.delivery_status("failed", "status") == "failed"


def test_http_urls() -> None:
    assert check.http_url("http://127.0.0.1:8000/x?y=1", "url") == "http://127.0.0.1:8000/x?y=1"
    for bad in ["https://exa mple.com", " https://example.com", "https://[::1", "mailto:a@b.c"]:
        with pytest.raises(ValueError, match="url"):
            check.http_url(bad, "url")
