"""The async client: create a webhook, test it, read the delivery history, handle errors.

Run it against your shop, or against a local sandbox (`pancake-pos sandbox` prints the values):

    export PANCAKE_API_KEY=... PANCAKE_SHOP_ID=... PANCAKE_BASE_URL=http://127.0.0.1:8765/api/v1
    export PANCAKE_WEBHOOK_URL=https://shop.example.com/webhooks/pancake   # where to deliver
    python examples/async_usage.py
"""

from __future__ import annotations

import asyncio
import os

from pancake_pos import AsyncPancakeClient
from pancake_pos.errors import (
    APIConnectionError,
    APIStatusError,
    NotFoundError,
    RateLimitError,
)
from pancake_pos.models import DeliveryStatus, WebhookEvent


async def main() -> None:
    url = os.environ.get("PANCAKE_WEBHOOK_URL", "https://shop.example.com/webhooks/pancake")

    # Reads PANCAKE_API_KEY, PANCAKE_SHOP_ID and PANCAKE_BASE_URL when not given.
    async with AsyncPancakeClient() as client:
        # 1. Register a webhook for new orders; keep its secret to verify deliveries.
        hook = await client.webhooks.create(
            url=url,
            events=[WebhookEvent.ORDER_CREATED, WebhookEvent.ORDER_STATUS_CHANGED],
            description="New orders and status changes",
        )
        print(f"created {hook.id} for {', '.join(hook.events)}")

        # 2. Send it a test event; disable it if the receiver does not answer 2xx.
        result = await client.webhooks.test(
            hook.id, WebhookEvent.ORDER_CREATED, {"order_id": "test-123", "total_amount": 1000000}
        )
        if result.status == DeliveryStatus.SUCCESS:
            print(f"test delivery {result.delivery_id} succeeded")
        else:
            print(f"test delivery failed ({result.failure_reason}); disabling {hook.id}")
            await client.webhooks.set_active(hook.id, False)

        # 3. One page of the recent history, then a walk over every failed delivery.
        page = await client.webhooks.list_deliveries(webhook_id=hook.id, page_size=20)
        print(f"{page.total} deliveries for {hook.id}")
        async for delivery in client.webhooks.iter_deliveries(status=DeliveryStatus.FAILED):
            print(f"  failed: {delivery.id} {delivery.event} {delivery.failure_reason}")

        # 4. Errors are typed: catch the ones you can act on.
        try:
            await client.webhooks.get_by_id("wh_does_not_exist")
        except NotFoundError as error:
            print(f"not found: {error.message} (request_id={error.request_id})")
        except RateLimitError as error:
            print(f"rate limited; try again in {error.retry_after} s")
        except APIStatusError as error:
            print(f"the API refused: {error.status_code} {error.code}")
        except APIConnectionError:
            print("the API could not be reached")

        await client.webhooks.delete(hook.id)
        print(f"deleted {hook.id}")


if __name__ == "__main__":
    asyncio.run(main())
