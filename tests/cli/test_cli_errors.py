"""Errors: one line on stderr, a distinct exit code, never the API key; and `--help` everywhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner, Result

from pancake_pos.cli import _context
from pancake_pos.cli._app import app
from pancake_pos.models import Webhook, WebhookDelivery
from pancake_pos.sandbox import SandboxServer

Cli = Callable[..., Result]


def one_error_line(result: Result) -> str:
    """The single line a failed command printed on stderr."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_wrong_api_key_exits_3_with_the_apis_answer_and_never_the_key(cli: Cli) -> None:
    wrong = "sk_live_wrong_K3Y_never_shown"
    for debug in ([], ["--debug"]):
        result = cli(*debug, "--api-key", wrong, "webhooks", "list")
        assert result.exit_code == 3, result.output
        assert wrong not in result.output
    line = one_error_line(cli("--api-key", wrong, "webhooks", "list"))
    assert line.startswith("error: 401 unauthorized: ")
    assert "(request_id=req_" in line

    from_env = cli("deliveries", "list", env={"PANCAKE_API_KEY": wrong})
    assert from_env.exit_code == 3
    assert wrong not in from_env.output


def test_a_missing_webhook_exits_3_with_the_request_id(cli: Cli) -> None:
    result = cli("webhooks", "get", "wh_missing")
    assert result.exit_code == 3
    line = one_error_line(result)
    assert "404 not_found: No webhook wh_missing." in line
    assert "request_id=req_" in line
    assert result.stdout == ""


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused_exits_4(cli: Cli, closed_port: int, sandbox: SandboxServer) -> None:
    result = cli(
        "--base-url",
        f"http://127.0.0.1:{closed_port}/api/v1",
        "--max-retries",
        "0",
        "deliveries",
        "pending",
    )
    assert result.exit_code == 4, result.output
    line = one_error_line(result)
    assert f"could not reach http://127.0.0.1:{closed_port}" in line
    assert sandbox.api_key not in result.output


def test_a_timeout_exits_4(cli: Cli, sandbox: SandboxServer) -> None:
    sandbox.inject_fault("slow", delay=2.0, path="/api/v1/shops/")
    try:
        result = cli("--timeout", "0.2", "--max-retries", "0", "webhooks", "list")
    finally:
        sandbox.clear_faults()
    assert result.exit_code == 4, result.output
    assert one_error_line(result).startswith("error: timed out talking to http://127.0.0.1:")


class _NotTheAPI(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"unexpected": "shape"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_the_api() -> Iterator[str]:
    """A server on loopback whose answers are JSON, but not the API's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTheAPI)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_answer_that_does_not_fit_the_model_exits_6(cli: Cli, not_the_api: str) -> None:
    result = cli("--base-url", not_the_api, "webhooks", "list")
    assert result.exit_code == 6, result.output
    assert "the API's answer could not be read (HTTP 200)" in one_error_line(result)


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("deliveries", "list", "--page-size", "500").exit_code == 2
    assert cli("deliveries", "list", "--from", "29/04/2024").exit_code == 2
    assert cli("deliveries", "list", "--status", "pending").exit_code == 2
    assert cli("webhooks", "frobnicate").exit_code == 2
    assert cli("webhooks", "get").exit_code == 2

    no_key = cli("webhooks", "list", env={"PANCAKE_API_KEY": None})
    assert no_key.exit_code == 2
    assert one_error_line(no_key) == "error: no API key: pass --api-key or set PANCAKE_API_KEY"
    no_shop = cli("webhooks", "list", env={"PANCAKE_SHOP_ID": None})
    assert no_shop.exit_code == 2
    assert "PANCAKE_SHOP_ID" in no_shop.stderr

    bad_url = cli("--base-url", "ftp://example.com", "webhooks", "list")
    assert bad_url.exit_code == 2
    assert "base_url must be an absolute http(s) URL" in one_error_line(bad_url)
    bad_event = cli("webhooks", "create", "--url", "http://127.0.0.1:9/x", "--event", "bad")
    assert bad_event.exit_code == 2
    assert "must be an event name like 'order.created'" in one_error_line(bad_event)


def test_an_unexpected_error_exits_70_and_debug_shows_the_traceback(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    def broken(self: _context.CliState) -> object:
        raise RuntimeError(f"bug while holding {sandbox.api_key}")

    monkeypatch.setattr(_context.CliState, "client", broken)
    result = cli("webhooks", "list")
    assert result.exit_code == 70
    line = one_error_line(result)
    assert "internal error (RuntimeError: bug while holding ***)" in line
    assert "--debug" in line

    debug = cli("--debug", "webhooks", "list")
    assert debug.exit_code == 70
    assert "Traceback (most recent call last)" in debug.stderr
    assert sandbox.api_key not in debug.output


def test_debug_logs_the_requests_with_the_key_redacted(cli: Cli, sandbox: SandboxServer) -> None:
    result = cli("--debug", "webhooks", "list")
    assert result.exit_code == 0, result.output
    assert "api_key=***" in result.stderr
    assert sandbox.api_key not in result.output


COMMANDS = [
    [],
    ["webhooks"],
    *(
        ["webhooks", name]
        for name in (
            "list",
            "get",
            "create",
            "update",
            "delete",
            "enable",
            "disable",
            "test",
            "rotate-secret",
            "stats",
        )
    ),
    ["deliveries"],
    *(["deliveries", name] for name in ("list", "get", "retry", "pending", "clear", "export")),
    ["verify"],
    ["sandbox"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda words: " ".join(words) or "root")
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(
        app, [*command, "--help"], env={"COLUMNS": "120", "PANCAKE_API_KEY": "sk_env_K3Y_hidden"}
    )
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert "sk_env_K3Y_hidden" not in result.stdout
    if command[-1:] in (["webhooks"], ["deliveries"]) or not command:
        assert "Commands" in result.stdout
    else:
        assert "Example:" in result.stdout
        assert "pancake-pos " + " ".join(command[:2]) in result.stdout


def test_the_root_help_lists_the_exit_codes() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert "Exit codes" in result.stdout
    for code in ("0", "1", "2", "3", "4", "5", "6", "70", "130"):
        assert any(line.split()[:1] == [code] for line in result.stdout.splitlines())


def test_a_reader_that_stops_early_ends_the_stream_quietly(
    sandbox: SandboxServer,
    webhook: Webhook,
    make_deliveries: Callable[..., list[WebhookDelivery]],
) -> None:
    """`pancake-pos --json deliveries list --all | head -1`: no traceback, no internal error."""
    make_deliveries(webhook, 4)
    env = {
        **os.environ,
        "PANCAKE_API_KEY": sandbox.api_key,
        "PANCAKE_SHOP_ID": sandbox.shop_id,
        "PANCAKE_BASE_URL": sandbox.base_url,
    }
    command = [sys.executable, "-m", "pancake_pos", "--json", "deliveries", "list", "--all"]
    # Each page takes 0.2 s, so the reader is gone before the second line is written.
    sandbox.inject_fault("slow", count=10, delay=0.2, path="/api/v1/shops/", method="GET")
    try:
        with subprocess.Popen(
            [*command, "--webhook-id", webhook.id, "--page-size", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            first = process.stdout.readline()
            process.stdout.close()  # like `head -1`
            errors = process.stderr.read().decode()
            process.wait(timeout=30)
    finally:
        sandbox.clear_faults()
    assert json.loads(first)["webhook_id"] == webhook.id
    assert process.returncode == 1, errors
    assert "Traceback" not in errors
    assert "internal error" not in errors
