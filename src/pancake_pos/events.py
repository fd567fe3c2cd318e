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
field that did not fit.

Every event has ``id`` (the ``webhook-id`` header; the same on every retry), ``event`` (its name,
such as ``order.created``), ``shop_id``, ``created_at`` (when the event happened,
timezone-aware), ``data``, and ``raw``: the whole payload as received.

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
import enum
import keyword
import types
import typing
from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from pancake_pos import _json
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
class _EventFields:
    """What every event carries besides its ``data``: the base of the event classes.

    Attributes:
        id: The event's id (the ``webhook-id`` header; the same on every retry).
        event: The event's name, such as ``order.created``.
        shop_id: The shop the event happened in.
        created_at: When the event happened (timezone-aware).
        raw: The whole payload as received.
    """

    id: str
    event: WebhookEvent | str
    shop_id: str
    created_at: datetime.datetime
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)


@attrs.frozen(kw_only=True)
class OrderEvent(_EventFields):
    """An ``order.*`` event; ``data`` is the order."""

    data: Order


@attrs.frozen(kw_only=True)
class CustomerEvent(_EventFields):
    """A ``customer.*`` event; ``data`` is the customer."""

    data: Customer


@attrs.frozen(kw_only=True)
class InventoryEvent(_EventFields):
    """An ``inventory.*`` event; ``data`` is the stock change."""

    data: InventoryChange


@attrs.frozen(kw_only=True)
class ProductEvent(_EventFields):
    """A ``product.*`` event; ``data`` is the product."""

    data: Product


@attrs.frozen(kw_only=True)
class TransactionEvent(_EventFields):
    """A ``transaction.*`` event; ``data`` is the payment."""

    data: Transaction


@attrs.frozen(kw_only=True)
class LoyaltyEvent(_EventFields):
    """A ``loyalty.*`` event; ``data`` is the points change."""

    data: LoyaltyPointsChange


@attrs.frozen(kw_only=True)
class UnknownEvent(_EventFields):
    """An event of a group this SDK has no model for, or whose ``data`` did not fit its model.

    Besides the fields of every event (``id``, ``event``, ``shop_id``, ``created_at``, ``raw``):

    Attributes:
        data: The ``data`` object as received.
        problem: Why ``data`` is not typed: the field that did not fit its group's model (such as
            ``data does not fit Order: expected an integer @ $.data.id``); ``None`` when the
            event's group has no model in this version of the SDK.
    """

    data: dict[str, Any]
    problem: str | None = None


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
    if isinstance(body, bytes) and _json.BACKEND == "json":
        # The standard library would also take UTF-16 and UTF-32; a payload is UTF-8.
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the body is not valid UTF-8") from None
    try:
        data = _json.loads(body)
    except _json.DECODE_ERRORS:
        if isinstance(body, bytes):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("the body is not valid UTF-8") from None
        raise ValueError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"not a webhook event payload: expected a JSON object, got {_json_kind(data)}"
        )
    return data


def _event_from_dict(raw: dict[str, Any]) -> Event:
    """The typed event of a decoded payload; ``ValueError`` when the envelope is not sound."""
    try:
        try:
            envelope = _read_envelope(raw)
        except _DoesNotFit:  # the converter decides, and names the problem
            envelope = structure(raw, WebhookEventPayload)
    except ConversionError as exc:
        raise ValueError(f"not a webhook event payload: {_problems(exc.problems)}") from None
    return _typed(envelope, raw)


def _typed(envelope: WebhookEventPayload, raw: dict[str, Any]) -> Event:
    group, dot, _ = str(envelope.event).partition(".")
    typed = _GROUPS.get(group) if dot else None  # "order" alone is not an "order.*" name
    problem = None
    if typed is not None:
        event_class, model = typed
        try:
            try:
                data = _fast_reader(model)(envelope.data)
            except _DoesNotFit:  # the converter decides, and names the problem
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
        data=dict(envelope.data),
        problem=problem,
        raw=raw,
    )


# -- a fast path for reading data that fits ------------------------------------------------
#
# Reading ``data`` with the converter costs about as much as verifying the signature, because
# every field goes through cattrs' general machinery. The event data models are simple (every
# field optional; scalars, enums, lists, nested models, free-form objects), so each gets a reader
# built once from its annotations that follows the converter's rules for data that fits, and
# gives up (``_DoesNotFit``) at the first value that does not: the converter then reads the data
# again, and is the one that decides and names the problem. Both give equal results for data
# that fits (tests compare them). The reader is Python source made for the model (one block per
# field, as cattrs and attrs make theirs) that fills a new instance's slots: a loop over a field
# table and a call of ``__init__`` with keywords cost two thirds of the time of a whole delivery.


class _DoesNotFit(Exception):
    pass


_Reader = Callable[[Any], Any]
_readers: dict[type[Any], _Reader] = {}


def _fast_reader(model: type[Any]) -> _Reader:
    reader = _readers.get(model)
    if reader is None:
        reader = _readers[model] = _model_reader(model)
    return reader


