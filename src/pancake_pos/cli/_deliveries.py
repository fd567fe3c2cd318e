"""`pancake-pos deliveries ...`: the delivery history: list, get, retry, pending, clear, export.

Example:

    $ pancake-pos deliveries list --status failed --page-size 20
    $ pancake-pos deliveries retry --failed --webhook-id wh_2ZbX9kQ1 --since 2024-04-01
    $ pancake-pos deliveries export --output history.jsonl --from 2024-04-01
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer
from rich.progress import Progress, TaskID
from rich.table import Table
from rich.text import Text

from .._converter import unstructure
from ..errors import APIStatusError
from ..models import DeliveryPage, RetryWebhookResult, WebhookDelivery
from ._context import CliState, cli_state
from ._errors import CommandError, ExitCode
from ._options import (
    DAY,
    DAY_FORMATS,
    EventFilter,
    FromDay,
    PageSize,
    StatusFilter,
    ToDay,
    WebhookIdFilter,
    check_day_range,
    confirm,
    day,
)
from ._output import (
    Output,
    details,
    duration,
    json_line,
    plural,
    progress_bar,
    show_attempt,
    status,
    table,
    text,
    when,
)

if TYPE_CHECKING:
    from .._sync import PancakeClient

__all__ = ["deliveries_app"]

deliveries_app = typer.Typer(
    name="deliveries",
    help="The delivery history: list, get, retry, pending, clear, export.",
    no_args_is_help=True,
)

StatusOption = Annotated[
    StatusFilter | None, typer.Option("--status", help="Only deliveries with this status.")
]

_SHOWN_ERRORS = 5
_WIDTH_FOR_WEBHOOK_COLUMN = 120


@attrs.define(kw_only=True, frozen=True)
class Filters:
    """The filters of the delivery history, as `iter_delivery_pages` takes them."""

    webhook_id: str | None = None
    status: str | None = None
    event: str | None = None
    from_date: datetime.date | None = None
    to_date: datetime.date | None = None

    @classmethod
    def of(
        cls,
        *,
        webhook_id: str | None,
        status: str | None,
        event: str | None,
        from_day: datetime.datetime | None,
        to_day: datetime.datetime | None,
    ) -> Filters:
        """Filters from the command line's options (`--from` after `--to` is refused)."""
        first, last = day(from_day), day(to_day)
        check_day_range(first, last)
        return cls(webhook_id=webhook_id, status=status, event=event, from_date=first, to_date=last)

    def pages(self, client: PancakeClient, page_size: int) -> Iterator[DeliveryPage]:
        """Walk the filtered history a page at a time."""
        return client.webhooks.iter_delivery_pages(
            webhook_id=self.webhook_id,
            status=self.status,
            event=self.event,
            from_date=self.from_date,
            to_date=self.to_date,
            page_size=page_size,
        )


# -- rendering ----------------------------------------------------------------------------------


def _outcome(delivery: WebhookDelivery) -> Text:
    """`success 200`, `failed 500`, or `failed` when the receiver never answered."""
    cell = status(delivery.status)
    if delivery.response is not None:
        cell.append(f" {delivery.response.status_code}")
    return cell


def _deliveries_table(
    deliveries: list[WebhookDelivery], *, caption: str | None = None, with_webhook: bool = True
) -> Table:
    columns = ["ID", "Webhook", "Event", "Status", "Created", "Failure"]
    if not with_webhook:  # filtered on one webhook: the column would repeat it
        columns.remove("Webhook")
    grid = table(*columns, caption=caption)
    for delivery in deliveries:
        cells = [
            text(delivery.id),
            text(delivery.webhook_id),
            text(delivery.event),
            _outcome(delivery),
            when(delivery.created_at),
            text(delivery.failure_reason),
        ]
        if not with_webhook:
            del cells[1]
        grid.add_row(*cells)
    return grid


