"""The sandbox's settings, and the small helpers every sandbox module shares (ids, clock)."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from .._version import __version__

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "SandboxConfig",
    "format_timestamp",
    "from_micros",
    "new_id",
    "parse_retry_schedule",
    "to_micros",
    "utc_now",
]

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (1.0, 5.0, 30.0)


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def new_id(prefix: str, nbytes: int = 12) -> str:
    """A random id such as `wh_3q2...`: `prefix`, an underscore, URL-safe random characters."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes).replace('-', 'x').replace('_', 'y')}"


def to_micros(moment: datetime) -> int:
    """`moment` as integer microseconds since the Unix epoch (what the store keeps)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The inverse of `to_micros`."""
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


def format_timestamp(micros: int) -> str:
    """RFC 3339 in UTC with a `Z` and microseconds: `2024-04-29T10:15:01.123456Z`."""
    return from_micros(micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_retry_schedule(text: str) -> tuple[float, ...]:
    """`"1,5,30"` -> `(1.0, 5.0, 30.0)`; an empty string turns automatic retries off.

    >>> parse_retry_schedule("0.2, 0.5")
    (0.2, 0.5)
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        delays = tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(f"retry schedule must be comma-separated seconds, got {text!r}") from None
    if any(delay < 0 for delay in delays):
        raise ValueError(f"retry schedule delays must not be negative, got {text!r}")
    return delays


@dataclasses.dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    """Everything a sandbox instance needs to know.

    Example:

        >>> config = SandboxConfig(api_key="sk_test", shop_id="shop_1", retry_schedule=(0.2,))
        >>> config.retry_schedule
        (0.2,)

    `db` is a SQLite file that keeps the state across restarts (memory when `None`).
    `retry_schedule` are the waits, in seconds, before each automatic retry of a failed delivery.
    `delivery_timeout` bounds each delivery; `rotation_grace` is how long, in seconds, deliveries
    stay signed with a secret after a rotation replaced it. `loopback_only` refuses deliveries
    to any host but this machine (the test suites use it so that fuzzed URLs never leave the
    machine). `delivery_workers` deliveries run at once at most, and no more than
    `deliveries_per_webhook` of them to the same webhook.
    """

    api_key: str
    shop_id: str
    db: str | os.PathLike[str] | None = None
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    delivery_timeout: float = 5.0
    rotation_grace: float = 24 * 3600.0
    loopback_only: bool = False
    delivery_workers: int = 16
    deliveries_per_webhook: int = 8
    user_agent: str = f"pancake-pos-sandbox/{__version__}"
    clock: Callable[[], datetime] = utc_now

    def __post_init__(self) -> None:
        if self.delivery_workers < 1:
            raise ValueError(f"delivery_workers must be at least 1, got {self.delivery_workers}")
        if not 1 <= self.deliveries_per_webhook <= self.delivery_workers:
            raise ValueError(
                "deliveries_per_webhook must be from 1 to delivery_workers, "
                f"got {self.deliveries_per_webhook}"
            )
        if self.rotation_grace < 0:
            raise ValueError(f"rotation_grace must not be negative, got {self.rotation_grace}")

    def __repr__(self) -> str:
        return (
            f"SandboxConfig(api_key='***', shop_id={self.shop_id!r}, db={self.db!r}, "
            f"retry_schedule={self.retry_schedule!r})"
        )
