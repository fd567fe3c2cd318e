"""`pancake-pos verify`: saved deliveries, good and bad. Needs no API key and no sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pancake_pos.cli._app import app
from pancake_pos.models import Webhook
from pancake_pos.sandbox._receiver import RecordingReceiver
from pancake_pos.signing import build_headers, generate_secret

SECRET = generate_secret()
BODY = json.dumps(
    {
        "id": "msg_2ZbX9kQ1",
        "event": "order.created",
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {"order_id": "o-1"},
    }
).encode()
SIGNED_AT = 1714385700  # 2024-04-29T10:15:00Z


def verify(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """`pancake-pos verify ...` with no API settings in the environment."""
    settings: dict[str, str | None] = {
        "PANCAKE_API_KEY": None,
        "PANCAKE_SHOP_ID": None,
        "PANCAKE_WEBHOOK_SECRET": None,
        "COLUMNS": "200",
    }
    return CliRunner().invoke(app, ["verify", *args], env={**settings, **(env or {})})


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, list[str]]:
    """A delivery saved long ago: the body file and `--header` options."""
    body = tmp_path / "body.json"
    body.write_bytes(BODY)
    headers = build_headers(SECRET, "msg_2ZbX9kQ1", SIGNED_AT, BODY)
    options = [part for name, value in headers.items() for part in ("-H", f"{name}: {value}")]
    return body, options


def test_an_authentic_saved_delivery_passes_with_ignore_timestamp(
    saved: tuple[Path, list[str]],
) -> None:
    body, headers = saved
    result = verify("--secret", SECRET, "--body", str(body), *headers, "--ignore-timestamp")
    assert result.exit_code == 0, result.output
    assert "Authentic" in result.stdout
    assert "msg_2ZbX9kQ1" in result.stdout
    assert "order.created" in result.stdout
    assert "2024-04-29 10:15:00Z" in result.stdout
    assert SECRET not in result.output


def test_a_saved_delivery_is_too_old_without_ignore_timestamp_or_now(
    saved: tuple[Path, list[str]],
) -> None:
    body, headers = saved
    old = verify("--secret", SECRET, "--body", str(body), *headers)
    assert old.exit_code == 5
    assert old.stderr.startswith("error: not authentic: webhook-timestamp header is too old")
    assert "--ignore-timestamp" in old.stderr

    at_reception = verify(
        "--secret", SECRET, "--body", str(body), *headers, "--now", "2024-04-29T10:16:00Z"
    )
    assert at_reception.exit_code == 0, at_reception.output
    as_unix_seconds = verify(
        "--secret", SECRET, "--body", str(body), *headers, "--now", str(SIGNED_AT + 30)
    )
    assert as_unix_seconds.exit_code == 0, as_unix_seconds.output


def test_a_wrong_secret_is_not_authentic_and_is_never_printed(
    saved: tuple[Path, list[str]],
) -> None:
    body, headers = saved
    other = generate_secret()
    result = verify("--secret", other, "--body", str(body), *headers, "--ignore-timestamp")
    assert result.exit_code == 5
    assert result.stderr.count("\n") == 1
    assert "no signature matched" in result.stderr
    assert other not in result.output
    assert SECRET not in result.output

    debug = CliRunner().invoke(
        app,
        ["--debug", "verify", "--secret", other, "--body", str(body), *headers],
        env={"PANCAKE_WEBHOOK_SECRET": None},
    )
    assert debug.exit_code == 5
    assert "Traceback" in debug.stderr
    assert other not in debug.output


def test_a_changed_body_is_not_authentic(saved: tuple[Path, list[str]]) -> None:
    body, headers = saved
    body.write_bytes(BODY.replace(b"o-1", b"o-2"))
    result = verify("--secret", SECRET, "--body", str(body), *headers, "--ignore-timestamp")
    assert result.exit_code == 5
    assert "no signature matched" in result.stderr


def test_a_newline_added_when_saving_is_pointed_out(saved: tuple[Path, list[str]]) -> None:
    body, headers = saved
    body.write_bytes(BODY + b"\n")
    result = verify("--secret", SECRET, "--body", str(body), *headers, "--ignore-timestamp")
    assert result.exit_code == 5
    assert "without the newline at the end of the body file" in result.stderr


def test_missing_headers_are_named(saved: tuple[Path, list[str]]) -> None:
    body, headers = saved
    result = verify("--secret", SECRET, "--body", str(body), *headers[:2], "--ignore-timestamp")
    assert result.exit_code == 5
    assert "missing or empty header(s): webhook-timestamp, webhook-signature" in result.stderr


def test_headers_file_secret_from_the_environment_and_json_output(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(BODY)
    now = int(time.time())
    headers = build_headers(SECRET, "msg_2ZbX9kQ1", now, BODY)
    as_lines = tmp_path / "headers.txt"
    as_lines.write_text(
        "# saved by the receiver\n" + "".join(f"{k.title()}: {v}\n" for k, v in headers.items())
    )
    as_json = tmp_path / "headers.json"
    as_json.write_text(json.dumps(headers))

    for headers_file in (as_lines, as_json):
        result = verify(
            "--body",
            str(body),
            "--headers-file",
            str(headers_file),
            env={"PANCAKE_WEBHOOK_SECRET": SECRET},
        )
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output

    document = CliRunner().invoke(
        app,
        ["--json", "verify", "--body", str(body), "--headers-file", str(as_json)],
        env={"PANCAKE_WEBHOOK_SECRET": SECRET, "PANCAKE_API_KEY": None},
    )
    assert document.exit_code == 0, document.output
    assert json.loads(document.stdout) == {"authentic": True, "event": json.loads(BODY)}

    refused = CliRunner().invoke(
        app,
        ["--json", "verify", "--body", str(body), "--headers-file", str(as_json)],
        env={"PANCAKE_WEBHOOK_SECRET": generate_secret()},
    )
    assert refused.exit_code == 5
    assert json.loads(refused.stdout)["authentic"] is False


def test_several_secrets_during_a_rotation(saved: tuple[Path, list[str]]) -> None:
    body, headers = saved
    result = verify(
        "--secret",
        generate_secret(),
        "--secret",
        SECRET,
        "--body",
        str(body),
        *headers,
        "--ignore-timestamp",
    )
    assert result.exit_code == 0, result.output


def test_usage_errors_exit_2_and_never_show_the_secret(saved: tuple[Path, list[str]]) -> None:
    body, headers = saved
    not_a_secret = "whsec_not*base64*at*all"
    bad_secret = verify("--secret", not_a_secret, "--body", str(body), *headers)
    assert bad_secret.exit_code == 2
    assert "--secret is not a webhook secret" in bad_secret.stderr
    assert not_a_secret not in bad_secret.output

    no_secret = verify("--body", str(body), *headers)
    assert no_secret.exit_code == 2
    assert "--secret" in no_secret.output

    both = verify(
        "--secret", SECRET, "--body", str(body), *headers, "--ignore-timestamp", "--now", "1"
    )
    assert both.exit_code == 2
    bad_header = verify("--secret", SECRET, "--body", str(body), "-H", "no colon here")
    assert bad_header.exit_code == 2
    assert "expected 'Name: value'" in bad_header.stderr
    missing_body = verify("--secret", SECRET, "--body", str(body.with_name("nope.json")), *headers)
    assert missing_body.exit_code == 2


def test_a_delivery_the_receiver_saved_verifies(
    tmp_path: Path,
    webhook: Webhook,
    receiver: RecordingReceiver,
    cli: Callable[..., Result],
) -> None:
    """End to end: the sandbox signs a real delivery; the CLI checks what the receiver got."""
    assert cli("webhooks", "test", webhook.id).exit_code == 0
    delivered = receiver.received[-1]
    body = tmp_path / "delivery.json"
    body.write_bytes(delivered.body)
    headers = tmp_path / "headers.txt"
    headers.write_text("".join(f"{name}: {value}\n" for name, value in delivered.headers.items()))
    assert webhook.secret_key is not None

    result = verify(
        "--secret", webhook.secret_key, "--body", str(body), "--headers-file", str(headers)
    )
    assert result.exit_code == 0, result.output
    assert delivered.event_id in result.stdout