def _webhook_column(state: CliState, filters: Filters) -> bool:
    """Show the webhook of each delivery unless filtered on one, or the terminal is narrow."""
    wide = state.output.console.width >= _WIDTH_FOR_WEBHOOK_COLUMN
    return filters.webhook_id is None and wide


def _page_caption(page: DeliveryPage) -> str:
    where = f"Page {page.page_number}"
    if page.total_pages is not None:
        where += f" of {page.total_pages}"
    if page.total is not None:
        where += f", {plural(page.total, 'delivery', 'deliveries')} in all"
    return where


def _delivery_details(delivery: WebhookDelivery) -> Table:
    rows = [
        ("ID", text(delivery.id)),
        ("Webhook", text(delivery.webhook_id)),
        ("Event", text(delivery.event)),
        ("Status", status(delivery.status)),
        ("Failure reason", text(delivery.failure_reason)),
        ("Attempt", text(delivery.attempt)),
        ("Next attempt", when(delivery.next_attempt_at)),
        ("Created", when(delivery.created_at)),
        ("Duration", duration(delivery.duration_ms)),
        ("Payload", text(json.dumps(delivery.payload, indent=2, ensure_ascii=False))),
    ]
    response = delivery.response
    if response is None:
        rows.append(("Response", text(None)))
    else:
        rows.append(("Response", text(f"HTTP {response.status_code}")))
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        rows.append(("Response headers", text(headers or None)))
        rows.append(("Response body", text(response.body)))
    return details(rows)


# -- list, get, pending -------------------------------------------------------------------------


@deliveries_app.command("list")
def list_deliveries(
    ctx: typer.Context,
    webhook_id: WebhookIdFilter = None,
    status_filter: StatusOption = None,
    event: EventFilter = None,
    from_day: FromDay = None,
    to_day: ToDay = None,
    page_size: Annotated[
        int | None,
        typer.Option(
            "--page-size", min=1, max=100, help="Deliveries per page, 1-100 (API default 20)."
        ),
    ] = None,
    page: Annotated[
        int | None, typer.Option("--page", min=1, help="The page to show, from 1.")
    ] = None,
    all_pages: Annotated[
        bool,
        typer.Option("--all", help="Walk every page (with --json: one JSON line per delivery)."),
    ] = False,
) -> None:
    """One page of the delivery history, newest first, or every page with --all.

    Example:

        pancake-pos deliveries list --status failed --event order.created --page-size 50
        pancake-pos --json deliveries list --all --webhook-id wh_2ZbX9kQ1 > history.jsonl
    """
    filters = Filters.of(
        webhook_id=webhook_id,
        status=status_filter,
        event=event,
        from_day=from_day,
        to_day=to_day,
    )
    state = cli_state(ctx)
    if all_pages:
        if page is not None:
            raise CommandError("--page and --all cannot be used together")
        _list_all(state, filters, page_size or 100)
        return
    result = state.client().webhooks.list_deliveries(
        webhook_id=filters.webhook_id,
        status=filters.status,
        event=filters.event,
        from_date=filters.from_date,
        to_date=filters.to_date,
        page_size=page_size,
        page_number=page,
    )
    if state.json_mode:
        state.output.json(result)
        return
    state.output.print(
        _deliveries_table(
            result.data, caption=_page_caption(result), with_webhook=_webhook_column(state, filters)
        )
    )


def _list_all(state: CliState, filters: Filters, page_size: int) -> None:
    pages = filters.pages(state.client(), page_size)
    if state.json_mode:
        state.output.json_lines(delivery for page in pages for delivery in page.data)
        return
    count = 0
    for page in pages:
        count += len(page.data)
        state.output.print(
            _deliveries_table(
                page.data, caption=_page_caption(page), with_webhook=_webhook_column(state, filters)
            )
        )
    state.output.note(plural(count, "delivery", "deliveries"))


