"""`pancake-pos verify`: is a saved delivery authentic, and if not, why not.

It checks the body's exact bytes and the `webhook-id`, `webhook-timestamp` and
`webhook-signature` headers against the webhook's secret with `WebhookVerifier`, the same check
receivers run. The secret is never printed (error messages and tracebacks show `***`).

Example:

    $ pancake-pos verify --secret "$SECRET" --body body.json --headers-file headers.txt \\
        --ignore-timestamp
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ..errors import WebhookVerificationError
from ..models import WebhookEventPayload
from ..signing import DEFAULT_TOLERANCE, WebhookVerifier
from ._context import cli_state
from ._errors import CommandError
from ._output import Output, details, text, when

__all__ = ["verify"]


def _read_bytes(path: Path, option: str) -> bytes:
    try:
        if str(path) == "-":
            return sys.stdin.buffer.read()
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {option} {path}: {error.strerror or error}") from None


def _header_line(line: str, where: str) -> tuple[str, str]:
    name, colon, value = line.partition(":")
    if not colon or not name.strip():
        raise CommandError(f"{where}: expected 'Name: value', got {line.strip()[:60]!r}")
    return name.strip().lower(), value.strip()


def parse_headers(lines: Sequence[str], headers_file: Path | None) -> dict[str, str]:
    """The headers from `--headers-file` (`Name: value` lines or a JSON object), then `--header`."""
    headers: dict[str, str] = {}
    if headers_file is not None:
        content = _read_bytes(headers_file, "--headers-file").decode("utf-8", "replace")
        if content.lstrip().startswith("{"):
            try:
                document = json.loads(content)
            except ValueError as error:
                raise CommandError(f"--headers-file is not valid JSON: {error}") from None
            if not isinstance(document, dict):
                raise CommandError("--headers-file must hold a JSON object of headers")
            headers.update({str(name).lower(): str(value) for name, value in document.items()})
        else:
            for number, line in enumerate(content.splitlines(), start=1):
                if line.strip() and not line.lstrip().startswith("#"):
                    name, value = _header_line(line, f"--headers-file line {number}")
                    headers[name] = value
    for line in lines:
        name, value = _header_line(line, "--header")
        headers[name] = value
    return headers


def parse_now(value: str) -> datetime.datetime:
    """`--now`: Unix seconds, or an ISO 8601 date-time (UTC when it has no offset)."""
    try:
        return datetime.datetime.fromtimestamp(float(value), datetime.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--now must be Unix seconds or an ISO 8601 date-time, got {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _verifier(secrets: list[str], *, ignore_timestamp: bool, tolerance: int) -> WebhookVerifier:
    try:
        if ignore_timestamp:
            return WebhookVerifier.without_timestamp_check(secrets)
        return WebhookVerifier(secrets, tolerance=tolerance)
    except (ValueError, TypeError) as error:
        raise CommandError(f"--secret is not a webhook secret (whsec_...): {error}") from None


def _why_not(
    error: WebhookVerificationError,
    verifier: WebhookVerifier,
    body: bytes,
    headers: dict[str, str],
    now: datetime.datetime | None,
) -> str:
    """The verifier's reason, with a hint when a usual mistake explains it."""
    reason = str(error)
    if "too old" in reason or "too new" in reason:
        return f"{reason}; for a saved delivery pass --ignore-timestamp or --now"
    trimmed = body.rstrip(b"\r\n")
    if "no signature matched" in reason and trimmed != body:
        try:
            verifier.verify_signature(trimmed, headers, now=now)
        except WebhookVerificationError:
            return reason
        return (
            f"{reason}; it matches without the newline at the end of the body file "
            "(was it added when saving?)"
        )
    return reason


def verify(
    ctx: typer.Context,
    body: Annotated[
        Path,
        typer.Option(
            help="The delivery's raw body, exactly as received ('-' reads stdin).",
            allow_dash=True,
            dir_okay=False,
        ),
    ],
    secrets: Annotated[
        list[str],
        typer.Option(
            "--secret",
            envvar="PANCAKE_WEBHOOK_SECRET",
            show_envvar=True,
            help="The webhook's secret, whsec_... (repeat during a rotation). Never printed. "
            "Prefer the environment variable: command lines are visible to other users.",
            show_default=False,
        ),
    ],
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            help="A header as 'Name: value' (repeat for webhook-id, webhook-timestamp, "
            "webhook-signature).",
            show_default=False,
        ),
    ] = None,
    headers_file: Annotated[
        Path | None,
        typer.Option(help="A file of 'Name: value' lines, or a JSON object of headers."),
    ] = None,
    ignore_timestamp: Annotated[
        bool,
        typer.Option(
            "--ignore-timestamp",
            help="Do not check the timestamp's age (for deliveries saved long ago).",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            help="Check the timestamp against this moment instead of now (Unix seconds or ISO "
            "8601, such as when the delivery was received).",
            show_default=False,
        ),
    ] = None,
    tolerance: Annotated[
        int, typer.Option(min=0, help="Seconds the timestamp may be away from now.")
    ] = DEFAULT_TOLERANCE,
) -> None:
    """Check that a saved delivery is authentic (exit 0) or say why it is not (exit 5).

    Needs no API key. The body must be the exact bytes received.

    Example:

    ```
    export PANCAKE_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    pancake-pos verify --body body.json --ignore-timestamp \\
        -H 'webhook-id: msg_2ZbX9' -H 'webhook-timestamp: 1714385700' \\
        -H 'webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='

    pancake-pos verify --body body.json --headers-file headers.txt --now 2024-04-29T10:15:02Z
    ```
    """
    state = cli_state(ctx)
    for secret in secrets:
        state.hide(secret)
    if ignore_timestamp and now is not None:
        raise CommandError("--ignore-timestamp and --now cannot be used together")
    moment = None if now is None else parse_now(now)
    headers = parse_headers(header or [], headers_file)
    raw_body = _read_bytes(body, "--body")
    verifier = _verifier(secrets, ignore_timestamp=ignore_timestamp, tolerance=tolerance)
    try:
        event = verifier.verify(raw_body, headers, now=moment)
    except WebhookVerificationError as error:
        reason = _why_not(error, verifier, raw_body, headers, moment)
        if state.json_mode:
            state.output.json({"authentic": False, "reason": reason})
        raise WebhookVerificationError(reason) from None
    _show_authentic(state.output, event, headers, ignore_timestamp=ignore_timestamp, now=moment)


def _show_authentic(
    output: Output,
    event: WebhookEventPayload,
    headers: dict[str, str],
    *,
    ignore_timestamp: bool,
    now: datetime.datetime | None,
) -> None:
    if output.json_mode:
        output.json({"authentic": True, "event": event})
        return
    signed_at = datetime.datetime.fromtimestamp(int(headers["webhook-timestamp"]), datetime.UTC)
    if ignore_timestamp:
        timestamp_check = "skipped (--ignore-timestamp)"
    elif now is not None:
        timestamp_check = f"passed, against {now.isoformat()}"
    else:
        timestamp_check = "passed"
    output.print(Text("Authentic: the signature matches the secret.", style="green"))
    output.print(
        details(
            [
                ("Event id", text(event.id)),
                ("Event", text(event.event)),
                ("Shop", text(event.shop_id)),
                ("Created", when(event.created_at)),
                ("Signed at", when(signed_at)),
                ("Timestamp check", text(timestamp_check)),
            ]
        )
    )
