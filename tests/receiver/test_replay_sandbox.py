"""Replay after an outage, against a real sandbox whose deliveries all failed."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from receiving import serve_asgi
from starlette.applications import Starlette
from starlette.routing import Route

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.events import Event, OrderEvent
from pancake_pos.receiver import ReplayReport, SQLiteStore, WebhookReceiver
from pancake_pos.sandbox import SandboxServer

PATH = "/webhooks/pancake"


class Forward:
    """An ASGI app that forwards to one made later (the receiver needs the webhook's secret)."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


async def wait_for(probe: Any, condition: Any) -> Any:
    async with asyncio.timeout(20):
        while True:
            result = await probe()
            if condition(result):
                return result
            await asyncio.sleep(0.05)


async def test_replay_after_an_outage_runs_every_event_once(tmp_path: Path) -> None:
    forward = Forward()
    handled: list[str] = []
    broken = True
    app = Starlette(routes=[Route(PATH, forward)])
    with (
        serve_asgi(app) as receiver_url,
        SandboxServer(retry_schedule=(0.2, 0.4), loopback_only=True) as sandbox,
    ):
        client = AsyncPancakeClient(sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url)
        try:
            hook = await client.webhooks.create(url=receiver_url + PATH, events=["order.created"])
            assert hook.secret_key is not None
            store = SQLiteStore(tmp_path / "events.db")
            receiver = WebhookReceiver(hook.secret_key, store=store)

            @receiver.on("order.created")
            def on_order(event: Event) -> None:
                assert isinstance(event, OrderEvent)
                if broken:
                    raise RuntimeError("a bug in the deployed handler")
                handled.append(event.id)

            forward.target = receiver.asgi()

            async with httpx.AsyncClient(params={"api_key": sandbox.api_key}) as http:
                emitted = [
                    await http.post(
                        f"{sandbox.base_url}/shops/{sandbox.shop_id}/sandbox/events",
                        json={"event": "order.created", "data": {"id": n}},
                    )
                    for n in range(5)
                ]
            assert [answer.status_code for answer in emitted] == [202] * 5
            event_ids = {answer.json()["id"] for answer in emitted}

            # Every attempt failed (3 per event); nothing is pending any more.
            await wait_for(
                client.webhooks.get_pending_deliveries, lambda pending: pending.total_count == 0
            )
            page = await wait_for(
                lambda: client.webhooks.list_deliveries(webhook_id=hook.id),
                lambda page: page.total == 15,
            )
            assert {delivery.status for delivery in page.data} == {"failed"}
            assert handled == []

            broken = False  # the fix is deployed: catch up from the history
            report = await receiver.replay(client.webhooks.iter_deliveries(webhook_id=hook.id))
            assert report == ReplayReport(processed=5, duplicates=0, ignored=0, failed=0)
            assert Counter(handled) == Counter(event_ids)  # every event, once

            again = await receiver.replay(client.webhooks.iter_deliveries(webhook_id=hook.id))
            assert again == ReplayReport(processed=0, duplicates=5, ignored=0, failed=0)
            assert len(handled) == 5
            store.close()
        finally:
            await client.close()
