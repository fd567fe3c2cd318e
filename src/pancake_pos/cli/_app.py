"""The Typer application behind `pancake-pos`; command groups register themselves here."""

from __future__ import annotations

import typer

from . import _sandbox

__all__ = ["app", "run"]

app = typer.Typer(
    name="pancake-pos",
    help="Manage Pancake POS webhooks, run the local sandbox and the demo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_sandbox.register(app)


def run() -> None:
    """Entry point of the console script."""
    app()
