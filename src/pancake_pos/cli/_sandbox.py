"""`pancake-pos sandbox` and `pancake-pos demo`.

The sandbox modules are imported when a command runs, so the rest of the command line works
without the `sandbox` extra.
"""

from __future__ import annotations

import errno
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from ._errors import CommandError

__all__ = ["register"]

_MISSING_EXTRA = "the sandbox needs the 'sandbox' extra: pip install 'pancake-pos[sandbox,cli]'"


def _require_sandbox() -> None:
    try:
        import jsonschema  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise CommandError(_MISSING_EXTRA) from None


def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on (0 picks a free one).", min=0, max=65535)
    ] = 8765,
    api_key: Annotated[
        str | None,
        typer.Option(help="The API key to accept (the one --db remembers, or a new one)."),
    ] = None,
    shop_id: Annotated[
        str | None,
        typer.Option(help="The shop id to serve (the one --db remembers, or a new one)."),
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="SQLite file that keeps the state (memory when left out).")
    ] = None,
    retry_schedule: Annotated[
        str, typer.Option(help="Seconds before each automatic retry of a failed delivery.")
    ] = "1,5,30",
    delivery_timeout: Annotated[
        float, typer.Option(help="Seconds a receiver has to answer a delivery.", min=0.1)
    ] = 5.0,
    rotation_grace: Annotated[
        float,
        typer.Option(
            help="Seconds a replaced secret keeps signing deliveries after a rotation.", min=0
        ),
    ] = 24 * 3600.0,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No log line per API call and per delivery attempt on stderr."
        ),
    ] = False,
) -> None:
    """Serve the whole webhooks API locally, delivering real signed webhooks (Ctrl-C stops it).

    Logs one line per API call and per delivery attempt on stderr (--quiet turns them off).
    With --db, the file keeps the webhooks, the deliveries, the shop id and the API key, and
    the deliveries not yet made go out when it starts again.

    Example:

        pancake-pos sandbox --port 8765 --db sandbox.db --retry-schedule 1,5,30
    """
    _require_sandbox()
    import secrets

    from ..sandbox import SandboxConfig, parse_retry_schedule
    from ..sandbox._server import serve
    from ..sandbox._store import remembered_identity

    try:
        schedule = parse_retry_schedule(retry_schedule)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--retry-schedule") from None
    if db is not None:
        try:
            api_key, shop_id = remembered_identity(db, api_key, shop_id)
        except Exception as exc:  # sqlite3.Error, OSError: the file is not a usable database
            raise CommandError(f"cannot use --db {db}: {exc}") from None
    config = SandboxConfig(
        api_key=api_key or f"sk_sandbox_{secrets.token_urlsafe(18)}",
        shop_id=shop_id or f"shop_{secrets.token_hex(4)}",
        db=db,
        retry_schedule=schedule,
        delivery_timeout=delivery_timeout,
        rotation_grace=rotation_grace,
    )

    def announce(base_url: str) -> None:
        typer.echo(
            "Pancake POS sandbox\n"
            f"  base URL: {base_url}\n"
            f"  API key:  {config.api_key}\n"
            f"  shop id:  {config.shop_id}\n"
            f"  state:    {db if db is not None else 'in memory'}\n"
            f"  retries:  {', '.join(f'{delay:g}s' for delay in schedule) or 'none'}\n"
            "\n"
            "Point the SDK and the CLI at it:\n"
            f"  export PANCAKE_BASE_URL={base_url}\n"
            f"  export PANCAKE_API_KEY={config.api_key}\n"
            f"  export PANCAKE_SHOP_ID={config.shop_id}\n"
            "\n"
            "Press Ctrl-C to stop."
        )

    log = logging.getLogger("pancake_pos.sandbox")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    saved = (log.level, log.propagate)
    if not quiet:
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        serve(config, host=host, port=port, on_ready=announce)
    except OSError as exc:
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise CommandError(f"cannot listen on {host}:{port}: {why}") from None
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]


def demo() -> None:
    """Run the SDK's two webhook examples end to end against a local sandbox and receiver.

    Starts a sandbox and a receiver that verifies every signature, creates and tests an order
    webhook, emits events (some refused), retries the failures, prints stats and health.
    Exits 0 when everything went as expected. Needs no API key: everything runs on loopback.

    Example:

        pancake-pos demo
    """
    _require_sandbox()
    from ._demo import main

    raise typer.Exit(main())


def register(app: typer.Typer) -> None:
    """Add the `sandbox` and `demo` commands to `app`."""
    app.command("sandbox")(sandbox)
    app.command("demo")(demo)
