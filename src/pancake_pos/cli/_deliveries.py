"""`pancake-pos deliveries ...`: the delivery history: list, get, retry, recover, pending, clear,
export.

Example:

    $ pancake-pos deliveries list --status failed --page-size 20
    $ pancake-pos deliveries retry --failed --webhook-id wh_2ZbX9kQ1 --since 2024-04-01
    $ pancake-pos deliveries export --output history.jsonl --from 2024-04-01
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import attrs
import typer
from rich.progress import TaskID
from rich.table import Table
from rich.text import Text

from .._constants import MAX_PAGE_SIZE
from .._recovery import READING, RecoverResult, recover_events
from ..errors import APIError, APIStatusError
from ..models import DeliveryPage, WebhookDelivery
from ._context import CliState, cli_state
from ._errors import CommandError, ExitCode
from ._options import (
    DAY,
    ClearStatusFilter,
    EventFilter,
    FromDay,
    OptionalPageSize,
    PageSize,
    StatusFilter,
    ToDay,
    WebhookIdFilter,
    check_day_range,
    confirm,
    day,
    moment_option,
    parse_day,
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
    help="The delivery history: list, get, retry, recover, pending, clear, export.",
    no_args_is_help=True,
)

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
        webhook_id: str | None,
        status: str | None,
        event: str | None,
        from_day: datetime.date | None,
        to_day: datetime.date | None,
    ) -> Filters:
        """Filters from the command line's options (`--from` after `--to` is refused)."""
        first, last = day(from_day), day(to_day)
        check_day_range(first, last)
        return cls(webhook_id=webhook_id, status=status, event=event, from_date=first, to_date=last)

    def arguments(self) -> dict[str, Any]:
        """The filters as the keyword arguments of `list_deliveries` and the walks (the field
        names are those arguments' names)."""
        return attrs.asdict(self)

    def pages(self, client: PancakeClient, page_size: int) -> Iterator[DeliveryPage]:
        """Walk the filtered history a page at a time."""
        return client.webhooks.iter_delivery_pages(**self.arguments(), page_size=page_size)


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


def _empty_page(page: DeliveryPage) -> str:
    """What a page with no deliveries says: none at all, or none this far."""
    if page.page_number <= 1 or not page.total:
        return "No deliveries."
    last = f" (the last is {page.total_pages})" if page.total_pages else ""
    return f"No deliveries on page {page.page_number}{last}."


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
    status_filter: StatusFilter = None,
    event: EventFilter = None,
    from_day: FromDay = None,
    to_day: ToDay = None,
    page_size: OptionalPageSize = None,
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

    ```
    pancake-pos deliveries list --status failed --event order.created --page-size 50
    pancake-pos --json deliveries list --all --webhook-id wh_2ZbX9kQ1 > history.jsonl
    ```
    """
    filters = Filters.of(webhook_id, status_filter, event, from_day, to_day)
    state = cli_state(ctx)
    if all_pages:
        if page is not None:
            raise CommandError("--page and --all cannot be used together")
        _list_all(state, filters, page_size or MAX_PAGE_SIZE)
        return
    result = state.client().webhooks.list_deliveries(
        **filters.arguments(), page_size=page_size, page_number=page
    )
    if state.json_mode:
        state.output.json(result)
        return
    if not result.data:
        state.output.print(Text(_empty_page(result)))
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
        if not page.data:
            continue
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

    ```
    pancake-pos deliveries get dlv_7Hq3mN0p
    ```
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

    ```
    pancake-pos deliveries pending
    ```
    """
    state = cli_state(ctx)
    pending = state.client().webhooks.get_pending_deliveries()
    if state.json_mode:
        state.output.json(pending)
        return
    if not pending.deliveries:
        state.output.print(Text("No automatic retries to come."))
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
        datetime.date | None,
        typer.Option(parser=parse_day, metavar=DAY, help="Only deliveries before this UTC day."),
    ] = None,
    status_filter: ClearStatusFilter = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a webhook's completed deliveries (pending retries are kept).

    Example:

    ```
    pancake-pos deliveries clear --webhook-id wh_2ZbX9kQ1 --before 2024-04-01 \\
        --status failed --yes
    ```
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


# -- retry and recover ----------------------------------------------------------------------


