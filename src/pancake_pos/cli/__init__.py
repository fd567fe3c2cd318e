"""The `pancake-pos` command (extra `cli`)."""

from __future__ import annotations

import sys

__all__ = ["main"]

_CLI_PACKAGES = frozenset({"typer", "click", "rich"})


def main() -> None:
    """Run the `pancake-pos` command line."""
    try:
        from ._app import run
    except ImportError as error:  # installed without the `cli` extra
        if (error.name or "").partition(".")[0] not in _CLI_PACKAGES:
            raise
        sys.stderr.write(
            "error: the command line needs the 'cli' extra: pip install 'pancake-pos[cli]'\n"
        )
        raise SystemExit(2) from None
    run()
