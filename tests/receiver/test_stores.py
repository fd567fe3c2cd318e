"""The three stores keep the same promises: atomic claims, tokens, leases, retention."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from receiving import free_port

from pancake_pos.receiver import (
    ClaimState,
    EventStore,
    MemoryStore,
    RedisStore,
    SQLiteStore,
    StoreUnavailableError,
)


async def test_a_claim_then_complete_then_duplicate(store: EventStore) -> None:
    assert isinstance(store, EventStore)
    first = await store.claim("evt_1", lease=30)
    assert first.state is ClaimState.CLAIMED
    assert first.token
    assert (await store.claim("evt_1", lease=30)).state is ClaimState.BUSY
    assert await store.complete("evt_1", "not-the-token", retention=60) is False
    assert (await store.claim("evt_1", lease=30)).state is ClaimState.BUSY
    assert await store.complete("evt_1", first.token, retention=60) is True
    done = await store.claim("evt_1", lease=30)
    assert done.state is ClaimState.DONE
    assert done.token is None
    assert (await store.claim("evt_2", lease=30)).state is ClaimState.CLAIMED


async def test_release_needs_the_token_and_frees_the_event(store: EventStore) -> None:
    claim = await store.claim("evt_r", lease=30)
    assert claim.token is not None
    assert await store.release("evt_r", "someone-else") is False
    assert (await store.claim("evt_r", lease=30)).state is ClaimState.BUSY
    assert await store.release("evt_r", claim.token) is True
    again = await store.claim("evt_r", lease=30)
    assert again.state is ClaimState.CLAIMED
    assert again.token != claim.token
    assert await store.release("evt_r", claim.token) is False  # the old token is dead


async def test_an_expired_claim_is_taken_over_and_the_old_worker_cannot_undo_it(
    store: EventStore,
) -> None:
    dead = await store.claim("evt_lease", lease=0.2)
    assert dead.token is not None
    await asyncio.sleep(0.25)
    taken = await store.claim("evt_lease", lease=30)
    assert taken.state is ClaimState.CLAIMED
    assert taken.token is not None
    # The worker whose lease ran out wakes up: it can neither release nor complete.
    assert await store.release("evt_lease", dead.token) is False
    assert await store.complete("evt_lease", dead.token, retention=60) is False
    assert (await store.claim("evt_lease", lease=30)).state is ClaimState.BUSY
    assert await store.complete("evt_lease", taken.token, retention=60) is True
    assert (await store.claim("evt_lease", lease=30)).state is ClaimState.DONE


async def test_a_worker_whose_lease_ran_out_still_completes_when_no_one_took_over(
    store: EventStore,
) -> None:
    # A handler slower than the lease, and no redelivery meanwhile: its success counts, so the
    # next delivery is a duplicate with every store (Redis forgets the expired claim's key).
    slow = await store.claim("evt_slow", lease=0.2)
    assert slow.token is not None
    await asyncio.sleep(0.25)
    assert await store.complete("evt_slow", slow.token, retention=60) is True
    assert (await store.claim("evt_slow", lease=30)).state is ClaimState.DONE
    # Nor can a late complete overwrite a done mark, or a late release drop it.
    assert await store.complete("evt_slow", "someone-else", retention=60) is False
    assert await store.release("evt_slow", slow.token) is False
    assert (await store.claim("evt_slow", lease=30)).state is ClaimState.DONE


async def test_a_done_mark_is_forgotten_after_the_retention(store: EventStore) -> None:
    claim = await store.claim("evt_ret", lease=30)
    assert claim.token is not None
    assert await store.complete("evt_ret", claim.token, retention=0.2)
    assert (await store.claim("evt_ret", lease=30)).state is ClaimState.DONE
    await asyncio.sleep(0.25)
    assert (await store.claim("evt_ret", lease=30)).state is ClaimState.CLAIMED


async def test_the_memory_store_forgets_what_expired_and_only_that() -> None:
    store = MemoryStore()
    done = await store.claim("evt_done", lease=30)
    assert done.token is not None
    assert await store.complete("evt_done", done.token, retention=0.2)
    short = await store.claim("evt_short", lease=0.2)  # expires, then claimed again for long
    released = await store.claim("evt_released", lease=0.2)
    assert released.token is not None
    assert await store.release("evt_released", released.token)
    live = await store.claim("evt_live", lease=30)
    assert short.token is not None
    assert live.token is not None
    await asyncio.sleep(0.25)
    again = await store.claim("evt_short", lease=30)
    assert again.state is ClaimState.CLAIMED
    await store.claim("evt_other", lease=30)  # any claim sweeps what expired
    assert sorted(store._entries) == ["evt_live", "evt_other", "evt_short"]
    assert (await store.claim("evt_short", lease=30)).state is ClaimState.BUSY
    assert (await store.claim("evt_done", lease=30)).state is ClaimState.CLAIMED


async def test_fifty_concurrent_claims_give_one_claim(store: EventStore) -> None:
    claims = await asyncio.gather(*(store.claim("evt_race", lease=30) for _ in range(50)))
    states = [claim.state for claim in claims]
    assert states.count(ClaimState.CLAIMED) == 1
    assert states.count(ClaimState.BUSY) == 49


async def test_redis_down_is_store_unavailable() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    try:
        with pytest.raises(StoreUnavailableError, match="the Redis store failed"):
            await store.claim("evt_1", lease=30)
    finally:
        await store.aclose()


async def test_a_sqlite_file_that_cannot_be_opened_is_store_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "missing-folder" / "events.db")
    with pytest.raises(StoreUnavailableError, match="the SQLite store"):
        await store.claim("evt_1", lease=30)


async def test_sqlite_uses_wal_and_survives_a_new_store_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    first = SQLiteStore(path)
    claim = await first.claim("evt_1", lease=30)
    assert claim.token is not None
    assert await first.complete("evt_1", claim.token, retention=60)
    first.close()
    second = SQLiteStore(str(path))
    assert (await second.claim("evt_1", lease=30)).state is ClaimState.DONE
    second.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_store_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match="path must be a str or a Path"):
        SQLiteStore(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="path must not be empty"):
        SQLiteStore("")
    with pytest.raises(TypeError, match="url_or_client must be a redis:// URL"):
        RedisStore(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="redis://"):
        RedisStore("http://127.0.0.1:6379")


def test_reprs_show_no_credentials() -> None:
    assert "hunter2" not in repr(RedisStore("redis://:hunter2@127.0.0.1:6379/0"))
    assert repr(MemoryStore()) == "MemoryStore(<0 event(s)>)"


def test_a_missing_redis_server_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import receiving

    monkeypatch.setattr(receiving.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        receiving.redis_binary()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true this is a failure"):
        receiving.redis_binary()
