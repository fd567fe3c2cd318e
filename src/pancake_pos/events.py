"""Typed webhook events: each delivery's payload with ``data`` read into its group's model.

``parse_event`` takes a delivery's body (``bytes`` or ``str``), its decoded JSON (a ``dict``) or a
:class:`~pancake_pos.models.WebhookEventPayload` (such as ``WebhookDelivery.payload``) and returns
one of the :data:`Event` classes, chosen by the group of the event's name:

=================  ====================  ===========================================
event name         class                 ``data``
=================  ====================  ===========================================
``order.*``        :class:`OrderEvent`        :class:`~pancake_pos.event_data.Order`
``customer.*``     :class:`CustomerEvent`     :class:`~pancake_pos.event_data.Customer`
``inventory.*``    :class:`InventoryEvent`    :class:`~pancake_pos.event_data.InventoryChange`
``product.*``      :class:`ProductEvent`      :class:`~pancake_pos.event_data.Product`
``transaction.*``  :class:`TransactionEvent`  :class:`~pancake_pos.event_data.Transaction`
``loyalty.*``      :class:`LoyaltyEvent`      :class:`~pancake_pos.event_data.LoyaltyPointsChange`
anything else      :class:`UnknownEvent`      the ``dict`` as received
=================  ====================  ===========================================

Every field of the data models is optional (a field the payload does not carry reads ``None``),
and values must have the JSON type the model says: nothing is coerced. Parsing never fails on a
payload whose envelope (``id``, ``event``, ``shop_id``, ``created_at``, ``data``) is sound: when
``data`` does not fit its model, the result is an :class:`UnknownEvent` whose ``problem`` names the
field that did not fit. Every event keeps the whole payload as received in ``raw``.

Example::

    from pancake_pos.events import OrderEvent, parse_event

    match parse_event(raw_body):
        case OrderEvent(data=order):
            print(order.id, order.status_name, order.bill_phone_number)
        case other:
            print("not an order:", other.event)
"""

from __future__ import annotations

import datetime
import json
from typing import Any, TypeAlias

import attrs

from pancake_pos._converter import ConversionError, structure, unstructure
from pancake_pos.event_data import (
    Customer,
    CustomerAddress,
    InventoryChange,
    LoyaltyPointsChange,
    Order,
    OrderItem,
    Product,
    ProductVariation,
    Transaction,
)
from pancake_pos.models import WebhookEvent, WebhookEventPayload

__all__ = [
    "Customer",
    "CustomerAddress",
    "CustomerEvent",
    "Event",
    "InventoryChange",
    "InventoryEvent",
    "LoyaltyEvent",
    "LoyaltyPointsChange",
    "Order",
    "OrderEvent",
    "OrderItem",
    "Product",
    "ProductEvent",
    "ProductVariation",
    "Transaction",
    "TransactionEvent",
    "UnknownEvent",
    "parse_event",
]

_MAX_PROBLEMS = 3


