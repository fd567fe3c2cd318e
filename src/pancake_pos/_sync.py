"""`PancakeClient`: the synchronous facade that drives `AsyncPancakeClient`.

The facade holds no transport of its own: each sync call runs the matching async method on an
event loop of its own, in a daemon thread (`EventLoopThread`), and waits for its result. So it
works in a plain script, where a loop is already running (a notebook, an async test), and from
many threads at once sharing one client. `close()` refuses new calls, lets every call already
started run to its end, closes the async client on the loop and joins the thread. A
`KeyboardInterrupt` while waiting cancels the call on the loop.

Example:

    from pancake_pos import PancakeClient

    with PancakeClient() as client:        # reads PANCAKE_API_KEY / PANCAKE_SHOP_ID
        for delivery in client.webhooks.iter_deliveries(status="failed"):
            print(delivery.id, delivery.failure_reason)
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property, partial
from types import TracebackType
from typing import ParamSpec, TypeVar

import httpx

from ._base_client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, BaseClient
from ._client import AsyncPancakeClient
from ._loop_thread import EventLoopThread, LoopRuntime, close_on_loop
from ._transport import Transport
from ._types import TimeoutLike
from .resources.webhooks import Webhooks

__all__ = ["PancakeClient"]

P = ParamSpec("P")
T = TypeVar("T")


class PancakeClient(BaseClient):
    """The synchronous client of the Pancake POS webhooks API, for scripts and notebooks.

    Same arguments, resources, method names, models and errors as `AsyncPancakeClient`, without
    `await`. It drives the async core on an event loop of its own, in a daemon thread, so it also
    works where a loop is already running (a notebook) and from several threads at once. Close it
    (`with`, or `close()`); a client never closed still never keeps the interpreter from exiting.

    Args: as `AsyncPancakeClient`. `http_client` is an *async* client (`httpx.AsyncClient`),
    since the facade drives the async core; it is used on the facade's loop thread only, and
    `close()` closes it there (it cannot be closed cleanly from any other loop).

    A client made before `fork()` works in the child: the child's first call starts a loop
    thread and a connection pool of its own (the parent's are left alone). A client given an
    `http_client` raises `PancakeError` in the child instead, as that pool cannot be copied.

    Example:

        with PancakeClient("api-key", "shop-id") as client:
            for delivery in client.webhooks.iter_deliveries(status="failed"):
                outcome = client.webhooks.retry_delivery(delivery.id)
                print(delivery.id, "->", outcome.status)
    """

    _async_client: AsyncPancakeClient
    _runtime: LoopRuntime
    _origin: PancakeClient | None

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
        async def create() -> AsyncPancakeClient:
            # Built on the loop, so anything it binds to a running loop binds to this one.
            return AsyncPancakeClient(
                api_key,
                shop_id,
                base_url=base_url,
                timeout=timeout,
                max_retries=max_retries,
                default_headers=default_headers,
                http_client=http_client,
            )

        loop_thread = EventLoopThread()
        try:
            async_client = loop_thread.run(create)
        except BaseException:
            loop_thread.stop()
            raise
        loop_thread.at_stop = partial(close_on_loop, async_client)
        self._async_client = async_client
        self._runtime = LoopRuntime(loop_thread, async_client)
        self._origin = None
        # A client dropped without close(): end its loop (without blocking the collector).
        weakref.finalize(self, self._runtime.request_stop).atexit = False

    @property
    def _loop_thread(self) -> EventLoopThread:
        """The loop thread of this process (a new one after `fork()`)."""
        return self._runtime.loop_thread

    def _run(self, function: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the async `function` on the loop thread and wait for its result."""
        return self._loop_thread.run(partial(function, *args, **kwargs))

    # -- configuration ----------------------------------------------------------------------

    @property
    def _settings(self) -> Transport:
        return self._async_client._transport

    def with_options(
        self,
        *,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> PancakeClient:
        """A copy of this client with some settings changed, sharing its loop thread and pool.

        No thread, pool or connection is opened. Closing the copy closes nothing: only the
        client it was made from does (and then the copy is closed too). `default_headers` are
        added to the current ones.

        Example:

            patient = client.with_options(timeout=120, max_retries=5)
            stats = patient.webhooks.get_stats("wh_1", from_date=start, to_date=end)
        """

        async def copy_async_client() -> AsyncPancakeClient:
            return self._async_client.with_options(
                timeout=timeout, max_retries=max_retries, default_headers=default_headers
            )

        copy = object.__new__(type(self))
        copy._async_client = self._loop_thread.run(copy_async_client)
        copy._runtime = self._runtime
        # Keeps the client that owns the loop alive (its finalizer would end the loop).
        copy._origin = self if self._origin is None else self._origin
        return copy

    # -- resources --------------------------------------------------------------------------

    @cached_property
    def webhooks(self) -> Webhooks:
        """The shop's webhooks and their delivery history."""
        return Webhooks(self, self._async_client.webhooks)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """Whether this client (or the client it was copied from) has been closed."""
        return self._loop_thread.stopping

    def close(self) -> None:
        """Close the client: its connection pool (if it created it) and its loop thread.

        Calls still running in other threads finish first; any later call raises
        `PancakeError`. Closing twice is fine. A `with_options()` copy closes nothing (the client
        it came from owns the loop and the pool). An `http_client` passed in is closed too, on
        the facade's loop, where it was used (it cannot be closed cleanly from another loop).
        """
        if self._origin is None:
            self._loop_thread.stop()

    def __enter__(self) -> PancakeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
