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
    "redact_data",
    "redact_request",
    "redact_text",
    "redact_url",
    "scrub_exception_chain",
]

logger = logging.getLogger("pancake_pos")
"""The SDK's logger: retries at INFO, every request and response at DEBUG."""

REDACTED = "***"

_API_KEY_PARAM = re.compile(r"(api_key=)[^&#\s'\"<>]*", re.IGNORECASE)
_USERINFO_PASSWORD = re.compile(r"(//[^/?#@:\s]*:)[^/?#@\s]*@")
_UNREDACTED_KEY = re.compile(r"api_key=(?!\*\*\*)[^&#\s'\"<>\\]", re.IGNORECASE)
_HANDLER_NAME = "pancake_pos.env"


def redact_url(url: httpx.URL | str) -> str:
    """Return `url` as a string with the value of its `api_key` query parameter, and a password
    in it, replaced by `***`.

    >>> redact_url("http://127.0.0.1:8765/api/v1/shops/s/webhooks?api_key=k")
    'http://127.0.0.1:8765/api/v1/shops/s/webhooks?api_key=***'
    >>> redact_url("https://user:pw@pos.example.com/api/v1")
    'https://user:***@pos.example.com/api/v1'
    """
    text = _USERINFO_PASSWORD.sub(r"\g<1>" + REDACTED + "@", str(url))
    return _API_KEY_PARAM.sub(r"\g<1>" + REDACTED, text)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return `text` with every literal secret and every `api_key=...` value replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _API_KEY_PARAM.sub(r"\g<1>" + REDACTED, text)


def redact_data(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """A copy of decoded JSON `value` with every string passed through `redact_text()`."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {
            redact_text(key, secrets) if isinstance(key, str) else key: redact_data(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_data(item, secrets) for item in value]
    return value


def redact_request(request: httpx.Request) -> httpx.Request:
    """A copy of `request` whose URL shows `api_key=***` (headers and body kept)."""
    url = redact_url(request.url)
    if url == str(request.url):
        return request
    try:
        content: bytes | None = request.content
    except httpx.RequestNotRead:
        content = None
    return httpx.Request(
        request.method,
        url,
        headers=request.headers,
        content=content,
        extensions=request.extensions,
    )


def scrub_exception_chain(error: BaseException, secrets: tuple[str, ...]) -> None:
    """Take the key out of every exception chained to `error` (causes, contexts, groups).

    Error trackers record chained exceptions, and httpx's own carry the request, whose URL
    holds the key. Each link's `args`, notes and `.request` are redacted in place; a link whose
    text still shows a secret after that is cut from the chain.
    """
    seen = {id(error)}
    pending: list[tuple[BaseException, BaseException]] = [
        (error, linked) for linked in _links(error)
    ]
    while pending:
        parent, link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        _scrub(link, secrets)
        if _shows_secret(link, secrets):
            _unlink(parent, link)
            continue
        pending.extend((link, linked) for linked in _links(link))


def _links(error: BaseException) -> list[BaseException]:
    linked = [item for item in (error.__cause__, error.__context__) if item is not None]
    if isinstance(error, BaseExceptionGroup):
        linked.extend(error.exceptions)
    return linked


def _scrub(error: BaseException, secrets: tuple[str, ...]) -> None:
    if not isinstance(error, BaseExceptionGroup):  # a group's text is its message, kept apart
        error.args = tuple(redact_data(arg, secrets) for arg in error.args)
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        error.__notes__ = [redact_data(note, secrets) for note in notes]
    if isinstance(error, httpx.RequestError | httpx.HTTPStatusError):
        try:
            request = error.request
        except RuntimeError:  # an httpx error raised without a request
            return
        error.request = redact_request(request)


def _shows_secret(error: BaseException, secrets: tuple[str, ...]) -> bool:
    try:
        text = f"{error}{error!r}"
    except Exception:  # an exception that cannot be shown shows nothing
        return False
    return any(secret and secret in text for secret in secrets) or bool(
        _UNREDACTED_KEY.search(text)
    )


def _unlink(parent: BaseException, link: BaseException) -> None:
    if parent.__cause__ is link:
        parent.__cause__ = None
    if parent.__context__ is link:
        parent.__context__ = None
        parent.__suppress_context__ = True


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
