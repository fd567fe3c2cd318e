"""What both clients share: their settings, checked once, and the properties that show them."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Final

import httpx

from . import _validation as check
from ._logging import redact_url
from ._transport import Transport
from ._types import TimeoutLike
from .errors import PancakeError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "BaseClient",
    "check_base_url",
    "check_headers",
    "check_max_retries",
    "check_shop_id",
    "check_timeout",
    "setting",
]

DEFAULT_BASE_URL: Final = "https://pos.pages.fm/api/v1"
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES: Final = 2


def setting(value: str | None, argument: str, variable: str) -> str:
    if value is None:
        value = os.environ.get(variable) or None
    if value is None:
        raise PancakeError(
            f"No {argument} was given: pass {argument}=... or set the {variable} environment "
            "variable."
        )
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise PancakeError(f"{argument} must not be empty (pass {argument}=... or set {variable}).")
    return value


def check_base_url(value: str | None) -> str:
    url = value or os.environ.get("PANCAKE_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(url, str):
        raise TypeError(f"base_url must be a str, not {type(url).__name__}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ValueError(f"base_url is not a valid URL: {redact_url(str(error))}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {redact_url(url)!r}")
    if parsed.query or parsed.fragment:
        raise ValueError("base_url must not have a query string or a fragment")
    return url.rstrip("/")


def check_timeout(value: TimeoutLike) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"timeout must be a number of seconds or an httpx.Timeout, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {value!r}")
    return httpx.Timeout(float(value))


def check_max_retries(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_retries must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"max_retries must be 0 or more, got {value}")
    return value


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def check_headers(value: Mapping[str, str] | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise TypeError("default_headers must be a mapping of str to str")
    for key, item in value.items():
        # Checked here rather than met on every call as a "connection error" (h11 refuses a
        # line break) or a UnicodeEncodeError (httpx encodes header values as ASCII). The value
        # is not shown: it may be a credential.
        if not _HEADER_NAME.fullmatch(key):
            raise ValueError(f"default_headers: {key!r} is not a valid header name")
        if not _HEADER_VALUE.fullmatch(item):
            raise ValueError(
                f"default_headers: the value of {key!r} must be printable ASCII (no line breaks)"
            )
    return dict(value)


def check_shop_id(value: str | None) -> str:
    """The shop id, from the argument or `PANCAKE_SHOP_ID`, checked like every id."""
    return check.identifier(setting(value, "shop_id", "PANCAKE_SHOP_ID"), "shop_id")


class BaseClient:
    """The settings of a client, shown by properties; `_transport` holds them."""

    __slots__ = ()

    @property
    def _settings(self) -> Transport:
        raise NotImplementedError

    @property
    def shop_id(self) -> str:
        """The shop this client acts on."""
        return self._settings.shop_id

    @property
    def base_url(self) -> str:
        """The API's base URL, such as `https://pos.pages.fm/api/v1`."""
        return self._settings.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeout of each attempt."""
        return self._settings.timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried."""
        return self._settings.max_retries

    @property
    def default_headers(self) -> dict[str, str]:
        """The headers sent with every request (`User-Agent` included)."""
        return self._settings.headers

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` requests go through (shared with `with_options()` copies)."""
        return self._settings.pool.http_client

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shop_id={self.shop_id!r}, "
            f"base_url={redact_url(self.base_url)!r}, "
            f"api_key='***', max_retries={self.max_retries})"
        )
