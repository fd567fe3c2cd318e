"""Reading JSON into the models and writing them back: lenient where the API may grow, strict
where the data is wrong."""

from __future__ import annotations

import datetime
import doctest
import enum
import json
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pancake_pos import _converter as converter_module
from pancake_pos import models
from pancake_pos._converter import ConversionError, structure, unstructure
from pancake_pos.models import (
    ClearHistoryRequest,
    DeliveryPage,
    DeliveryResponse,
    DeliveryStatus,
    RotateSecretResult,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventPayload,
    WebhookHealthStatus,
)

UTC = datetime.UTC
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

DELIVERY: dict[str, Any] = {
    "id": "dlv_1",
    "webhook_id": "wh_1",
    "event": "order.created",
    "payload": {"id": "msg_1", "data": {"order_id": "123"}},
    "response": {"status_code": 500, "headers": {"content-type": "text/plain"}, "body": "no"},
    "status": "failed",
    "failure_reason": "HTTP 500 from receiver",
    "created_at": "2024-04-29T10:15:01Z",
    "duration_ms": 184,
    "attempt": 1,
}

WEBHOOK: dict[str, Any] = {
    "id": "wh_1",
    "url": "https://shop.example.com/hook",
    "events": ["order.created"],
    "is_active": True,
    "created_at": "2024-04-01T08:00:00Z",
    "updated_at": "2024-04-01T08:00:00Z",
    "health_status": {"status": "healthy", "success_rate": 100},
}


def test_a_delivery_reads_into_typed_fields() -> None:
    delivery = structure(DELIVERY, WebhookDelivery)
    assert delivery.event is WebhookEvent.ORDER_CREATED
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.created_at == datetime.datetime(2024, 4, 29, 10, 15, 1, tzinfo=UTC)
    assert delivery.response == DeliveryResponse(
        status_code=500, headers={"content-type": "text/plain"}, body="no"
    )
    assert delivery.payload == {"id": "msg_1", "data": {"order_id": "123"}}
    assert delivery.next_attempt_at is None
    assert unstructure(delivery) == DELIVERY


def test_unknown_keys_are_ignored() -> None:
    data = {
        **WEBHOOK,
        "brand_new_field": {"x": 1},
        "health_status": {"status": "healthy", "success_rate": 99.5, "trend": "up"},
    }
    webhook = structure(data, Webhook)
    assert webhook.health_status == WebhookHealthStatus(status="healthy", success_rate=99.5)
    assert "brand_new_field" not in unstructure(webhook)


def test_an_unknown_enum_value_is_kept_as_a_plain_string() -> None:
    webhook = structure({**WEBHOOK, "events": ["order.created", "order.refunded"]}, Webhook)
    assert webhook.events == [WebhookEvent.ORDER_CREATED, "order.refunded"]
    assert type(webhook.events[1]) is str
    health = structure({"status": "degraded", "success_rate": 50}, WebhookHealthStatus)
    assert health.status == "degraded"
    assert unstructure(webhook)["events"] == ["order.created", "order.refunded"]


def test_enum_values_are_written_as_plain_strings() -> None:
    request = ClearHistoryRequest(status=DeliveryStatus.FAILED)
    data = unstructure(request)
    assert data == {"status": "failed"}
    assert type(data["status"]) is str


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-29T10:15:01Z", datetime.datetime(2024, 4, 29, 10, 15, 1, tzinfo=UTC)),
        ("2024-04-29T10:15:01.250Z", datetime.datetime(2024, 4, 29, 10, 15, 1, 250000, UTC)),
        ("2024-04-29T12:15:01+02:00", datetime.datetime(2024, 4, 29, 10, 15, 1, tzinfo=UTC)),
        ("2024-04-29T10:15:01", datetime.datetime(2024, 4, 29, 10, 15, 1, tzinfo=UTC)),
    ],
)
def test_date_times_are_aware(text: str, expected: datetime.datetime) -> None:
    stat = structure({"hour": text, "total": 1, "success": 1, "failed": 0}, models.HourlyStat)
    assert stat.hour.tzinfo is not None
    assert stat.hour == expected


