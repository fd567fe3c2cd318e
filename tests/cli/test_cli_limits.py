"""The command line takes its limits and value lists from the API description, as the SDK does."""

from __future__ import annotations

import click
import typer

from pancake_pos._constants import (
    CLEAR_HISTORY_STATUSES,
    DELIVERY_STATUS_FILTERS,
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
)
from pancake_pos.cli._app import app


def _option(path: tuple[str, ...], name: str) -> click.Parameter:
    command = typer.main.get_command(app)
    for part in path:
        assert isinstance(command, click.Group)
        command = command.commands[part]
    return next(param for param in command.params if name in getattr(param, "opts", ()))


def test_status_choices_are_the_documents() -> None:
    for path in (("deliveries", "list"), ("deliveries", "export")):
        status = _option(path, "--status")
        assert isinstance(status.type, click.Choice)
        assert tuple(status.type.choices) == DELIVERY_STATUS_FILTERS
    cleared = _option(("deliveries", "clear"), "--status")
    assert isinstance(cleared.type, click.Choice)
    assert tuple(cleared.type.choices) == CLEAR_HISTORY_STATUSES


def test_page_size_bounds_are_the_documents() -> None:
    for path in (("deliveries", "list"), ("deliveries", "export")):
        page_size = _option(path, "--page-size")
        assert isinstance(page_size.type, click.IntRange)
        assert (page_size.type.min, page_size.type.max) == (MIN_PAGE_SIZE, MAX_PAGE_SIZE)