@attrs.frozen(kw_only=True)
class OrderEvent:
    """An ``order.*`` event; ``data`` is the order.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name, such as ``order.created``.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        data: The order.
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: Order
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen(kw_only=True)
class CustomerEvent:
    """A ``customer.*`` event; ``data`` is the customer.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name, such as ``customer.created``.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        data: The customer.
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: Customer
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen(kw_only=True)
class InventoryEvent:
    """An ``inventory.*`` event; ``data`` is the stock change.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name, such as ``inventory.updated``.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        data: The stock change.
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: InventoryChange
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen(kw_only=True)
class ProductEvent:
    """A ``product.*`` event; ``data`` is the product.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name, such as ``product.updated``.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        data: The product.
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: Product
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen(kw_only=True)
class TransactionEvent:
    """A ``transaction.*`` event; ``data`` is the payment.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name, such as ``transaction.created``.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        data: The payment.
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: Transaction
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen(kw_only=True)
class LoyaltyEvent:
    """A ``loyalty.*`` event; ``data`` is the points change.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name, such as ``loyalty.points_earned``.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        data: The points change.
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: LoyaltyPointsChange
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen(kw_only=True)
class UnknownEvent:
    """An event of a group this SDK has no model for, or whose ``data`` did not fit its model.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        data: The ``data`` object as received.
        problem: Why ``data`` is not typed: the field that did not fit its group's model (such as
            ``data does not fit Order: expected an integer @ $.data.id``); ``None`` when the
            event's group has no model in this version of the SDK.
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    data: dict[str, Any]
    problem: str | None = None
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


Event: TypeAlias = (
    OrderEvent
    | CustomerEvent
    | InventoryEvent
    | ProductEvent
    | TransactionEvent
    | LoyaltyEvent
    | UnknownEvent
)
"""Any typed event :func:`parse_event` returns."""

_TypedEvent: TypeAlias = (
    OrderEvent | CustomerEvent | InventoryEvent | ProductEvent | TransactionEvent | LoyaltyEvent
)

_GROUPS: dict[str, tuple[type[_TypedEvent], type[Any]]] = {
    "order": (OrderEvent, Order),
    "customer": (CustomerEvent, Customer),
    "inventory": (InventoryEvent, InventoryChange),
    "product": (ProductEvent, Product),
    "transaction": (TransactionEvent, Transaction),
    "loyalty": (LoyaltyEvent, LoyaltyPointsChange),
}


def parse_event(payload: bytes | str | dict[str, Any] | WebhookEventPayload) -> Event:
    """Read a webhook payload into its typed :data:`Event`.

    ``payload`` is the delivery's body (``bytes`` or ``str`` of JSON), its decoded JSON, or a
    :class:`~pancake_pos.models.WebhookEventPayload` (``WebhookDelivery.payload``). This does not
    check the signature: use :meth:`~pancake_pos.signing.WebhookVerifier.verify_event` for what
    arrives over the network.

    Raises:
        ValueError: ``payload`` is not a webhook event payload at all (not JSON, not an object,
            or its ``id``, ``event``, ``shop_id``, ``created_at`` or ``data`` is missing or of the
            wrong type).
        TypeError: ``payload`` is none of the accepted types.

    Example:
        >>> event = parse_event(
        ...     '{"id": "msg_1", "event": "order.created", "shop_id": "shop_42",'
        ...     ' "created_at": "2024-04-29T10:15:00Z", "data": {"id": 1024, "status_name": "new"}}'
        ... )
        >>> type(event).__name__, event.data.id, event.data.status_name, event.data.note
        ('OrderEvent', 1024, 'new', None)
    """
    if isinstance(payload, WebhookEventPayload):
        return _typed(payload, unstructure(payload))
    if isinstance(payload, bytes | bytearray | memoryview | str):
        return _event_from_dict(_decode_json_object(payload))
    if isinstance(payload, dict):
        return _event_from_dict(payload)
    raise TypeError(
        f"payload must be bytes, str, a dict or a WebhookEventPayload, got {type(payload).__name__}"
    )


def _decode_json_object(body: bytes | bytearray | memoryview | str) -> dict[str, Any]:
    """The JSON object in ``body``; ``ValueError`` naming what is wrong otherwise."""
    if isinstance(body, bytearray | memoryview):
        body = bytes(body)
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the body is not valid UTF-8") from None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"not a webhook event payload: expected a JSON object, got {_json_kind(data)}"
        )
    return data


def _event_from_dict(raw: dict[str, Any]) -> Event:
    """The typed event of a decoded payload; ``ValueError`` when the envelope is not sound."""
    try:
        envelope = structure(raw, WebhookEventPayload)
    except ConversionError as exc:
        raise ValueError(f"not a webhook event payload: {_problems(exc.problems)}") from None
    return _typed(envelope, raw)


def _typed(envelope: WebhookEventPayload, raw: dict[str, Any]) -> Event:
    name = str(envelope.event)
    group = name.partition(".")[0]
    typed = _GROUPS.get(group)
    problem = None
    if typed is not None:
        event_class, model = typed
        try:
            data = structure(envelope.data, model)
        except ConversionError as exc:
            problem = f"data does not fit {model.__name__}: " + _problems(
                [p.replace("@ $", "@ $.data", 1) for p in exc.problems]
            )
        else:
            return event_class(
                id=envelope.id,
                event=envelope.event,
                shop_id=envelope.shop_id,
                created_at=envelope.created_at,
                data=data,
                raw=raw,
            )
    return UnknownEvent(
        id=envelope.id,
        event=envelope.event,
        shop_id=envelope.shop_id,
        created_at=envelope.created_at,
        data=envelope.data,
        problem=problem,
        raw=raw,
    )


def _problems(problems: list[str]) -> str:
    shown = "; ".join(problems[:_MAX_PROBLEMS])
    more = len(problems) - _MAX_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
    return kinds.get(type(value), "a number" if isinstance(value, float) else "null")
