"""The sync client in a script: list the webhooks, then re-deliver the events that never arrived.

A delivery is one *attempt*; an *event* (its `payload["id"]`) may have several, when the service
retried it. So the script retries events, not attempts: once per event that has no successful
attempt and no automatic retry still to come, and it is safe to run again.

Run it against your shop, or against a local sandbox (`pancake-pos sandbox` prints the values):

    export PANCAKE_API_KEY=... PANCAKE_SHOP_ID=... PANCAKE_BASE_URL=http://127.0.0.1:8765/api/v1
    python examples/sync_usage.py
"""

from __future__ import annotations

from pancake_pos import PancakeClient
from pancake_pos.errors import APIError
from pancake_pos.models import DeliveryStatus, WebhookDelivery


def main() -> None:
    with PancakeClient() as client:  # reads PANCAKE_API_KEY, PANCAKE_SHOP_ID, PANCAKE_BASE_URL
        hooks = client.webhooks.list()
        for hook in hooks.data:
            state = "active" if hook.is_active else "disabled"
            print(f"{hook.id}  {state:8}  {hook.health_status.status:7}  {hook.url}")

        # Events the service will retry on its own: leave them to it.
        pending = client.webhooks.get_pending_deliveries()
        scheduled = {delivery.payload["id"] for delivery in pending.deliveries}

        # One walk over the history, newest first: the first failed attempt seen for an event
        # is its latest one.
        delivered: set[str] = set()
        latest_failure: dict[str, WebhookDelivery] = {}
        for delivery in client.webhooks.iter_deliveries():
            event_id = delivery.payload["id"]
            if delivery.status == DeliveryStatus.SUCCESS:
                delivered.add(event_id)
            elif delivery.status == DeliveryStatus.FAILED:
                latest_failure.setdefault(event_id, delivery)

        undelivered = [
            delivery
            for event_id, delivery in latest_failure.items()
            if event_id not in delivered and event_id not in scheduled
        ]
        retried = 0
        for delivery in reversed(undelivered):  # oldest event first
            try:
                outcome = client.webhooks.retry_delivery(delivery.id)
            except APIError as error:
                print(f"retry of {delivery.id} failed: {error}")
                continue
            retried += 1
            event_id = delivery.payload["id"]
            print(f"{event_id} ({delivery.event}) -> {outcome.delivery_id}: {outcome.status}")
        print(f"{retried} undelivered events retried, {len(delivered)} already delivered")


if __name__ == "__main__":
    main()
