"""The `pancake_pos` logger, the `PANCAKE_LOG` switch, and the redaction of the API key.

The API key travels in the `api_key` query parameter, so any URL the SDK shows (log lines,
exception messages, reprs) goes through `redact_url()` first, and a filter on the `httpx` logger
does the same for the request line httpx logs itself at INFO.

Example:

    >>> redact_url("https://pos.pages.fm/api/v1/shops/s1/webhooks?api_key=sk_live_123&x=1")
    'https://pos.pages.fm/api/v1/shops/s1/webhooks?api_key=***&x=1'
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

import httpx

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "configure_logging_from_env",
    "install_httpx_redaction",
    "logger",
    "redact_text",
    "redact_url",
]

logger = logging.getLogger("pancake_pos")
"""The SDK's logger: retries at INFO, every request and response at DEBUG."""

REDACTED = "***"

_API_KEY_PARAM = re.compile(r"(api_key=)[^&#\s'\"<>]*", re.IGNORECASE)
_HANDLER_NAME = "pancake_pos.env"


def redact_url(url: httpx.URL | str) -> str:
    """Return `url` as a string with the value of its `api_key` query parameter replaced by `***`.

    >>> redact_url("http://127.0.0.1:8765/api/v1/shops/s/webhooks?api_key=k")
    'http://127.0.0.1:8765/api/v1/shops/s/webhooks?api_key=***'
    """
    return _API_KEY_PARAM.sub(r"\g<1>" + REDACTED, str(url))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return `text` with every `api_key=...` value and every literal secret replaced by `***`."""
    text = _API_KEY_PARAM.sub(r"\g<1>" + REDACTED, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _redact_arg(value: object) -> object:
    if isinstance(value, str | httpx.URL | httpx.Request):
        text = str(value) if not isinstance(value, httpx.Request) else repr(value)
        if "api_key=" in text.lower():
            return redact_text(text)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites `api_key=<value>` to `api_key=***` in a record.

    Installed once on the `httpx` logger (whose INFO line is `HTTP Request: GET <url> ...`); it
    never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "api_key=" in record.msg.lower():
            record.msg = redact_text(record.msg)
        args: Any = record.args
        if isinstance(args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in args)
        elif isinstance(args, dict):
            record.args = {key: _redact_arg(value) for key, value in args.items()}
        return True


def install_httpx_redaction() -> None:
    """Add a `RedactingFilter` to the `httpx` logger, once (calling it again changes nothing)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactingFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(RedactingFilter())


def configure_logging_from_env() -> None:
    """Honour `PANCAKE_LOG=debug|info`: add one stderr handler to the `pancake_pos` logger.

    Does nothing when the variable is unset or has another value, or when the handler is there
    already.

        $ PANCAKE_LOG=info python my_script.py    # retries are printed on stderr
    """
    level_name = os.environ.get("PANCAKE_LOG", "").strip().lower()
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(level_name)
    if level is None:
        return
    logger.setLevel(level)
    if any(handler.get_name() == _HANDLER_NAME for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
