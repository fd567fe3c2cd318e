"""What the command line prints: help screens, narrow tables, --version, JSON errors, files it
cannot write, stdout exports, and the key masked as a value."""

from __future__ import annotations

import datetime
import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner, Result

from pancake_pos import __version__
from pancake_pos._sync import PancakeClient
from pancake_pos.cli._app import app
from pancake_pos.cli._errors import mask
from pancake_pos.models import Webhook, WebhookDelivery
from pancake_pos.sandbox._receiver import RecordingReceiver

Cli = Callable[..., Result]
MakeDeliveries = Callable[..., list[WebhookDelivery]]

# What a help screen shows when the declarations and the installed typer/click disagree.
_BROKEN_HELP = re.compile(r"<(bool|str|int|float|list\[[^\]]*\]|path)>|list\[str\]")


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


ALL_COMMANDS = list(_commands(typer.main.get_command(app)))


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path in ALL_COMMANDS}
    for expected in ("", "trigger", "listen", "deliveries recover", "deliveries export", "verify"):
        assert expected in names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda path: " ".join(path) or "root")
def test_the_help_of_every_command_reads_well(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert _BROKEN_HELP.search(result.stdout) is None, result.stdout


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"pancake-pos {__version__}\n"


def test_tables_fit_80_columns_and_cut_long_values(
    cli: Cli, client: PancakeClient, receiver: RecordingReceiver
) -> None:
    long_url = receiver.url + "?" + "&".join(f"key{n}=value{n}" for n in range(20))
    hook = client.webhooks.create(url=long_url, events=["order.created", "customer.created"])
    try:
        result = cli("webhooks", "list", env={"COLUMNS": "80"})
    finally:
        client.webhooks.delete(hook.id)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    (row,) = [line for line in lines if hook.id in line]
    assert "…" in row  # the URL, cut
    assert "customer.created" in result.stdout  # event names are not cut


def test_delivery_tables_keep_ids_whole_at_80_columns(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries
) -> None:
    (delivery,) = make_deliveries(webhook, 1, fail=True)
    result = cli("deliveries", "list", "--webhook-id", webhook.id, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    (row,) = [line for line in result.stdout.splitlines() if delivery.id in line]
    assert row.split()[1] == "order.created"


def test_json_errors_go_to_stderr_as_json(cli: Cli) -> None:
    result = cli("--json", "webhooks", "list", env={"PANCAKE_API_KEY": "sk_wrong_key"})
    assert result.exit_code == 3
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "AuthenticationError"
    assert error["status_code"] == 401
    assert error["request_id"].startswith("req_")
    assert "sk_wrong_key" not in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("args", "env", "kind", "status_code"),
    [
        (["webhooks", "get", "wh_missing_9"], {}, "NotFoundError", 404),
        (["webhooks", "list"], {"PANCAKE_BASE_URL": "closed"}, "APIConnectionError", None),
        (["deliveries", "list", "--page-size", "0"], {}, "UsageError", None),
    ],
    ids=["api-status", "connection", "usage"],
)
def test_each_kind_of_json_error_has_the_same_four_fields(
    cli: Cli, args: list[str], env: dict[str, str], kind: str, status_code: int | None
) -> None:
    if env.get("PANCAKE_BASE_URL") == "closed":
        env = {"PANCAKE_BASE_URL": f"http://127.0.0.1:{_free_port()}/api/v1"}
        args = ["--max-retries", "0", *args]
    result = cli("--json", *args, env=env)
    assert result.exit_code in (2, 3, 4), result.output
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert set(error) == {"type", "message", "status_code", "request_id"}
    assert (error["type"], error["status_code"]) == (kind, status_code)
    assert error["message"]
    if status_code is None:
        assert error["request_id"] is None
    else:
        assert error["request_id"].startswith("req_")


def test_json_usage_errors_are_json_too(cli: Cli) -> None:
    result = cli("--json", "deliveries", "list", "--from", "2024-02-30")
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "UsageError"
    assert "2024-02-30 is not a date that exists" in error["message"]
    assert error["status_code"] is None

    missing = cli("--json", "webhooks", "delete", "wh_1")  # not interactive, no --yes
    assert missing.exit_code == 2
    assert json.loads(missing.stderr)["error"]["type"] == "UsageError"


def test_a_file_that_cannot_be_written_is_a_usage_error(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries, tmp_path: Path
) -> None:
    make_deliveries(webhook, 1)
    target = tmp_path / "no" / "such" / "folder" / "out.jsonl"
    result = cli("deliveries", "export", "-o", str(target), "--webhook-id", webhook.id)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: cannot write {target}: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "internal error" not in result.stderr


def test_export_to_stdout(cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries) -> None:
    made = make_deliveries(webhook, 3)
    result = cli("deliveries", "export", "-o", "-", "--webhook-id", webhook.id)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [d.id for d in reversed(made)]
    assert "Exported 3 deliveries (1 page) to stdout." in result.stderr
    assert not Path("-").exists()


def test_with_json_a_stderr_that_is_no_terminal_gets_no_progress_bar(
    cli: Cli, webhook: Webhook, make_deliveries: MakeDeliveries, tmp_path: Path
) -> None:
    # A program reading --json output finds on stderr only what it can parse: an error document.
    make_deliveries(webhook, 2, fail=True)
    target = tmp_path / "out.jsonl"
    exported = cli("--json", "deliveries", "export", "-o", str(target), "--webhook-id", webhook.id)
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["deliveries"] == 2
    assert exported.stderr == ""
    since = datetime.datetime.now(datetime.UTC).date().isoformat()
    dry = cli(
        "--json", "deliveries", "recover", "--webhook-id", webhook.id, "--since", since, "--dry-run"
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["retried"] == 2
    assert dry.stderr == ""


def test_the_key_is_masked_as_a_value_not_inside_words() -> None:
    assert mask("GET /webhooks?api_key=test failed", ["test"]) == "GET /webhooks?api_key=*** failed"
    assert mask("the latest testing key: test", ["test"]) == "the latest testing key: ***"
    assert mask("order.created was sent", ["created"]) == "order.created was sent"


def test_a_key_made_of_common_letters_leaves_messages_readable(cli: Cli) -> None:
    result = cli("deliveries", "retry", env={"PANCAKE_API_KEY": "e"})
    assert result.exit_code == 2
    assert result.stderr == "error: give a delivery id, or --failed (not both)\n"


def test_json_errors_of_an_unknown_command() -> None:
    result = CliRunner().invoke(app, ["--json", "no-such-command"])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["type"] == "UsageError"


def test_help_reflows_paragraphs_and_keeps_examples_on_their_lines() -> None:
    result = CliRunner().invoke(app, ["deliveries", "recover", "--help"], env={"COLUMNS": "80"})
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "pancake-pos deliveries recover --webhook-id wh_2ZbX9kQ1 --since 2024-04-01" in lines
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    words = " ".join(result.stdout.split())
    assert "Reads the webhook's history once and groups its attempts by event." in words


def _busy_port() -> tuple[socket.socket, int]:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port: int = busy.getsockname()[1]
    return busy, port


def test_a_sandbox_port_that_cannot_be_bound_reads_like_every_other_usage_error() -> None:
    busy, port = _busy_port()
    with busy:
        result = CliRunner().invoke(app, ["sandbox", "--port", str(port), "--quiet"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"error: cannot listen on 127.0.0.1:{port}: the port is in use"


def test_a_sandbox_port_that_cannot_be_bound_is_a_json_error_with_json() -> None:
    busy, port = _busy_port()
    with busy:
        result = CliRunner().invoke(app, ["--json", "sandbox", "--port", str(port), "--quiet"])
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "UsageError"
    assert error["message"] == f"cannot listen on 127.0.0.1:{port}: the port is in use"


def test_a_sandbox_db_that_cannot_be_opened_is_a_json_error_with_json(tmp_path: Path) -> None:
    where = tmp_path / "missing" / "sandbox.db"
    result = CliRunner().invoke(app, ["--json", "sandbox", "--db", str(where), "--quiet"])
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "UsageError"
    assert error["message"].startswith(f"cannot use --db {where}: ")


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_sandbox_port_out_of_range_is_a_usage_error(port: str) -> None:
    result = CliRunner().invoke(app, ["sandbox", "--port", port, "--quiet"])
    assert result.exit_code == 2
    assert "internal error" not in result.output
    assert "--port" in result.output
