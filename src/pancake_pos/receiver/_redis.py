"""`RedisStore`: the receiver's store on a Redis server, shared by any number of machines.

One key per event, ``{prefix}event:{event_id}``, holding ``claimed:<token>`` (with the lease as
its time to live) or ``done`` (with the retention). A claim is ``SET key value NX PX lease``;
completing and releasing are Lua scripts that check the token and change the key in one atomic
step, so a worker whose lease ran out can never undo the work of the worker that took over (it
still completes when the key is gone: no one took the event over).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from pancake_pos.receiver._stores import Claim, ClaimState, StoreUnavailableError, new_token

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStore"]

_DONE = "done"
_CLAIMED = "claimed:"

# KEYS[1] the event's key; ARGV[1] the claim's value; ARGV[2] the retention in milliseconds.
# A missing key is a claim whose lease ran out with no one taking the event over: done too.
_COMPLETE = """
local value = redis.call('GET', KEYS[1])
if value == ARGV[1] or value == false then
    redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
    return 1
end
return 0
"""

# KEYS[1] the event's key; ARGV[1] the claim's value.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
end
return 0
"""

_CLAIM_ATTEMPTS = 3


class RedisStore:
    """Remembers events on a Redis server: for many receiver instances on many machines.

    ``url_or_client`` is a ``redis://`` (or ``rediss://``, ``unix://``) URL, or a
    ``redis.asyncio.Redis`` client you made (its ``decode_responses`` setting does not matter).
    From a URL, the store makes one client per event loop that uses it (a client belongs to the
    loop it was made on) with short connect and read timeouts, so a server that is down gives
    ``unavailable`` (503) at once instead of hanging. ``prefix`` starts every key the store
    writes. Needs the ``redis`` extra: ``pip install "pancake-pos[redis]"``.

    Example::

        receiver = WebhookReceiver(secret, store=RedisStore("redis://localhost:6379/0"))
    """

    def __init__(
        self,
        url_or_client: str | Redis,
        *,
        prefix: str = "pancake-pos:",
        timeout: float = 5.0,
    ) -> None:
        try:
            import redis.asyncio
        except ImportError:  # pragma: no cover - the extra is installed in the tests
            raise ImportError(
                'RedisStore needs the redis package: pip install "pancake-pos[redis]"'
            ) from None
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        self._prefix = prefix
        self._timeout = timeout
        self._url: str | None = None
        self._client: Redis | None = None
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = (
            weakref.WeakKeyDictionary()
        )
        if isinstance(url_or_client, str):
            # Checked now, so that a typo is a setup error rather than a 503 on every delivery.
            redis.asyncio.ConnectionPool.from_url(url_or_client)
            self._url = url_or_client
        elif isinstance(url_or_client, redis.asyncio.Redis):
            self._client = url_or_client
        else:
            raise TypeError(
                "url_or_client must be a redis:// URL or a redis.asyncio.Redis, "
                f"got {type(url_or_client).__name__}"
            )

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self._prefix!r})"

    def _redis(self) -> Redis:
        if self._client is not None:
            return self._client
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            assert self._url is not None
            client = redis.asyncio.Redis.from_url(
                self._url,
                socket_connect_timeout=self._timeout,
                socket_timeout=self._timeout,
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the connections this store opened on the running event loop.

        A client you passed in is yours to close.
        """
        if self._client is not None:
            return
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def _key(self, event_id: str) -> str:
        return f"{self._prefix}event:{event_id}"

    async def claim(self, event_id: str, *, lease: float) -> Claim:
        """Claim ``event_id`` for ``lease`` seconds (``SET NX PX``)."""
        key = self._key(event_id)
        token = new_token()
        async with _unavailable_on_error():
            client = self._redis()
            for _ in range(_CLAIM_ATTEMPTS):
                if await client.set(key, _CLAIMED + token, nx=True, px=_ms(lease)):
                    return Claim(ClaimState.CLAIMED, token)
                value = await client.get(key)
                if value is None:  # expired between the two calls: try again
                    continue
                if _text(value) == _DONE:
                    return Claim(ClaimState.DONE)
                return Claim(ClaimState.BUSY)
        return Claim(ClaimState.BUSY)

    async def complete(self, event_id: str, token: str, *, retention: float) -> bool:
        """Mark ``event_id`` done unless another claim or done mark is live (one Lua script)."""
        async with _unavailable_on_error():
            result = await self._redis().eval(
                _COMPLETE, 1, self._key(event_id), _CLAIMED + token, _ms(retention)
            )
        return bool(result)

    async def release(self, event_id: str, token: str) -> bool:
        """Drop ``event_id``'s claim if ``token`` holds it (one Lua script)."""
        async with _unavailable_on_error():
            result = await self._redis().eval(_RELEASE, 1, self._key(event_id), _CLAIMED + token)
        return bool(result)


@contextlib.asynccontextmanager
async def _unavailable_on_error() -> AsyncIterator[None]:
    """Turns the redis package's connection and server errors into `StoreUnavailableError`."""
    import redis.exceptions

    try:
        yield
    except (redis.exceptions.RedisError, OSError) as error:
        raise StoreUnavailableError(f"the Redis store failed: {type(error).__name__}") from error


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
