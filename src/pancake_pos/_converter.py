"""The one cattrs converter: JSON data to the generated models and back.

`structure` reads decoded JSON (dicts, lists, strings, numbers) into a model and `unstructure`
turns a model into JSON-ready data. The rules:

* Unknown keys are ignored, so a newer server never breaks an older SDK.
* A field typed ``SomeEnum | str`` gets the enum member when the value is one of the enum's values
  and the plain ``str`` otherwise (``"order.refunded"`` stays ``"order.refunded"``).
* Date-times are RFC 3339 / ISO 8601 strings (``Z`` or an offset) read as timezone-aware
  ``datetime``; one without an offset is taken as UTC, the time zone of every timestamp the API
  sends. They are written back in UTC with a ``Z``. Dates are ``YYYY-MM-DD``.
* Scalars are strict: a string is never turned into a number or a boolean (nor a number or
  ``None`` into a string); an integral float such as ``3.0`` is accepted as an ``int``.
* ``unstructure`` leaves out optional fields whose value is ``None``; a required field that may be
  ``null`` (``WebhookDelivery.response``) is kept as ``None``.

Errors: any input that does not fit (a missing required key, a wrong type, ``None`` where a value is
needed, a date-time that does not parse, a list where an object is expected...) raises
`ConversionError`, a `ValueError` that lists each problem with its JSON path, such as
``$.data[3].created_at``. It never quotes the offending values, so a secret cannot leak through
it. The cattrs exception it replaces is kept as ``__cause__``.

Hooks are built by cattrs once per class (``make_dict_structure_fn``/``make_dict_unstructure_fn``)
the first time the class is converted, and cached for every later call (building them all at
import would slow down the start-up of every program that imports the SDK).

Example:
    >>> from pancake_pos.models import ClearHistoryResult, WebhookEventPayload
    >>> event = structure(
    ...     {
    ...         "id": "msg_1",
    ...         "event": "order.refunded",
    ...         "shop_id": "shop_42",
    ...         "created_at": "2024-04-29T10:15:00Z",
    ...         "data": {},
    ...     },
    ...     WebhookEventPayload,
    ... )
    >>> event.event, event.created_at.tzinfo
    ('order.refunded', datetime.timezone.utc)
    >>> unstructure(ClearHistoryResult(deleted_count=3))
    {'deleted_count': 3}
"""

from __future__ import annotations

import datetime
import enum
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

__all__ = ["ConversionError", "converter", "structure", "unstructure"]

T = TypeVar("T")

MAX_LISTED_PROBLEMS = 5


class ConversionError(ValueError):
    """Data that does not fit the model it is read into.

    Attributes:
        target: The name of the type the data was read into.
        problems: Each problem, with where it is (``"required field missing @ $.id"``).

    Example:
        >>> from pancake_pos.models import ClearHistoryResult
        >>> try:
        ...     structure({"deleted_count": "3"}, ClearHistoryResult)
        ... except ConversionError as exc:
        ...     print(exc.problems)
        ['invalid value for type, expected int @ $.deleted_count']
    """

    def __init__(self, target: str, problems: list[str]) -> None:
        listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
        more = len(problems) - MAX_LISTED_PROBLEMS
        if more > 0:
            listed += f"; and {more} more"
        super().__init__(f"the data does not fit {target}: {listed}")
        self.target = target
        self.problems = problems


def structure(data: Any, cls: type[T]) -> T:
    """Read decoded JSON ``data`` into ``cls`` (a model, or a type such as ``list[Webhook]``).

    Raises:
        ConversionError: ``data`` does not fit ``cls``.

    Example:
        >>> from pancake_pos.models import RotateSecretResult
        >>> structure({"secret_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, RotateSecretResult)
        RotateSecretResult(secret_key='whsec_MfK…')
    """
    try:
        return converter.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        raise ConversionError(_type_name(cls), cattrs.transform_error(exc)) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConversionError(_type_name(cls), [format_exception(exc, cls) + " @ $"]) from exc


def unstructure(obj: Any) -> Any:
    """Turn a model (or a list or dict of them) into JSON-ready data.

    Example:
        >>> from pancake_pos.models import SetActiveRequest
        >>> unstructure(SetActiveRequest(is_active=True))
        {'is_active': True}
    """
    return converter.unstructure(obj)


# -- scalars --------------------------------------------------------------------------------
# Each hook checks the common case first: these run once per field of every object read.


