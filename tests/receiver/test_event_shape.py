"""The shape every typed event shares: the `Event` union, the envelope's fields on each class,
an aware `created_at`, `None` for what a payload does not carry, a plain dict for unknown data."""

from __future__ import annotations

import datetime
import typing

import attrs
import pytest

from pancake_pos import events
from pancake_pos.events import (
    CustomerEvent,
    Event,
    InventoryEvent,
    LoyaltyEvent,
    OrderEvent,
    ProductEvent,
    TransactionEvent,
    UnknownEvent,
    parse_event,
)

CLASSES = {
    "order.created": OrderEvent,
    "customer.updated": CustomerEvent,
    "inventory.updated": InventoryEvent,
    "product.deleted": ProductEvent,
    "transaction.created": TransactionEvent,
    "loyalty.points_earned": LoyaltyEvent,
    "refund.created": UnknownEvent,
}


def test_the_event_union_is_exported_with_its_seven_classes() -> None:
    assert "Event" in events.__all__
    assert set(typing.get_args(Event)) == set(CLASSES.values())


@pytest.mark.parametrize("created_at", ["2024-04-29T10:15:00+07:00", "2024-04-29T10:15:00"])
@pytest.mark.parametrize(("name", "cls"), CLASSES.items())
def test_each_class_has_the_envelope_and_an_aware_created_at(
    name: str, cls: type, created_at: str
) -> None:
    body = {"id": "msg_1", "event": name, "shop_id": "shop_42", "created_at": created_at}
    event = parse_event({**body, "data": {}, "extra": [1]})
    assert type(event) is cls
    assert (event.id, event.event, event.shop_id) == ("msg_1", name, "shop_42")
    assert isinstance(event.created_at, datetime.datetime)
    assert event.created_at.tzinfo is not None
    assert event.created_at.utcoffset() is not None
    assert event.raw == {**body, "data": {}, "extra": [1]}  # everything the server sent


@pytest.mark.parametrize(
    ("name", "cls"), [(n, c) for n, c in CLASSES.items() if c is not UnknownEvent]
)
def test_every_field_a_payload_does_not_carry_reads_none(name: str, cls: type) -> None:
    event = parse_event(
        {"id": "m", "event": name, "shop_id": "s", "created_at": "2024-04-29T10:15:00Z", "data": {}}
    )
    assert type(event) is cls
    data = event.data
    assert attrs.has(type(data))
    assert {field.name: getattr(data, field.name) for field in attrs.fields(type(data))} == {
        field.name: None for field in attrs.fields(type(data))
    }


def test_unknown_event_data_is_a_plain_dict() -> None:
    for data, name in (
        ({"a": {"b": [1]}}, "refund.created"),
        ({"id": "not-an-int"}, "order.created"),
    ):
        event = parse_event(
            {
                "id": "m",
                "event": name,
                "shop_id": "s",
                "created_at": "2024-04-29T10:15:00Z",
                "data": data,
            }
        )
        assert isinstance(event, UnknownEvent)
        assert type(event.data) is dict
        assert event.data == data
