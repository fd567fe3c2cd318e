"""The `pancake-pos` command (extra `cli`)."""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Run the `pancake-pos` command line."""
    from ._app import run

    run()
