"""`client.webhooks` of the sync `PancakeClient`: the twin of `AsyncWebhooks`, without `await`.

Each method forwards its arguments, unchanged, to the `AsyncWebhooks` method of the same name
and runs it on the client's event loop thread: arguments are checked, requests sent, answers
decoded and errors raised by the async core, exactly as there. (mypy checks every forwarded
argument against the async method's signature, and a test compares the two surfaces.)

The delivery walks are plain iterators over the async core's page iterator: one trip to the loop
per page, the deliveries of a page yielded here, so paging, dedupe and stop rules are the async
core's, unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._pagination import AsyncDeliveryPageIterator
from .._types import NOT_GIVEN, DateLike, NotGiven
from ..errors import PancakeError
from ..models import (
    ClearHistoryResult,
    DeliveryPage,
    DeliveryStatus,
    PendingDeliveries,
    RetryWebhookResult,
    RotateSecretResult,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookList,
    WebhookStats,
    WebhookTestResult,
)
from .webhooks import AsyncWebhooks

if TYPE_CHECKING:
    from .._sync import PancakeClient

__all__ = ["DeliveryIterator", "DeliveryPageIterator", "RunOnLoop", "Webhooks"]

T = TypeVar("T")


class RunOnLoop(Protocol):
    """Runs an async function on the client's loop thread and returns its result."""

    def __call__(self, function: Callable[[], Awaitable[T]], /) -> T: ...