@deliveries_app.command("get")
def get_delivery(
    ctx: typer.Context,
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (dlv_...).")],
) -> None:
    """Show one delivery attempt: its payload and what the receiver answered.

    Example:

        pancake-pos deliveries get dlv_7Hq3mN0p
    """
    state = cli_state(ctx)
    delivery = state.client().webhooks.get_delivery_by_id(delivery_id)
    if state.json_mode:
        state.output.json(delivery)
        return
    state.output.print(_delivery_details(delivery))


@deliveries_app.command("pending")
def pending_deliveries(ctx: typer.Context) -> None:
    """The automatic retries still to come, soonest first.

    Example:

        pancake-pos deliveries pending
    """
    state = cli_state(ctx)
    pending = state.client().webhooks.get_pending_deliveries()
    if state.json_mode:
        state.output.json(pending)
        return
    grid = table("ID", "Webhook", "Event", "Attempt", "Next attempt", "Created")
    for delivery in pending.deliveries:
        grid.add_row(
            text(delivery.id),
            text(delivery.webhook_id),
            text(delivery.event),
            text(delivery.attempt),
            when(delivery.next_attempt_at),
            when(delivery.created_at),
        )
    state.output.print(grid)
    state.output.note(plural(pending.total_count, "pending retry", "pending retries"))


# -- clear --------------------------------------------------------------------------------------


