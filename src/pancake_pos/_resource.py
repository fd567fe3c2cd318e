"""The base of the resources (`client.webhooks`): the client's way to send a request, bound once.

An async resource calls `self._request(method, path, ...)` (the transport's `request`); its sync
twin calls `self._run(async_method, ...)`, which runs the async method on the facade's loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import AsyncPancakeClient
    from ._sync import PancakeClient

__all__ = ["AsyncAPIResource", "SyncAPIResource"]


class AsyncAPIResource:
    """A group of operations of an `AsyncPancakeClient`."""

    __slots__ = ("_client", "_request")

    def __init__(self, client: AsyncPancakeClient) -> None:
        self._client = client
        self._request = client._transport.request


class SyncAPIResource:
    """A group of operations of a `PancakeClient`, each the sync twin of an async one."""

    __slots__ = ("_client", "_run")

    def __init__(self, client: PancakeClient) -> None:
        self._client = client
        self._run = client._run
