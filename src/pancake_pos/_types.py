"""Small shared types: the `NOT_GIVEN` sentinel and the argument aliases of the public methods."""

from __future__ import annotations

import datetime
from typing import Final, Literal, TypeAlias, final

import httpx

__all__ = ["NOT_GIVEN", "DateLike", "NotGiven", "TimeoutLike"]


@final
class NotGiven:
    """The type of `NOT_GIVEN`: "this argument was not passed", as opposed to an explicit `None`.

    `update()` sends only the fields that were given, and sends an explicit `None` as JSON `null`:

    >>> from pancake_pos import NOT_GIVEN
    >>> bool(NOT_GIVEN), repr(NOT_GIVEN)
    (False, 'NOT_GIVEN')
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        # One instance only, so `value is NOT_GIVEN` is always a correct test.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __copy__(self) -> NotGiven:
        return self

    def __deepcopy__(self, memo: object) -> NotGiven:
        return self

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
"""Sentinel default of the optional fields of `update()`: the field is left out of the request."""

DateLike: TypeAlias = datetime.date | str
"""A day: a `datetime.date` or a `YYYY-MM-DD` string (a `datetime.datetime` is refused)."""

TimeoutLike: TypeAlias = float | httpx.Timeout
"""A timeout: seconds as a number, or an `httpx.Timeout`."""
