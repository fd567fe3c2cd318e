"""Options shared by several commands: dates, delivery filters, event names, confirmation.

Example:

    def stats(from_day: FromDay = None, to_day: ToDay = None) -> None:
        first, last = day_range(from_day, to_day)
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from typing import Annotated, Any

import click
import typer

from .. import _validation as check
from .._constants import (
    CLEAR_HISTORY_STATUSES,
    DEFAULT_PAGE_SIZE,
    DELIVERY_STATUS_FILTERS,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
)
from ..models import WebhookEvent
from ._errors import CommandError

__all__ = [
    "DAY",
    "DAY_FORMATS",
    "MOMENT",
    "ClearStatusFilter",
    "EventFilter",
    "FromDay",
    "OptionalPageSize",
    "PageSize",
    "StatusFilter",
    "ToDay",
    "WebhookIdFilter",
    "check_day_range",
    "confirm",
    "day",
    "event_names",
    "moment_option",
    "parse_day",
    "parse_moment",
]

DAY_FORMATS = ["%Y-%m-%d"]
DAY = "YYYY-MM-DD"
MOMENT = "DATE"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: str | datetime.date) -> datetime.date:
    """A `YYYY-MM-DD` option: exactly that form (as the SDK wants), and a day that exists."""
    if isinstance(value, datetime.date):  # a default, already parsed
        return value
    text = value.strip()
    if not _DAY.fullmatch(text):
        raise typer.BadParameter(f"expected a day as YYYY-MM-DD, got {value!r}")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text} is not a date that exists (check the day and month)"
        ) from None


def parse_moment(value: str | datetime.date) -> datetime.date | datetime.datetime:
    """A day (`YYYY-MM-DD`) or a moment (`YYYY-MM-DDTHH:MM[:SS][+HH:MM|Z]`, UTC without one)."""
    if isinstance(value, datetime.date):
        return value
    text = value.strip()
    if "T" not in text.upper():
        return parse_day(text)
    parse_day(text[:10])  # the same checks and messages for the date part
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM], got {value!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def moment_option(help_text: str) -> Any:
    """A `--since`/`--until` option: a UTC day or a moment (see `parse_moment`)."""
    return typer.Option(parser=parse_moment, metavar=MOMENT, help=help_text, show_default=False)


def _complete_event(incomplete: str) -> list[str]:
    return [event.value for event in WebhookEvent if event.value.startswith(incomplete)]


FromDay = Annotated[
    datetime.date | None,
    typer.Option(
        "--from",
        parser=parse_day,
        metavar=DAY,
        help="Only from this UTC day on (inclusive).",
    ),
]
ToDay = Annotated[
    datetime.date | None,
    typer.Option(
        "--to",
        parser=parse_day,
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


def _status_option(choices: tuple[str, ...]) -> Any:
    return typer.Option(
        "--status", click_type=click.Choice(choices), help="Only deliveries with this status."
    )


StatusFilter = Annotated[str | None, _status_option(DELIVERY_STATUS_FILTERS)]
ClearStatusFilter = Annotated[str | None, _status_option(CLEAR_HISTORY_STATUSES)]
PageSize = Annotated[
    int,
    typer.Option(
        "--page-size",
        min=MIN_PAGE_SIZE,
        max=MAX_PAGE_SIZE,
        help=f"Deliveries per request ({MIN_PAGE_SIZE}-{MAX_PAGE_SIZE}).",
    ),
]
OptionalPageSize = Annotated[
    int | None,
    typer.Option(
        "--page-size",
        min=MIN_PAGE_SIZE,
        max=MAX_PAGE_SIZE,
        help=f"Deliveries per page, {MIN_PAGE_SIZE}-{MAX_PAGE_SIZE} "
        f"(API default {DEFAULT_PAGE_SIZE}).",
    ),
]


def day(moment: datetime.date | None) -> datetime.date | None:
    """The day of a `--from`/`--to` option."""
    if isinstance(moment, datetime.datetime):
        return moment.date()
    return moment


def check_day_range(first: datetime.date | None, last: datetime.date | None) -> None:
    """Refuse `--from` after `--to`, as the SDK refuses `from_date` after `to_date`."""
    try:
        check.date_order(first, last, "--from", "--to")
    except ValueError as error:
        raise CommandError(str(error)) from None


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


def json_object(text: str, where: str) -> dict[str, Any]:
    """`text` read as a JSON object, or a `CommandError` naming `where` (`--data`, a file).

    Python's `json` reads `NaN` and `Infinity`, which JSON has not: they are refused here, so
    nothing the API would refuse (or a receiver could not read) is sent.
    """
    try:
        value = json.loads(text, parse_constant=_not_a_json_number)
    except ValueError as error:
        raise CommandError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise CommandError(f"{where} must be a JSON object, not {type(value).__name__}")
    return value


def _not_a_json_number(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")
