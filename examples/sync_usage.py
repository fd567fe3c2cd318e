"""The sync client in a script: list the webhooks, walk the failed deliveries, retry them.

Run it against your shop, or against a local sandbox (`pancake-pos sandbox` prints the values):

    export PANCAKE_API_KEY=... PANCAKE_SHOP_ID=... PANCAKE_BASE_URL=http://127.0.0.1:8765/api/v1
    python examples/sync_usage.py
"""

from __future__ import annotations

from pancake_pos import PancakeClient
from pancake_pos.errors import APIError
from pancake_pos.models import DeliveryStatus


def main() -> None:
    with PancakeClient() as client:  # reads PANCAKE_API_KEY, PANCAKE_SHOP_ID, PANCAKE_BASE_URL
        hooks = client.webhooks.list()
        for hook in hooks.data:
            state = "active" if hook.is_active else "disabled"
            print(f"{hook.id}  {state:8}  {hook.health_status.status:7}  {hook.url}")

        # The walk fetches one page at a time. Each retry is recorded as a new delivery at the
        # head of the history; the walk goes on where it was and yields no delivery twice.
        retried = 0
        for delivery in client.webhooks.iter_deliveries(status=DeliveryStatus.FAILED):
            try:
                outcome = client.webhooks.retry_delivery(delivery.id)
            except APIError as error:
                print(f"retry of {delivery.id} failed: {error}")
                continue
            retried += 1
            print(f"{delivery.id} ({delivery.event}) -> {outcome.delivery_id}: {outcome.status}")
        print(f"{retried} failed deliveries retried")


if __name__ == "__main__":
    main()
