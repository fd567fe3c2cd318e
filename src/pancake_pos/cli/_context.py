"""The state of one `pancake-pos` run: the global options, the output, and a lazy client.

The root callback builds a `CliState` into `ctx.obj`; commands get it with `cli_state(ctx)`.
The `PancakeClient` is created the first time a command asks for it (so `verify`, `sandbox` and
`demo` need no API key) and closed when the command line exits.

Example:

    @app.command()
    def list(ctx: typer.Context) -> None:
        state = cli_state(ctx)
        hooks = state.client().webhooks.list()
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from .._client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from .._logging import REDACTED
from ..errors import PancakeError
from ._errors import CommandError
from ._output import Output

if TYPE_CHECKING:
    from .._sync import PancakeClient

__all__ = ["CliState", "DebugLog", "cli_state"]


class CliState:
    """The global options of one run, its output, and the client (made on first use)."""

    def __init__(
        self,
        *,
        api_key: str | None,
        shop_id: str | None,
        base_url: str | None,
        timeout: float | None,
        max_retries: int | None,
        json_mode: bool,
        debug: bool,
    ) -> None:
        self.api_key = api_key
        self.shop_id = shop_id
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.json_mode = json_mode
        self.debug = debug
        self.output = Output(json_mode=json_mode)
        self.secrets: list[str] = [api_key] if api_key else []
        self._client: PancakeClient | None = None

    def __repr__(self) -> str:
        return (
            f"CliState(shop_id={self.shop_id!r}, base_url={self.base_url!r}, "
            f"api_key={REDACTED!r}, json_mode={self.json_mode})"
        )

    @property
    def stderr(self) -> Console:
        """The console for notes and errors (stderr)."""
        return self.output.stderr

    def hide(self, secret: str) -> None:
        """Never show `secret` in an error message or traceback of this run."""
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def client(self) -> PancakeClient:
        """The `PancakeClient` of this run, created on the first call."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> PancakeClient:
        from .._sync import PancakeClient

        if not self.api_key:
            raise CommandError("no API key: pass --api-key or set PANCAKE_API_KEY")
        if not self.shop_id:
            raise CommandError("no shop id: pass --shop-id or set PANCAKE_SHOP_ID")
        try:
            return PancakeClient(
                self.api_key,
                self.shop_id,
                base_url=self.base_url or None,
                timeout=DEFAULT_TIMEOUT if self.timeout is None else self.timeout,
                max_retries=DEFAULT_MAX_RETRIES if self.max_retries is None else self.max_retries,
            )
        except (PancakeError, ValueError, TypeError) as error:
            raise CommandError(f"cannot configure the client: {error}") from None

    def close(self) -> None:
        """Close the client, if one was made."""
        client, self._client = self._client, None
        if client is not None:
            client.close()


def cli_state(ctx: typer.Context) -> CliState:
    """The `CliState` the root callback stored for this run."""
    state = ctx.find_object(CliState)
    if state is None:  # a command invoked without the root callback (not through `app`)
        raise RuntimeError("pancake-pos commands need the root callback's state")
    return state


class DebugLog:
    """`--debug`: the SDK's log (requests, responses, retries; key redacted) on stderr.

    Example:

        log = DebugLog().start()
        ...
        log.stop()
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger("pancake_pos")
        self._handler = logging.StreamHandler()
        self._handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        self._level = self._logger.level

    def start(self) -> DebugLog:
        """Attach the handler and lower the logger's level to DEBUG."""
        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.DEBUG)
        return self

    def stop(self) -> None:
        """Detach the handler and restore the logger's level."""
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)
