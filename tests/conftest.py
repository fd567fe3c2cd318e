"""Shared by every test folder: what the tests would otherwise build again and again.

- `shared_tls_context`: one TLS context for all the HTTP clients the tests make. httpx builds a
  fresh `ssl.SSLContext` for every client, reading the whole CA bundle (15-20 ms each), and the
  tests make hundreds of clients: every SDK client, every sandbox's delivery client, every plain
  `httpx` client of a test. None of them ever speaks TLS (everything runs over plain HTTP on
  loopback). The default context is built once per setting and given to every client.
- `shared_cli_command`: typer's `CliRunner.invoke(app, ...)` turns the `Typer` app into a click
  command on every call (~30 ms for `pancake-pos`, invoked hundreds of times); it is built once
  per app instead. Click makes a fresh context for every invocation, so each run still parses
  its arguments and environment afresh.

Nothing a test looks at changes.

- `ctrl_c_raises`: the tests that press Ctrl-C (SIGINT) expect Python's own handler, which
  raises `KeyboardInterrupt`. A process started in the background by a non-interactive shell
  (`pytest &`, some CI runners) inherits SIGINT as ignored, and Python then installs no handler:
  those tests would fail or hang. The fixture puts Python's handler back in that case only.
"""

from __future__ import annotations

import functools
import os
import signal
import ssl
from collections.abc import Iterator
from typing import Any

import httpx._transports.default as httpx_transports
import pytest
import typer.testing

_build_ssl_context = httpx_transports.create_ssl_context
_build_cli_command = typer.testing._get_command


@functools.cache
def _default_context(
    trust_env: bool, cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    return _build_ssl_context(verify=True, cert=None, trust_env=trust_env)


def _shared_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
    """httpx's `create_ssl_context`, built once for the default settings (what every client here
    uses); any other setting is built afresh as httpx does."""
    if verify is True and cert is None:
        return _default_context(
            trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
        )
    return _build_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


@pytest.fixture(scope="session", autouse=True)
def shared_tls_context() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx_transports, "create_ssl_context", _shared_ssl_context)
        yield


@pytest.fixture(scope="session", autouse=True)
def shared_cli_command() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", functools.cache(_build_cli_command))
        yield


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_raises() -> Iterator[None]:
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