@deliveries_app.command("retry")
def retry_deliveries(
    ctx: typer.Context,
    delivery_id: Annotated[
        str | None,
        typer.Argument(help="The delivery to send again (or use --failed).", show_default=False),
    ] = None,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed", help="Retry, once each, the events that have no successful attempt."
        ),
    ] = False,
    webhook_id: WebhookIdFilter = None,
    event: EventFilter = None,
    since: Annotated[
        datetime.date | None,
        moment_option(
            "With --failed: only events with an attempt from this UTC day (or moment) on."
        ),
    ] = None,
    until: Annotated[
        datetime.date | None,
        moment_option("With --failed: only events with an attempt up to this UTC day (or moment)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --failed: count, but retry nothing.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=32, help="With --failed: retries sent at the same time.")
    ] = 8,
) -> None:
    """Send a delivery's event again now, or each failed event once with --failed.

    With --failed, attempts are grouped by event: an event that succeeded on any attempt is
    left alone, one whose automatic retry is still to come is left to it, and each other one
    gets a single retry of its latest failed attempt. A retry the API refuses or that cannot
    be sent is counted and reported, and the others go on. Exit 0 when every retry got
    through, 1 when some failed again, 3 when the API refused some, 4 when some could not
    be sent.

    Example:

    ```
    pancake-pos deliveries retry dlv_7Hq3mN0p
    pancake-pos deliveries retry --failed --webhook-id wh_2ZbX9kQ1 --since 2024-04-01
    ```
    """
    state = cli_state(ctx)
    if failed == (delivery_id is not None):
        raise CommandError("give a delivery id, or --failed (not both)")
    if delivery_id is not None:
        if webhook_id or event or since or until or dry_run:
            raise CommandError(
                "--webhook-id, --event, --since, --until and --dry-run go with --failed"
            )
        result = state.client().webhooks.retry_delivery(delivery_id)
        if not show_attempt(state.output, result, "Retry delivery"):
            raise typer.Exit(ExitCode.DELIVERY_FAILED)
        return
    run = RecoveryRun(state, "Retried")
    raise typer.Exit(
        run.run(
            webhook_id=webhook_id,
            event=event,
            since=since,
            until=until,
            dry_run=dry_run,
            concurrency=concurrency,
        )
    )


@deliveries_app.command("recover")
def recover_deliveries(
    ctx: typer.Context,
    webhook_id: Annotated[
        str, typer.Option("--webhook-id", help="The webhook whose events are recovered.")
    ],
    since: Annotated[
        datetime.date,
        moment_option("From this UTC day (YYYY-MM-DD) or moment (YYYY-MM-DDTHH:MM[:SS][+HH:MM])."),
    ],
    until: Annotated[
        datetime.date | None,
        moment_option("Up to this UTC day (inclusive) or moment (default: now)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be retried; retry nothing.")
    ] = False,
) -> None:
    """After an outage: re-deliver, once, each event the webhook never received.

    Reads the webhook's history once and groups its attempts by event. Each event with an
    attempt in the period that has no successful attempt and no automatic retry still to
    come gets one retry of its latest failed attempt, oldest event first. Running it again
    retries nothing it recovered. Exit 0 when nothing is left failing, 1 otherwise.

    Example:

    ```
    pancake-pos deliveries recover --webhook-id wh_2ZbX9kQ1 --since 2024-04-01 --dry-run
    pancake-pos deliveries recover --webhook-id wh_2ZbX9kQ1 --since 2024-04-01T08:00Z
    ```
    """
    state = cli_state(ctx)
    run = RecoveryRun(state, "Recovered")
    raise typer.Exit(
        run.run(webhook_id=webhook_id, since=since, until=until, dry_run=dry_run, concurrency=1)
    )