def _model_reader(model: type[Any]) -> _Reader:
    hints = typing.get_type_hints(model)
    fields = attrs.fields(model)
    # Per field: the class a value may have to be kept as it is (or None), and the reader of
    # any other value.
    specs = [(_exact_class(hints[f.name]), _value_reader(hints[f.name])) for f in fields]
    if not _plain_slots(model):
        return _keyword_reader(model, {f.name: spec for f, spec in zip(fields, specs, strict=True)})
    # Straight-line code, one block per field, filling the slots of a new instance: a plain
    # slotted attrs class whose fields all default to None needs nothing more from __init__.
    namespace: dict[str, Any] = {"model": model, "new": object.__new__, "DoesNotFit": _DoesNotFit}
    lines = [
        "def read(value):",
        "    if value.__class__ is not dict:",
        "        raise DoesNotFit",
        "    get = value.get",
        "    instance = new(model)",
    ]
    for number, (field, (exact, reader)) in enumerate(zip(fields, specs, strict=True)):
        namespace[f"read_{number}"] = reader
        lines.append(f"    item = get({field.name!r})")
        if exact is None:
            lines.append("    if item is not None:")
        else:
            namespace[f"exact_{number}"] = exact
            lines.append(f"    if item is not None and item.__class__ is not exact_{number}:")
        lines.append(f"        item = read_{number}(item)")
        lines.append(f"    instance.{field.name} = item")
    lines.append("    return instance")
    exec(compile("\n".join(lines), f"<event data reader of {model.__name__}>", "exec"), namespace)
    generated: _Reader = namespace["read"]
    return generated


def _plain_slots(model: type[Any]) -> bool:
    """Whether ``model``'s instances can be filled slot by slot, without ``__init__``."""
    return (
        "__slots__" in model.__dict__
        and getattr(model, "__setattr__", None) is object.__setattr__
        and not hasattr(model, "__attrs_post_init__")
        and all(
            field.default is None
            and field.validator is None
            and field.converter is None
            and field.name.isidentifier()
            and not keyword.iskeyword(field.name)
            and field.init
            for field in attrs.fields(model)
        )
    )


def _keyword_reader(
    model: type[Any], fields: dict[str, tuple[type[Any] | None, _Reader]]
) -> _Reader:
    field_spec = fields.get

    def read(value: Any) -> Any:
        if value.__class__ is not dict:
            raise _DoesNotFit
        arguments = {}
        for name, item in value.items():
            spec = field_spec(name)
            if spec is None or item is None:  # unknown keys are ignored; null is None
                continue
            if item.__class__ is spec[0]:
                arguments[name] = item
            else:
                arguments[name] = spec[1](item)
        return model(**arguments)

    return read


def _value_reader(type_: Any) -> _Reader:
    arguments = [a for a in typing.get_args(type_) if a is not type(None)]
    if typing.get_origin(type_) in (typing.Union, types.UnionType):
        enums = [a for a in arguments if isinstance(a, type) and issubclass(a, enum.StrEnum)]
        if len(arguments) == 1:
            return _value_reader(arguments[0])
        if len(arguments) == 2 and len(enums) == 1 and str in arguments:
            by_value = {member.value: member for member in enums[0]}

            def read_enum(value: Any) -> Any:
                if value.__class__ is not str:
                    raise _DoesNotFit
                return by_value.get(value, value)

            return read_enum
    elif typing.get_origin(type_) is list:
        read_item = _value_reader(arguments[0])

        def read_list(value: Any) -> Any:
            if value.__class__ is not list:
                raise _DoesNotFit
            return [read_item(item) for item in value]

        return read_list
    elif typing.get_origin(type_) is dict and typing.get_args(type_) == (str, Any):
        return _read_object
    elif type_ in _SCALAR_READERS:
        return _SCALAR_READERS[type_]
    elif attrs.has(type_):
        return _fast_reader(type_)
    return _never  # not expected in the data models: the converter reads it


def _exact_class(type_: Any) -> type[Any] | None:
    """For ``str``, ``int``, ``float`` and ``bool`` fields: the class kept as it is."""
    arguments = [a for a in typing.get_args(type_) if a is not type(None)]
    if len(arguments) == 1:
        type_ = arguments[0]
    return type_ if type_ in (str, int, float, bool) else None


def _never(value: Any) -> Any:
    raise _DoesNotFit


def _read_object(value: Any) -> Any:
    if value.__class__ is not dict:
        raise _DoesNotFit
    return dict(value)


def _read_str(value: Any) -> Any:
    if value.__class__ is not str:
        raise _DoesNotFit
    return value


def _read_int(value: Any) -> Any:
    if value.__class__ is int:
        return value
    if value.__class__ is float and value.is_integer():
        return int(value)
    raise _DoesNotFit


def _read_float(value: Any) -> Any:
    if value.__class__ is float:
        return value
    if value.__class__ is int:
        return float(value)
    raise _DoesNotFit


def _read_bool(value: Any) -> Any:
    if value.__class__ is not bool:
        raise _DoesNotFit
    return value


def _read_datetime(value: Any) -> Any:
    if value.__class__ is not str:
        raise _DoesNotFit
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise _DoesNotFit from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.UTC)


_EVENT_NAMES = {member.value: member for member in WebhookEvent}


def _read_envelope(raw: dict[str, Any]) -> WebhookEventPayload:
    event_id, event, shop_id, data = (
        raw.get("id"),
        raw.get("event"),
        raw.get("shop_id"),
        raw.get("data"),
    )
    if not (
        event_id.__class__ is str
        and event.__class__ is str
        and shop_id.__class__ is str
        and data.__class__ is dict
    ):
        raise _DoesNotFit
    return WebhookEventPayload(
        id=event_id,
        event=_EVENT_NAMES.get(event, event),
        shop_id=shop_id,
        created_at=_read_datetime(raw.get("created_at")),
        data=data,
    )


_SCALAR_READERS: dict[Any, _Reader] = {
    str: _read_str,
    int: _read_int,
    float: _read_float,
    bool: _read_bool,
    datetime.datetime: _read_datetime,
}


def _problems(problems: list[str]) -> str:
    shown = "; ".join(problems[:_MAX_PROBLEMS])
    more = len(problems) - _MAX_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
    return kinds.get(type(value), "a number" if isinstance(value, float) else "null")
