"""Exactly once, measured: concurrent redeliveries, several OS processes, a worker that died."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from receiving import (
    SECRET,
    dying_worker,
    make_delivery,
    make_store,
    process_worker,
    serve_asgi,
)
from starlette.applications import Starlette
from starlette.routing import Route

from pancake_pos.events import Event
from pancake_pos.receiver import EventStore, Outcome, WebhookReceiver

PATH = "/webhooks/pancake"


async def test_the_same_delivery_50_times_at_once_runs_the_handler_once(
    store: EventStore,
) -> None:
    receiver = WebhookReceiver(SECRET, store=store)
    ran: list[str] = []

    @receiver.on("order.created")
    async def handler(event: Event) -> None:
        await asyncio.sleep(0.05)  # a window for the other 49 to arrive in
        ran.append(event.id)

    body, headers = make_delivery()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.aclose()  # the connections opened on the server's loop

    app = Starlette(routes=[Route(PATH, receiver.asgi())], lifespan=lifespan)
    with serve_asgi(app) as url:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=url, timeout=20, limits=limits) as http:
            answers = await asyncio.gather(
                *(http.post(PATH, content=body, headers=headers) for _ in range(50))
            )
            outcomes = Counter(answer.json()["outcome"] for answer in answers)
            assert outcomes["processed"] == 1
            assert outcomes["processed"] + outcomes["duplicate"] + outcomes["in_progress"] == 50
            for answer in answers:
                expected = {"processed": 200, "duplicate": 200, "in_progress": 409}
                assert answer.status_code == expected[answer.json()["outcome"]]
            later = await http.post(PATH, content=body, headers=headers)
            assert later.json() == {"outcome": "duplicate"}
    assert ran == [headers["webhook-id"]]


def shared_location(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return str(tmp_path / "shared.db")
    url = request.getfixturevalue("redis_url")
    return f"{url}|exactly-once-{uuid.uuid4().hex}:"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_four_processes_sharing_a_store_run_each_event_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    location = shared_location(kind, tmp_path, request)
    deliveries = [make_delivery("order.created", {"id": n}) for n in range(10)]
    log_path = tmp_path / "handled.log"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    results: Any = context.Queue()
    processes = [
        context.Process(
            target=process_worker,
            args=(SECRET, kind, location, deliveries, 5, str(log_path), start, results),
        )
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    outcomes: Counter[str] = Counter()
    for _ in processes:
        outcomes.update(results.get(timeout=60))
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert outcomes["processed"] == 10, outcomes
    handled = Counter(log_path.read_text(encoding="utf-8").split())
    expected_ids = {headers["webhook-id"] for _, headers in deliveries}
    assert set(handled) == expected_ids
    assert set(handled.values()) == {1}  # every event once, across 4 processes x 5 at once
    assert outcomes["processed"] == 10
    assert outcomes["processed"] + outcomes["duplicate"] + outcomes["in_progress"] == 200


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_the_claim_of_a_process_that_died_expires_after_the_lease(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    location = shared_location(kind, tmp_path, request)
    body, headers = make_delivery()
    process = multiprocessing.get_context("spawn").Process(
        target=dying_worker, args=(SECRET, kind, location, body, headers)
    )
    process.start()
    await asyncio.to_thread(process.join, 60)
    assert process.exitcode == 3  # died inside the handler, holding the claim

    store = make_store(kind, location)
    receiver = WebhookReceiver(SECRET, store=store, lease=1.0)
    ran: list[str] = []
    receiver.on("order.created")(lambda event: ran.append(event.id))
    try:
        outcomes = [(await receiver.handle(body, headers)).outcome]
        while outcomes[-1] is Outcome.IN_PROGRESS:
            await asyncio.sleep(0.1)
            outcomes.append((await receiver.handle(body, headers)).outcome)
    finally:
        await store.aclose()
    assert outcomes[0] is Outcome.IN_PROGRESS  # the dead worker's lease still held
    assert outcomes[-1] is Outcome.PROCESSED
    assert ran == [headers["webhook-id"]]
