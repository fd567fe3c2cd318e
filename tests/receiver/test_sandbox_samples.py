"""The sandbox's sample data is what a receiver's typed events expect.

A `test` delivery or an emitted event without data carries the sandbox's sample for its group;
each one must parse into its group's typed event, with no field left unknown to the model.
"""

from __future__ import annotations

import datetime

import attrs
import pytest

from pancake_pos.events import (
    CustomerEvent,
    InventoryEvent,
    LoyaltyEvent,
    OrderEvent,
    ProductEvent,
    TransactionEvent,
    UnknownEvent,
    parse_event,
)
from pancake_pos.sandbox._samples import SAMPLE_GROUPS, sample_data

EXPECTED = {
    "order.created": OrderEvent,
    "customer.updated": CustomerEvent,
    "inventory.updated": InventoryEvent,
    "product.created": ProductEvent,
    "transaction.created": TransactionEvent,
    "loyalty.points_earned": LoyaltyEvent,
}


def _payload(event: str) -> dict[str, object]:
    return {
        "id": "evt_sample",
        "event": event,
        "shop_id": "shop_1",
        "created_at": datetime.datetime(2024, 4, 1, tzinfo=datetime.UTC).isoformat(),
        "data": sample_data(event),
    }


def _unknown_keys(model: object, value: object, where: str) -> list[str]:
    """Keys of `value` (JSON) that the attrs model does not declare, recursively."""
    if not isinstance(value, dict) or not attrs.has(type(model)):
        return []
    names = {field.name for field in attrs.fields(type(model))}
    unknown = [f"{where}.{key}" for key in value if key not in names]
    for key in value:
        if key not in names:
            continue
        child, child_value = getattr(model, key), value[key]
        if isinstance(child, list) and isinstance(child_value, list):
            for index, (item, item_value) in enumerate(zip(child, child_value, strict=True)):
                unknown += _unknown_keys(item, item_value, f"{where}.{key}[{index}]")
        else:
            unknown += _unknown_keys(child, child_value, f"{where}.{key}")
    return unknown


def test_every_group_has_a_sample() -> None:
    assert {event.split(".")[0] for event in EXPECTED} == set(SAMPLE_GROUPS)


@pytest.mark.parametrize(("event", "event_class"), EXPECTED.items())
def test_a_sample_parses_into_its_typed_event_with_every_field_known(
    event: str, event_class: type
) -> None:
    parsed = parse_event(_payload(event))

    assert not isinstance(parsed, UnknownEvent), parsed.problem
    assert isinstance(parsed, event_class)
    assert sample_data(event), "a sample carries data"
    assert _unknown_keys(parsed.data, sample_data(event), "data") == []