@deliveries_app.command("clear")
def clear_history(
    ctx: typer.Context,
    webhook_id: Annotated[
        str, typer.Option("--webhook-id", help="The webhook whose history is cleared.")
    ],
    before: Annotated[
        datetime.datetime | None,
        typer.Option(formats=DAY_FORMATS, metavar=DAY, help="Only deliveries before this UTC day."),
    ] = None,
    status_filter: StatusOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a webhook's completed deliveries (pending retries are kept).

    Example:

        pancake-pos deliveries clear --webhook-id wh_2ZbX9kQ1 --before 2024-04-01 \\
            --status failed --yes
    """
    what = f"{status_filter} deliveries" if status_filter else "deliveries"
    if before is not None:
        what += f" before {day(before)}"
    confirm(f"Delete the {what} of webhook {webhook_id}?", yes=yes)
    state = cli_state(ctx)
    result = state.client().webhooks.clear_delivery_history(
        webhook_id, before_date=day(before), status=status_filter
    )
    if state.json_mode:
        state.output.json(result)
    else:
        deleted = plural(result.deleted_count, "delivery", "deliveries")
        state.output.print(Text(f"Deleted {deleted} of {webhook_id}."))


# -- retry --------------------------------------------------------------------------------------


@deliveries_app.command("retry")
def retry_deliveries(
    ctx: typer.Context,
    delivery_id: Annotated[
        str | None,
        typer.Argument(help="The delivery to send again (or use --failed).", show_default=False),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Retry every failed delivery matching the filters.")
    ] = False,
    webhook_id: WebhookIdFilter = None,
    event: EventFilter = None,
    since: Annotated[
        datetime.datetime | None,
        typer.Option(
            formats=DAY_FORMATS, metavar=DAY, help="With --failed: only from this UTC day on."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=32, help="With --failed: retries sent at the same time.")
    ] = 8,
) -> None:
    """Send a delivery's event again now, or every failed one with --failed.

    With --failed, each failed event is sent once per webhook (the automatic retries of one
    event are not repeated), several at a time; then the counts are printed. Exit 0 when every
    retry was accepted, 1 when some failed again, 3 when the API refused some.

    Example:

        pancake-pos deliveries retry dlv_7Hq3mN0p
        pancake-pos deliveries retry --failed --webhook-id wh_2ZbX9kQ1 --since 2024-04-01
    """
    state = cli_state(ctx)
    if failed == (delivery_id is not None):
        raise CommandError("give a delivery id, or --failed (not both)")
    if delivery_id is not None:
        if webhook_id or event or since:
            raise CommandError("--webhook-id, --event and --since go with --failed")
        result = state.client().webhooks.retry_delivery(delivery_id)
        if not show_attempt(state.output, result, "Retry delivery"):
            raise typer.Exit(ExitCode.DELIVERY_FAILED)
        return
    filters = Filters(
        webhook_id=webhook_id, status=StatusFilter.FAILED, event=event, from_date=day(since)
    )
    raise typer.Exit(RetryRun(state, concurrency).run(filters))


class RetryRun:
    """`deliveries retry --failed`: retries with bounded concurrency, counted as they finish.

    At most `concurrency` retries are in flight; the history is read a page at a time while they
    run, so memory holds one page and the ids of the events already sent.
    """

    def __init__(self, state: CliState, concurrency: int) -> None:
        self.output: Output = state.output
        self.client = state.client()
        self.concurrency = concurrency
        self.succeeded = 0
        self.failed = 0
        self.skipped = 0
        self.refused = 0
        self.first_refusals: list[str] = []
        self._seen_events: set[tuple[str, str]] = set()
        self._in_flight: dict[Future[RetryWebhookResult], WebhookDelivery] = {}

    def run(self, filters: Filters) -> ExitCode:
        """Retry every matching failed event once; print the counts; return the exit code."""
        interrupted = False
        progress = progress_bar(self.output, "deliveries")
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="pancake-pos-retry")
        try:
            with progress:
                task = progress.add_task("Retrying", total=None, detail="")
                try:
                    self._send_all(filters, pool, progress, task)
                    self._collect(progress, task, wait_for_all=True)
                except KeyboardInterrupt:
                    interrupted = True
                    pool.shutdown(wait=True, cancel_futures=True)
                    self._collect(progress, task, wait_for_all=True)  # those already sent
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return self._summary(interrupted)

    def _send_all(
        self, filters: Filters, pool: ThreadPoolExecutor, progress: Progress, task: TaskID
    ) -> None:
        for index, page in enumerate(filters.pages(self.client, 100)):
            if index == 0:
                progress.update(task, total=page.total)
            for delivery in page.data:
                event_key = (delivery.webhook_id, _event_id(delivery))
                if event_key in self._seen_events:
                    self.skipped += 1
                    progress.advance(task)
                    continue
                self._seen_events.add(event_key)
                if len(self._in_flight) >= self.concurrency:
                    self._collect(progress, task, wait_for_all=False)
                future = pool.submit(self.client.webhooks.retry_delivery, delivery.id)
                self._in_flight[future] = delivery

    def _collect(self, progress: Progress, task: TaskID, *, wait_for_all: bool) -> None:
        """Count the retries that finished (at least one, or all when `wait_for_all`)."""
        if not self._in_flight:
            return
        done, _ = wait(
            list(self._in_flight), return_when=ALL_COMPLETED if wait_for_all else FIRST_COMPLETED
        )
        for future in done:
            delivery = self._in_flight.pop(future)
            if future.cancelled():
                continue
            try:
                result = future.result()
            except APIStatusError as error:
                self._refused(delivery, error)
            else:
                if result.status == "success":
                    self.succeeded += 1
                else:
                    self.failed += 1
                if self.output.json_mode:
                    self.output.json_lines([{"retried_delivery_id": delivery.id, **_plain(result)}])
            progress.advance(task)

    def _refused(self, delivery: WebhookDelivery, error: APIStatusError) -> None:
        self.refused += 1
        if len(self.first_refusals) < _SHOWN_ERRORS:
            self.first_refusals.append(f"{delivery.id}: {error}")
        if self.output.json_mode:
            self.output.json_lines([_error_line(delivery, error)])

    def _summary(self, interrupted: bool) -> ExitCode:
        retried = self.succeeded + self.failed + self.refused
        line = (
            f"Retried {plural(retried, 'failed delivery', 'failed deliveries')}: "
            f"{self.succeeded} succeeded, {self.failed} failed"
        )
        if self.refused:
            line += f", {self.refused} refused by the API"
        if self.skipped:
            attempts = plural(self.skipped, "earlier failed attempt")
            line += f" (skipped {attempts} of the same events)"
        for message in self.first_refusals:
            self.output.note(f"error: {message}")
        if self.refused > len(self.first_refusals):
            self.output.note(f"... and {self.refused - len(self.first_refusals)} more refusals")
        if interrupted:
            self.output.note(f"Interrupted. {line}.")
            return ExitCode.INTERRUPTED
        if self.output.json_mode:
            self.output.note(line + ".")
        else:
            self.output.print(Text(line + "."))
        if self.refused:
            return ExitCode.API_STATUS
        return ExitCode.DELIVERY_FAILED if self.failed else ExitCode.OK


def _event_id(delivery: WebhookDelivery) -> str:
    """The id of the event a delivery carries (its payload's `id`; the delivery's as a fallback)."""
    event_id = delivery.payload.get("id")
    return event_id if isinstance(event_id, str) and event_id else delivery.id


def _plain(result: RetryWebhookResult) -> dict[str, Any]:
    data: dict[str, Any] = unstructure(result)
    return data


def _error_line(delivery: WebhookDelivery, error: APIStatusError) -> dict[str, Any]:
    return {
        "retried_delivery_id": delivery.id,
        "error": {
            "status_code": error.status_code,
            "code": error.code,
            "message": error.message,
            "request_id": error.request_id,
        },
    }


# -- export -------------------------------------------------------------------------------------


@deliveries_app.command("export")
def export_deliveries(
    ctx: typer.Context,
    output_file: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="The JSON Lines file to write.", dir_okay=False, writable=True
        ),
    ],
    webhook_id: WebhookIdFilter = None,
    status_filter: StatusOption = None,
    event: EventFilter = None,
    from_day: FromDay = None,
    to_day: ToDay = None,
    page_size: PageSize = 100,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Stream the whole filtered history to a JSON Lines file, one delivery per line.

    Memory stays flat however long the history: each delivery is written as it arrives and
    the file is flushed after every page. Ctrl-C stops the export and leaves a valid file of
    whole lines (exit 130).

    Example:

        pancake-pos deliveries export --output failed.jsonl --status failed --from 2024-04-01
    """
    filters = Filters.of(
        webhook_id=webhook_id,
        status=status_filter,
        event=event,
        from_day=from_day,
        to_day=to_day,
    )
    if output_file.exists() and not force:
        raise CommandError(f"{output_file} exists: pass --force to overwrite it")
    state = cli_state(ctx)
    pages = filters.pages(state.client(), page_size)
    written = pages_read = 0
    opened = False
    progress = progress_bar(state.output, "deliveries")
    try:
        # The first page before the file: an export the API refuses (a wrong key, the
        # service down) leaves no empty file behind, and keeps the one --force would replace.
        first = next(pages, None)
        with output_file.open("w", encoding="utf-8", newline="\n") as file, progress:
            opened = True
            task = progress.add_task("Exporting", total=None, detail="")
            for page in itertools.chain([] if first is None else [first], pages):
                if pages_read == 0:
                    progress.update(task, total=page.total)
                for delivery in page.data:
                    file.write(json_line(delivery))  # one write per whole line
                    written += 1
                file.flush()
                pages_read += 1
                of_pages = f"/{page.total_pages}" if page.total_pages else ""
                progress.update(task, completed=written, detail=f"page {pages_read}{of_pages}")
    except KeyboardInterrupt:
        if not opened:
            state.output.note(f"Interrupted before anything was written to {output_file}.")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        lines = plural(_count_lines(output_file), "delivery", "deliveries")
        state.output.note(f"Interrupted: {lines} written to {output_file}.")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    summary = {"path": str(output_file), "deliveries": written, "pages": pages_read}
    if state.json_mode:
        state.output.json(summary)
    else:
        state.output.print(
            Text(
                f"Exported {plural(written, 'delivery', 'deliveries')} "
                f"({plural(pages_read, 'page')}) to {output_file}."
            )
        )


def _count_lines(path: Path) -> int:
    """The lines in the file (after an interruption, what was really written)."""
    try:
        with path.open("rb") as file:
            return sum(1 for _ in file)
    except OSError:
        return 0
