"""The generated models: the agreed names, keyword-only attrs classes, masked secrets."""

from __future__ import annotations

import datetime
import enum
from pathlib import Path

import attrs
import pytest

from pancake_pos import models
from pancake_pos.models import (
    DeliveryStatus,
    HealthState,
    RotateSecretResult,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookHealthStatus,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

CLASSES = [
    "Webhook",
    "WebhookList",
    "WebhookHealthStatus",
    "WebhookDelivery",
    "DeliveryResponse",
    "DeliveryPage",
    "PendingDeliveries",
    "AttemptResponse",
    "WebhookTestResult",
    "RetryWebhookResult",
    "RotateSecretResult",
    "ClearHistoryResult",
    "HourlyStat",
    "WebhookStats",
    "WebhookEventPayload",
    "CreateWebhookRequest",
    "UpdateWebhookRequest",
    "SetActiveRequest",
    "WebhookTestRequest",
    "ClearHistoryRequest",
    "SandboxEventRequest",
    "SandboxEventResult",
    "ErrorDetail",
    "ErrorResponse",
]
ENUMS = ["WebhookEvent", "DeliveryStatus", "HealthState"]


def test_the_module_exports_exactly_the_agreed_names() -> None:
    assert sorted(models.__all__) == sorted(CLASSES + ENUMS)


def test_the_module_says_it_is_generated() -> None:
    first_line = Path(models.__file__).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == (
        "# Generated from openapi/pancake-pos-webhooks.yaml by python -m codegen; do not edit."
    )


@pytest.mark.parametrize("name", CLASSES)
def test_classes_are_keyword_only_slotted_attrs(name: str) -> None:
    cls = getattr(models, name)
    assert attrs.has(cls)
    assert "__slots__" in cls.__dict__
    assert all(field.kw_only for field in attrs.fields(cls))
    assert cls.__doc__


@pytest.mark.parametrize("name", ENUMS)
def test_enums_are_str_enums(name: str) -> None:
    assert issubclass(getattr(models, name), enum.StrEnum)


def test_enum_members_are_upper_snake_values() -> None:
    assert WebhookEvent("order.created") is WebhookEvent.ORDER_CREATED
    assert WebhookEvent.LOYALTY_POINTS_EARNED.value == "loyalty.points_earned"
    assert WebhookEvent.ORDER_STATUS_CHANGED.value == "order.status_changed"
    assert len(WebhookEvent) == 13
    assert [m.value for m in DeliveryStatus] == ["success", "failed", "pending"]
    assert [m.value for m in HealthState] == ["healthy", "warning", "error"]
    assert str(DeliveryStatus.SUCCESS) == "success"


def test_positional_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        models.SetActiveRequest(True)  # type: ignore[call-arg]


def test_optional_fields_default_to_none_and_required_nullable_has_no_default() -> None:
    health = WebhookHealthStatus(status=HealthState.HEALTHY, success_rate=100.0)
    assert health.last_failure_reason is None
    assert health.last_success_at is None
    fields = attrs.fields_dict(WebhookDelivery)
    assert fields["response"].default is attrs.NOTHING
    assert fields["attempt"].default is None
    with pytest.raises(TypeError, match="response"):
        WebhookDelivery(  # type: ignore[call-arg]
            id="d",
            webhook_id="w",
            event=WebhookEvent.ORDER_CREATED,
            payload={},
            status=DeliveryStatus.PENDING,
            created_at=datetime.datetime.now(datetime.UTC),
            duration_ms=0,
        )


def make_webhook(secret_key: str | None) -> Webhook:
    moment = datetime.datetime(2024, 4, 1, 8, 0, tzinfo=datetime.UTC)
    return Webhook(
        id="wh_1",
        url="https://shop.example.com/hook",
        events=[WebhookEvent.ORDER_CREATED],
        is_active=True,
        secret_key=secret_key,
        created_at=moment,
        updated_at=moment,
        health_status=WebhookHealthStatus(status=HealthState.HEALTHY, success_rate=100.0),
    )


def test_a_webhook_repr_never_shows_the_whole_secret() -> None:
    text = repr(make_webhook(SECRET))
    assert SECRET not in text
    assert "secret_key='whsec_MfK…'" in text
    assert "url='https://shop.example.com/hook'" in text  # the rest is shown as usual


def test_a_short_secret_is_not_shown_either() -> None:
    text = repr(RotateSecretResult(secret_key="abcdef"))
    assert "abcdef" not in text
    assert text == "RotateSecretResult(secret_key='ab…')"
    assert repr(RotateSecretResult(secret_key="")) == "RotateSecretResult(secret_key='…')"


def test_a_webhook_without_secret_shows_none() -> None:
    assert "secret_key=None" in repr(make_webhook(None))


def test_the_secret_stays_usable() -> None:
    assert make_webhook(SECRET).secret_key == SECRET
    assert make_webhook(SECRET) == make_webhook(SECRET)
    assert make_webhook(SECRET) != make_webhook(SECRET + "x")
