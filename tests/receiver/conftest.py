"""Real things for the receiver's tests: signed deliveries, a real Redis server, every store.

- `redis_url`: a `redis-server` started on a free 127.0.0.1 port in a temporary directory (no
  persistence), stopped by its PID at the end of the session. When the binary is missing the Redis
  tests skip with the reason, except under `CI=true`, where they fail (`.ci/run` installs it).
- `store` (parametrized: memory, sqlite, redis): a fresh store; Redis keys get a unique prefix.
- `delivery(...)`: a signed delivery (body, headers) of the receiver's secret.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from receiving import Delivery, free_port, make_delivery, redis_binary

from pancake_pos.receiver import EventStore, MemoryStore, RedisStore, SQLiteStore


@pytest.fixture
def delivery() -> Callable[..., Delivery]:
    return make_delivery


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = redis_binary()
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = (folder / "redis.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process, folder)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "redis-server exited: " + (folder / "redis.log").read_text(errors="replace")
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer within 10 s")


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        sqlite = SQLiteStore(tmp_path / "events.db")
        yield sqlite
        sqlite.close()
    else:
        url = request.getfixturevalue("redis_url")
        redis = RedisStore(url, prefix=f"test-{uuid.uuid4().hex}:")
        yield redis
        await redis.aclose()
