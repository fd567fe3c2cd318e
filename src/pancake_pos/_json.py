"""Parsing JSON answers: orjson when it is installed (extra `speedups`), else the standard library.

Parsing is most of the cost of reading a page of deliveries, and orjson does it several times
faster than `json.loads` (BENCHMARKS.md has the numbers). Both raise a `ValueError` subclass for
text that is not JSON; orjson is stricter (no `NaN`, integers of at most 64 bits), which only
turns more bad answers into `APIResponseValidationError`.

>>> loads(b'{"deleted_count": 3}')
{'deleted_count': 3}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "DECODE_ERRORS", "loads"]

DECODE_ERRORS: tuple[type[Exception], ...] = (ValueError, RecursionError)
"""What `loads` raises for a body that is not JSON."""


def _select() -> tuple[str, Callable[[bytes | str], Any]]:
    try:
        import orjson
    except ImportError:
        return "json", json.loads
    return "orjson", orjson.loads


BACKEND, loads = _select()
"""The parser in use (`"orjson"` or `"json"`), and its `loads(bytes | str) -> Any`."""
