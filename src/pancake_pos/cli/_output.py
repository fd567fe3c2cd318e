"""What commands print: Rich tables for people, JSON for programs.

`Output` writes to stdout: tables and messages through Rich (which fits them to the terminal's
width and drops colours when stdout is not a terminal), and, with `--json`, the converter's
`unstructure` of a model as one JSON document or one JSON line per item of a stream. Notes
and progress go to stderr, so stdout stays clean for pipes.

Example:

    output = Output(json_mode=False)
    output.print(details([("ID", text(hook.id)), ("URL", text(hook.url))]))
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from .._converter import unstructure
from ..models import RetryWebhookResult, WebhookTestResult

__all__ = [
    "Output",
    "details",
    "duration",
    "health",
    "json_line",
    "mask_secret",
    "plural",
    "progress_bar",
    "show_attempt",
    "status",
    "table",
    "text",
    "when",
]

_NOTHING = "-"
# Never cut: they are copied and pasted, and read at a glance.
_WHOLE_COLUMNS = {
    "ID",
    "Webhook",
    "Event",
    "Events",
    "Status",
    "Health",
    "Created",
    "Next attempt",
    "Last triggered",
}
_COLUMN_GAP = 2
_NARROWEST = 6
_STATUS_STYLES = {
    "success": "green",
    "failed": "red",
    "pending": "yellow",
    "healthy": "green",
    "warning": "yellow",
    "error": "red",
}


def json_line(data: Any) -> str:
    """`data` (a model or JSON-ready data) as one compact JSON line, with its newline."""
    return json.dumps(unstructure(data), separators=(",", ":"), ensure_ascii=False) + "\n"


class Output:
    """Where a command's results go (stdout), and its notes (stderr)."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.console = Console(highlight=False)
        self.stderr = Console(stderr=True, highlight=False)

    def print(self, renderable: RenderableType) -> None:
        """Print a table or a message for people.

        A message is one line however long (a terminal wraps it on screen; piped to a file or
        another program, it stays whole to be read back); a table is fitted to the width."""
        if isinstance(renderable, Table) and renderable.box is not None:
            _fit(renderable, self.console.width)
        self.console.print(renderable, soft_wrap=isinstance(renderable, str | Text))

    def note(self, message: str | Text) -> None:
        """A remark on stderr (a summary, a hint), not part of the result."""
        self.stderr.print(message if isinstance(message, Text) else Text(message), soft_wrap=True)

    def json(self, data: Any) -> None:
        """Print `data` (a model or JSON-ready data) as one indented JSON document."""
        sys.stdout.write(json.dumps(unstructure(data), indent=2) + "\n")
        sys.stdout.flush()

    def json_lines(self, items: Iterable[Any]) -> int:
        """Print each item as one JSON line as it comes; return how many were printed."""
        count = 0
        for item in items:
            sys.stdout.write(json.dumps(unstructure(item), separators=(",", ":")) + "\n")
            sys.stdout.flush()
            count += 1
        return count


def plural(count: int, one: str, many: str | None = None) -> str:
    """`1 delivery`, `2 deliveries`, `0 webhooks`."""
    return f"{count} {one if count == 1 else many or one + 's'}"


# -- cells --------------------------------------------------------------------------------------


