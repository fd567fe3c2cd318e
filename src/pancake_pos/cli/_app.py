"""The Typer application behind `pancake-pos`: the global options and the command groups.

The root callback reads the global options into a `CliState` (the client is made only when a
command needs one); `ErrorHandlingGroup` turns exceptions into one line on stderr and an exit
code. The commands live in their own modules: `webhooks` (`_webhooks`), `deliveries`
(`_deliveries`), `verify` (`_verify`), `trigger` (`_trigger`), `listen` (`_listen`), and
`sandbox`/`demo` (`_sandbox`, `_demo`).

Example:

    $ pancake-pos --api-key "$KEY" --shop-id shop_42 webhooks list
    $ pancake-pos --json deliveries list --status failed
"""

from __future__ import annotations

from typing import Annotated

import typer

from .._version import __version__
from . import _sandbox
from ._context import CliState, DebugLog
from ._deliveries import deliveries_app
from ._errors import EXIT_CODES_HELP, ErrorHandlingGroup
from ._listen import listen
from ._trigger import trigger
from ._verify import verify
from ._webhooks import webhooks_app

__all__ = ["app", "run"]

app = typer.Typer(
    name="pancake-pos",
    cls=ErrorHandlingGroup,
    help="Manage Pancake POS webhooks and their deliveries, verify signatures, and run the local "
    "sandbox and the demo.\n\n"
    "Global options go before the command:\n\n"
    "  pancake-pos --json deliveries list --status failed\n\n"
    "The API key, shop id and base URL come from the options or from PANCAKE_API_KEY, "
    "PANCAKE_SHOP_ID and PANCAKE_BASE_URL.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"pancake-pos {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="PANCAKE_API_KEY",
            show_envvar=True,
            show_default=False,
            help="The shop's API key (never printed: errors and logs show ***).",
        ),
    ] = None,
    shop_id: Annotated[
        str | None,
        typer.Option(envvar="PANCAKE_SHOP_ID", show_envvar=True, help="The shop's id."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="PANCAKE_BASE_URL",
            show_envvar=True,
            help="The API's base URL (default: https://pos.pages.fm/api/v1).",
        ),
    ] = None,
    json_mode: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Machine-readable output: one JSON document, or JSON Lines for streams.",
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0.001, help="Seconds each request may take (default: 30, and 5 to connect)."
        ),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(min=0, help="Retries of a failed request (default: 2)."),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks and the SDK's request log (key redacted)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Show the version of pancake-pos and exit.",
        ),
    ] = False,
) -> None:
    """Read the global options; the client is created later, by the commands that need it."""
    state = CliState(
        api_key=api_key,
        shop_id=shop_id,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        json_mode=json_mode,
        debug=debug,
    )
    ctx.obj = state
    ctx.call_on_close(state.close)
    if debug:
        log = DebugLog().start()
        ctx.call_on_close(log.stop)


app.add_typer(webhooks_app)
app.add_typer(deliveries_app)
app.command("verify", epilog=EXIT_CODES_HELP)(verify)
app.command("trigger", epilog=EXIT_CODES_HELP)(trigger)
app.command("listen", epilog=EXIT_CODES_HELP)(listen)
_sandbox.register(app)


def run() -> None:
    """Entry point of the console script."""
    app()