class RecoveryRun:
    """`deliveries recover` and `deliveries retry --failed`: the event-level recovery of the
    SDK, with a progress bar (reading, then retrying) and a summary."""

    def __init__(self, state: CliState, verb: str) -> None:
        self.state = state
        self.output: Output = state.output
        self.verb = verb
        self.failures: dict[str, APIError] = {}

    def run(
        self,
        *,
        webhook_id: str | None,
        since: datetime.date | None,
        until: datetime.date | None,
        dry_run: bool,
        concurrency: int,
        event: str | None = None,
    ) -> ExitCode:
        """Recover; print the summary; return the exit code."""
        client = self.state.client()
        progress = progress_bar(self.output, "")
        reading: TaskID | None = None
        retrying: TaskID | None = None

        def on_progress(stage: str, done: int, total: int | None) -> None:
            nonlocal reading, retrying
            if stage == READING:
                if reading is None:
                    reading = progress.add_task("Reading", total=None, detail="attempts")
                progress.update(reading, completed=done)
                return
            if reading is not None:
                progress.update(reading, total=progress.tasks[reading].completed)
            if retrying is None:
                what = "events (dry run)" if dry_run else "events"
                retrying = progress.add_task("Retrying", total=total, detail=what)
            progress.update(retrying, completed=done)

        try:
            with progress:
                result = client._run(
                    recover_events,
                    client.webhooks._webhooks,
                    webhook_id=webhook_id,
                    event=event,
                    since=since,
                    until=until,
                    dry_run=dry_run,
                    concurrency=concurrency,
                    on_progress=on_progress,
                    since_name="--since",
                    failures=self.failures,
                )
                if reading is not None:  # the whole history is read: the bar is full
                    progress.update(reading, total=progress.tasks[reading].completed)
        except KeyboardInterrupt:
            self.output.note(
                "Interrupted: the retries already sent stand; run it again to go on "
                "(events recovered are not retried twice)."
            )
            return ExitCode.INTERRUPTED
        return self._summary(result)

    def _summary(self, result: RecoverResult) -> ExitCode:
        if self.output.json_mode:
            self.output.json(attrs.asdict(result))
        else:
            self.output.print(self._table(result))
            label = "would retry" if result.dry_run else "still failing"
            for event_id in result.event_ids_still_failing[:_SHOWN_ERRORS]:
                why = result.errors.get(event_id)
                self.output.print(Text(f"  {label}: {event_id}" + (f": {why}" if why else "")))
            hidden = len(result.event_ids_still_failing) - _SHOWN_ERRORS
            if hidden > 0:
                self.output.print(Text(f"  ... and {hidden} more (--json lists them all)"))
        if result.dry_run or not result.still_failing:
            return ExitCode.OK
        if any(isinstance(error, APIStatusError) for error in self.failures.values()):
            return ExitCode.API_STATUS
        if self.failures:
            return ExitCode.CONNECTION
        return ExitCode.DELIVERY_FAILED

    def _table(self, result: RecoverResult) -> Table:
        """The headline, then the counts."""
        sent = len(result.errors)
        if result.dry_run:
            headline = f"Dry run: would retry {plural(result.retried, 'event')}."
        else:
            headline = (
                f"{self.verb} {plural(result.retried, 'event')}: "
                f"{result.recovered} succeeded, {result.retried - result.recovered - sent} "
                f"failed again" + (f", {sent} could not be sent" if sent else "") + "."
            )
        self.output.print(Text(headline, style="bold"))
        return details(
            [
                ("Events seen", text(result.events_seen)),
                ("Already delivered", text(result.already_delivered)),
                ("Automatic retry pending", text(result.pending)),
                ("Retried" if not result.dry_run else "To retry", text(result.retried)),
                ("Recovered", text(result.recovered, "green" if result.recovered else "")),
                (
                    "Still failing",
                    text(result.still_failing, "red" if result.still_failing else ""),
                ),
            ]
        )


# -- export -------------------------------------------------------------------------------------


@deliveries_app.command("export")
def export_deliveries(
    ctx: typer.Context,
    output_file: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The JSON Lines file to write ('-' writes to stdout).",
            dir_okay=False,
            writable=True,
            allow_dash=True,
        ),
    ],
    webhook_id: WebhookIdFilter = None,
    status_filter: StatusFilter = None,
    event: EventFilter = None,
    from_day: FromDay = None,
    to_day: ToDay = None,
    page_size: PageSize = MAX_PAGE_SIZE,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Stream the whole filtered history to a JSON Lines file, one delivery per line.

    Memory stays flat however long the history: each delivery is written as it arrives and
    the file is flushed after every page. Ctrl-C stops the export and leaves a valid file of
    whole lines (exit 130). With `-o -` the lines go to stdout (the summary to stderr).

    Example:

    ```
    pancake-pos deliveries export --output failed.jsonl --status failed --from 2024-04-01
    pancake-pos deliveries export -o - --webhook-id wh_2ZbX9kQ1 | jq -r .payload.id
    ```
    """
    filters = Filters.of(webhook_id, status_filter, event, from_day, to_day)
    to_stdout = str(output_file) == "-"
    if not to_stdout and output_file.exists() and not force:
        raise CommandError(f"{output_file} exists: pass --force to overwrite it")
    state = cli_state(ctx)
    pages = filters.pages(state.client(), page_size)
    written = pages_read = 0
    opened = False
    where = "stdout" if to_stdout else str(output_file)
    progress = progress_bar(state.output, "deliveries")
    try:
        # The first page before the file: an export the API refuses (a wrong key, the
        # service down) leaves no empty file behind, and keeps the one --force would replace.
        first = next(pages, None)
        with _open_output(output_file, to_stdout) as file, progress:
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
            state.output.note(f"Interrupted before anything was written to {where}.")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        count = written if to_stdout else _count_lines(output_file)
        lines = plural(count, "delivery", "deliveries")
        state.output.note(f"Interrupted: {lines} written to {where}.")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            raise
        raise CommandError(f"cannot write {where}: {error.strerror or error}") from None
    summary = {"path": where, "deliveries": written, "pages": pages_read}
    line = (
        f"Exported {plural(written, 'delivery', 'deliveries')} "
        f"({plural(pages_read, 'page')}) to {where}."
    )
    if to_stdout:
        state.output.note(line)  # stdout holds the deliveries only
    elif state.json_mode:
        state.output.json(summary)
    else:
        state.output.print(Text(line))


@contextlib.contextmanager
def _open_output(path: Path, to_stdout: bool) -> Iterator[TextIO]:
    """The file to write (created now), or stdout (left open)."""
    if to_stdout:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="\n") as file:
        yield file


def _count_lines(path: Path) -> int:
    """The lines in the file (after an interruption, what was really written)."""
    try:
        with path.open("rb") as file:
            return sum(1 for _ in file)
    except OSError:
        return 0
