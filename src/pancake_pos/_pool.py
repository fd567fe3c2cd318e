"""`HttpPool`: the connection pool a client and its copies share, and the gate in front of it."""

from __future__ import annotations

import asyncio
import weakref

import anyio
import httpx

from . import _engine as engine
from .errors import PancakeError

__all__ = ["HttpPool"]

_CLOSED_MESSAGE = (
    "This client is closed: create a new AsyncPancakeClient (or keep the client open "
    "with `async with` for as long as you use it)"
)
_OTHER_LOOP_MESSAGE = (
    "This AsyncPancakeClient was first used on another event loop, and its connection pool "
    "belongs to that loop (a client made at module level and used by two asyncio.run() calls, "
    "for one). Create the client inside the async code that uses it (`async with "
    "AsyncPancakeClient() as client:` in each asyncio.run()), or use PancakeClient, which runs "
    "an event loop of its own."
)
_SHUTDOWN_MESSAGE = (
    "The interpreter is shutting down, and Python starts no new thread then (opening a new "
    "connection needs one to resolve the host name). Make the call before exit, not from an "
    "atexit handler or a finalizer."
)


class HttpPool:
    """The `httpx.AsyncClient` a client and all its `with_options()` copies share.

    It also holds the gate: a semaphore of the pool's size that keeps the number of requests in
    flight at or under the number of connections. httpx 0.28's pool (httpcore 1.0) slows down
    badly when many requests queue on it (encode/httpx#3215); waiting at the gate instead keeps
    1,000 concurrent calls fast. The wait at the gate is the wait for a pooled connection, so
    httpx's `pool` timeout bounds it, and running out of it raises `httpx.PoolTimeout`.

    The pool belongs to the event loop it first sends on; sending from another loop raises
    `PancakeError` rather than failing deep inside httpx.
    """

    __slots__ = ("_gate", "_loop", "closed", "http_client", "owned")

    def __init__(self, http_client: httpx.AsyncClient | None) -> None:
        self.owned = http_client is None
        self.http_client = httpx.AsyncClient() if http_client is None else http_client
        self._gate = anyio.Semaphore(engine.pool_size(self.http_client), fast_acquire=True)
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self.closed = False

    def reopen_after_fork(self) -> None:
        """In a forked child: leave the parent's connections alone and start a pool of its own.

        Raises `PancakeError` when the pool is a caller's `http_client` (the SDK cannot make
        a copy of it, and the parent's connections cannot be shared).
        """
        if not self.owned:
            raise PancakeError(
                "A client given its own http_client cannot be used across fork(): the "
                "connections belong to the parent process. Create the client in the child."
            )
        self.http_client = httpx.AsyncClient()
        self._gate = anyio.Semaphore(engine.pool_size(self.http_client), fast_acquire=True)
        self._loop = None

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send `request` once the gate lets it through, and read the whole answer."""
        if self.closed or self.http_client.is_closed:
            raise PancakeError(_CLOSED_MESSAGE)
        self._check_loop()
        await self._enter_gate(request)
        try:
            response = await engine.send(self.http_client, request)
        except RuntimeError as error:
            if "shutdown" not in str(error):
                raise
            failure: PancakeError | None = PancakeError(_SHUTDOWN_MESSAGE)
        else:
            failure = None
        finally:
            self._gate.release()
        if failure is not None:
            raise failure
        # httpx binds the response's stream to the response, a reference cycle: every answer
        # (a whole page of deliveries) would wait for the cyclic garbage collector, and memory
        # would grow with the length of a walk. The body is read; unbind it.
        response.stream = httpx.ByteStream(response.content)
        return response

    async def _enter_gate(self, request: httpx.Request) -> None:
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            with anyio.fail_after(timeout):
                await self._gate.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(
                "Timed out waiting for a connection from the pool", request=request
            ) from None

    def _check_loop(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): anyio binds nothing to a loop
            return
        if self._loop is None:
            self._loop = weakref.ref(loop)
        elif self._loop() is not loop:
            raise PancakeError(_OTHER_LOOP_MESSAGE)

    async def aclose(self) -> None:
        """Refuse further requests, and close the `httpx.AsyncClient` if the SDK created it (a
        caller's client is left open for its owner)."""
        if self.closed:
            return
        self.closed = True
        if self.owned:
            await self.http_client.aclose()
