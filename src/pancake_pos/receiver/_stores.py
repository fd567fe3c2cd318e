"""Where a receiver remembers which events it has handled: the store protocol and two stores.

A store keeps, per event id, either a *claim* (a worker is running the handlers; it carries a
token of its own and expires after the lease) or *done* (the handlers all returned; remembered for
the retention). Three operations, each atomic:

- ``claim(event_id, lease)``: ``CLAIMED`` with a new token when the id is free (never seen, or
  its claim or done mark expired); ``DONE`` when it is done; ``BUSY`` when someone holds a live
  claim.
- ``complete(event_id, token, retention)``: mark done, unless another worker holds a live claim
  or the event is already done. A worker whose lease ran out still completes when no one took
  the event over meanwhile (its handlers did all return), the same with every store.
- ``release(event_id, token)``: drop the claim, only if it is still ``token``'s, so the sender's
  retry can run the event again.

A store that cannot be reached raises :class:`StoreUnavailableError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import heapq
import itertools
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import anyio.to_thread
import attrs

from pancake_pos.errors import PancakeError

__all__ = [
    "Claim",
    "ClaimState",
    "EventStore",
    "MemoryStore",
    "SQLiteStore",
    "StoreUnavailableError",
]


T = TypeVar("T")


class StoreUnavailableError(PancakeError):
    """The receiver's store could not be reached (a Redis server down, a locked database...)."""


class ClaimState(enum.Enum):
    """What :meth:`EventStore.claim` found."""

    CLAIMED = "claimed"
    DONE = "done"
    BUSY = "busy"


@attrs.frozen
class Claim:
    """The answer of :meth:`EventStore.claim`; ``token`` is set when ``state`` is ``CLAIMED``."""

    state: ClaimState
    token: str | None = attrs.field(default=None, repr=False)


@runtime_checkable
class EventStore(Protocol):
    """What a :class:`~pancake_pos.receiver.WebhookReceiver` needs from a store."""

    async def claim(self, event_id: str, *, lease: float) -> Claim:
        """Claim ``event_id`` for ``lease`` seconds, atomically."""
        ...

    async def complete(self, event_id: str, token: str, *, retention: float) -> bool:
        """Mark the event done for ``retention`` seconds unless another claim or done mark is live.

        ``token``'s own claim is completed even after its lease ran out, when no one took the
        event over; an expired claim of another token or an expired done mark counts as gone.
        """
        ...

    async def release(self, event_id: str, token: str) -> bool:
        """Drop the claim if ``token`` still holds it."""
        ...


_TOKEN_PREFIX = secrets.token_hex(8)
_token_numbers = itertools.count()


def new_token() -> str:
    """A claim token, unique across processes and machines: 64 random bits and a counter.

    It only tells claims apart (it guards against a worker whose lease ran out, not against an
    attacker), so a counter is enough after the random part. Made again in a forked child.
    """
    return f"{_TOKEN_PREFIX}-{os.getpid()}-{next(_token_numbers)}"


_SWEEP_EVERY = 1024


