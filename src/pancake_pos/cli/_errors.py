"""Exit codes of `pancake-pos`, and how an exception becomes one line on stderr and a code.

Every command runs inside `ErrorHandlingGroup.invoke`, which turns the SDK's exceptions into
one line on stderr (the API's status, code, message and request id; never the API key) and a
distinct exit code. `--debug` adds the traceback, with secrets redacted as well.

Example:

    $ pancake-pos --api-key wrong webhooks list
    error: 401 unauthorized: Invalid API key. (request_id=req_5f0c...)
    $ echo $?
    3
"""

from __future__ import annotations

import enum
import json
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from .._logging import REDACTED, redact_url
from ..errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    PancakeError,
    WebhookVerificationError,
)

__all__ = ["EXIT_CODES_HELP", "CommandError", "ErrorHandlingGroup", "ExitCode"]


class ExitCode(enum.IntEnum):
    """What `pancake-pos` exits with."""

    OK = 0
    DELIVERY_FAILED = 1
    USAGE = 2
    API_STATUS = 3
    CONNECTION = 4
    VERIFICATION = 5
    RESPONSE_VALIDATION = 6
    INTERNAL = 70
    INTERRUPTED = 130


_EXIT_CODE_LINES = (
    (0, "success"),
    (1, "a delivery the command sent failed at the receiver, or events are still failing"),
    (2, "usage error: a bad or missing option or argument (no API key, a bad date...)"),
    (3, "the API answered with an error status (4xx, 5xx): status, code, message, request id"),
    (4, "the API could not be reached (connection refused, DNS, timeout)"),
    (5, "verify: the delivery is not authentic"),
    (6, "the API's answer could not be read (not the documented shape)"),
    (70, "internal error (a bug: run again with --debug and report the traceback)"),
    (130, "interrupted (Ctrl-C)"),
)
# Typer's help renders the epilog as Markdown, one line per paragraph: each line ends with a
# backslash, Markdown's line break, to keep the codes on lines of their own.
EXIT_CODES_HELP = "\\\n\n".join(
    ["**Exit codes**"] + [f"`{code}` {meaning}" for code, meaning in _EXIT_CODE_LINES]
)


class CommandError(Exception):
    """A problem a command reports as one line on stderr, with an exit code (usage by default).

    Example:

        raise CommandError("refusing to delete without --yes when not interactive")
    """

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def describe(error: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one-line message of an exception raised by a command."""
    if isinstance(error, CommandError):
        return error.exit_code, error.message
    if isinstance(error, APIStatusError):
        return ExitCode.API_STATUS, str(error)
    if isinstance(error, APIConnectionError):
        return ExitCode.CONNECTION, _connection_message(error)
    if isinstance(error, APIResponseValidationError):
        return (
            ExitCode.RESPONSE_VALIDATION,
            f"the API's answer could not be read (HTTP {error.status_code}): {error.message}",
        )
    if isinstance(error, WebhookVerificationError):
        return ExitCode.VERIFICATION, f"not authentic: {error}"
    if isinstance(error, PancakeError):
        return ExitCode.USAGE, str(error)
    if isinstance(error, ValueError):
        # The SDK checks every argument before sending anything and names the bad one.
        return ExitCode.USAGE, f"invalid argument: {error}"
    return (
        ExitCode.INTERNAL,
        f"internal error ({type(error).__name__}: {error}); rerun with --debug",
    )


def _connection_message(error: APIConnectionError) -> str:
    url = error.request.url
    where = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"
    what = "timed out talking to" if isinstance(error, APITimeoutError) else "could not reach"
    message = error.message
    cause = error.__cause__
    if cause is not None and str(cause) and str(cause) not in message:
        message += f" ({type(cause).__name__}: {cause})"
    return f"{what} {where}: {message}"


def mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with each secret masked where it stands as a value: `api_key=...`, and each
    secret as a whole token (never its letters inside other words: a key `test` leaves
    "latest" and "order.test" alone)."""
    text = redact_url(text)
    for secret in secrets:
        if secret:
            pattern = rf"(?<![\w.\-]){re.escape(secret)}(?![\w.\-])"
            text = re.sub(pattern, REDACTED, text)
    return text


def error_document(error: BaseException, code: ExitCode, message: str) -> dict[str, Any]:
    """`{"error": {"type", "message", "status_code", "request_id"}}` for `--json`."""
    if isinstance(error, CommandError):
        kind = "UsageError" if code == ExitCode.USAGE else "CommandError"
    elif isinstance(error, click.ClickException):
        kind = "UsageError"
    else:
        kind = type(error).__name__
    return {
        "error": {
            "type": kind,
            "message": message,
            "status_code": getattr(error, "status_code", None),
            "request_id": getattr(error, "request_id", None),
        }
    }


def report(
    error: BaseException,
    *,
    debug: bool,
    secrets: Sequence[str],
    stderr: Console,
    json_mode: bool = False,
) -> ExitCode:
    """Print `error` on stderr (one line, or a JSON document with `json_mode`; with the
    traceback when `debug`), return its code."""
    code, message = describe(error)
    hidden = tuple(secret for secret in secrets if secret)
    message = mask(message, hidden)
    if debug:
        trace = "".join(traceback.format_exception(error))
        stderr.print(escape(mask(trace, hidden)), end="", soft_wrap=True)
    if json_mode:
        _json_line(error_document(error, code, message))
    else:
        stderr.print(f"error: {escape(message)}", soft_wrap=True)
    return code


def _json_line(document: dict[str, Any]) -> None:
    sys.stderr.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stderr.flush()


class ErrorHandlingGroup(TyperGroup):
    """The root command group: runs a command and maps its exceptions to exit codes.

    The command line's state (`--debug`, the secrets to hide) is read from `ctx.obj`, which
    the root callback fills in.
    """

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except click.ClickException as error:
            if not (getattr(ctx.obj, "json_mode", False) or ctx.params.get("json_mode")):
                raise  # click prints its usage line and message
            message = mask(error.format_message(), tuple(getattr(ctx.obj, "secrets", ())))
            _json_line(error_document(error, ExitCode.USAGE, message))
            raise typer.Exit(error.exit_code) from None
        except BrokenPipeError:
            raise  # stdout closed early (`| head`): Typer exits quietly
        except Exception as error:
            state = ctx.obj
            debug = bool(getattr(state, "debug", False))
            secrets: Sequence[str] = getattr(state, "secrets", ())
            stderr = getattr(state, "stderr", None) or Console(stderr=True, highlight=False)
            json_mode = bool(getattr(state, "json_mode", False))
            code = report(error, debug=debug, secrets=secrets, stderr=stderr, json_mode=json_mode)
            raise typer.Exit(code) from None
