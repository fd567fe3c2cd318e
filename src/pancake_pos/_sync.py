"""`PancakeClient`: the synchronous facade that drives `AsyncPancakeClient`.

The facade holds no transport of its own. It runs the async core on an event loop of its own,
in a daemon thread it owns: each sync call hands the matching coroutine to that loop and waits
for its result. So it works in a plain script, where a loop is already running (a notebook, an
async test), and from many threads at once sharing one client.

Each call crosses to the loop in one hop: `loop.call_soon_threadsafe()` queues it, and the
caller then waits once, on a `concurrent.futures.Future` the loop completes (the scheme of
`asyncio.run_coroutine_threadsafe`, written out so that the loop can track the calls it runs).
`close()` refuses new calls, lets every call already started run to its end, closes the async
client on the loop and joins the thread. A `KeyboardInterrupt` while waiting cancels the call's
task on the loop; a call runs in a copy of the caller's context with sniffio's library set to
asyncio; a call from the loop thread itself raises instead of hanging.

The thread is a daemon, started by the facade itself, so that a client nobody closed never keeps
a script from exiting. After `fork()` the child starts a loop thread and a pool of its own on its
first call.

Example:

    from pancake_pos import PancakeClient

    with PancakeClient() as client:        # reads PANCAKE_API_KEY / PANCAKE_SHOP_ID
        for delivery in client.webhooks.iter_deliveries(status="failed"):
            print(delivery.id, delivery.failure_reason)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from functools import cached_property, partial
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import anyio
import httpx
import sniffio

from ._base_client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, BaseClient
from ._client import AsyncPancakeClient
from ._transport import Transport
from ._types import TimeoutLike
from .errors import PancakeError
from .resources.webhooks import Webhooks

__all__ = ["PancakeClient"]

P = ParamSpec("P")
T = TypeVar("T")

_thread_numbers = itertools.count(1)


class _EventLoopThread:
    """An asyncio event loop in a daemon thread, to which other threads hand calls.

    `run()` may be called from any thread but the loop's own, from a signal handler too.
    `stop()` refuses new calls, lets the calls already started finish, runs the `at_stop`
    coroutine (closing the async client) on the loop, ends the loop and joins the thread. A call
    that could not start before the loop ended raises `PancakeError`: no caller is ever left
    waiting on a loop that is gone.
    """

    _loop: asyncio.AbstractEventLoop
    _stop_requested: asyncio.Event

    def __init__(self) -> None:
        # Reentrant: a signal handler may call in while its thread holds the lock.
        self._lock = threading.RLock()
        self._stopping = False
        self._pid = os.getpid()
        self._failure: BaseException | None = None
        # Every hand-over not yet settled, failed with PancakeError when the loop ends.
        self._pending: set[Future[Any]] = set()
        # The calls started on the loop and not yet ended (touched on the loop thread only).
        self._calls: set[asyncio.Task[Any]] = set()
        self._accepting = True
        self.at_stop: Callable[[], Awaitable[None]] | None = None
        started: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._main,
            args=(started,),
            name=f"pancake-pos-loop-{next(_thread_numbers)}",
            daemon=True,
        )
        try:
            self._thread.start()
        except RuntimeError as error:  # "can't create new thread at interpreter shutdown"
            failure: PancakeError | None = PancakeError(f"{_SHUTTING_DOWN} ({error})")
        else:
            failure = None
        if failure is not None:
            raise failure
        started.result()

    @property
    def stopping(self) -> bool:
        """Whether `stop()` (or `request_stop()`) was called: new calls are refused."""
        return self._stopping

    @property
    def thread(self) -> threading.Thread:
        """The loop's thread."""
        return self._thread

    def _main(self, started: Future[None]) -> None:
        try:
            anyio.run(self._serve, started)
        except BaseException as error:  # reported by the constructor or by stop()
            if started.done():
                self._failure = error
            else:
                started.set_exception(error)
        finally:
            self._fail_pending()

    async def _serve(self, started: Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        started.set_result(None)
        try:
            await self._stop_requested.wait()
            while self._calls:
                await asyncio.wait(set(self._calls))
        finally:
            self._accepting = False
            if self.at_stop is not None:
                with anyio.CancelScope(shield=True):
                    await self.at_stop()

    def _fail_pending(self) -> None:
        """On the loop thread, once the loop has ended: settle every call still waiting."""
        with self._lock:
            self._stopping = True
            pending, self._pending = self._pending, set()
        for future in pending:
            if not future.done() and future.set_running_or_notify_cancel():
                future.set_exception(PancakeError(_CLOSED))

    def run(self, function: Callable[[], Awaitable[T]]) -> T:
        """Run `function()` on the loop and return its result (or raise its exception).

        One hop: the call is queued on the loop with `call_soon_threadsafe` and this thread
        waits once, for the result. Raises `PancakeError` once the loop is stopping. A
        `KeyboardInterrupt` while waiting cancels the call on the loop.
        """
        if threading.get_ident() == self._thread.ident:
            raise RuntimeError("A PancakeClient cannot be called from its own event loop thread.")
        future: Future[T] = Future()
        try:
            with self._lock:
                if self._stopping:
                    raise PancakeError(_CLOSED)
                self._pending.add(future)
            try:
                self._loop.call_soon_threadsafe(self._start, function, future)
            except RuntimeError:  # the loop has ended meanwhile
                raise PancakeError(_CLOSED) from None
            return future.result()
        except BaseException:
            future.cancel()
            raise
        finally:
            with self._lock:
                self._pending.discard(future)

    def _start(self, function: Callable[[], Awaitable[T]], future: Future[T]) -> None:
        """On the loop: start a call handed over by `run()`, unless its caller gave up."""
        if not self._accepting:
            if future.set_running_or_notify_cancel():
                future.set_exception(PancakeError(_CLOSED))
            return
        if future.cancelled():
            return
        # As anyio's portal does: the task runs in a copy of the caller's context, which may
        # name another async library (a caller inside trio).
        sniffio.current_async_library_cvar.set("asyncio")
        task = self._loop.create_task(_await(function))
        self._calls.add(task)
        task.add_done_callback(partial(self._finish, future))
        future.add_done_callback(partial(self._cancel, task))

    def _finish(self, future: Future[T], task: asyncio.Task[T]) -> None:
        """On the loop: hand the ended call's outcome to the thread waiting for it."""
        self._calls.discard(task)
        if task.cancelled():
            future.cancel()
            exception = None
        else:
            exception = task.exception()  # retrieved even if nobody waits any more
        if not future.set_running_or_notify_cancel():
            return
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(task.result())

    def _cancel(self, task: asyncio.Task[Any], future: Future[Any]) -> None:
        """In the thread that cancelled `future` (a `KeyboardInterrupt`): cancel its task."""
        if future.cancelled() and not task.done():
            with contextlib.suppress(RuntimeError):  # RuntimeError: the loop has ended meanwhile
                self._loop.call_soon_threadsafe(task.cancel)

    def request_stop(self) -> None:
        """Start stopping; do not wait for the loop to end (safe in a finalizer, in any thread,
        and in a signal handler). New calls are refused from now on."""
        if os.getpid() != self._pid:  # a copy inherited by fork(): no thread to stop here
            return
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        with contextlib.suppress(RuntimeError):  # RuntimeError: the loop has already ended
            self._loop.call_soon_threadsafe(self._stop_requested.set)

    def stop(self) -> None:
        """Stop the loop and join its thread; idempotent. Raises what went wrong on the loop."""
        self.request_stop()
        if threading.current_thread() is not self._thread and os.getpid() == self._pid:
            self._thread.join()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure


class _Runtime:
    """The loop thread a client and its `with_options()` copies share, one per process.

    After `fork()` the child has no loop thread (only the thread that forked survives), and the
    pooled connections are the parent's. The first call in the child notices the new process id
    and starts a loop thread and a connection pool of its own; the parent's are left alone.
    """

    def __init__(self, loop_thread: _EventLoopThread, async_client: AsyncPancakeClient) -> None:
        self._loop_thread = loop_thread
        self._async_client = async_client
        self._pid = os.getpid()

    @property
    def loop_thread(self) -> _EventLoopThread:
        if self._pid != os.getpid():
            with _fork_lock:
                if self._pid != os.getpid():
                    self._restart_in_child()
        return self._loop_thread

    def request_stop(self) -> None:
        """Start stopping this process's loop thread, if it has one (see `_EventLoopThread`)."""
        if self._pid == os.getpid():
            self._loop_thread.request_stop()

    def _restart_in_child(self) -> None:
        closed = self._loop_thread.stopping
        if not closed:
            self._async_client._transport.pool.reopen_after_fork()
        loop_thread = _EventLoopThread()
        loop_thread.at_stop = partial(_close_on_loop, self._async_client)
        self._loop_thread = loop_thread
        self._pid = os.getpid()
        if closed:
            loop_thread.stop()


def _new_fork_lock() -> None:
    global _fork_lock
    _fork_lock = threading.Lock()


_fork_lock = threading.Lock()
os.register_at_fork(after_in_child=_new_fork_lock)


async def _close_on_loop(async_client: AsyncPancakeClient) -> None:
    """Close the async client, and its `http_client` even when the caller passed it in: it was
    used on this loop only, and cannot be closed cleanly from any other."""
    await async_client.close()
    if not async_client.http_client.is_closed:
        await async_client.http_client.aclose()


async def _await(function: Callable[[], Awaitable[T]]) -> T:
    return await function()


_SHUTTING_DOWN = (
    "The interpreter is shutting down, and Python starts no new thread then: make the call "
    "before exit, not from an atexit handler or a finalizer."
)
_CLOSED = (
    "This PancakeClient is closed: make a new client (`with PancakeClient(...) as client:` "
    "closes it when the block ends)."
)


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
    _runtime: _Runtime
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

        loop_thread = _EventLoopThread()
        try:
            async_client = loop_thread.run(create)
        except BaseException:
            loop_thread.stop()
            raise
        loop_thread.at_stop = partial(_close_on_loop, async_client)
        self._async_client = async_client
        self._runtime = _Runtime(loop_thread, async_client)
        self._origin = None
        # A client dropped without close(): end its loop (without blocking the collector).
        weakref.finalize(self, self._runtime.request_stop).atexit = False

    @property
    def _loop_thread(self) -> _EventLoopThread:
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
