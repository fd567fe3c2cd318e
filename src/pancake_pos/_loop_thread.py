"""`EventLoopThread`: an asyncio event loop in a daemon thread, to which other threads hand calls.

Each call crosses to the loop in one hop: `loop.call_soon_threadsafe()` queues it, and the
caller then waits once, on a `concurrent.futures.Future` the loop completes (the scheme of
`asyncio.run_coroutine_threadsafe`, written out so that the loop can track the calls it runs).
The thread is a daemon, so that a client nobody closed never keeps a script from exiting.

`LoopRuntime` holds the loop thread of one client and its copies, one per process: after
`fork()` the child starts a loop thread and a connection pool of its own on its first call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import CancelledError, Future
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import sniffio

from .errors import PancakeError

if TYPE_CHECKING:
    from ._client import AsyncPancakeClient

__all__ = ["CLOSED_MESSAGE", "EventLoopThread", "LoopRuntime", "close_on_loop"]

T = TypeVar("T")

_thread_numbers = itertools.count(1)


class EventLoopThread:
    """An asyncio event loop in a daemon thread, to which other threads hand calls.

    `run()` may be called from any thread but the loop's own, from a signal handler too.
    `stop()` refuses new calls, lets the calls already started finish, runs the `at_stop`
    coroutine (closing the async client) on the loop, ends the loop and joins the thread. A call
    that could not start before the loop ended raises `PancakeError`: no caller is ever left
    waiting on a loop that is gone. The exception is a call of the very thread that stops the
    loop (`close()` in a signal handler that interrupted that call): nobody can take its result
    any more, so it is cancelled rather than waited for, and raises `PancakeError` when the
    handler returns.
    """

    _loop: asyncio.AbstractEventLoop
    _stop_requested: asyncio.Event

    def __init__(self) -> None:
        # Reentrant: a signal handler may call in while its thread holds the lock.
        self._lock = threading.RLock()
        self._stopping = False
        self._pid = os.getpid()
        self._failure: BaseException | None = None
        # Every hand-over not yet settled (and the thread waiting for it), failed with
        # PancakeError when the loop ends.
        self._pending: dict[Future[Any], int] = {}
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
            pending, self._pending = self._pending, {}
        for future in pending:
            if not future.done() and future.set_running_or_notify_cancel():
                future.set_exception(PancakeError(CLOSED_MESSAGE))

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
                    raise PancakeError(CLOSED_MESSAGE)
                self._pending[future] = threading.get_ident()
            try:
                self._loop.call_soon_threadsafe(self._start, function, future)
            except RuntimeError:  # the loop has ended meanwhile
                raise PancakeError(CLOSED_MESSAGE) from None
            try:
                return future.result()
            except CancelledError:
                if self._stopping:  # cancelled by a stop() of this very thread
                    raise PancakeError(CLOSED_MESSAGE) from None
                raise
        except BaseException:
            future.cancel()
            raise
        finally:
            with self._lock:
                self._pending.pop(future, None)

    def _start(self, function: Callable[[], Awaitable[T]], future: Future[T]) -> None:
        """On the loop: start a call handed over by `run()`, unless its caller gave up."""
        if not self._accepting:
            if future.set_running_or_notify_cancel():
                future.set_exception(PancakeError(CLOSED_MESSAGE))
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
            self._cancel_calls_of(threading.get_ident())
            self._thread.join()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _cancel_calls_of(self, thread_id: int) -> None:
        """Cancel the calls `thread_id` waits for: it is the thread stopping the loop, from a
        signal handler that interrupted its wait, so it will never take their results."""
        with self._lock:
            waiting = [future for future, owner in self._pending.items() if owner == thread_id]
        for future in waiting:
            future.cancel()


class LoopRuntime:
    """The loop thread a client and its `with_options()` copies share, one per process.

    After `fork()` the child has no loop thread (only the thread that forked survives), and the
    pooled connections are the parent's. The first call in the child notices the new process id
    and starts a loop thread and a connection pool of its own; the parent's are left alone.
    """

    def __init__(self, loop_thread: EventLoopThread, async_client: AsyncPancakeClient) -> None:
        self._loop_thread = loop_thread
        self._async_client = async_client
        self._pid = os.getpid()

    @property
    def loop_thread(self) -> EventLoopThread:
        if self._pid != os.getpid():
            with _fork_lock:
                if self._pid != os.getpid():
                    self._restart_in_child()
        return self._loop_thread

    def request_stop(self) -> None:
        """Start stopping this process's loop thread, if it has one (see `EventLoopThread`)."""
        if self._pid == os.getpid():
            self._loop_thread.request_stop()

    def _restart_in_child(self) -> None:
        closed = self._loop_thread.stopping
        if not closed:
            self._async_client._transport.pool.reopen_after_fork()
        loop_thread = EventLoopThread()
        loop_thread.at_stop = partial(close_on_loop, self._async_client)
        self._loop_thread = loop_thread
        self._pid = os.getpid()
        if closed:
            loop_thread.stop()


def _new_fork_lock() -> None:
    global _fork_lock
    _fork_lock = threading.Lock()


_fork_lock = threading.Lock()
os.register_at_fork(after_in_child=_new_fork_lock)


async def close_on_loop(async_client: AsyncPancakeClient) -> None:
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
CLOSED_MESSAGE = (
    "This PancakeClient is closed: make a new client (`with PancakeClient(...) as client:` "
    "closes it when the block ends)."
)
