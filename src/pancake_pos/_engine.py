"""The HTTP engine under the `httpx.AsyncClient`: its pool size, and its errors made httpx's own.

A client may run on httpx's own engine (httpcore) or on aiohttp through httpx-aiohttp. The rest
of the SDK sees one set of exceptions, httpx's, with the meaning httpx's own engine gives them,
as httpx itself maps its engine's errors in its transport:

* httpx-aiohttp raises `httpx.ConnectTimeout` for every aiohttp connection error, a reset
  connection included. Here it becomes `ConnectTimeout` (could not connect in time),
  `ConnectError` (could not connect), `ReadTimeout` (connected, then time ran out) or
  `RemoteProtocolError` (connected, then the connection broke).
* aiohttp errors it lets through unmapped (a malformed answer is an
  `aiohttp.ClientResponseError`) become `httpx.RemoteProtocolError`.

The pool size is read from the engine's own objects (private attributes of httpcore and
httpx-aiohttp), with httpx's default when they cannot be read.
"""

from __future__ import annotations

import sys
from typing import Final

import httpx

from ._logging import redact_text

__all__ = ["DEFAULT_MAX_CONNECTIONS", "pool_size", "send"]

DEFAULT_MAX_CONNECTIONS: Final = 100
"""httpx's default pool size, used when an injected client's pool size cannot be read."""


def pool_size(http_client: httpx.AsyncClient) -> int:
    """The most connections `http_client`'s transport opens (httpx's pool or httpx-aiohttp's)."""
    transport = getattr(http_client, "_transport", None)
    pool = getattr(transport, "_pool", None)
    size = getattr(pool, "_max_connections", None)
    if size is None:
        limits = getattr(transport, "limits", None)
        size = getattr(limits, "max_connections", None)
    if isinstance(size, int) and size > 0:
        return size
    return DEFAULT_MAX_CONNECTIONS


async def send(http_client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """`http_client.send(request)`, raising only httpx's exceptions, with httpx's meanings."""
    try:
        return await http_client.send(request)
    except httpx.HTTPError as error:
        failure = _as_httpx_error(error, request)
        if failure is None:
            raise
        failure.__cause__ = error
    except Exception as error:
        # Not chained: an aiohttp error's text holds the whole URL, key included.
        failure = _unmapped_error(error, request)
        if failure is None:
            raise
    raise failure


def _aiohttp_error() -> type[BaseException] | None:
    error: type[BaseException] | None = getattr(sys.modules.get("aiohttp"), "ClientError", None)
    return error


def _as_httpx_error(error: httpx.HTTPError, request: httpx.Request) -> httpx.HTTPError | None:
    """The httpx error httpcore raises for the aiohttp fault behind `error`; `None` when
    `error` does not come from aiohttp."""
    client_error = _aiohttp_error()
    cause = error.__cause__
    if client_error is None or not isinstance(cause, client_error):
        return None
    aiohttp = sys.modules["aiohttp"]
    # ConnectionTimeoutError (aiohttp 3.10+): the connection could not be made in time.
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)
    text = redact_text(str(error) or type(cause).__name__)
    if connect_timeout is not None and isinstance(cause, connect_timeout):
        return httpx.ConnectTimeout(text, request=request)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(text, request=request)
    if isinstance(cause, TimeoutError):
        return httpx.ReadTimeout(text, request=request)
    if isinstance(error, httpx.ConnectTimeout):  # httpx-aiohttp's name for any dropped connection
        return httpx.RemoteProtocolError(text, request=request)
    return None


def _unmapped_error(error: Exception, request: httpx.Request) -> httpx.HTTPError | None:
    client_error = _aiohttp_error()
    if client_error is None or not isinstance(error, client_error):
        return None
    text = redact_text(str(error) or type(error).__name__)
    return httpx.RemoteProtocolError(text, request=request)