def test_date_times_are_written_in_utc_with_z() -> None:
    paris = datetime.timezone(datetime.timedelta(hours=2))
    stat = models.HourlyStat(
        hour=datetime.datetime(2024, 4, 29, 12, 0, tzinfo=paris), total=0, success=0, failed=0
    )
    assert unstructure(stat)["hour"] == "2024-04-29T10:00:00Z"


def test_dates_read_and_write_as_yyyy_mm_dd() -> None:
    request = structure({"before_date": "2024-04-01"}, ClearHistoryRequest)
    assert request.before_date == datetime.date(2024, 4, 1)
    assert unstructure(request) == {"before_date": "2024-04-01"}


def test_optional_none_fields_are_left_out_but_required_nullable_kept() -> None:
    delivery = structure({**DELIVERY, "response": None, "attempt": None}, WebhookDelivery)
    data = unstructure(delivery)
    assert data["response"] is None
    assert "attempt" not in data
    assert "next_attempt_at" not in data
    assert unstructure(ClearHistoryRequest()) == {}
    webhook = structure(WEBHOOK, Webhook)
    assert set(unstructure(webhook)) == set(WEBHOOK)


def test_false_and_zero_are_not_taken_for_missing() -> None:
    request = models.CreateWebhookRequest(url="https://x.example", events=[], is_active=False)
    assert unstructure(request)["is_active"] is False
    page = structure({"data": [], "total": 0, "page_number": 1, "page_size": 20}, DeliveryPage)
    assert unstructure(page)["total"] == 0


def test_an_integral_float_is_an_int_and_an_int_is_a_float() -> None:
    stat = structure(
        {"hour": "2024-04-29T10:00:00Z", "total": 3.0, "success": 3, "failed": 0}, models.HourlyStat
    )
    assert stat.total == 3
    assert type(stat.total) is int
    health = structure({"status": "healthy", "success_rate": 100}, WebhookHealthStatus)
    assert type(health.success_rate) is float


def test_free_form_objects_pass_through() -> None:
    data = {"nested": {"list": [1, 2.5, None, True, "x"]}, "n": None}
    event = structure(
        {
            "id": "m",
            "event": "x.y",
            "shop_id": "s",
            "created_at": "2024-04-29T10:00:00Z",
            "data": data,
        },
        WebhookEventPayload,
    )
    assert event.data == data
    assert unstructure(event)["data"] == data


def test_lists_of_models_read_at_the_top_level() -> None:
    deliveries = structure([DELIVERY, DELIVERY], list[WebhookDelivery])
    assert [delivery.id for delivery in deliveries] == ["dlv_1", "dlv_1"]


def test_a_strenum_reads_on_its_own() -> None:
    assert structure("order.created", WebhookEvent) is WebhookEvent.ORDER_CREATED


BAD_DELIVERIES = [
    pytest.param({k: v for k, v in DELIVERY.items() if k != "id"}, "$.id", id="missing-key"),
    pytest.param({**DELIVERY, "id": None}, "$.id", id="none-for-str"),
    pytest.param({**DELIVERY, "id": 7}, "$.id", id="int-for-str"),
    pytest.param({**DELIVERY, "duration_ms": "184"}, "$.duration_ms", id="str-for-int"),
    pytest.param({**DELIVERY, "duration_ms": True}, "$.duration_ms", id="bool-for-int"),
    pytest.param({**DELIVERY, "duration_ms": 1.5}, "$.duration_ms", id="fraction-for-int"),
    pytest.param({**DELIVERY, "created_at": "yesterday"}, "$.created_at", id="garbage-date-time"),
    pytest.param({**DELIVERY, "created_at": 1714385701}, "$.created_at", id="number-date-time"),
    pytest.param({**DELIVERY, "event": 3}, "$.event", id="int-for-enum"),
    pytest.param({**DELIVERY, "payload": [1]}, "$.payload", id="list-for-object"),
    pytest.param({**DELIVERY, "response": "ok"}, "$.response", id="str-for-model"),
    pytest.param(
        {**DELIVERY, "response": {"status_code": 200, "headers": {"a": 1}}},
        "$.response.headers",
        id="int-header",
    ),
    pytest.param(
        {**DELIVERY, "response": {"status_code": 200, "headers": []}},
        "$.response.headers",
        id="list-for-map",
    ),
    pytest.param({**DELIVERY, "attempt": "1"}, "$.attempt", id="str-for-optional-int"),
    pytest.param({**DELIVERY, "failure_reason": 5}, "$.failure_reason", id="int-for-optional-str"),
    pytest.param(None, "$", id="none"),
    pytest.param([DELIVERY], "$", id="list-for-object-at-the-top"),
    pytest.param("dlv_1", "$", id="string-for-object-at-the-top"),
]


