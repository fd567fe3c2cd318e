# Generated from openapi/pancake-pos-webhooks.yaml by python -m codegen; do not edit.
"""The Pancake POS Webhooks API models (API version 1.0.0).

One attrs class per object schema of the API description, one ``enum.StrEnum`` per enum; fields
are named exactly as the JSON keys. Fields typed by an enum also accept any other string, so an
event name this version of the SDK does not know yet is kept as a plain ``str``. Optional fields
default to ``None``. Build them with keywords; turn JSON into them with
``pancake_pos._converter.structure``.

Example:
    >>> from pancake_pos.models import SetActiveRequest, WebhookEvent
    >>> SetActiveRequest(is_active=False)
    SetActiveRequest(is_active=False)
    >>> WebhookEvent("order.created") is WebhookEvent.ORDER_CREATED
    True
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

import attrs

__all__ = [
    "AttemptResponse",
    "ClearHistoryRequest",
    "ClearHistoryResult",
    "CreateWebhookRequest",
    "DeliveryPage",
    "DeliveryResponse",
    "DeliveryStatus",
    "ErrorDetail",
    "ErrorResponse",
    "HealthState",
    "HourlyStat",
    "PendingDeliveries",
    "RetryWebhookResult",
    "RotateSecretResult",
    "SandboxEventRequest",
    "SandboxEventResult",
    "SetActiveRequest",
    "UpdateWebhookRequest",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookEventPayload",
    "WebhookHealthStatus",
    "WebhookList",
    "WebhookStats",
    "WebhookTestRequest",
    "WebhookTestResult",
]


def _mask_secret(value: str | None) -> str:
    """Show at most the first 9 characters of a secret (fewer for a short one) in a repr."""
    if value is None:
        return "None"
    return repr(value[: min(9, len(value) // 3)] + "…")


class WebhookEvent(enum.StrEnum):
    """The name of an event a webhook can subscribe to (`group.action`)."""

    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_STATUS_CHANGED = "order.status_changed"
    ORDER_CANCELLED = "order.cancelled"
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    INVENTORY_UPDATED = "inventory.updated"
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DELETED = "product.deleted"
    TRANSACTION_CREATED = "transaction.created"
    LOYALTY_POINTS_EARNED = "loyalty.points_earned"
    LOYALTY_POINTS_REDEEMED = "loyalty.points_redeemed"


class DeliveryStatus(enum.StrEnum):
    """The outcome of a delivery attempt; `pending` for an automatic retry still to come."""

    SUCCESS = "success"
    FAILED = "failed"
    PENDING = "pending"


class HealthState(enum.StrEnum):
    """A webhook's health, from its recent success rate."""

    HEALTHY = "healthy"
    WARNING = "warning"
    ERROR = "error"


@attrs.define(kw_only=True, slots=True)
class WebhookHealthStatus:
    """Health computed from the webhook's last 100 completed deliveries: `healthy` when the
    success rate is at least 95%, `warning` from 80% up to 95%, `error` under 80%. A webhook
    with no deliveries is `healthy` with a success rate of 100.

    Attributes:
        status: A webhook's health, from its recent success rate.
        success_rate: Percentage (0..100) of successful deliveries among the last 100.
        last_failure_reason: Why the most recent failed delivery failed.
        last_success_at: When the most recent successful delivery was made.
        last_failure_at: When the most recent failed delivery was made.
    """

    status: HealthState | str
    success_rate: float
    last_failure_reason: str | None = None
    last_success_at: datetime.datetime | None = None
    last_failure_at: datetime.datetime | None = None


@attrs.define(kw_only=True, slots=True)
class Webhook:
    """A registered webhook.

    Attributes:
        id: The webhook's id.
        url: The HTTPS (or, in the sandbox, HTTP) URL deliveries are POSTed to.
        events: The events this webhook receives.
        is_active: Whether the webhook receives deliveries.
        secret_key: The signing secret (`whsec_` + base64). Present on create and get, absent in
            lists.
        description: A note for people.
        created_at: When the webhook was created.
        updated_at: When the webhook was last changed.
        last_triggered_at: When a delivery to this webhook was last attempted.
        health_status: Health computed from the webhook's last 100 completed deliveries: `healthy`
            when the success rate is at least 95%, `warning` from 80% up to 95%, `error` under 80%.
            A webhook with no deliveries is `healthy` with a success rate of 100.
    """

    id: str
    url: str
    events: list[WebhookEvent | str]
    is_active: bool
    secret_key: str | None = attrs.field(default=None, repr=_mask_secret)
    description: str | None = None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    last_triggered_at: datetime.datetime | None = None
    health_status: WebhookHealthStatus


