"""One API request: build it, send it through the shared pool, retry it, map errors, decode it.

The retry policy, a plain loop in `Transport._send`:

* GET, PUT and DELETE are retried on connection failures, timeouts and dropped connections, and
  on the statuses 408, 429, 500, 502, 503 and 504.
* POST is retried only when the server cannot have acted on it: the connection was never made
  (refused, connect timeout, no pooled connection), or it answered 429 or 503. Every POST carries
  an `Idempotency-Key`, the same on each of its retries.
* A server's `x-should-retry: true|false` header overrides the status rule.
* The wait is the server's `Retry-After` (seconds or an HTTP date) or `retry-after-ms` when it is
  more than 0 and at most 60 seconds; otherwise `min(0.5 * 2**n, 8)` seconds times a jitter
  factor in [0.75, 1]. A longer `Retry-After` is not slept on: the error is raised at once with
  its `.retry_after` set.

The transport sees httpx's exceptions only (`_engine` maps the aiohttp engine's), and sends
through the shared `HttpPool`. The API key is sent as the `api_key` query parameter and shown
nowhere: URLs in log lines and errors go through `redact_url()`, and the exceptions chained to
an error have it taken out.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import platform
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar, overload
from urllib.parse import quote, quote_plus, urlencode

import anyio
import httpx

from ._converter import structure
from ._json import DECODE_ERRORS as JSON_DECODE_ERRORS
from ._json import loads as json_loads
from ._logging import REDACTED, logger, redact_text, redact_url, scrub_exception_chain
from ._paths import path, path_segment
from ._pool import HttpPool
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    status_error_class,
)

__all__ = [
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "USER_AGENT",
    "HttpPool",
    "Sleep",
    "Transport",
    "backoff_delay",
    "parse_retry_after",
    "path_segment",
    "redact_url",
]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

USER_AGENT: Final = (
    f"pancake-pos/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
)
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
POST_RETRYABLE_STATUSES: Final = frozenset({429, 503})
MAX_RETRY_AFTER: Final = 60.0
"""The longest `Retry-After` (seconds) the SDK sleeps on before retrying."""

_ERROR_TEXT_LIMIT = 300


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """The wait the server asked for, in seconds: `retry-after-ms`, else `Retry-After` as seconds
    or as an HTTP date. `None` when absent or unreadable.

    >>> parse_retry_after(httpx.Headers({"Retry-After": "2"}))
    2.0
    >>> parse_retry_after(httpx.Headers({"retry-after-ms": "1500"}))
    1.5
    """
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            value = float(milliseconds) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return value
    text = headers.get("retry-after")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return when.timestamp() - (time.time() if now is None else now)
    return value if math.isfinite(value) else None


def backoff_delay(retry_number: int) -> float:
    """The wait before retry number `retry_number` (0 for the first) without a `Retry-After`:
    `min(0.5 * 2**n, 8)` seconds times a random factor in [0.75, 1]."""
    base: float = min(0.5 * 2.0**retry_number, 8.0)
    return base * random.uniform(0.75, 1.0)


def _describe(error: BaseException) -> str:
    """A short reason for a retry log line."""
    if isinstance(error, APIStatusError):
        return f"{error.status_code} {error.code or error.response.reason_phrase}".strip()
    cause = error.__cause__
    return type(cause if cause is not None else error).__name__


def _redirect_message(response: httpx.Response) -> str:
    """What a 3xx means here: the SDK follows no redirect, so it usually means a wrong base_url."""
    location = response.headers.get("location")
    if not location:
        return "the service answered with a redirect and no Location (is base_url right?)"
    target = redact_url(response.request.url.join(location))
    return (
        f"the service redirects to {target}; the SDK does not follow redirects (is base_url right?)"
    )


_WORD_CHARACTERS = "A-Za-z0-9_-"


def _value_pattern(forms: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern that finds any of `forms` standing as a value of its own: not inside a longer
    word, so that a short key (`e`) masks `key=e` or `"e"` but leaves `api_key` and `invalid`
    alone."""
    alternatives = "|".join(re.escape(form) for form in sorted(set(forms), key=len, reverse=True))
    return re.compile(rf"(?<![{_WORD_CHARACTERS}])(?:{alternatives})(?![{_WORD_CHARACTERS}])")


def _chained(error: BaseException) -> list[BaseException]:
    """Every exception reachable from `error` through causes, contexts and groups."""
    found: list[BaseException] = []
    seen = {id(error)}
    pending = [error]
    while pending:
        current = pending.pop()
        links = [current.__cause__, current.__context__]
        if isinstance(current, BaseExceptionGroup):
            links.extend(current.exceptions)
        for link in links:
            if link is not None and id(link) not in seen:
                seen.add(id(link))
                found.append(link)
                pending.append(link)
    return found


