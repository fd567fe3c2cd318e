"""Options shared by several commands: dates, delivery filters, event names, confirmation.

Example:

    def stats(from_day: FromDay = None, to_day: ToDay = None) -> None:
        first, last = day_range(from_day, to_day)
"""

from __future__ import annotations

import datetime
import enum
import sys
from typing import Annotated

import typer

from ..models import WebhookEvent
from ._errors import CommandError

__all__ = [
    "DAY",
    "DAY_FORMATS",
    "EventFilter",
    "FromDay",
    "PageSize",
    "StatusFilter",
    "ToDay",
    "WebhookIdFilter",
    "check_day_range",
    "confirm",
    "day",
    "event_names",
]

DAY_FORMATS = ["%Y-%m-%d"]
DAY = "YYYY-MM-DD"


class StatusFilter(enum.StrEnum):
    """The statuses the delivery history can be filtered on."""

    SUCCESS = "success"
    FAILED = "failed"


def _complete_event(incomplete: str) -> list[str]:
    return [event.value for event in WebhookEvent if event.value.startswith(incomplete)]


FromDay = Annotated[
    datetime.datetime | None,
    typer.Option(
        "--from",
        formats=DAY_FORMATS,
        metavar=DAY,
        help="Only from this UTC day on (inclusive).",
    ),
]
ToDay = Annotated[
    datetime.datetime | None,
    typer.Option(
        "--to",
        formats=DAY_FORMATS,
        metavar=DAY,
        help="Only up to this UTC day (inclusive).",
    ),
]
WebhookIdFilter = Annotated[
    str | None, typer.Option("--webhook-id", help="Only deliveries of this webhook.")
]
EventFilter = Annotated[
    str | None,
    typer.Option(
        "--event",
        help="Only deliveries of this event (such as order.created).",
        autocompletion=_complete_event,
    ),
]
PageSize = Annotated[
    int,
    typer.Option("--page-size", min=1, max=100, help="Deliveries per request (1-100)."),
]


def day(moment: datetime.datetime | None) -> datetime.date | None:
    """The day of a `--from`/`--to` option (parsed as a datetime at midnight by Typer)."""
    return None if moment is None else moment.date()


def check_day_range(first: datetime.date | None, last: datetime.date | None) -> None:
    """Refuse `--from` after `--to`."""
    if first is not None and last is not None and first > last:
        raise CommandError(f"--from ({first}) must not be after --to ({last})")


def event_names(values: list[str] | None) -> list[str]:
    """`--event` values, each possibly a comma-separated list, flattened without duplicates."""
    names: list[str] = []
    for value in values or []:
        for name in value.split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names


def confirm(question: str, *, yes: bool) -> None:
    """Go on when `--yes` was given or the user agrees; refuse when nobody can be asked."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CommandError(f"{question} Refusing without --yes when not interactive.")
    if not typer.confirm(question, default=False):
        raise typer.Abort()
