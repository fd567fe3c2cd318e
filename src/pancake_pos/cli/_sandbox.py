"""`pancake-pos sandbox` and `pancake-pos demo` (filled in by the sandbox work, issue 6)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the `sandbox` and `demo` commands to `app`."""
