"""Event-level recovery: re-deliver, once, each event a webhook never received.

A delivery is one *attempt*; an *event* is what the payload's `id` names, and it may have many
attempts (the first one, the automatic retries, manual retries). After an outage what matters is
the event: one that succeeded on any attempt is delivered, one with an automatic retry still to
come will be tried again anyway, and only the others need a retry, one each.

`recover_events` reads the history once (newest first, one page in memory), keeps a few facts per
event (whether an attempt succeeded, the latest failed attempt's id, when the event was created),
asks for the pending retries, then retries the latest failed attempt of each event that needs it,
oldest event first. `AsyncWebhooks.recover` and `Webhooks.recover` are its public face; the
command line uses it for `deliveries recover` and `deliveries retry --failed`.

Example:

    result = await client.webhooks.recover("wh_1", since=datetime.date(2024, 4, 1))
    print(result.retried, result.recovered, result.event_ids_still_failing)
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from . import _validation as check
from ._constants import MAX_PAGE_SIZE
from .errors import APIError

if TYPE_CHECKING:
    from .models import WebhookDelivery
    from .resources.webhooks import AsyncWebhooks

__all__ = [
    "Moment",
    "ProgressCallback",
    "RecoverResult",
    "Window",
    "event_created_at",
    "event_id_of",
    "recover_events",
    "window",
]

Moment = datetime.date | datetime.datetime | str
"""A day (`datetime.date` or `YYYY-MM-DD`) or a timezone-aware `datetime`."""

ProgressCallback = Callable[[str, int, "int | None"], None]
"""`on_progress(stage, done, total)`: `("reading", attempts_read, None)` while the history is
read, then `("retrying", events_done, events_to_retry)` as each retry completes."""

READING = "reading"
RETRYING = "retrying"

_SUCCESS = "success"
_FAILED = "failed"


@attrs.frozen(kw_only=True)
class RecoverResult:
    """What `recover()` found and did, counted in events (not attempts).

    Every event seen is in exactly one of `already_delivered`, `pending` and `retried`.

    Attributes:
        events_seen: distinct events with an attempt in the window.
        already_delivered: events with a successful attempt (nothing to do).
        pending: events with an automatic retry still to come (left to it).
        retried: events retried now (with `dry_run`: the events that would be retried).
        recovered: of those, the ones whose retry succeeded (0 with `dry_run`).
        still_failing: events with no successful attempt after the run (`retried - recovered`).
        event_ids_still_failing: their ids, oldest event first. A run across webhooks (the
            command line's `deliveries retry --failed` without `--webhook-id`) keeps each
            webhook's copy of an event apart and names it `webhook_id/event_id`.
        errors: for each retry that could not be sent (the API refused it, or the connection
            failed), why, under the same name as in `event_ids_still_failing`; those events
            count as retried and still failing.
        dry_run: whether nothing was retried.
    """

    events_seen: int
    already_delivered: int
    pending: int
    retried: int
    recovered: int
    still_failing: int
    event_ids_still_failing: list[str]
    errors: dict[str, str] = attrs.field(factory=dict)
    dry_run: bool = False


@attrs.define(slots=True)
class _Event:
    """What recovery needs to know of one event: no payloads, no responses."""

    event_id: str
    created_at: datetime.datetime
    delivered: bool = False
    latest_failed_id: str | None = None


@attrs.frozen
class Window:
    """The attempts a recovery looks at: created from `start` (inclusive) up to `end`."""

    start: datetime.datetime | None
    end: datetime.datetime | None  # exclusive for a whole day, inclusive for a moment
    end_inclusive: bool
    from_date: datetime.date | None  # the API's day filter that covers `start`

    def before_start(self, moment: datetime.datetime) -> bool:
        return self.start is not None and moment < self.start

    def after_end(self, moment: datetime.datetime) -> bool:
        if self.end is None:
            return False
        return moment > self.end if self.end_inclusive else moment >= self.end


def _moment(value: object, name: str) -> tuple[datetime.datetime, bool]:
    """`value` as an aware UTC datetime, and whether it was a whole day."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name} must be a timezone-aware datetime (or a date); "
                f"pass {name}=value.replace(tzinfo=datetime.UTC) if it is UTC"
            )
        return value.astimezone(datetime.UTC), False
    day = datetime.date.fromisoformat(check.day(value, name))
    return datetime.datetime.combine(day, datetime.time(), datetime.UTC), True