def _is_json(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return "json" in content_type.lower()


def _encode_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


class Transport:
    """Sends the requests of one client configuration (a client, or one of its copies).

    Example (what a resource method does):

        webhook = await transport.request("GET", "/webhooks/wh_1", cast_to=Webhook)
    """

    __slots__ = (
        "_headers",
        "_json_headers",
        "_key_pattern",
        "_key_query",
        "_prefix",
        "_timeout",
        "api_key",
        "base_url",
        "max_retries",
        "pool",
        "shop_id",
        "sleep",
        "timeout",
    )

    def __init__(
        self,
        *,
        pool: HttpPool,
        base_url: str,
        api_key: str,
        shop_id: str,
        timeout: httpx.Timeout,
        max_retries: int,
        headers: Mapping[str, str],
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.pool = pool
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.shop_id = shop_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep
        self._prefix = self.base_url + path("/shops/{shop_id}", shop_id=shop_id)
        self._key_query = "?" + urlencode({"api_key": api_key})
        self._timeout = timeout.as_dict()
        # Requests are built here rather than by `http_client.build_request()` (which parses and
        # merges on every call): the client's own default headers are merged once, now.
        merged = httpx.Headers(pool.http_client.headers)
        merged.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        merged.update(headers)
        self._headers = merged
        self._json_headers = merged.copy()
        self._json_headers["Content-Type"] = "application/json"
        self._key_pattern = _value_pattern(
            (api_key, path_segment(api_key), quote(api_key), quote_plus(api_key))
        )

    @property
    def headers(self) -> dict[str, str]:
        """The headers sent with every request (a copy)."""
        return dict(self._headers)

    def copy(
        self,
        *,
        timeout: httpx.Timeout | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Transport:
        """The same transport with some settings changed, on the same pool."""
        merged = self._headers
        if headers is not None:
            merged = merged.copy()
            merged.update(headers)
        return Transport(
            pool=self.pool,
            base_url=self.base_url,
            api_key=self.api_key,
            shop_id=self.shop_id,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            headers=merged,
            sleep=self.sleep,
        )

    # -- one call ---------------------------------------------------------------------------

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T],
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> T: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: None,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> None: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T] | None,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> T | None:
        """Send `method path` (relative to `/shops/{shop_id}`), retrying as the policy says, and
        decode the answer into `cast_to` (`None`: no body expected, as for DELETE).

        `params` are query parameters (values already checked, `None` already left out), `json`
        the JSON body. A POST gets an `Idempotency-Key` (`idempotency_key` or a new UUID).
        """
        request = self._build(method, path, params, json, idempotency_key)
        response = await self._send(request)
        return self._decode(response, cast_to)

    def _build(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> httpx.Request:
        url = self._prefix + path + self._key_query
        if params:
            url = f"{url}&{urlencode(params)}"
        headers = self._headers
        content = None
        if body is not None:
            headers = self._json_headers
            content = _encode_json(body)
        if method == "POST":
            headers = headers.copy()
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        return httpx.Request(
            method, url, headers=headers, content=content, extensions={"timeout": self._timeout}
        )

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        """One try: send, and turn a failure into the SDK's exception (raised)."""
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            logger.debug("Request: %s %s", request.method, redact_url(request.url))
        try:
            response = await self.pool.send(request)
        except httpx.HTTPError as error:
            failure: APIError = self._connection_error(request, error)
        else:
            if debug:
                logger.debug(
                    "Response: %s %s -> %d (request_id=%s)",
                    request.method,
                    redact_url(request.url),
                    response.status_code,
                    response.headers.get("x-request-id"),
                )
            if response.status_code < 300:
                return response
            failure = self._status_error(response)
        # Raised here, outside the `except` block, so that the exception being handled is not
        # chained as `__context__` a second time; its own chain has had the key taken out.
        raise failure

    def _connection_error(self, request: httpx.Request, error: httpx.HTTPError) -> APIError:
        kind, error_class = "Connection error", APIConnectionError
        if isinstance(error, httpx.TimeoutException):
            kind, error_class = "Request timed out", APITimeoutError
        failure = error_class(request, self._connection_message(kind, request, error))
        failure.__cause__ = error
        self._mask_chain(failure)
        return failure

    def _redact(self, text: str) -> str:
        """`text` with the key masked wherever it stands as a value, and `api_key=***`."""
        return redact_text(self._key_pattern.sub(REDACTED, text))

    def _mask_chain(self, failure: BaseException) -> None:
        """Take the key out of the exceptions chained to `failure`: their text where the key
        stands as a value, and (by `scrub_exception_chain`) every `api_key=` and request URL. A
        link whose text still shows the key is cut from the chain."""
        for link in _chained(failure):
            if not isinstance(link, BaseExceptionGroup):  # a group's text is its message
                link.args = tuple(
                    self._redact(arg) if isinstance(arg, str) else arg for arg in link.args
                )
            notes = getattr(link, "__notes__", None)
            if isinstance(notes, list):
                link.__notes__ = [self._redact(n) if isinstance(n, str) else n for n in notes]
        scrub_exception_chain(failure, ())
        for link in _chained(failure):
            try:
                shown = f"{link}{link!r}"
            except Exception:  # an exception that cannot be shown shows nothing
                continue
            if self._key_pattern.search(shown):
                for parent in [*_chained(failure), failure]:
                    if parent.__cause__ is link:
                        parent.__cause__ = None
                    if parent.__context__ is link:
                        parent.__context__ = None
                        parent.__suppress_context__ = True

    def _connection_message(self, kind: str, request: httpx.Request, error: httpx.HTTPError) -> str:
        detail = self._redact(str(error) or type(error).__name__)
        return f"{kind}: {request.method} {request.url.path}: {detail}"

    # -- retries ----------------------------------------------------------------------------

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, retrying as the policy says; raise the last failure."""
        retry_number = 0
        while True:
            try:
                return await self._attempt(request)
            except APIError as error:
                failure = error
            if retry_number >= self.max_retries or not self._should_retry(failure):
                raise failure
            wait = self._wait(failure, retry_number)
            self._log_retry(failure, retry_number, wait)
            await self.sleep(wait)
            retry_number += 1

    @staticmethod
    def _should_retry(error: BaseException) -> bool:
        if isinstance(error, APIStatusError):
            if error.retry_after is not None and error.retry_after > MAX_RETRY_AFTER:
                return False
            override = error.response.headers.get("x-should-retry")
            if override == "true":
                return True
            if override == "false":
                return False
            if error.request.method == "POST":
                return error.status_code in POST_RETRYABLE_STATUSES
            return error.status_code in RETRYABLE_STATUSES
        if isinstance(error, APIConnectionError):
            # A POST is resent only when it cannot have reached the server.
            never_made = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
            return error.request.method != "POST" or isinstance(error.__cause__, never_made)
        return False

    @staticmethod
    def _wait(error: APIError, retry_number: int) -> float:
        """The server's `Retry-After` when it is usable, else the backoff of `retry_number`."""
        retry_after = error.retry_after if isinstance(error, APIStatusError) else None
        if retry_after is not None and 0 < retry_after <= MAX_RETRY_AFTER:
            return retry_after
        return backoff_delay(retry_number)

    def _log_retry(self, error: APIError, retry_number: int, wait: float) -> None:
        logger.info(
            "Retrying %s %s (attempt %d of %d) after %s; waiting %.2f s",
            error.request.method,
            redact_url(error.request.url.path),
            retry_number + 2,
            self.max_retries + 1,
            _describe(error),
            wait,
        )

    # -- answers ----------------------------------------------------------------------------

    def _status_error(self, response: httpx.Response) -> APIStatusError:
        response = self._keyless_response(response)
        content = response.content
        body: object = None
        if content:
            try:
                body = json_loads(content)
            except JSON_DECODE_ERRORS:
                body = response.text
        code = message = None
        details: dict[str, Any] | None = None
        envelope = body.get("error") if isinstance(body, dict) else None
        if isinstance(envelope, dict):
            code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
            message = envelope.get("message") if isinstance(envelope.get("message"), str) else None
            details = envelope.get("details") if isinstance(envelope.get("details"), dict) else None
        elif (
            isinstance(body, str)
            and body.strip()
            and "html" not in response.headers.get("content-type", "")
        ):
            message = " ".join(body.split())[:_ERROR_TEXT_LIMIT]
        if 300 <= response.status_code < 400:
            message = _redirect_message(response)
        return status_error_class(response.status_code)(
            self._redact(message or response.reason_phrase or "error"),
            response=response,
            body=body,
            code=code,
            details=details,
            request_id=response.headers.get("x-request-id"),
            retry_after=parse_retry_after(response.headers),
        )

    def _keyless_response(self, response: httpx.Response) -> httpx.Response:
        """`response`, or a copy whose body no longer holds the key when the server echoed it."""
        text = response.content.decode("utf-8", "replace")
        redacted = self._redact(text)
        if redacted == text:
            return response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=redacted.encode("utf-8"),
            request=response.request,
            extensions=response.extensions,
        )

    @overload
    def _decode(self, response: httpx.Response, cast_to: type[T]) -> T: ...

    @overload
    def _decode(self, response: httpx.Response, cast_to: None) -> None: ...

    def _decode(self, response: httpx.Response, cast_to: type[T] | None) -> T | None:
        content = response.content
        if cast_to is None and (response.status_code == 204 or not content.strip()):
            return None
        if not _is_json(response):
            content_type = response.headers.get("content-type") or "no content type"
            raise self._invalid(response, f"expected JSON, got {content_type}")
        try:
            data = json_loads(content)
        except JSON_DECODE_ERRORS as error:
            raise self._invalid(response, f"the body is not valid JSON ({error})") from error
        if cast_to is None:
            return None
        try:
            return structure(data, cast_to)
        except Exception as error:  # whatever does not fit becomes APIResponseValidationError
            raise self._invalid(response, str(error)) from error

    def _invalid(self, response: httpx.Response, reason: str) -> APIResponseValidationError:
        request = response.request
        text = self._redact(reason)[:_ERROR_TEXT_LIMIT]
        return APIResponseValidationError(
            f"The answer to {request.method} {request.url.path} "
            f"({response.status_code}) could not be read: {text}",
            response=response,
            body=response.content,
        )