@attrs.define(kw_only=True, slots=True)
class WebhookList:
    """The shop's webhooks.

    Attributes:
        data: The webhooks, newest first.
    """

    data: list[Webhook]


@attrs.define(kw_only=True, slots=True)
class DeliveryResponse:
    """What the receiver answered.

    Attributes:
        status_code: The HTTP status the receiver answered.
        headers: The receiver's response headers (lower-case names).
        body: The receiver's response body, cut to its first 4 KiB.
    """

    status_code: int
    headers: dict[str, str]
    body: str | None = None


@attrs.define(kw_only=True, slots=True)
class WebhookDelivery:
    """One attempt to deliver an event to a webhook.

    Attributes:
        id: The delivery's id.
        webhook_id: The webhook it was sent to.
        event: The name of an event a webhook can subscribe to (`group.action`).
        payload: The `WebhookEventPayload` that was sent, as JSON.
        response: The receiver's answer; `null` when none was received (timeout, refused connection)
            or the attempt is still pending.
        status: The outcome of a delivery attempt; `pending` for an automatic retry still to come.
        failure_reason: Why the attempt failed (for example `timeout`, `connection refused`, `HTTP
            500 from receiver`).
        created_at: When the attempt was made (for a pending delivery, when it was scheduled).
        duration_ms: How long the attempt took, in milliseconds (0 while pending).
        attempt: Which attempt at this event this is, from 1.
        next_attempt_at: For a pending delivery, when it will be attempted.
    """

    id: str
    webhook_id: str
    event: WebhookEvent | str
    payload: dict[str, Any]
    response: DeliveryResponse | None
    status: DeliveryStatus | str
    failure_reason: str | None = None
    created_at: datetime.datetime
    duration_ms: int
    attempt: int | None = None
    next_attempt_at: datetime.datetime | None = None


@attrs.define(kw_only=True, slots=True)
class DeliveryPage:
    """One page of deliveries.

    Attributes:
        data: The deliveries on this page, newest first.
        total: How many deliveries match the filters, on all pages.
        page_number: This page's number, from 1.
        page_size: The page size asked for.
        total_pages: How many pages there are.
    """

    data: list[WebhookDelivery]
    total: int | None = None
    page_number: int
    page_size: int
    total_pages: int | None = None


@attrs.define(kw_only=True, slots=True)
class PendingDeliveries:
    """The automatic retries still to come.

    Attributes:
        total_count: How many retries are pending.
        deliveries: The pending deliveries, soonest first.
    """

    total_count: int
    deliveries: list[WebhookDelivery]


@attrs.define(kw_only=True, slots=True)
class AttemptResponse:
    """The receiver's answer to a test or a retried delivery.

    Attributes:
        status_code: The HTTP status the receiver answered.
        body: The receiver's response body, cut to its first 4 KiB.
    """

    status_code: int
    body: str | None = None


@attrs.define(kw_only=True, slots=True)
class WebhookTestResult:
    """The outcome of a test delivery.

    Attributes:
        delivery_id: The delivery recorded for the test.
        status: The outcome of a delivery attempt; `pending` for an automatic retry still to come.
        response: The receiver's answer to a test or a retried delivery.
        failure_reason: Why the test failed.
    """

    delivery_id: str
    status: DeliveryStatus | str
    response: AttemptResponse | None = None
    failure_reason: str | None = None


@attrs.define(kw_only=True, slots=True)
class RetryWebhookResult:
    """The outcome of a retried delivery.

    Attributes:
        delivery_id: The new delivery recorded for this attempt.
        status: The outcome of a delivery attempt; `pending` for an automatic retry still to come.
        response: The receiver's answer to a test or a retried delivery.
        failure_reason: Why the attempt failed.
    """

    delivery_id: str
    status: DeliveryStatus | str
    response: AttemptResponse | None = None
    failure_reason: str | None = None


@attrs.define(kw_only=True, slots=True)
class RotateSecretResult:
    """A webhook's new signing secret.

    Attributes:
        secret_key: The new secret (`whsec_` + base64).
    """

    secret_key: str = attrs.field(repr=_mask_secret)


@attrs.define(kw_only=True, slots=True)
class ClearHistoryResult:
    """How many deliveries were deleted.

    Attributes:
        deleted_count: The number of deliveries deleted.
    """

    deleted_count: int


