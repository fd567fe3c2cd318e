"""`with_options()` copies share the client's pool: making thousands of them (and calling through
some) opens no new connection and keeps no memory.

A real keep-alive server on 127.0.0.1 counts the connections it accepts; tracemalloc measures
what the loop leaves allocated once its copies are gone.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._sync import PancakeClient

API_KEY = "pool-api-key"
SHOP_ID = "shop_pool"
COPIES = 5_000
CALL_EVERY = 50
LEAK_BOUND = 512 * 1024
"""Bytes a loop of 5,000 copies may leave behind (one leaked copy is well over 100 bytes)."""

WEBHOOK = json.dumps(
    {
        "id": "wh_pool",
        "url": "https://shop.example.com/hooks",
        "events": ["order.created"],
        "is_active": True,
        "created_at": "2024-04-01T08:00:00Z",
        "updated_at": "2024-04-01T08:00:00Z",
        "health_status": {"status": "healthy", "success_rate": 100.0},
    }
).encode()
ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(WEBHOOK)}\r\n\r\n".encode()
    + WEBHOOK
)


class CountingServer(asyncio.Protocol):
    """Answers every request with the same webhook, keeping the connection; counts connections
    and the headers it saw."""

    connections = 0
    requests = 0
    header_lines: set[bytes]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        type(self).connections += 1
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            type(self).requests += 1
            type(self).header_lines.update(head.lower().split(b"\r\n")[1:])
            self.transport.write(ANSWER)


@pytest.fixture
async def server() -> AsyncIterator[tuple[type[CountingServer], str]]:
    class Counting(CountingServer):
        connections = 0
        requests = 0
        header_lines: set[bytes] = set()  # noqa: RUF012 (one per test: a fresh subclass)

    loop = asyncio.get_running_loop()
    listener = await loop.create_server(Counting, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield Counting, f"http://127.0.0.1:{port}/api/v1"


async def make_copies(client: AsyncPancakeClient, count: int) -> None:
    """`count` copies with changing options; every `CALL_EVERY`th one makes a call."""
    for index in range(count):
        copy = client.with_options(
            timeout=10 + index % 5,
            max_retries=index % 3,
            default_headers={"X-Copy": str(index % 7)},
        )
        assert copy.http_client is client.http_client
        if index % CALL_EVERY == 0:
            hook = await copy.webhooks.get_by_id("wh_pool")
            assert hook.id == "wh_pool"
        if index % 2:
            await copy.close()  # closes nothing: the pool belongs to `client`


@pytest.mark.slow
async def test_with_options_in_a_loop_opens_no_connection_and_keeps_no_memory(
    server: tuple[type[CountingServer], str],
) -> None:
    counting, base_url = server
    async with AsyncPancakeClient(API_KEY, SHOP_ID, base_url=base_url) as client:
        await make_copies(client, 500)  # caches filled on first use are not counted below
        gc.collect()
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            await make_copies(client, COPIES)
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert not client.is_closed
        hook = await client.webhooks.get_by_id("wh_pool")  # the pool still works
        assert hook.id == "wh_pool"

    assert client.is_closed
    assert counting.requests == 500 // CALL_EVERY + COPIES // CALL_EVERY + 1
    assert counting.connections == 1
    assert b"x-copy: 6" in counting.header_lines  # the copies' headers were sent
    assert after - before < LEAK_BOUND, f"{after - before:,} bytes left after {COPIES:,} copies"


async def test_copies_of_copies_share_the_first_clients_pool(
    server: tuple[type[CountingServer], str],
) -> None:
    counting, base_url = server
    async with AsyncPancakeClient(API_KEY, SHOP_ID, base_url=base_url) as client:
        copy = client
        for index in range(200):
            copy = copy.with_options(max_retries=index % 4)
            await copy.webhooks.get_by_id("wh_pool")
        assert copy.http_client is client.http_client
        await copy.close()
        assert not client.is_closed
    assert counting.requests == 200
    assert counting.connections == 1


async def test_sync_with_options_in_a_loop_opens_no_connection(
    server: tuple[type[CountingServer], str],
) -> None:
    counting, base_url = server

    def use_copies() -> None:
        with PancakeClient(API_KEY, SHOP_ID, base_url=base_url) as client:
            for index in range(1_000):
                copy = client.with_options(max_retries=index % 3)
                if index % CALL_EVERY == 0:
                    assert copy.webhooks.get_by_id("wh_pool").id == "wh_pool"
                copy.close()  # closes nothing: the loop thread and pool are `client`'s
            assert not client.is_closed
        assert client.is_closed

    # The facade blocks, so it runs in a worker thread while this loop serves its requests.
    await asyncio.to_thread(use_copies)
    assert counting.requests == 1_000 // CALL_EVERY
    assert counting.connections == 1