class Webhooks:
    """The webhook operations of a `PancakeClient`, reached as `client.webhooks`.

    Same methods, arguments, models and errors as `AsyncWebhooks`, without `await`.

    Example:

        with PancakeClient() as client:
            for hook in client.webhooks.list().data:
                print(hook.id, hook.url, hook.health_status.status)
    """

    __slots__ = ("_client", "_webhooks")

    def __init__(self, client: PancakeClient, webhooks: AsyncWebhooks) -> None:
        self._client = client
        self._webhooks = webhooks

    # -- webhooks ---------------------------------------------------------------------------

    def list(self) -> WebhookList:
        """List the shop's webhooks, newest first (`GET /webhooks`). Secrets are not included.

        Example:

            active = [hook for hook in client.webhooks.list().data if hook.is_active]
        """
        return self._client._run(self._webhooks.list)

    def get_by_id(self, webhook_id: str) -> Webhook:
        """Get one webhook, with its `secret_key` and health (`GET /webhooks/{webhook_id}`).

        Example:

            print(client.webhooks.get_by_id("wh_2ZbX9kQ1").health_status.success_rate)
        """
        return self._client._run(self._webhooks.get_by_id, webhook_id)

    def create(
        self,
        *,
        url: str,
        events: Sequence[WebhookEvent | str],
        description: str | None = None,
        is_active: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """Register a webhook (`POST /webhooks`). The answer carries its signing `secret_key`.

        See `AsyncWebhooks.create` for the arguments.

        Example:

            hook = client.webhooks.create(
                url="https://shop.example.com/webhooks/orders",
                events=[WebhookEvent.ORDER_CREATED, "order.status_changed"],
            )
            save_secret(hook.secret_key)
        """
        return self._client._run(
            self._webhooks.create,
            url=url,
            events=events,
            description=description,
            is_active=is_active,
            idempotency_key=idempotency_key,
        )

    def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[WebhookEvent | str] | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
    ) -> Webhook:
        """Change some fields of a webhook (`PUT /webhooks/{webhook_id}`).

        Only the fields passed are sent; `description=None` is sent as `null`.

        Example:

            hook = client.webhooks.update("wh_1", events=["order.created"], description=None)
        """
        return self._client._run(
            self._webhooks.update,
            webhook_id,
            url=url,
            events=events,
            description=description,
            is_active=is_active,
        )

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook, its pending retries and its history (`DELETE /webhooks/{webhook_id}`).

        Example:

            client.webhooks.delete("wh_2ZbX9kQ1")
        """
        return self._client._run(self._webhooks.delete, webhook_id)

    def set_active(self, webhook_id: str, is_active: bool) -> Webhook:
        """Enable or disable a webhook (`PUT /webhooks/{webhook_id}/set-active`).

        Example:

            assert not client.webhooks.set_active("wh_2ZbX9kQ1", False).is_active
        """
        return self._client._run(self._webhooks.set_active, webhook_id, is_active)

    def test(
        self,
        webhook_id: str,
        event: WebhookEvent | str,
        payload: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> WebhookTestResult:
        """Deliver one test event to the webhook now and report the outcome.

        `POST /webhooks/{webhook_id}/test` with `{event, payload}`.

        Example:

            result = client.webhooks.test("wh_1", WebhookEvent.ORDER_CREATED, {"order_id": "1"})
            print(result.status, result.failure_reason)
        """
        return self._client._run(
            self._webhooks.test, webhook_id, event, payload, idempotency_key=idempotency_key
        )

    def rotate_secret(
        self, webhook_id: str, *, idempotency_key: str | None = None
    ) -> RotateSecretResult:
        """Issue a new signing secret (`POST /webhooks/{webhook_id}/rotate-secret`).

        Example:

            verifier = WebhookVerifier([client.webhooks.rotate_secret("wh_1").secret_key, old])
        """
        return self._client._run(
            self._webhooks.rotate_secret, webhook_id, idempotency_key=idempotency_key
        )

    def get_stats(self, webhook_id: str, *, from_date: DateLike, to_date: DateLike) -> WebhookStats:
        """Delivery statistics of a webhook over whole UTC days, both inclusive.

        `GET /webhooks/{webhook_id}/stats`; dates are `datetime.date` or `YYYY-MM-DD`.

        Example:

            stats = client.webhooks.get_stats("wh_1", from_date="2024-04-01", to_date="2024-04-29")
        """
        return self._client._run(
            self._webhooks.get_stats, webhook_id, from_date=from_date, to_date=to_date
        )

    def clear_delivery_history(
        self,
        webhook_id: str,
        *,
        before_date: DateLike | None = None,
        status: DeliveryStatus | str | None = None,
        idempotency_key: str | None = None,
    ) -> ClearHistoryResult:
        """Delete a webhook's completed deliveries (`POST /webhooks/{webhook_id}/clear-history`).

        Example:

            result = client.webhooks.clear_delivery_history("wh_1", status="failed")
            print(result.deleted_count)
        """
        return self._client._run(
            self._webhooks.clear_delivery_history,
            webhook_id,
            before_date=before_date,
            status=status,
            idempotency_key=idempotency_key,
        )

    # -- deliveries -------------------------------------------------------------------------

    def list_deliveries(
        self,
        *,
        webhook_id: str | None = None,
        page_size: int | None = None,
        page_number: int | None = None,
        status: DeliveryStatus | str | None = None,
        event: WebhookEvent | str | None = None,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
    ) -> DeliveryPage:
        """One page of the shop's delivery history, newest first (`GET /webhook-deliveries`).

        Example:

            page = client.webhooks.list_deliveries(status="failed", page_size=20)
            print(f"{page.total} failed deliveries on {page.total_pages} pages")
        """
        return self._client._run(
            self._webhooks.list_deliveries,
            webhook_id=webhook_id,
            page_size=page_size,
            page_number=page_number,
            status=status,
            event=event,
            from_date=from_date,
            to_date=to_date,
        )

    def iter_deliveries(
        self,
        *,
        webhook_id: str | None = None,
        status: DeliveryStatus | str | None = None,
        event: WebhookEvent | str | None = None,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        page_size: int = 100,
    ) -> DeliveryIterator:
        """Walk the whole filtered delivery history, newest first, one delivery at a time.

        Lazy (a page is fetched when the previous one is used up), one page in memory, no
        delivery id yielded twice. Arguments are checked now, before the first request.
        Breaking out early leaves nothing behind; `close()` ends the walk explicitly.

        Example:

            for delivery in client.webhooks.iter_deliveries(status="failed"):
                print(delivery.id, delivery.failure_reason)
        """
        pages = self.iter_delivery_pages(
            webhook_id=webhook_id,
            status=status,
            event=event,
            from_date=from_date,
            to_date=to_date,
            page_size=page_size,
        )
        return DeliveryIterator(pages)

    def iter_delivery_pages(
        self,
        *,
        webhook_id: str | None = None,
        status: DeliveryStatus | str | None = None,
        event: WebhookEvent | str | None = None,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        page_size: int = 100,
    ) -> DeliveryPageIterator:
        """Walk the filtered delivery history a page (`DeliveryPage`) at a time.

        Same behaviour as `iter_deliveries()`.

        Example:

            for page in client.webhooks.iter_delivery_pages(webhook_id="wh_1"):
                print(f"page {page.page_number}/{page.total_pages}: {len(page.data)}")
        """
        # Checks the arguments here and now; the async iterator itself touches no loop.
        pages = self._webhooks.iter_delivery_pages(
            webhook_id=webhook_id,
            status=status,
            event=event,
            from_date=from_date,
            to_date=to_date,
            page_size=page_size,
        )
        return DeliveryPageIterator(self._client._run, pages)

    def get_delivery_by_id(self, delivery_id: str) -> WebhookDelivery:
        """Get one delivery attempt, with the receiver's answer.

        `GET /webhook-deliveries/{delivery_id}`.

        Example:

            delivery = client.webhooks.get_delivery_by_id("dlv_7Hq3mN0p")
        """
        return self._client._run(self._webhooks.get_delivery_by_id, delivery_id)

    def retry_delivery(
        self, delivery_id: str, *, idempotency_key: str | None = None
    ) -> RetryWebhookResult:
        """Send a delivery's event to its webhook again now; recorded as a new delivery.

        `POST /webhook-deliveries/{delivery_id}/retry`.

        Example:

            for failed in client.webhooks.iter_deliveries(status="failed"):
                print(failed.id, "->", client.webhooks.retry_delivery(failed.id).status)
        """
        return self._client._run(
            self._webhooks.retry_delivery, delivery_id, idempotency_key=idempotency_key
        )

    def get_pending_deliveries(self) -> PendingDeliveries:
        """The automatic retries still to come, soonest first (`GET /webhook-deliveries/pending`).

        Example:

            print(client.webhooks.get_pending_deliveries().total_count)
        """
        return self._client._run(self._webhooks.get_pending_deliveries)


class DeliveryPageIterator(Iterator[DeliveryPage]):
    """An iterator of `DeliveryPage`: the sync twin of `AsyncDeliveryPageIterator`.

    Each `next()` runs one `__anext__` of the async page iterator on the client's loop thread,
    so fetching, dedupe and the stop rules are the async core's. An error while fetching a page
    is raised from `next()`; iterating again retries that page. It holds no connection: dropping
    it part way leaves nothing behind.

    Example:

        for page in client.webhooks.iter_delivery_pages(status="failed"):
            print(page.page_number, len(page.data))
    """

    __slots__ = ("_pages", "_run")

    def __init__(self, run: RunOnLoop, pages: AsyncDeliveryPageIterator) -> None:
        self._run = run
        self._pages = pages

    def __iter__(self) -> DeliveryPageIterator:
        return self

    def __next__(self) -> DeliveryPage:
        try:
            return self._run(self._pages.__anext__)
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """End the walk: later iterations stop at once. Fine after the client is closed."""
        # PancakeError: the client is closed, so the walk cannot go on anyway.
        with contextlib.suppress(PancakeError):
            self._run(self._pages.aclose)


class DeliveryIterator(Iterator[WebhookDelivery]):
    """An iterator of `WebhookDelivery` over a `DeliveryPageIterator`: the sync twin of
    `AsyncDeliveryIterator`.

    Holds one page at a time and fetches the next only when the current one is used up.

    Example:

        for delivery in client.webhooks.iter_deliveries(webhook_id="wh_1"):
            print(delivery.id, delivery.status)
    """

    __slots__ = ("_deliveries", "_pages")

    def __init__(self, pages: DeliveryPageIterator) -> None:
        self._pages = pages
        self._deliveries: Iterator[WebhookDelivery] = iter(())

    def __iter__(self) -> DeliveryIterator:
        return self

    def __next__(self) -> WebhookDelivery:
        while True:
            delivery = next(self._deliveries, None)
            if delivery is not None:
                return delivery
            self._deliveries = iter(next(self._pages).data)

    def close(self) -> None:
        """End the walk and drop the page held; later iterations stop at once."""
        self._deliveries = iter(())
        self._pages.close()