@attrs.define(kw_only=True, slots=True)
class HourlyStat:
    """Deliveries within one hour.

    Attributes:
        hour: The start of the hour (UTC).
        total: Deliveries in this hour.
        success: Successful deliveries in this hour.
        failed: Failed deliveries in this hour.
    """

    hour: datetime.datetime
    total: int
    success: int
    failed: int


@attrs.define(kw_only=True, slots=True)
class WebhookStats:
    """A webhook's delivery statistics over a date range. Hours without deliveries are left out
    of `hourly_stats`, which is in time order.

    Attributes:
        total_deliveries: Completed deliveries in the range.
        success_count: Successful deliveries in the range.
        failure_count: Failed deliveries in the range.
        average_duration_ms: Mean duration of the deliveries, in milliseconds (0 when there are
            none).
        event_counts: Deliveries per event name.
        hourly_stats: Deliveries per hour, in time order.
    """

    total_deliveries: int
    success_count: int
    failure_count: int
    average_duration_ms: float
    event_counts: dict[str, int]
    hourly_stats: list[HourlyStat]


@attrs.define(kw_only=True, slots=True)
class WebhookEventPayload:
    """The body of every delivery. `id` equals the `webhook-id` header.

    Attributes:
        id: The event's id; the same on every retry.
        event: The name of an event a webhook can subscribe to (`group.action`).
        shop_id: The shop the event happened in.
        created_at: When the event happened.
        data: The event's data (an order, a customer, a product...).
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: dict[str, Any]


@attrs.define(kw_only=True, slots=True)
class CreateWebhookRequest:
    """A webhook to create.

    Attributes:
        url: The absolute http(s) URL to deliver to.
        events: The events to receive.
        description: A note for people.
        is_active: Whether the webhook starts active. The server's default: `true`.
    """

    url: str
    events: list[WebhookEvent | str]
    description: str | None = None
    is_active: bool | None = None


@attrs.define(kw_only=True, slots=True)
class UpdateWebhookRequest:
    """The fields to change; fields left out keep their value.

    Attributes:
        url: The absolute http(s) URL to deliver to.
        events: The events to receive.
        description: A note for people; `null` clears it.
        is_active: Whether the webhook is active.
    """

    url: str | None = None
    events: list[WebhookEvent | str] | None = None
    description: str | None = None
    is_active: bool | None = None


@attrs.define(kw_only=True, slots=True)
class SetActiveRequest:
    """The new state.

    Attributes:
        is_active: `true` to enable, `false` to disable.
    """

    is_active: bool


@attrs.define(kw_only=True, slots=True)
class WebhookTestRequest:
    """The test event to send.

    Attributes:
        event: The name of an event a webhook can subscribe to (`group.action`).
        payload: The event's `data`; a sample is used when left out.
    """

    event: WebhookEvent | str
    payload: dict[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class ClearHistoryRequest:
    """Which deliveries to delete; all of the webhook's when empty.

    Attributes:
        before_date: Only deliveries created before this day (UTC).
        status: Only deliveries with this outcome. One of `success`, `failed`.
    """

    before_date: datetime.date | None = None
    status: DeliveryStatus | str | None = None


@attrs.define(kw_only=True, slots=True)
class SandboxEventRequest:
    """An event to emit in the sandbox.

    Attributes:
        event: The name of an event a webhook can subscribe to (`group.action`).
        data: The event's data; a sample is used when left out.
    """

    event: WebhookEvent | str
    data: dict[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class SandboxEventResult:
    """An emitted event and the webhooks it goes to.

    Attributes:
        id: The event's id (the `webhook-id` of its deliveries).
        event: The name of an event a webhook can subscribe to (`group.action`).
        webhook_ids: The webhooks that will receive it.
    """

    id: str
    event: WebhookEvent | str
    webhook_ids: list[str]


@attrs.define(kw_only=True, slots=True)
class ErrorDetail:
    """What went wrong.

    Attributes:
        code: A stable, machine-readable code (for example `not_found`, `validation_error`).
        message: A sentence for people.
        details: More about the error; for `validation_error`, `errors` lists each problem.
    """

    code: str
    message: str
    details: dict[str, Any] | None = None


@attrs.define(kw_only=True, slots=True)
class ErrorResponse:
    """The body of every error answer.

    Attributes:
        success: Always `false`.
        error: What went wrong.
    """

    success: bool
    error: ErrorDetail