def text(value: object, style: str = "") -> Text:
    """A table cell showing `value` literally (never read as Rich markup); `-` for `None`."""
    if value is None:
        return Text(_NOTHING, style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no", style=style or ("green" if value else "dim"))
    return Text(str(value), style=style)


def when(moment: datetime.datetime | None) -> Text:
    """A timestamp in UTC, to the second: `2024-04-29 10:15:01Z`."""
    if moment is None:
        return text(None)
    return Text(moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ"))


def status(value: str | None) -> Text:
    """A delivery status or health state, coloured when the terminal has colours."""
    if value is None:
        return text(None)
    return Text(str(value), style=_STATUS_STYLES.get(str(value), ""))


def health(state: str, success_rate: float) -> Text:
    """A webhook's health: `healthy 98.5%`."""
    cell = status(state)
    cell.append(f" {success_rate:.1f}%", style="dim")
    return cell


def duration(milliseconds: float | None) -> Text:
    """`123 ms`."""
    if milliseconds is None:
        return text(None)
    return Text(f"{milliseconds:,.0f} ms")


def mask_secret(secret: str | None) -> Text:
    """A webhook secret with all but its first characters hidden: `whsec_MfK…`."""
    if not secret:
        return text(None)
    return Text(secret[:9] + "…", style="dim")


# -- layouts ------------------------------------------------------------------------------------


def table(*columns: str, title: str | None = None, caption: str | None = None) -> Table:
    """A borderless table with these column headers, one line per value.

    Identifiers, statuses and timestamps are shown whole (they are copied and pasted); when the
    terminal is too narrow for the rest, long values are cut with `…` rather than wrapped into
    narrow columns (`--json` has them in full).
    """
    grid = Table(
        *columns,
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        title_justify="left",
        caption_justify="left",
        header_style="bold",
    )
    for column in grid.columns:
        column.overflow = "ellipsis"
        column.no_wrap = True
    return grid


def _fit(grid: Table, width: int) -> None:
    """Size the columns to `width`: the whole ones as wide as their longest line, and the
    room left shared by the others, the narrow ones first (each cut with `…` past its share)."""
    natural: list[int] = []
    for column in grid.columns:
        lines = [str(column.header)]
        for cell in column.cells:
            plain = cell.plain if isinstance(cell, Text) else str(cell)
            lines.extend(plain.splitlines())
        natural.append(max(len(line) for line in lines))
    gaps = _COLUMN_GAP * (len(grid.columns) - 1)
    whole = [str(column.header) in _WHOLE_COLUMNS for column in grid.columns]
    room = width - gaps - sum(size for size, keep in zip(natural, whole, strict=True) if keep)
    flexible = sorted(
        (index for index, keep in enumerate(whole) if not keep), key=lambda i: natural[i]
    )
    for position, index in enumerate(flexible):
        share = max(_NARROWEST, room // (len(flexible) - position))
        size = min(natural[index], share)
        grid.columns[index].width = size
        room -= size
    for index, keep in enumerate(whole):
        if keep:
            grid.columns[index].min_width = natural[index]


def details(rows: Iterable[tuple[str, RenderableType]]) -> Table:
    """A two-column table of `name  value` rows, for one object."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def progress_bar(output: Output, unit: str) -> Progress:
    """A progress bar on stderr: `Exporting ━━━━━━ 120/300 deliveries page 2/3 0:00:01`.

    Each task has a `detail` field shown after the counts. Result lines printed to stdout while
    it runs go above the bar when stdout is the same terminal, and straight to stdout otherwise.
    With `--json` and a stderr that is not a terminal there is no bar: a program reading the
    output finds on stderr only what it can parse.
    """
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=output.stderr,
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=False,
        disable=output.json_mode and not output.stderr.is_terminal,
    )


def show_attempt(
    output: Output,
    result: WebhookTestResult | RetryWebhookResult,
    what: str,
    *,
    head: str | None = None,
    as_json: object = None,
) -> bool:
    """Print the outcome of a test or a retry; return whether the receiver accepted it.

    The line is `{head}: {status} (HTTP nnn): {failure reason}`, `head` being by default
    `{what} {delivery id}`; with `--json`, `as_json` when given, else the result itself."""
    if output.json_mode:
        output.json(result if as_json is None else as_json)
    else:
        line = Text(f"{what} {result.delivery_id}: " if head is None else f"{head}: ")
        line.append_text(status(result.status))
        if result.response is not None:
            line.append(f" (HTTP {result.response.status_code})")
        if result.failure_reason:
            line.append(f": {result.failure_reason}")
        output.print(line)
    return result.status == "success"