def window(since: object, until: object, *, since_name: str = "since") -> Window:
    """Check `since` / `until` (dates, `YYYY-MM-DD` strings, or aware datetimes; `until` and,
    for the command line's `retry --failed`, `since` optional) and make the window."""
    until_name = "--until" if since_name.startswith("--") else "until"
    start = end = None
    end_inclusive = False
    if since is not None:
        start, _ = _moment(since, since_name)
    if until is not None:
        end, whole_day = _moment(until, until_name)
        if start is not None:
            # A whole day ends at its midnight: a start anywhere in that day is in range.
            first = start.date() if whole_day else start
            check.date_order(first, end.date() if whole_day else end, since_name, until_name)
        if whole_day:
            end += datetime.timedelta(days=1)  # the whole of that UTC day
        else:
            end_inclusive = True
    return Window(
        start=start,
        end=end,
        end_inclusive=end_inclusive,
        from_date=None if start is None else start.date(),
    )


def event_id_of(delivery: WebhookDelivery) -> str:
    """The id of the event a delivery carries (its payload's `id`; the delivery's as a fallback)."""
    event_id = delivery.payload.get("id")
    return event_id if isinstance(event_id, str) and event_id else delivery.id


def event_created_at(delivery: WebhookDelivery) -> datetime.datetime:
    """When the event was created (the payload's `created_at`), else when this attempt was."""
    value = delivery.payload.get("created_at")
    if isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
    return delivery.created_at


def _key(delivery: WebhookDelivery) -> tuple[str, str]:
    return delivery.webhook_id, event_id_of(delivery)


def _event_name(key: tuple[str, str]) -> str:
    """An event of the one webhook recovered: its id."""
    return key[1]


def _qualified_name(key: tuple[str, str]) -> str:
    """Across webhooks, the same event sent to two of them is two things to deliver."""
    return f"{key[0]}/{key[1]}"


async def _pending_keys(webhooks: AsyncWebhooks, webhook_id: str | None) -> set[tuple[str, str]]:
    pending = await webhooks.get_pending_deliveries()
    return {
        _key(delivery)
        for delivery in pending.deliveries
        if webhook_id is None or delivery.webhook_id == webhook_id
    }


