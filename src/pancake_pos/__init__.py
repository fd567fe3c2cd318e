"""pancake-pos: the Python SDK for the webhooks of the Pancake POS API.

>>> from pancake_pos import AsyncPancakeClient, PancakeClient
>>> PancakeClient.__name__, AsyncPancakeClient.__name__
('PancakeClient', 'AsyncPancakeClient')
"""

from typing import TYPE_CHECKING, Any

from ._client import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncPancakeClient
from ._recovery import RecoverResult
from ._types import NOT_GIVEN, NotGiven
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PancakeError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WebhookVerificationError,
)

if TYPE_CHECKING:
    from ._sync import PancakeClient

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPancakeClient",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "NotGiven",
    "PancakeClient",
    "PancakeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecoverResult",
    "UnprocessableEntityError",
    "WebhookVerificationError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The sync facade (its loop thread) is loaded on first use, so
    # an async service that never touches it does not pay for it at start-up.
    if name == "PancakeClient":
        from ._sync import PancakeClient

        return PancakeClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
