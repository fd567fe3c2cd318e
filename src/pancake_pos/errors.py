"""The exception tree of the SDK.

```
PancakeError
├── APIError                        .message .request
│   ├── APIConnectionError
│   │   └── APITimeoutError
│   ├── APIStatusError              .status_code .response .body .code .request_id .details
│   │   ├── BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403,
│   │   ├── NotFoundError 404, ConflictError 409, UnprocessableEntityError 422,
│   │   ├── RateLimitError 429 (.retry_after), InternalServerError 5xx
│   └── APIResponseValidationError  .body
└── WebhookVerificationError
```

Every URL an error holds or shows has its API key replaced by `***`: `error.request` is a copy of
the request that was sent, with `api_key=***`. So do the exceptions chained to it (`__cause__`,
`__context__`, httpx's own with their `.request.url`), and a status error's `body`, `details` and
`response` when the server echoed the key.

Example:

    try:
        await client.webhooks.get_by_id("wh_404")
    except NotFoundError as error:
        print(error.code, error.message, error.request_id)   # not_found No webhook wh_404. req_x
    except APIStatusError as error:
        print(error.status_code, error.body)
    except APIConnectionError:
        print("the service could not be reached")
"""

from __future__ import annotations

from typing import Any

import httpx

from ._logging import redact_request

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PancakeError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
    "status_error_class",
]


class PancakeError(Exception):
    """The base of every exception the SDK raises on purpose.

    >>> try:
    ...     raise PancakeError("something went wrong")
    ... except PancakeError as error:
    ...     print(error)
    something went wrong
    """


class APIError(PancakeError):
    """A request to the API did not give a usable answer.

    Attributes:
        message: what went wrong, for people.
        request: the request (an `httpx.Request` whose URL reads `api_key=***`).
    """

    message: str
    request: httpx.Request

    def __init__(self, message: str, request: httpx.Request) -> None:
        super().__init__(message)
        self.message = message
        self.request = redact_request(request)


class APIConnectionError(APIError):
    """The service could not be reached, or the connection broke before a whole answer came back.

    The underlying `httpx` exception is chained as `__cause__`.
    """

    def __init__(self, request: httpx.Request, message: str = "Connection error.") -> None:
        super().__init__(message, request)


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, writing, reading or waiting for a pooled connection)."""

    def __init__(self, request: httpx.Request, message: str = "Request timed out.") -> None:
        super().__init__(request, message)


class APIStatusError(APIError):
    """The service answered with an error status (4xx or 5xx, or an unexpected 3xx).

    Attributes:
        status_code: the HTTP status.
        response: the `httpx.Response` (already read).
        body: the decoded JSON body, or the text when it is not JSON, or `None` when empty.
        code: `error.code` from the `{"success": false, "error": {...}}` envelope, if any.
        message: `error.message` from the envelope, else the status's reason phrase.
        details: `error.details` from the envelope, if any.
        request_id: the `X-Request-Id` header, if any; quote it when asking for support.
        retry_after: seconds the server asked to wait (`Retry-After`), if it said.

    `str(error)` reads like `404 not_found: No webhook wh_404. (request_id=req_x)`; a 422 also
    names each field problem of `details["errors"]`:
    `422 validation_error: The request is invalid. (events[0]: ...; url: ...)`.
    """

    status_code: int
    response: httpx.Response
    body: object
    code: str | None
    details: dict[str, Any] | None
    request_id: str | None
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, response.request)
        response.request = self.request
        self.status_code = response.status_code
        self.response = response
        self.body = body
        self.code = code
        self.details = details
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        label = self.code or self.response.reason_phrase or "error"
        text = f"{self.status_code} {label}"
        if self.message and self.message != label:
            text = f"{text}: {self.message}"
        problems = field_problems(self.details)
        if problems:
            text = f"{text} ({problems})"
        if self.request_id:
            text = f"{text} (request_id={self.request_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


_MAX_PROBLEMS_SHOWN = 10


def field_problems(details: object) -> str:
    """`details.errors` of an error answer as one line: `field: message; field: message`.

    >>> field_problems({"errors": [{"location": "body", "field": "url", "message": "bad"}]})
    'url: bad'
    """
    errors = details.get("errors") if isinstance(details, dict) else None
    if not isinstance(errors, list):
        return ""
    shown: list[str] = []
    for problem in errors:
        if isinstance(problem, str):
            shown.append(problem)
        elif isinstance(problem, dict) and isinstance(problem.get("message"), str):
            field = problem.get("field")
            prefix = f"{field}: " if isinstance(field, str) and field else ""
            shown.append(f"{prefix}{problem['message']}")
    if len(shown) > _MAX_PROBLEMS_SHOWN:
        more = len(shown) - _MAX_PROBLEMS_SHOWN
        shown = [*shown[:_MAX_PROBLEMS_SHOWN], f"and {more} more"]
    return "; ".join(shown)


class BadRequestError(APIStatusError):
    """400: the request is malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not act on this shop."""


class NotFoundError(APIStatusError):
    """404: the shop, webhook or delivery does not exist."""


class ConflictError(APIStatusError):
    """409: for example an `Idempotency-Key` already used with a different request."""


class UnprocessableEntityError(APIStatusError):
    """422: a parameter or body field is invalid; `details["errors"]` lists each problem."""


class RateLimitError(APIStatusError):
    """429: too many requests. `retry_after` holds the seconds the server asked to wait.

    The SDK waits and retries by itself when the wait is at most 60 seconds; a longer wait is not
    slept on, and this error is raised at once.
    """


class InternalServerError(APIStatusError):
    """5xx: the service failed or is briefly unavailable."""


class APIResponseValidationError(APIError):
    """A successful answer could not be read: not JSON, truncated, or not the documented shape.

    Attributes:
        body: the raw body exactly as received (`bytes`).
        response: the `httpx.Response`.
        status_code: its HTTP status.
    """

    body: bytes
    response: httpx.Response
    status_code: int

    def __init__(self, message: str, *, response: httpx.Response, body: bytes) -> None:
        super().__init__(message, response.request)
        response.request = self.request
        self.response = response
        self.status_code = response.status_code
        self.body = body


class WebhookVerificationError(PancakeError):
    """A received webhook failed verification (signature, timestamp, headers or body)."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an error status: 404 -> `NotFoundError`, 5xx ->
    `InternalServerError`, any other status -> `APIStatusError`.

    >>> status_error_class(404).__name__, status_error_class(503).__name__
    ('NotFoundError', 'InternalServerError')
    """
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)
