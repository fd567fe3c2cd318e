"""`AsyncPancakeClient`: the async client, its `with_options()` copies and its lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from types import TracebackType

import httpx

from ._base_client import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseClient,
    check_base_url,
    check_headers,
    check_max_retries,
    check_shop_id,
    check_timeout,
    setting,
)
from ._logging import configure_logging_from_env, install_httpx_redaction
from ._transport import HttpPool, Transport
from ._types import TimeoutLike
from .resources.webhooks import AsyncWebhooks

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT", "AsyncPancakeClient"]


class AsyncPancakeClient(BaseClient):
    """The async client of the Pancake POS webhooks API.

    Args:
        api_key: the shop's API key; falls back to `PANCAKE_API_KEY`. Sent as the `api_key`
            query parameter and shown nowhere (URLs read `api_key=***`).
        shop_id: the shop's id; falls back to `PANCAKE_SHOP_ID`.
        base_url: falls back to `PANCAKE_BASE_URL`, then `https://pos.pages.fm/api/v1`.
        timeout: seconds, or an `httpx.Timeout` (default: 30 s, 5 s to connect). Its `pool`
            part bounds the wait for a free connection (`APITimeoutError` when it runs out).
        max_retries: retries after a failed attempt (default 2; 0 turns retries off).
        default_headers: extra headers sent with every request.
        http_client: an `httpx.AsyncClient` you own (your transport, proxies, limits...). The
            SDK never closes a client it did not create.

    A missing key or shop id raises `PancakeError` naming the argument and the variable. A
    client belongs to the event loop it first sends on: used on another one (a module-level
    client reused by a second `asyncio.run()`), it raises `PancakeError` saying so.

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
        resolved_key = setting(api_key, "api_key", "PANCAKE_API_KEY")
        resolved_shop = check_shop_id(shop_id)
        resolved_url = check_base_url(base_url)
        resolved_timeout = check_timeout(timeout)
        resolved_retries = check_max_retries(max_retries)
        headers = check_headers(default_headers)
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
    def _settings(self) -> Transport:
        return self._transport

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
            timeout=None if timeout is None else check_timeout(timeout),
            max_retries=None if max_retries is None else check_max_retries(max_retries),
            headers=None if default_headers is None else check_headers(default_headers),
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
