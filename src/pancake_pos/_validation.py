"""Argument checks run before a request is sent.

Each check returns the value in the form the API wants (a `str` for an event name or a day, an
`int` for a page size) or raises `TypeError` (wrong type) or `ValueError` (right type, bad value)
with a message that names the argument.

    >>> event_name("order.created", "event")
    'order.created'
    >>> day(datetime.date(2024, 4, 1), "from_date")
    '2024-04-01'
"""

from __future__ import annotations

import datetime
import enum
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ._constants import (
    DELIVERY_STATUS_FILTERS,
    MAX_DESCRIPTION_LENGTH,
    MAX_ID_LENGTH,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_PAGE_SIZE,
    MAX_URL_LENGTH,
    MIN_PAGE_SIZE,
)

__all__ = [
    "boolean",
    "date",
    "date_order",
    "date_range",
    "day",
    "delivery_filters",
    "delivery_status",
    "description",
    "event_name",
    "event_names",
    "http_url",
    "idempotency_key",
    "identifier",
    "page_number",
    "page_size",
    "payload",
]

_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _type_name(value: object) -> str:
    return type(value).__name__


def _text(value: object, name: str) -> str:
    """`value` as a plain `str` (a `StrEnum` member gives its value)."""
    if isinstance(value, enum.Enum) and isinstance(value.value, str):
        return value.value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    return str(value)


def identifier(value: object, name: str) -> str:
    """A non-empty id of at most `MAX_ID_LENGTH` characters (percent-encoded into paths)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{name} must be at most {MAX_ID_LENGTH} characters")
    return value


def http_url(value: object, name: str) -> str:
    """An absolute `http://` or `https://` URL with a host."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"{name} must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(character.isspace() for character in value):
        raise ValueError(f"{name} must be an absolute http(s) URL, got {value!r}")
    return value


def event_name(value: object, name: str) -> str:
    """An event name of the form `group.action`; names the SDK does not know yet are accepted."""
    text = _text(value, name)
    if not _EVENT_NAME.fullmatch(text):
        raise ValueError(
            f"{name} must be an event name like 'order.created' (group.action), got {text!r}"
        )
    return text


def event_names(values: object, name: str) -> list[str]:
    """A non-empty collection of event names, returned without duplicates, in order."""
    if isinstance(values, str | bytes | Mapping) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of event names, not {_type_name(values)}")
    names: list[str] = []
    for index, value in enumerate(values):
        text = event_name(value, f"{name}[{index}]")
        if text not in names:
            names.append(text)
    if not names:
        raise ValueError(f"{name} must not be empty")
    return names


def boolean(value: object, name: str) -> bool:
    """A real `bool` (not `0`/`1`, not `None`)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {_type_name(value)}")
    return value


def description(value: object, name: str) -> str:
    """A note of at most `MAX_DESCRIPTION_LENGTH` characters."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise ValueError(f"{name} must be at most {MAX_DESCRIPTION_LENGTH} characters")
    return value