class MemoryStore:
    """Remembers events in this process's memory: for one process (one worker).

    Several threads and event loops of the process may share it. Entries are dropped once their
    lease or retention has passed: each claim drops the ones that expired, looking only at those
    (a heap of expiry times), so a store holding a week of events costs no more per event than
    an empty one.

    Example::

        receiver = WebhookReceiver(secret, store=MemoryStore())
    """

    def __init__(self) -> None:
        # event id -> (token, or None when done; when the entry expires, time.monotonic())
        self._entries: dict[str, tuple[str | None, float]] = {}
        # (expiry, event id) of every entry written; one whose entry changed since is skipped.
        self._expiries: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore(<{len(self._entries)} event(s)>)"

    async def aclose(self) -> None:
        """Nothing to close; here so that every store can be closed the same way."""

    async def claim(self, event_id: str, *, lease: float) -> Claim:
        """Claim ``event_id`` for ``lease`` seconds."""
        now = time.monotonic()
        with self._lock:
            expiries = self._expiries
            if expiries and expiries[0][0] <= now:
                self._sweep(now)
            entry = self._entries.get(event_id)
            if entry is not None and entry[1] > now:
                return Claim(ClaimState.DONE if entry[0] is None else ClaimState.BUSY)
            token = new_token()
            self._entries[event_id] = (token, now + lease)
            heapq.heappush(expiries, (now + lease, event_id))
            return Claim(ClaimState.CLAIMED, token)

    async def complete(self, event_id: str, token: str, *, retention: float) -> bool:
        """Mark ``event_id`` done unless another worker's claim (or a done mark) is live."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is not None and entry[1] > now and entry[0] != token:
                return False
            self._entries[event_id] = (None, now + retention)
            heapq.heappush(self._expiries, (now + retention, event_id))
            return True

    async def release(self, event_id: str, token: str) -> bool:
        """Drop ``event_id``'s claim if ``token`` holds it."""
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is None or entry[0] != token:
                return False
            del self._entries[event_id]
            return True

    def _sweep(self, now: float) -> None:
        expiries, entries = self._expiries, self._entries
        while expiries and expiries[0][0] <= now:
            _, event_id = heapq.heappop(expiries)
            entry = entries.get(event_id)
            if entry is not None and entry[1] <= now:  # else: written again since, still live
                del entries[event_id]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS pancake_events (
    event_id TEXT PRIMARY KEY,
    token TEXT,
    expires_at REAL NOT NULL
)
"""
# For the sweep of expired entries (every 1,024 claims of a process).
_INDEX = "CREATE INDEX IF NOT EXISTS pancake_events_expiry ON pancake_events (expires_at)"


class SQLiteStore:
    """Remembers events in a SQLite database file: durable, for several processes on one machine.

    Uses the standard library's ``sqlite3`` in WAL mode; each state change is one transaction
    (``BEGIN IMMEDIATE``), so processes sharing the file (gunicorn or uvicorn workers) never run
    the same event twice. Times are wall-clock seconds, shared by the processes. The database
    calls run in a thread of the store's own, never on the event loop; a store made before a
    fork opens its own connection in the child. Use a local disk (SQLite's locking is
    unreliable on network file systems); for several machines, use
    :class:`~pancake_pos.receiver.RedisStore`.

    ``timeout`` is how long (seconds) to wait for another process's transaction before the
    store counts as unavailable.

    Example::

        receiver = WebhookReceiver(secret, store=SQLiteStore("pancake-events.db"))
    """

    def __init__(self, path: str | Path, *, timeout: float = 5.0) -> None:
        if not isinstance(path, str | Path):
            raise TypeError(f"path must be a str or a Path, got {type(path).__name__}")
        if not str(path):
            raise ValueError("path must not be empty")
        self._path = str(path)
        self._timeout = timeout
        self._lock = threading.Lock()  # the connection's
        self._thread_lock = threading.Lock()  # the thread's; never held for long
        self._connection: sqlite3.Connection | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pid = os.getpid()
        self._operations = 0

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    async def aclose(self) -> None:
        """Close the database connection and stop the store's thread (both start again)."""
        self.close()

    def close(self) -> None:
        """Close the database connection and stop the store's thread (both start again)."""
        with self._thread_lock:
            executor, self._executor = self._executor, None
        with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None and self._pid == os.getpid():
                connection.close()
        if executor is not None:
            executor.shutdown(wait=False)

    async def claim(self, event_id: str, *, lease: float) -> Claim:
        """Claim ``event_id`` for ``lease`` seconds."""
        return await self._in_thread(self._claim, event_id, lease)

    async def complete(self, event_id: str, token: str, *, retention: float) -> bool:
        """Mark ``event_id`` done unless another worker's claim (or a done mark) is live."""
        return await self._in_thread(self._complete, event_id, token, retention)

    async def release(self, event_id: str, token: str) -> bool:
        """Drop ``event_id``'s claim if ``token`` holds it."""
        return await self._in_thread(self._release, event_id, token)

    async def _in_thread(self, function: Callable[..., T], *arguments: Any) -> T:
        # One thread of its own: half the cost of a hop through anyio's pool, and the
        # database calls of this process run one after the other anyway.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library: its own worker threads
            return await anyio.to_thread.run_sync(function, *arguments)
        return await loop.run_in_executor(self._thread(), function, *arguments)

    def _thread(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._thread_lock:
            if self._pid != os.getpid():  # forked: the parent's connection and thread are not ours
                self._pid = os.getpid()
                self._executor = None
                self._connection = None
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="pancake-pos-sqlite"
                )
            return self._executor

    # -- in the worker thread -------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self._path,
                timeout=self._timeout,
                isolation_level=None,  # transactions are begun explicitly
                check_same_thread=False,  # used under self._lock from worker threads
            )
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(_SCHEMA)
                connection.execute(_INDEX)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _transaction(self, work: _Work) -> object:
        with self._lock:
            try:
                connection = self._connect()
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection, time.time())
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                if self._connection is not None and self._connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._connection.execute("ROLLBACK")
                raise StoreUnavailableError(
                    f"the SQLite store {self._path!r} failed: {exc}"
                ) from exc

    def _claim(self, event_id: str, lease: float) -> Claim:
        self._operations += 1
        sweep = self._operations % _SWEEP_EVERY == 0

        def work(connection: sqlite3.Connection, now: float) -> Claim:
            if sweep:
                connection.execute("DELETE FROM pancake_events WHERE expires_at <= ?", (now,))
            row = connection.execute(
                "SELECT token, expires_at FROM pancake_events WHERE event_id = ?", (event_id,)
            ).fetchone()
            if row is not None and row[1] > now:
                return Claim(ClaimState.DONE if row[0] is None else ClaimState.BUSY)
            token = new_token()
            connection.execute(
                "INSERT OR REPLACE INTO pancake_events (event_id, token, expires_at) "
                "VALUES (?, ?, ?)",
                (event_id, token, now + lease),
            )
            return Claim(ClaimState.CLAIMED, token)

        result = self._transaction(work)
        assert isinstance(result, Claim)
        return result

    def _complete(self, event_id: str, token: str, retention: float) -> bool:
        def work(connection: sqlite3.Connection, now: float) -> bool:
            # Inserted when gone, replaced when this token's claim or anything expired.
            cursor = connection.execute(
                "INSERT INTO pancake_events (event_id, token, expires_at) VALUES (?, NULL, ?) "
                "ON CONFLICT (event_id) DO UPDATE "
                "SET token = NULL, expires_at = excluded.expires_at "
                "WHERE pancake_events.token = ? OR pancake_events.expires_at <= ?",
                (event_id, now + retention, token, now),
            )
            return cursor.rowcount == 1

        return bool(self._transaction(work))

    def _release(self, event_id: str, token: str) -> bool:
        def work(connection: sqlite3.Connection, now: float) -> bool:
            cursor = connection.execute(
                "DELETE FROM pancake_events WHERE event_id = ? AND token = ?", (event_id, token)
            )
            return cursor.rowcount == 1

        return bool(self._transaction(work))


class _Work(Protocol):
    def __call__(self, connection: sqlite3.Connection, now: float, /) -> object: ...