async def recover_events(
    webhooks: AsyncWebhooks,
    *,
    webhook_id: str | None,
    since: object,
    until: object = None,
    event: str | None = None,
    dry_run: bool = False,
    concurrency: int = 1,
    on_progress: ProgressCallback | None = None,
    since_name: str = "since",
    failures: dict[str, APIError] | None = None,
) -> RecoverResult:
    """Retry, once, each event with no successful attempt and no automatic retry to come.

    An event is in scope when one of its attempts was created in the window (`since` to
    `until`). The history is read from the start of `since`'s UTC day up to now, and a
    successful attempt read outside the window still counts: one made after `until` (a retry
    that succeeded later, or the retries of an earlier run, so running twice retries nothing the
    first run recovered), or one earlier that day (an event delivered before a failed manual
    retry). Events are kept apart per webhook (the same event sent to two webhooks is two
    things to deliver).

    `concurrency` retries run at once (1: one after another, oldest event first).
    `failures`, when given, receives the exception of each retry that could not be sent, under
    its name in the result.
    """
    if webhook_id is not None:
        check.identifier(webhook_id, "webhook_id")
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
    span = window(since, until, since_name=since_name)
    report = on_progress or _silent
    if webhook_id is not None:
        await webhooks.get_by_id(webhook_id)  # a mistyped id is a NotFoundError, not "0 events"

    pending = await _pending_keys(webhooks, webhook_id)
    events, delivered_outside = await _read_history(
        webhooks, span, webhook_id=webhook_id, event=event, report=report
    )
    pending |= await _pending_keys(webhooks, webhook_id)  # those scheduled while we read

    already_delivered = waiting = 0
    to_retry: list[tuple[tuple[str, str], _Event]] = []
    for key, state in events.items():
        if state.delivered or key in delivered_outside:
            already_delivered += 1
        elif key in pending:
            waiting += 1
        elif state.latest_failed_id is not None:
            to_retry.append((key, state))
    to_retry.sort(key=lambda item: (item[1].created_at, item[1].event_id))

    name = _event_name if webhook_id is not None else _qualified_name
    recovered: set[tuple[str, str]] = set()
    raised: dict[tuple[str, str], APIError] = {}
    if not dry_run and to_retry:
        await _retry_all(webhooks, to_retry, concurrency, recovered, raised, report)
    still_failing = [name(key) for key, _ in to_retry if key not in recovered]
    if failures is not None:
        failures.update((name(key), error) for key, error in raised.items())
    return RecoverResult(
        events_seen=len(events),
        already_delivered=already_delivered,
        pending=waiting,
        retried=len(to_retry),
        recovered=len(recovered),
        still_failing=len(still_failing),
        event_ids_still_failing=still_failing,
        errors={name(key): str(raised[key]) for key, _ in to_retry if key in raised},
        dry_run=dry_run,
    )


async def _read_history(
    webhooks: AsyncWebhooks,
    span: Window,
    *,
    webhook_id: str | None,
    event: str | None,
    report: ProgressCallback,
) -> tuple[dict[tuple[str, str], _Event], set[tuple[str, str]]]:
    """One walk, newest first: per event in the window, its facts; outside it, only successes
    (the walk starts at the beginning of the window's first UTC day and reads up to now)."""
    events: dict[tuple[str, str], _Event] = {}
    delivered_outside: set[tuple[str, str]] = set()
    read = 0
    report(READING, 0, None)
    walk = webhooks.iter_deliveries(
        webhook_id=webhook_id, event=event, from_date=span.from_date, page_size=MAX_PAGE_SIZE
    )
    async for delivery in walk:
        read += 1
        if read % 100 == 0:
            report(READING, read, None)
        moment = delivery.created_at
        key = _key(delivery)
        if span.before_start(moment) or span.after_end(moment):
            if delivery.status == _SUCCESS:  # outside the window, but delivered all the same
                delivered_outside.add(key)
            continue
        state = events.get(key)
        if state is None:
            state = events[key] = _Event(event_id=key[1], created_at=event_created_at(delivery))
        if delivery.status == _SUCCESS:
            state.delivered = True
        elif delivery.status == _FAILED and state.latest_failed_id is None:
            state.latest_failed_id = delivery.id  # newest first: the first one seen is the latest
    report(READING, read, None)
    return events, delivered_outside


async def _retry_all(
    webhooks: AsyncWebhooks,
    to_retry: list[tuple[tuple[str, str], _Event]],
    concurrency: int,
    recovered: set[tuple[str, str]],
    errors: dict[tuple[str, str], APIError],
    report: ProgressCallback,
) -> None:
    total = len(to_retry)
    done = 0
    report(RETRYING, 0, total)
    gate = asyncio.Semaphore(concurrency)

    async def retry(key: tuple[str, str], state: _Event) -> None:
        nonlocal done
        async with gate:
            assert state.latest_failed_id is not None
            try:
                result = await webhooks.retry_delivery(state.latest_failed_id)
            except APIError as error:
                errors[key] = error
            else:
                if result.status == _SUCCESS:
                    recovered.add(key)
            done += 1
            report(RETRYING, done, total)

    if concurrency == 1:
        for key, state in to_retry:
            await retry(key, state)
        return
    async with asyncio.TaskGroup() as group:
        for key, state in to_retry:
            group.create_task(retry(key, state))


def _silent(stage: str, done: int, total: int | None) -> None:
    del stage, done, total