def payload(value: object, name: str) -> dict[str, Any]:
    """A JSON object: a JSON-serializable mapping with `str` keys (no NaN or Infinity, which
    JSON cannot carry)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping (a JSON object), not {_type_name(value)}")
    data = dict(value)
    try:
        json.dumps(data, allow_nan=False)
    except TypeError as error:
        raise TypeError(f"{name} must be JSON-serializable: {error}") from None
    except ValueError as error:  # NaN or Infinity, or a circular reference
        raise ValueError(f"{name} must be valid JSON: {error}") from None
    if not all(isinstance(key, str) for key in data):
        raise TypeError(f"{name} must have str keys")
    return data


def idempotency_key(value: object, name: str = "idempotency_key") -> str | None:
    """`None` (the transport makes a UUID) or a non-empty key of at most
    `MAX_IDEMPOTENCY_KEY_LENGTH` characters, all
    printable ASCII (it travels as a header value: no line breaks, no control characters)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if not value or len(value) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(f"{name} must have 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    if not (value.isascii() and value.isprintable()):
        raise ValueError(f"{name} must be printable ASCII (it is sent as a header value)")
    return value


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {_type_name(value)}")
    return value


def page_size(value: object, name: str) -> int:
    """An `int` from `MIN_PAGE_SIZE` to `MAX_PAGE_SIZE` (1 to 100)."""
    number = _integer(value, name)
    if not MIN_PAGE_SIZE <= number <= MAX_PAGE_SIZE:
        raise ValueError(
            f"{name} must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}, got {number}"
        )
    return number


def page_number(value: object, name: str) -> int:
    """An `int` of at least 1 (pages are 1-based)."""
    number = _integer(value, name)
    if number < 1:
        raise ValueError(f"{name} must be at least 1 (pages are 1-based), got {number}")
    return number


def _as_date(value: object, name: str) -> datetime.date:
    # A datetime is a date too, but which day it falls on depends on a time zone the caller
    # did not name (the API's days are UTC); refuse it rather than guess.
    if isinstance(value, datetime.datetime):
        raise TypeError(
            f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, not a datetime; "
            f"pass {name}=value.date() (or the UTC day you mean)"
        )
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, not {_type_name(value)}"
        )
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a day as 'YYYY-MM-DD', got {value!r}") from None


def date(value: object, name: str) -> datetime.date:
    """A day as a `datetime.date`, from a `datetime.date` or a `YYYY-MM-DD` string."""
    return _as_date(value, name)


def day(value: object, name: str) -> str:
    """A day as `YYYY-MM-DD`, from a `datetime.date` or such a string (`datetime` is refused)."""
    return _as_date(value, name).isoformat()


def date_order(
    first: datetime.date | None,
    last: datetime.date | None,
    first_name: str = "from_date",
    last_name: str = "to_date",
) -> None:
    """Refuse a range that ends before it starts (either end may be open, `None`).

    The service answers a reversed range as an empty one; the SDK and the command line refuse
    it instead, because it is always a mistake (two dates swapped).

    >>> date_order(datetime.date(2024, 4, 2), datetime.date(2024, 4, 1))
    Traceback (most recent call last):
    ValueError: from_date (2024-04-02) must not be after to_date (2024-04-01)
    """
    if first is not None and last is not None and first > last:
        raise ValueError(f"{first_name} ({first}) must not be after {last_name} ({last})")


def date_range(
    from_date: object, to_date: object, *, required: bool = False
) -> tuple[str | None, str | None]:
    """Check `from_date` and `to_date` (each optional unless `required`) and their order."""
    start = end = None
    if from_date is not None or required:
        start = _as_date(from_date, "from_date")
    if to_date is not None or required:
        end = _as_date(to_date, "to_date")
    date_order(start, end)
    return (
        None if start is None else start.isoformat(),
        None if end is None else end.isoformat(),
    )


def delivery_status(
    value: object, name: str, allowed: tuple[str, ...] = DELIVERY_STATUS_FILTERS
) -> str:
    """A status to filter on: `"success"` or `"failed"` (or the `DeliveryStatus` member)."""
    text = _text(value, name)
    if text not in allowed:
        choices = " or ".join(repr(choice) for choice in allowed)
        raise ValueError(f"{name} must be {choices}, got {text!r}")
    return text


def delivery_filters(
    *,
    webhook_id: object = None,
    status: object = None,
    event: object = None,
    from_date: object = None,
    to_date: object = None,
) -> dict[str, Any]:
    """The query parameters of the delivery history's filters; `None` filters are left out."""
    params: dict[str, Any] = {}
    if webhook_id is not None:
        params["webhook_id"] = identifier(webhook_id, "webhook_id")
    if status is not None:
        params["status"] = delivery_status(status, "status")
    if event is not None:
        params["event"] = event_name(event, "event")
    start, end = date_range(from_date, to_date)
    if start is not None:
        params["from_date"] = start
    if end is not None:
        params["to_date"] = end
    return params