@pytest.mark.parametrize(("data", "where"), BAD_DELIVERIES)
def test_bad_data_raises_conversion_error_naming_where(data: Any, where: str) -> None:
    with pytest.raises(ConversionError) as caught:
        structure(data, WebhookDelivery)
    assert isinstance(caught.value, ValueError)
    assert caught.value.target == "WebhookDelivery"
    assert any(problem.endswith(f"@ {where}") for problem in caught.value.problems)
    assert str(caught.value).startswith("the data does not fit WebhookDelivery: ")


def test_bad_data_in_a_list_is_located_by_index() -> None:
    page = {"data": [DELIVERY, {**DELIVERY, "created_at": None}], "page_number": 1, "page_size": 2}
    with pytest.raises(ConversionError) as caught:
        structure(page, DeliveryPage)
    assert caught.value.problems == [
        "invalid value for type, expected datetime @ $.data[1].created_at"
    ]


@pytest.mark.parametrize(
    "data",
    [
        {"secret_key": 12345},
        {"secret_key": [SECRET]},
        {"secret_key": {"value": SECRET}},
    ],
)
def test_errors_never_quote_the_data(data: dict[str, Any]) -> None:
    with pytest.raises(ConversionError) as caught:
        structure(data, RotateSecretResult)
    assert "12345" not in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "MfKQ9r8G" not in str(caught.value)


def test_a_garbage_date_time_is_not_quoted() -> None:
    with pytest.raises(ConversionError) as caught:
        structure({**DELIVERY, "created_at": SECRET}, WebhookDelivery)
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is not None


# -- every model round-trips --------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)


def strategy_for(type_: Any) -> st.SearchStrategy[Any]:
    """Values of a model field's type, built from the type alone."""
    origin, arguments = typing.get_origin(type_), typing.get_args(type_)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(),
        int: st.integers(),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
        datetime.datetime: st.datetimes(timezones=st.just(UTC)),
        datetime.date: st.dates(),
        Any: JSON_VALUES,
    }
    if type_ in simple:
        return simple[type_]
    if attrs.has(type_):
        return model_strategy(type_)
    if isinstance(type_, type) and issubclass(type_, enum.StrEnum):
        return st.sampled_from(type_)
    if origin is list:
        return st.lists(strategy_for(arguments[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(), strategy_for(arguments[1]), max_size=3)
    if arguments:  # a union: X | None, SomeEnum | str
        return st.one_of([strategy_for(argument) for argument in arguments])
    if type_ is type(None):
        return st.none()
    raise AssertionError(f"no strategy for {type_!r}")


def model_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    return st.builds(
        cls, **{field.name: strategy_for(hints[field.name]) for field in attrs.fields(cls)}
    )


ALL_MODELS = [getattr(models, name) for name in models.__all__ if attrs.has(getattr(models, name))]


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_model_round_trips_through_json(cls: type[Any], data: st.DataObject) -> None:
    original = data.draw(model_strategy(cls))
    written = unstructure(original)
    assert structure(written, cls) == original
    assert structure(json.loads(json.dumps(written)), cls) == original
    assert all(
        value is not None
        for name, value in written.items()
        if attrs.fields_dict(cls)[name].default is None
    )


def test_the_round_trip_covers_every_model() -> None:
    assert len(ALL_MODELS) == 24
    assert {cls.__name__ for cls in ALL_MODELS} >= {"Webhook", "WebhookDelivery", "DeliveryPage"}


@pytest.mark.parametrize("module", [converter_module, models], ids=lambda m: m.__name__)
def test_the_docstring_examples_run(module: Any) -> None:
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0
