"""`pancake-pos demo`: the two examples of the original TypeScript SDK's documentation, end to
end, against a local sandbox.

It starts a sandbox and a receiver that verifies every signature and refuses the events marked
`"refuse": true`, then, with the SDK's `AsyncPancakeClient`:

1. creates an order webhook pointing at the receiver and tests it (disabling it if the test fails);
2. emits a burst of events, some of which the receiver refuses, and waits for the deliveries and
   their automatic retries;
3. watches the webhook's health (the second example): stats over today, the success rate,
   and the recent failures when it is under 90%;
4. once the receiver accepts them again, recovers the refused events with `recover()`: one
   retry per event that never got through (not one per failed attempt);
5. prints the stats and the health as a table.

It exits 0 when every received signature verified and everything went as expected. Needs the
`cli` extra (rich) besides `sandbox`.

Example:

    $ pancake-pos demo
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from .._client import AsyncPancakeClient
from ..models import DeliveryStatus, Webhook, WebhookEvent
from ..sandbox import SandboxServer
from ..sandbox._receiver import RecordingReceiver

__all__ = ["main", "run_demo"]

DEMO_RETRY_SCHEDULE = (0.2, 0.5)
BURST = 9
REFUSE_EVERY = 3


@dataclasses.dataclass
class Outcome:
    """What the demo checks, one line each."""

    checks: list[tuple[str, bool]] = dataclasses.field(default_factory=list)

    def expect(self, what: str, ok: bool) -> bool:
        self.checks.append((what, ok))
        return ok

    @property
    def ok(self) -> bool:
        return all(ok for _, ok in self.checks)


def _refuse_marked(payload: dict[str, Any]) -> int | None:
    data = payload.get("data")
    return 500 if isinstance(data, dict) and data.get("refuse") is True else None


async def _wait_until_settled(client: AsyncPancakeClient, webhook_id: str, total: int) -> None:
    """Wait until `total` deliveries are recorded and no automatic retry is pending."""
    async with asyncio.timeout(30):
        while True:
            page = await client.webhooks.list_deliveries(webhook_id=webhook_id, page_size=1)
            pending = await client.webhooks.get_pending_deliveries()
            if page.total is not None and page.total >= total and pending.total_count == 0:
                return
            await asyncio.sleep(0.05)


async def setup_order_webhook(client: AsyncPancakeClient, url: str, console: Console) -> Webhook:
    """The first example: create an order webhook, test it, disable it if the test fails."""
    webhook = await client.webhooks.create(
        url=url,
        events=[WebhookEvent.ORDER_CREATED, WebhookEvent.ORDER_STATUS_CHANGED],
        description="New orders and status changes",
    )
    console.print(f"Created webhook [bold]{webhook.id}[/] -> {webhook.url}")
    return webhook


async def monitor_webhook_health(
    client: AsyncPancakeClient, webhook_id: str, console: Console
) -> float:
    """The second example: stats over today, and the recent failures under 90%."""
    today = datetime.datetime.now(datetime.UTC).date()
    stats = await client.webhooks.get_stats(webhook_id, from_date=today, to_date=today)
    success_rate = 100.0 * stats.success_count / max(stats.total_deliveries, 1)
    if success_rate < 90:
        console.print(f"[yellow]Low success rate: {success_rate:.2f}%[/]")
        failed = await client.webhooks.list_deliveries(
            webhook_id=webhook_id, status=DeliveryStatus.FAILED, page_size=5
        )
        console.print("Recent failures:")
        for delivery in failed.data:
            console.print(f"  - {delivery.created_at.isoformat()}: {delivery.failure_reason}")
    else:
        console.print(f"Success rate: {success_rate:.2f}%")
    return success_rate


async def run_demo(console: Console | None = None) -> bool:
    """Run the whole demo; `True` when everything went as expected."""
    console = console or Console()
    outcome = Outcome()
    with (
        SandboxServer(retry_schedule=DEMO_RETRY_SCHEDULE, loopback_only=True) as sandbox,
        RecordingReceiver(path="/webhooks/orders") as receiver,
    ):
        console.print(f"Sandbox on [bold]{sandbox.base_url}[/] (shop {sandbox.shop_id})")
        console.print(f"Receiver on [bold]{receiver.url}[/]")
        receiver.rule = _refuse_marked
        async with (
            AsyncPancakeClient(
                sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url
            ) as client,
            httpx.AsyncClient(
                base_url=f"{sandbox.base_url}/shops/{sandbox.shop_id}",
                params={"api_key": sandbox.api_key},
            ) as http,
        ):
            console.rule("1. Set up an order webhook and test it")
            webhook = await setup_order_webhook(client, receiver.url, console)
            if webhook.secret_key is not None:
                receiver.trust(webhook.secret_key)
            test = await client.webhooks.test(
                webhook.id,
                WebhookEvent.ORDER_CREATED,
                {"order_id": "test-123", "total_amount": 1000000},
            )
            if test.status == DeliveryStatus.SUCCESS:
                console.print("[green]The webhook is ready.[/]")
            else:
                console.print(f"[red]The test failed: {test.failure_reason}[/]")
                await client.webhooks.set_active(webhook.id, False)
            outcome.expect("the test delivery succeeded", test.status == DeliveryStatus.SUCCESS)

            console.rule(f"2. A burst of {BURST} events (every {REFUSE_EVERY}rd refused)")
            refused = 0
            for number in range(1, BURST + 1):
                refuse = number % REFUSE_EVERY == 0
                refused += refuse
                event = "order.created" if number % 2 else "order.status_changed"
                data = {"order_id": f"demo-{number}", "total_amount": number * 1000}
                answer = await http.post(
                    "/sandbox/events", json={"event": event, "data": {**data, "refuse": refuse}}
                )
                outcome.expect(f"event {number} accepted", answer.status_code == 202)
            attempts = 1 + len(DEMO_RETRY_SCHEDULE)
            expected = 1 + (BURST - refused) + refused * attempts
            await _wait_until_settled(client, webhook.id, expected)
            console.print(
                f"{len(receiver.received)} deliveries received, "
                f"{refused} events refused {attempts} times each (automatic retries included)"
            )

            console.rule("3. Watch the webhook's health")
            rate = await monitor_webhook_health(client, webhook.id, console)
            outcome.expect("the success rate dropped under 90%", rate < 90)

            console.rule("4. Recover the events the receiver missed")
            receiver.rule = None
            today = datetime.datetime.now(datetime.UTC).date()
            result = await client.webhooks.recover(webhook.id, since=today)
            console.print(
                f"{result.events_seen} events seen, {result.already_delivered} already delivered, "
                f"{result.retried} retried once each, {result.recovered} recovered"
            )
            outcome.expect("every refused event was retried once", result.retried == refused)
            outcome.expect("every retried event got through", result.recovered == refused)
            again = await client.webhooks.recover(webhook.id, since=today)
            outcome.expect("a second recovery retries nothing", again.retried == 0)

            console.rule("5. Stats and health")
            await _print_stats(client, webhook.id, console)

        received = receiver.received
        outcome.expect("deliveries were received", bool(received))
        outcome.expect(
            f"all {len(received)} received signatures verified",
            all(delivery.verified for delivery in received),
        )
    for what, ok in outcome.checks:
        if not ok:
            console.print(f"[red]FAILED[/] {what}")
    console.print("[bold green]Demo OK[/]" if outcome.ok else "[bold red]Demo failed[/]")
    return outcome.ok


async def _print_stats(client: AsyncPancakeClient, webhook_id: str, console: Console) -> None:
    today = datetime.datetime.now(datetime.UTC).date()
    stats = await client.webhooks.get_stats(webhook_id, from_date=today, to_date=today)
    health = (await client.webhooks.get_by_id(webhook_id)).health_status
    table = Table(title=f"Webhook {webhook_id}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("deliveries", str(stats.total_deliveries))
    table.add_row("succeeded", str(stats.success_count))
    table.add_row("failed", str(stats.failure_count))
    table.add_row("average duration", f"{stats.average_duration_ms:.1f} ms")
    for event, count in sorted(stats.event_counts.items()):
        table.add_row(f"  {event}", str(count))
    table.add_row("health", str(health.status))
    table.add_row("success rate (last 100)", f"{health.success_rate:.2f}%")
    if health.last_failure_reason:
        table.add_row("last failure", health.last_failure_reason)
    console.print(table)


def main() -> int:
    """Run the demo; the process exit code (0 when all went well)."""
    return 0 if asyncio.run(run_demo()) else 1
