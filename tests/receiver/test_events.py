"""pancake_pos.events: typed events from payloads, never failing on a sound envelope."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from pancake_pos._converter import structure
from pancake_pos.event_data import (
    CustomerGender,
    OrderItem,
    PaymentGatewayCode,
    PaymentStatus,
)
from pancake_pos.events import (
    Customer,
    CustomerEvent,
    Event,
    InventoryEvent,
    LoyaltyEvent,
    Order,
    OrderEvent,
    ProductEvent,
    TransactionEvent,
    UnknownEvent,
    parse_event,
)
from pancake_pos.models import WebhookEvent, WebhookEventPayload

SPEC = yaml.safe_load(
    (Path(__file__).parents[2] / "openapi" / "pancake-pos-webhooks.yaml").read_text("utf-8")
)
SCHEMAS = SPEC["components"]["schemas"]


def payload(event: str = "order.created", data: Any = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "msg_1",
        "event": event,
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00+07:00",
        "data": SCHEMAS["Order"]["example"] if data is None else data,
    }
    body.update(changes)
    return body


GROUPS = [
    ("order.created", "Order", OrderEvent),
    ("order.status_changed", "Order", OrderEvent),
    ("customer.updated", "Customer", CustomerEvent),
    ("inventory.updated", "InventoryChange", InventoryEvent),
    ("product.deleted", "Product", ProductEvent),
    ("transaction.created", "Transaction", TransactionEvent),
    ("loyalty.points_redeemed", "LoyaltyPointsChange", LoyaltyEvent),
]


@pytest.mark.parametrize(("event", "schema", "cls"), GROUPS)
def test_each_group_gets_its_class_and_typed_data(event: str, schema: str, cls: type) -> None:
    body = payload(event, SCHEMAS[schema]["example"])
    parsed = parse_event(body)
    assert type(parsed) is cls
    assert type(parsed.data).__name__ == schema
    assert parsed.event == event
    assert isinstance(parsed.event, WebhookEvent)
    assert parsed.raw == body


def test_the_order_example_reads_field_by_field() -> None:
    event = parse_event(json.dumps(payload()).encode())
    assert isinstance(event, OrderEvent)
    order = event.data
    assert (order.id, order.status_name, order.bill_phone_number) == (
        1024,
        "confirmed",
        "0901234567",
    )
    assert order.items is not None
    assert order.items[0].quantity == 2
    assert order.shipping_address is not None
    assert order.shipping_address.full_name == "Nguyen Van A"
    assert order.note is None  # not carried: None
    assert order.inserted_at == datetime.datetime(2024, 4, 29, 10, 15, tzinfo=datetime.UTC)
    assert event.created_at.utcoffset() == datetime.timedelta(hours=7)


def test_match_statements_pick_the_class() -> None:
    def describe(event: Event) -> str:
        match event:
            case OrderEvent(data=Order(id=order_id)):
                return f"order {order_id}"
            case CustomerEvent(data=customer):
                return f"customer {customer.name}"
            case UnknownEvent(problem=problem):
                return f"unknown ({problem})"
            case _:
                return "other"

    assert describe(parse_event(payload())) == "order 1024"
    customer = payload("customer.created", {"name": "Lan"})
    assert describe(parse_event(customer)) == "customer Lan"
    assert describe(parse_event(payload("refund.created", {"x": 1}))) == "unknown (None)"


@pytest.mark.parametrize(
    "source",
    [
        lambda body: body,
        lambda body: json.dumps(body),
        lambda body: json.dumps(body).encode(),
        lambda body: structure(body, WebhookEventPayload),
    ],
    ids=["dict", "str", "bytes", "WebhookEventPayload"],
)
def test_every_accepted_form_gives_the_same_event(source: Any) -> None:
    body = payload()
    event = parse_event(source(body))
    assert event == parse_event(body)
    assert event.raw["data"] == body["data"]
    assert event.raw["id"] == "msg_1"


def test_an_unknown_group_is_an_unknown_event_with_the_data_as_received() -> None:
    body = payload("refund.created", {"amount": 5, "nested": {"a": [1]}})
    event = parse_event(body)
    assert isinstance(event, UnknownEvent)
    assert event.event == "refund.created"
    assert event.data == {"amount": 5, "nested": {"a": [1]}}
    assert event.problem is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"id": "1024"}, "$.data.id"),  # a string is never turned into a number
        ({"status_name": 7}, "$.data.status_name"),  # nor a number into a string
        ({"items": "abc"}, "$.data.items"),  # nor a string split into a list
        ({"items": [{"quantity": "2"}]}, "$.data.items[0].quantity"),
        ({"is_free_shipping": "false"}, "$.data.is_free_shipping"),
        ({"inserted_at": "yesterday"}, "$.data.inserted_at"),
        ({"shipping_address": ["12 Nguyen Hue"]}, "$.data.shipping_address"),
    ],
)
def test_data_that_does_not_fit_is_an_unknown_event_naming_the_field(
    data: dict[str, Any], field: str
) -> None:
    body = payload("order.created", data)
    event = parse_event(body)
    assert isinstance(event, UnknownEvent)
    assert event.problem is not None
    assert event.problem.startswith("data does not fit Order: ")
    assert event.problem.endswith(f"@ {field}")
    assert event.data == data
    assert event.raw == body


def test_unknown_fields_and_enum_values_are_kept() -> None:
    data = {"id": "txn_1", "gateway_code": "applepay", "status": "completed", "new_field": 1}
    event = parse_event(payload("transaction.created", data))
    assert isinstance(event, TransactionEvent)
    assert event.data.gateway_code == "applepay"
    assert not isinstance(event.data.gateway_code, PaymentGatewayCode)
    assert event.data.status is PaymentStatus.COMPLETED
    assert event.raw["data"]["new_field"] == 1
    customer = parse_event(payload("customer.created", {"gender": "other"}))
    assert isinstance(customer.data, Customer)
    assert customer.data.gender == "other"
    assert parse_event(payload("customer.created", {"gender": "male"})).data.gender is (
        CustomerGender.MALE
    )


def test_an_unknown_event_name_of_a_known_group_is_still_typed() -> None:
    event = parse_event(payload("order.refunded"))
    assert isinstance(event, OrderEvent)
    assert event.event == "order.refunded"


@pytest.mark.parametrize("name", ["order", "orders.created"])
def test_a_name_outside_a_group_is_an_unknown_event(name: str) -> None:
    # "order.*" is the names that start with "order.": a bare group name is none of them.
    event = parse_event(payload(name, {"id": 1}))
    assert isinstance(event, UnknownEvent)
    assert event.event == name
    assert event.data == {"id": 1}


def test_an_empty_data_object_fits_every_model() -> None:
    for event_name, _, cls in GROUPS:
        assert type(parse_event(payload(event_name, {}))) is cls


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff", "not valid UTF-8"),
        ("{", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ("3", "expected a JSON object, got a number"),
        ({"id": "msg_1"}, "not a webhook event payload: required field missing"),
        (payload(data=[1]), "not a webhook event payload"),
        (payload(created_at="soon"), "not a webhook event payload"),
        (payload(id=12), "not a webhook event payload"),
    ],
)
def test_a_body_that_is_not_a_payload_raises_value_error(body: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_event(body)


def test_other_types_raise_type_error() -> None:
    with pytest.raises(TypeError, match="payload must be bytes, str, a dict"):
        parse_event(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("module", ["pancake_pos.events", "pancake_pos.event_data"])
def test_the_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    results = doctest.testmod(importlib.import_module(module))
    assert results.attempted > 0
    assert results.failed == 0


FITTING_DATA = [
    ("Order", SCHEMAS["Order"]["example"]),
    ("Order", {"id": 3.0, "shipping_fee": 5, "inserted_at": "2024-04-29T10:15:00", "x": [1]}),
    ("Order", {"items": [], "partner": {"cod": 1.5, "is_returned": True}, "note": None}),
    ("Order", {"items": [{"components": [{"variation_info": {"images": ["a"]}}]}]}),
    ("Customer", {"gender": "female", "phone_numbers": ["1", "2"], "tags": []}),
    ("Customer", {"gender": "unknown", "shop_customer_addresses": [{"address": "a"}]}),
    ("InventoryChange", {"stock": 2, "product": SCHEMAS["Product"]["example"]}),
    ("Transaction", {"gateway_response": {"raw": [1, {"a": None}]}, "status": "weird"}),
    ("Transaction", SCHEMAS["Transaction"]["example"]),
    ("LoyaltyPointsChange", {"type": "earn", "created_by": {"id": "u", "name": "n"}}),
]


@pytest.mark.parametrize(("model", "data"), FITTING_DATA)
def test_the_fast_reader_gives_what_the_converter_gives(model: str, data: dict[str, Any]) -> None:
    from pancake_pos import event_data, events

    cls = getattr(event_data, model)
    assert events._fast_reader(cls)(data) == structure(data, cls)


@pytest.mark.parametrize(
    "data",
    [
        {"id": True},
        {"id": 1.5},
        {"shipping_fee": "5"},
        {"items": [None]},
        {"items": [{"quantity": False}]},
        {"partner": []},
        {"inserted_at": 5},
    ],
)
def test_the_fast_reader_gives_up_where_the_converter_refuses(data: dict[str, Any]) -> None:
    from pancake_pos import events
    from pancake_pos._converter import ConversionError

    with pytest.raises(events._DoesNotFit):
        events._fast_reader(Order)(data)
    with pytest.raises(ConversionError):
        structure(data, Order)
    assert isinstance(parse_event(payload("order.created", data)), UnknownEvent)


@attrs.define(kw_only=True, slots=False)
class _NotSlotted:
    quantity: int | None = None
    name: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.max_len(3))
    )


def test_the_fast_reader_of_a_class_it_cannot_fill_slot_by_slot_calls_its_init() -> None:
    # The data models are filled slot by slot; any other class goes through its __init__, so
    # its validators still run.
    from pancake_pos import events

    read = events._fast_reader(_NotSlotted)
    assert read({"quantity": 2, "name": "abc", "other": 1}) == _NotSlotted(quantity=2, name="abc")
    assert read({}) == _NotSlotted()
    with pytest.raises(ValueError, match="name"):
        read({"name": "abcd"})
    with pytest.raises(events._DoesNotFit):
        read({"quantity": "2"})


def test_the_data_models_are_filled_slot_by_slot_with_every_field_set() -> None:
    from pancake_pos import events

    order = events._fast_reader(Order)({"id": 1, "items": [{"quantity": 2}]})
    assert order == Order(id=1, items=[OrderItem(quantity=2)])
    assert order.note is None
    assert order.items is not None
    assert order.items[0].product_id is None
    assert repr(order).startswith("Order(id=1, ")


def test_an_envelope_the_fast_path_refuses_is_read_by_the_converter() -> None:
    naive = parse_event(payload(created_at="2024-04-29T10:15:00"))
    assert naive.created_at.tzinfo is datetime.UTC
    with pytest.raises(ValueError, match="created_at"):
        parse_event(payload(created_at=None))
