"""`AsyncPancakeClient`: configuration, environment fallback, `with_options()` and lifecycle."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType
from typing import Final

import httpx

from . import _validation as check
from ._logging import configure_logging_from_env, install_httpx_redaction, redact_url
from ._transport import HttpPool, Transport
from ._types import TimeoutLike
from .errors import PancakeError
from .resources.webhooks import AsyncWebhooks

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT", "AsyncPancakeClient"]

DEFAULT_BASE_URL: Final = "https://pos.pages.fm/api/v1"
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES: Final = 2


def _setting(value: str | None, argument: str, variable: str) -> str:
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


def _base_url(value: str | None) -> str:
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


def _timeout(value: TimeoutLike) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"timeout must be a number of seconds or an httpx.Timeout, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {value!r}")
    return httpx.Timeout(float(value))


def _max_retries(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_retries must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"max_retries must be 0 or more, got {value}")
    return value


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def _headers(value: Mapping[str, str] | None) -> dict[str, str]:
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


class AsyncPancakeClient:
    """The async client of the Pancake POS webhooks API.

    Args:
        api_key: the shop's API key; falls back to `PANCAKE_API_KEY`. Sent as the `api_key`
            query parameter and shown nowhere (URLs read `api_key=***`).
        shop_id: the shop's id; falls back to `PANCAKE_SHOP_ID`.
        base_url: falls back to `PANCAKE_BASE_URL`, then `https://pos.pages.fm/api/v1`.
        timeout: seconds, or an `httpx.Timeout` (default: 30 s, 5 s to connect).
        max_retries: retries after a failed attempt (default 2; 0 turns retries off).
        default_headers: extra headers sent with every request.
        http_client: an `httpx.AsyncClient` you own (your transport, proxies, limits...). The
            SDK never closes a client it did not create.

    A missing key or shop id raises `PancakeError` naming the argument and the variable.

    Example:

        async with AsyncPancakeClient("api-key", "shop-id") as client:
            page = await client.webhooks.list_deliveries(status="failed", page_size=20)
            async for delivery in client.webhooks.iter_deliveries(webhook_id="wh_1"):
                print(delivery.id, delivery.status)
    """

    _transport: Transport
    _is_copy: bool

    def __init__(
        self,
        api_key: str | None = None,
        shop_id: str | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        resolved_key = _setting(api_key, "api_key", "PANCAKE_API_KEY")
        resolved_shop = check.identifier(_setting(shop_id, "shop_id", "PANCAKE_SHOP_ID"), "shop_id")
        resolved_url = _base_url(base_url)
        resolved_timeout = _timeout(timeout)
        resolved_retries = _max_retries(max_retries)
        headers = _headers(default_headers)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__}"
            )
        install_httpx_redaction()
        configure_logging_from_env()
        self._is_copy = False
        self._transport = Transport(
            pool=HttpPool(http_client),
            base_url=resolved_url,
            api_key=resolved_key,
            shop_id=resolved_shop,
            timeout=resolved_timeout,
            max_retries=resolved_retries,
            headers=headers,
        )

    # -- configuration ----------------------------------------------------------------------

    @property
    def shop_id(self) -> str:
        """The shop this client acts on."""
        return self._transport.shop_id

    @property
    def base_url(self) -> str:
        """The API's base URL, such as `https://pos.pages.fm/api/v1`."""
        return self._transport.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeout of each attempt."""
        return self._transport.timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried."""
        return self._transport.max_retries

    @property
    def default_headers(self) -> dict[str, str]:
        """The headers sent with every request (`User-Agent` included)."""
        return self._transport.headers

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` requests go through (shared with `with_options()` copies)."""
        return self._transport.pool.http_client

    def with_options(
        self,
        *,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> AsyncPancakeClient:
        """A copy of this client with some settings changed, sharing its connection pool.

        No new pool or connection is opened. Closing the copy leaves the pool open: only the
        client it was made from closes it. `default_headers` are added to the current ones.

        Example:

            patient = client.with_options(timeout=120, max_retries=5)
            stats = await patient.webhooks.get_stats("wh_1", from_date=start, to_date=end)
        """
        copy = object.__new__(type(self))
        copy._is_copy = True
        copy._transport = self._transport.copy(
            timeout=None if timeout is None else _timeout(timeout),
            max_retries=None if max_retries is None else _max_retries(max_retries),
            headers=None if default_headers is None else _headers(default_headers),
        )
        return copy

    # -- resources --------------------------------------------------------------------------

    @cached_property
    def webhooks(self) -> AsyncWebhooks:
        """The shop's webhooks and their delivery history."""
        return AsyncWebhooks(self)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """Whether `close()` was called on this client (or on the client it was copied from)."""
        return self._transport.pool.closed

    async def close(self) -> None:
        """Close the client: later calls raise `PancakeError`, and the connection pool is closed
        if this client created it.

        An `http_client` passed in is left open (its owner closes it), and a `with_options()`
        copy closes nothing (the client it came from owns the pool).
        """
        if not self._is_copy:
            await self._transport.pool.aclose()

    async def __aenter__(self) -> AsyncPancakeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shop_id={self.shop_id!r}, "
            f"base_url={redact_url(self.base_url)!r}, "
            f"api_key='***', max_retries={self.max_retries})"
        )