def _structure_str(value: object, cls: type[str]) -> str:
    if value.__class__ is str and cls is str:
        return value
    if isinstance(value, str):
        return cls(value)  # a StrEnum asked for on its own
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: object, cls: type[int]) -> int:
    if value.__class__ is int and cls is int:
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return cls(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_float(value: object, _: object) -> float:
    if value.__class__ is float:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _structure_bool(value: object, _: object) -> bool:
    if value.__class__ is bool:
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_datetime(value: object, _: object) -> datetime.datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an ISO 8601 date-time") from None
    elif isinstance(value, datetime.datetime):
        parsed = value
    else:
        raise TypeError(f"expected a date-time string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=datetime.UTC)
    return parsed


def _unstructure_datetime(value: datetime.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    text = value.astimezone(datetime.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _structure_date(value: object, _: object) -> datetime.date:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ValueError("expected a YYYY-MM-DD date") from None
    raise TypeError(f"expected a date string, got {type(value).__name__}")


def _unstructure_date(value: datetime.date) -> str:
    return value.isoformat()


# -- enum fields: ``SomeEnum | str`` (maybe ``| None``) -------------------------------------


def _lenient_enum(type_: Any) -> type[enum.StrEnum] | None:
    """The enum of a ``SomeEnum | str`` (or ``SomeEnum | str | None``) type, else None."""
    if typing.get_origin(type_) not in (typing.Union, types.UnionType):
        return None
    members = [arg for arg in typing.get_args(type_) if arg is not type(None)]
    enums = [arg for arg in members if isinstance(arg, type) and issubclass(arg, enum.StrEnum)]
    if len(members) == 2 and len(enums) == 1 and str in members:
        return enums[0]
    return None


def _structure_lenient_enum_factory(type_: Any) -> Callable[[Any, Any], Any]:
    enum_class = _lenient_enum(type_)
    assert enum_class is not None
    by_value: dict[str, enum.StrEnum] = {member.value: member for member in enum_class}
    nullable = type(None) in typing.get_args(type_)

    def structure_lenient_enum(value: Any, _: Any) -> enum.StrEnum | str | None:
        if value.__class__ is str:
            return by_value.get(value, value)
        if isinstance(value, str):
            return by_value.get(str(value), str(value))
        if value is None and nullable:
            return None
        raise TypeError(f"expected a string, got {type(value).__name__}")

    return structure_lenient_enum


def _unstructure_lenient_enum(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


# -- containers -----------------------------------------------------------------------------


def _is_list(type_: Any) -> bool:
    return typing.get_origin(type_) is list


def _structure_list_factory(type_: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    structure_items = list_structure_factory(type_, conv)

    def structure_list(value: Any, cls: Any) -> Any:
        # cattrs would take a string (or a dict) for an iterable of its characters (or keys).
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        return structure_items(value, cls)

    return structure_list


def _is_free_form_object(type_: Any) -> bool:
    return typing.get_origin(type_) is dict and typing.get_args(type_) == (str, Any)


def _structure_free_form_object(value: Any, _: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return dict(value)


def _is_string_map(type_: Any) -> bool:
    return typing.get_origin(type_) is dict and typing.get_args(type_) == (str, str)


def _structure_string_map(value: Any, _: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    for item in value.values():
        if item.__class__ is not str:
            raise TypeError(f"expected string values, got {type(item).__name__}")
    return dict(value)


def _is_optional(type_: Any) -> bool:
    if typing.get_origin(type_) not in (typing.Union, types.UnionType):
        return False
    arguments = typing.get_args(type_)
    return len(arguments) == 2 and type(None) in arguments


def _structure_optional_factory(type_: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    (inner_type,) = (argument for argument in typing.get_args(type_) if argument is not type(None))
    structure_inner = conv.get_structure_hook(inner_type)
    # For these, a value of exactly the type needs no hook call at all.
    passthrough = inner_type if inner_type in (str, int, float, bool) else None

    def structure_optional(value: Any, _: Any) -> Any:
        if value is None or value.__class__ is passthrough:
            return value
        return structure_inner(value, inner_type)

    return structure_optional


# -- model classes --------------------------------------------------------------------------


def _structure_model_factory(cls: type[Any], conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    structure_fields = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=False)

    def structure_model(value: Any, _: Any) -> Any:
        # Without this, cattrs would blame the first field for a list or a string given here.
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return structure_fields(value, cls)

    return structure_model


def _unstructure_model_factory(cls: type[Any], conv: cattrs.Converter) -> Callable[[Any], Any]:
    # Only fields that default to None are left out when None; a required nullable field stays.
    omit_none = {
        field.name: override(omit_if_default=True)
        for field in attrs.fields(cls)
        if field.default is None
    }
    return make_dict_unstructure_fn(cls, conv, **typing.cast(dict[str, Any], omit_none))


def _type_name(cls: Any) -> str:
    return getattr(cls, "__name__", None) or repr(cls)


def _make_converter() -> cattrs.Converter:
    new = cattrs.Converter()
    # cattrs looks these up by class (functools.singledispatch), so they also serve subclasses
    # such as a StrEnum asked for on its own: the hooks build the subclass from the checked value.
    new.register_structure_hook(str, _structure_str)
    new.register_structure_hook(int, _structure_int)
    new.register_structure_hook(float, _structure_float)
    new.register_structure_hook(bool, _structure_bool)
    new.register_structure_hook(datetime.datetime, _structure_datetime)
    new.register_structure_hook(datetime.date, _structure_date)
    new.register_unstructure_hook(datetime.datetime, _unstructure_datetime)
    new.register_unstructure_hook(datetime.date, _unstructure_date)
    is_lenient_enum = _lenient_enum
    new.register_structure_hook_factory(
        lambda t: is_lenient_enum(t) is not None, _structure_lenient_enum_factory
    )
    new.register_unstructure_hook_func(
        lambda t: is_lenient_enum(t) is not None, _unstructure_lenient_enum
    )
    new.register_structure_hook_factory(_is_list, _structure_list_factory)
    new.register_structure_hook_func(_is_free_form_object, _structure_free_form_object)
    new.register_structure_hook_func(_is_string_map, _structure_string_map)
    new.register_structure_hook_factory(_is_optional, _structure_optional_factory)
    new.register_structure_hook_factory(attrs.has, _structure_model_factory)
    new.register_unstructure_hook_factory(attrs.has, _unstructure_model_factory)
    return new


converter: cattrs.Converter = _make_converter()
"""The converter every part of the SDK uses; configured here, never elsewhere."""
