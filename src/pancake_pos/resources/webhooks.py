"""`client.webhooks`: the shop's webhooks and their delivery history, async and sync side by side.

Each method checks its arguments (raising `ValueError` or `TypeError` naming the bad one before
anything is sent), makes one request through the client's transport, and returns the model the
API documents. All paths are under `/shops/{shop_id}`.

`Webhooks`, the sync twin used by `PancakeClient`, forwards each call, its arguments unchanged, to
the `AsyncWebhooks` method of the same name and runs it on the client's event loop thread; mypy
checks every forwarded argument against the async signature, and a test compares the surfaces.
So the async method's docstring is the one to read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import _paths as paths
from .. import _validation as check
from .._constants import CLEAR_HISTORY_STATUSES
from .._converter import unstructure
from .._pagination import (
    AsyncDeliveryIterator,
    AsyncDeliveryPageIterator,
    DeliveryIterator,
    DeliveryPageIterator,
)
from .._recovery import Moment, ProgressCallback, RecoverResult, recover_events
from .._resource import AsyncAPIResource, SyncAPIResource
from .._types import NOT_GIVEN, DateLike, NotGiven
from ..models import (
    ClearHistoryRequest,
    ClearHistoryResult,
    CreateWebhookRequest,
    DeliveryPage,
    DeliveryStatus,
    PendingDeliveries,
    RetryWebhookResult,
    RotateSecretResult,
    SetActiveRequest,
    UpdateWebhookRequest,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookList,
    WebhookStats,
    WebhookTestRequest,
    WebhookTestResult,
)

if TYPE_CHECKING:
    from .._sync import PancakeClient

__all__ = ["AsyncWebhooks", "Webhooks"]


class AsyncWebhooks(AsyncAPIResource):
    """The webhook operations of an `AsyncPancakeClient`, reached as `client.webhooks`.

    Example:

        async with AsyncPancakeClient() as client:
            hooks = await client.webhooks.list()
            for hook in hooks.data:
                print(hook.id, hook.url, hook.health_status.status)
    """

    __slots__ = ()

    # -- webhooks ---------------------------------------------------------------------------

    async def list(self) -> WebhookList:
        """List the shop's webhooks, newest first (`GET /webhooks`). Secrets are not included.

        Example:

            hooks = await client.webhooks.list()
            active = [hook for hook in hooks.data if hook.is_active]
        """
        return await self._request("GET", "/webhooks", cast_to=WebhookList)

    async def get_by_id(self, webhook_id: str) -> Webhook:
        """Get one webhook, with its `secret_key` and health (`GET /webhooks/{webhook_id}`).

        Raises `NotFoundError` when there is no such webhook.

        Example:

            hook = await client.webhooks.get_by_id("wh_2ZbX9kQ1")
            print(hook.health_status.success_rate)
        """
        path = paths.path("/webhooks/{webhook_id}", webhook_id=webhook_id)
        return await self._request("GET", path, cast_to=Webhook)

    async def create(
        self,
        *,
        url: str,
        events: Sequence[WebhookEvent | str],
        description: str | None = None,
        is_active: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """Register a webhook (`POST /webhooks`). The answer carries its signing `secret_key`.

        Args:
            url: the absolute http(s) URL deliveries are POSTed to.
            events: the events to receive (`WebhookEvent` members or names like
                `"order.created"`; a well-formed name the SDK does not know yet is accepted).
            description: a note for people (left out when `None`).
            is_active: whether the webhook starts active (the service's default: `True`).
            idempotency_key: the `Idempotency-Key` header; a new UUID when left out.

        Example:

            hook = await client.webhooks.create(
                url="https://shop.example.com/webhooks/orders",
                events=[WebhookEvent.ORDER_CREATED, "order.status_changed"],
                description="New orders",
            )
            save_secret(hook.secret_key)
        """
        body = CreateWebhookRequest(
            url=check.http_url(url, "url"),
            events=check.event_names(events, "events"),
            description=None
            if description is None
            else check.description(description, "description"),
            is_active=None if is_active is None else check.boolean(is_active, "is_active"),
        )
        return await self._request(
            "POST",
            "/webhooks",
            json=unstructure(body),
            cast_to=Webhook,
            idempotency_key=check.idempotency_key(idempotency_key),
        )

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[WebhookEvent | str] | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
    ) -> Webhook:
        """Change some fields of a webhook (`PUT /webhooks/{webhook_id}`).

        Only the fields passed are sent; the others keep their value. `description=None` is sent
        as `null` and clears the description. (`url`, `events` and `is_active` cannot be null in
        the API, so `None` there raises `TypeError` before anything is sent.)

        Example:

            hook = await client.webhooks.update("wh_1", events=["order.created"], description=None)
        """
        path = paths.path("/webhooks/{webhook_id}", webhook_id=webhook_id)
        checked: dict[str, Any] = {}
        if not isinstance(url, NotGiven):
            checked["url"] = check.http_url(url, "url")
        if not isinstance(events, NotGiven):
            checked["events"] = check.event_names(events, "events")
        if not isinstance(description, NotGiven):
            checked["description"] = (
                None if description is None else check.description(description, "description")
            )
        if not isinstance(is_active, NotGiven):
            checked["is_active"] = check.boolean(is_active, "is_active")
        # The document's request model names the fields (one it does not have fails here). The
        # body holds exactly the fields given, not `unstructure(changes)`: the model's `None`
        # means "left out", while `description=None` must be sent as null.
        changes = UpdateWebhookRequest(**checked)
        body = {name: getattr(changes, name) for name in checked}
        return await self._request("PUT", path, json=body, cast_to=Webhook)

    async def delete(self, webhook_id: str) -> None:
        """Delete a webhook, its pending retries and its history (`DELETE /webhooks/{webhook_id}`).

        Example:

            await client.webhooks.delete("wh_2ZbX9kQ1")
        """
        path = paths.path("/webhooks/{webhook_id}", webhook_id=webhook_id)
        await self._request("DELETE", path, cast_to=None)

    async def set_active(self, webhook_id: str, is_active: bool) -> Webhook:
        """Enable or disable a webhook (`PUT /webhooks/{webhook_id}/set-active`).

        Example:

            hook = await client.webhooks.set_active("wh_2ZbX9kQ1", False)
            assert not hook.is_active
        """
        path = paths.path("/webhooks/{webhook_id}/set-active", webhook_id=webhook_id)
        body = SetActiveRequest(is_active=check.boolean(is_active, "is_active"))
        return await self._request("PUT", path, json=unstructure(body), cast_to=Webhook)

    async def test(
        self,
        webhook_id: str,
        event: WebhookEvent | str,
        payload: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> WebhookTestResult:
        """Deliver one test event to the webhook now and report the outcome.

        `POST /webhooks/{webhook_id}/test` with `{event, payload}`; `payload` becomes the event's
        `data` (the service uses a sample when it is `None`, and it is then left out).

        Example:

            result = await client.webhooks.test(
                "wh_1", WebhookEvent.ORDER_CREATED, {"order_id": "test-123"}
            )
            if result.status != DeliveryStatus.SUCCESS:
                await client.webhooks.set_active("wh_1", False)
        """
        path = paths.path("/webhooks/{webhook_id}/test", webhook_id=webhook_id)
        body = WebhookTestRequest(
            event=check.event_name(event, "event"),
            payload=None if payload is None else check.payload(payload, "payload"),
        )
        return await self._request(
            "POST",
            path,
            json=unstructure(body),
            cast_to=WebhookTestResult,
            idempotency_key=check.idempotency_key(idempotency_key),
        )

    async def rotate_secret(
        self, webhook_id: str, *, idempotency_key: str | None = None
    ) -> RotateSecretResult:
        """Issue a new signing secret (`POST /webhooks/{webhook_id}/rotate-secret`).

        For a grace period deliveries carry signatures with both the new and the previous secret.

        Example:

            rotated = await client.webhooks.rotate_secret("wh_1")
            verifier = WebhookVerifier([rotated.secret_key, old_secret])
        """
        path = paths.path("/webhooks/{webhook_id}/rotate-secret", webhook_id=webhook_id)
        return await self._request(
            "POST",
            path,
            cast_to=RotateSecretResult,
            idempotency_key=check.idempotency_key(idempotency_key),
        )

    async def get_stats(
        self, webhook_id: str, *, from_date: DateLike, to_date: DateLike
    ) -> WebhookStats:
        """Delivery statistics of a webhook over whole UTC days, both inclusive.

        `GET /webhooks/{webhook_id}/stats?from_date&to_date`. Dates are `datetime.date` objects
        or `YYYY-MM-DD` strings (a `datetime.datetime` is refused: take its `.date()` in the time
        zone you mean); `from_date` must not be after `to_date`.

        Example:

            stats = await client.webhooks.get_stats(
                "wh_1", from_date="2024-04-01", to_date=datetime.date(2024, 4, 29)
            )
            print(stats.success_count / max(stats.total_deliveries, 1))
        """
        path = paths.path("/webhooks/{webhook_id}/stats", webhook_id=webhook_id)
        start, end = check.date_range(from_date, to_date, required=True)
        return await self._request(
            "GET", path, params={"from_date": start, "to_date": end}, cast_to=WebhookStats
        )

    async def clear_delivery_history(
        self,
        webhook_id: str,
        *,
        before_date: DateLike | None = None,
        status: DeliveryStatus | str | None = None,
        idempotency_key: str | None = None,
    ) -> ClearHistoryResult:
        """Delete a webhook's completed deliveries (`POST /webhooks/{webhook_id}/clear-history`).

        Optionally only those created before `before_date` (UTC, exclusive) and/or with the
        given `status` (`"success"` or `"failed"`). Pending retries are kept.

        Example:

            result = await client.webhooks.clear_delivery_history(
                "wh_1", before_date="2024-04-01", status=DeliveryStatus.FAILED
            )
            print(result.deleted_count)
        """
        path = paths.path("/webhooks/{webhook_id}/clear-history", webhook_id=webhook_id)
        body = ClearHistoryRequest(
            before_date=None if before_date is None else check.date(before_date, "before_date"),
            status=None
            if status is None
            else check.delivery_status(status, "status", CLEAR_HISTORY_STATUSES),
        )
        return await self._request(
            "POST",
            path,
            json=unstructure(body),
            cast_to=ClearHistoryResult,
            idempotency_key=check.idempotency_key(idempotency_key),
        )

    # -- deliveries -------------------------------------------------------------------------

    async def list_deliveries(
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

        Args:
            webhook_id: only deliveries of this webhook.
            page_size: deliveries per page, 1..100 (the service's default: 20).
            page_number: the page, from 1.
            status: only `"success"` or `"failed"` deliveries (or a `DeliveryStatus`).
            event: only deliveries of this event.
            from_date: only deliveries created on or after this UTC day.
            to_date: only deliveries created on or before this UTC day.

        Example:

            page = await client.webhooks.list_deliveries(status="failed", page_size=20)
            print(f"{page.total} failed deliveries on {page.total_pages} pages")
        """
        params = check.delivery_filters(
            webhook_id=webhook_id,
            status=status,
            event=event,
            from_date=from_date,
            to_date=to_date,
        )
        if page_size is not None:
            params["page_size"] = check.page_size(page_size, "page_size")
        if page_number is not None:
            params["page_number"] = check.page_number(page_number, "page_number")
        return await self._request(
            "GET", "/webhook-deliveries", params=params, cast_to=DeliveryPage
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
    ) -> AsyncDeliveryIterator:
        """Walk the whole filtered delivery history, newest first, one delivery at a time.

        The walk is a snapshot of the history as it stood when it began: each delivery that
        existed then comes once, in order, and none that arrived later, however many arrive
        while it runs. Pages are fetched lazily (the next one only when the current one is used
        up) and one page is held in memory. Arguments are checked now, before the first
        request. Breaking out early leaves nothing behind; `aclose()` ends the walk explicitly.

        Example:

            async for delivery in client.webhooks.iter_deliveries(status="failed"):
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
        return AsyncDeliveryIterator(pages)

    def iter_delivery_pages(
        self,
        *,
        webhook_id: str | None = None,
        status: DeliveryStatus | str | None = None,
        event: WebhookEvent | str | None = None,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        page_size: int = 100,
    ) -> AsyncDeliveryPageIterator:
        """Walk the filtered delivery history a page (`DeliveryPage`) at a time.

        Same behaviour as `iter_deliveries()`; a page's `data` leaves out deliveries already
        yielded on an earlier page and those that arrived after the walk began.

        Example:

            async for page in client.webhooks.iter_delivery_pages(webhook_id="wh_1"):
                print(f"page {page.page_number}/{page.total_pages}: {len(page.data)}")
        """
        params = check.delivery_filters(
            webhook_id=webhook_id,
            status=status,
            event=event,
            from_date=from_date,
            to_date=to_date,
        )
        params["page_size"] = check.page_size(page_size, "page_size")
        return AsyncDeliveryPageIterator(self._fetch_delivery_page, params)

    async def _fetch_delivery_page(self, params: dict[str, Any]) -> DeliveryPage:
        return await self._request(
            "GET", "/webhook-deliveries", params=params, cast_to=DeliveryPage
        )

    async def get_delivery_by_id(self, delivery_id: str) -> WebhookDelivery:
        """Get one delivery attempt, with the receiver's answer.

        `GET /webhook-deliveries/{delivery_id}`.

        Example:

            delivery = await client.webhooks.get_delivery_by_id("dlv_7Hq3mN0p")
            if delivery.response is not None:
                print(delivery.response.status_code)
        """
        path = paths.path("/webhook-deliveries/{delivery_id}", delivery_id=delivery_id)
        return await self._request("GET", path, cast_to=WebhookDelivery)

    async def retry_delivery(
        self, delivery_id: str, *, idempotency_key: str | None = None
    ) -> RetryWebhookResult:
        """Send a delivery's event to its webhook again now; recorded as a new delivery.

        `POST /webhook-deliveries/{delivery_id}/retry`.

        Example:

            async for failed in client.webhooks.iter_deliveries(status="failed"):
                outcome = await client.webhooks.retry_delivery(failed.id)
                print(failed.id, "->", outcome.delivery_id, outcome.status)
        """
        path = paths.path("/webhook-deliveries/{delivery_id}/retry", delivery_id=delivery_id)
        return await self._request(
            "POST",
            path,
            cast_to=RetryWebhookResult,
            idempotency_key=check.idempotency_key(idempotency_key),
        )

    async def get_pending_deliveries(self) -> PendingDeliveries:
        """The automatic retries still to come, soonest first (`GET /webhook-deliveries/pending`).

        Example:

            pending = await client.webhooks.get_pending_deliveries()
            print(pending.total_count, [d.next_attempt_at for d in pending.deliveries])
        """
        return await self._request("GET", "/webhook-deliveries/pending", cast_to=PendingDeliveries)

    async def recover(
        self,
        webhook_id: str,
        *,
        since: Moment,
        until: Moment | None = None,
        dry_run: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> RecoverResult:
        """Re-deliver, once, each event of the webhook that never got through.

        Reads the webhook's history once and groups its attempts by event (the payload's
        `id`). Each event with an attempt between `since` and `until` (dates, `YYYY-MM-DD`
        strings or timezone-aware datetimes; `until` defaults to now) that has no successful
        attempt and no automatic retry still pending gets one retry of its latest failed
        attempt (`retry_delivery`), oldest event first (by the payload's `created_at`).
        Attempts made after `until` are read too, to see which events got through later, so
        a second run retries nothing the first one recovered. A retry the API refuses or
        that cannot be sent is counted in `RecoverResult.errors`; the others go on.

        `dry_run=True` retries nothing and reports what would be retried. `on_progress`, if
        given, is called as `on_progress(stage, done, total)`: `("reading", attempts, None)`,
        then `("retrying", events_done, events_to_retry)`.

        Example:

            result = await client.webhooks.recover("wh_1", since=datetime.date(2024, 4, 1))
            print(f"{result.recovered} of {result.retried} events recovered")
            for event_id in result.event_ids_still_failing:
                print("still failing:", event_id)
        """
        return await recover_events(
            self,
            webhook_id=check.identifier(webhook_id, "webhook_id"),
            since=since,
            until=until,
            dry_run=check.boolean(dry_run, "dry_run"),
            on_progress=on_progress,
        )


class Webhooks(SyncAPIResource):
    """The webhook operations of a `PancakeClient`, reached as `client.webhooks`.

    Each method is the twin of the `AsyncWebhooks` method of the same name (same arguments,
    models and errors, without `await`) and runs it on the client's event loop thread.

    Example:

        with PancakeClient() as client:
            for hook in client.webhooks.list().data:
                print(hook.id, hook.url, hook.health_status.status)
    """

    __slots__ = ("_webhooks",)

    def __init__(self, client: PancakeClient, webhooks: AsyncWebhooks) -> None:
        super().__init__(client)
        self._webhooks = webhooks

    # -- webhooks ---------------------------------------------------------------------------

    def list(self) -> WebhookList:
        """`AsyncWebhooks.list`, without `await`."""
        return self._run(self._webhooks.list)

    def get_by_id(self, webhook_id: str) -> Webhook:
        """`AsyncWebhooks.get_by_id`, without `await`."""
        return self._run(self._webhooks.get_by_id, webhook_id)

    def create(
        self,
        *,
        url: str,
        events: Sequence[WebhookEvent | str],
        description: str | None = None,
        is_active: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """`AsyncWebhooks.create`, without `await`."""
        return self._run(
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
        """`AsyncWebhooks.update`, without `await`."""
        return self._run(
            self._webhooks.update,
            webhook_id,
            url=url,
            events=events,
            description=description,
            is_active=is_active,
        )

    def delete(self, webhook_id: str) -> None:
        """`AsyncWebhooks.delete`, without `await`."""
        return self._run(self._webhooks.delete, webhook_id)

    def set_active(self, webhook_id: str, is_active: bool) -> Webhook:
        """`AsyncWebhooks.set_active`, without `await`."""
        return self._run(self._webhooks.set_active, webhook_id, is_active)

    def test(
        self,
        webhook_id: str,
        event: WebhookEvent | str,
        payload: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> WebhookTestResult:
        """`AsyncWebhooks.test`, without `await`."""
        return self._run(
            self._webhooks.test, webhook_id, event, payload, idempotency_key=idempotency_key
        )

    def rotate_secret(
        self, webhook_id: str, *, idempotency_key: str | None = None
    ) -> RotateSecretResult:
        """`AsyncWebhooks.rotate_secret`, without `await`."""
        return self._run(self._webhooks.rotate_secret, webhook_id, idempotency_key=idempotency_key)

    def get_stats(self, webhook_id: str, *, from_date: DateLike, to_date: DateLike) -> WebhookStats:
        """`AsyncWebhooks.get_stats`, without `await`."""
        return self._run(self._webhooks.get_stats, webhook_id, from_date=from_date, to_date=to_date)

    def clear_delivery_history(
        self,
        webhook_id: str,
        *,
        before_date: DateLike | None = None,
        status: DeliveryStatus | str | None = None,
        idempotency_key: str | None = None,
    ) -> ClearHistoryResult:
        """`AsyncWebhooks.clear_delivery_history`, without `await`."""
        return self._run(
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
        """`AsyncWebhooks.list_deliveries`, without `await`."""
        return self._run(
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
        """`AsyncWebhooks.iter_deliveries` as a plain iterator (`close()` ends it early)."""
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
        """`AsyncWebhooks.iter_delivery_pages` as a plain iterator (`close()` ends it early)."""
        # Checks the arguments here and now; the async iterator itself touches no loop.
        pages = self._webhooks.iter_delivery_pages(
            webhook_id=webhook_id,
            status=status,
            event=event,
            from_date=from_date,
            to_date=to_date,
            page_size=page_size,
        )
        return DeliveryPageIterator(self._run, pages)

    def get_delivery_by_id(self, delivery_id: str) -> WebhookDelivery:
        """`AsyncWebhooks.get_delivery_by_id`, without `await`."""
        return self._run(self._webhooks.get_delivery_by_id, delivery_id)

    def retry_delivery(
        self, delivery_id: str, *, idempotency_key: str | None = None
    ) -> RetryWebhookResult:
        """`AsyncWebhooks.retry_delivery`, without `await`."""
        return self._run(
            self._webhooks.retry_delivery, delivery_id, idempotency_key=idempotency_key
        )

    def get_pending_deliveries(self) -> PendingDeliveries:
        """`AsyncWebhooks.get_pending_deliveries`, without `await`."""
        return self._run(self._webhooks.get_pending_deliveries)

    def recover(
        self,
        webhook_id: str,
        *,
        since: Moment,
        until: Moment | None = None,
        dry_run: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> RecoverResult:
        """`AsyncWebhooks.recover`, without `await`; `on_progress` runs on the loop thread."""
        return self._run(
            self._webhooks.recover,
            webhook_id,
            since=since,
            until=until,
            dry_run=dry_run,
            on_progress=on_progress,
        )
