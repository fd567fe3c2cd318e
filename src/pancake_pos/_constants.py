# Generated from openapi/pancake-pos-webhooks.yaml by python -m codegen; do not edit.
"""Limits and value lists stated by the API description."""

from __future__ import annotations

from typing import Final

__all__ = [
    "CLEAR_HISTORY_STATUSES",
    "DEFAULT_PAGE_SIZE",
    "DELIVERY_STATUS_FILTERS",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_PAGE_SIZE",
    "MAX_URL_LENGTH",
    "MIN_PAGE_SIZE",
]

MAX_ID_LENGTH: Final = 128
"""The longest id (shop, webhook, delivery)."""

MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
"""The longest `Idempotency-Key`."""

MAX_URL_LENGTH: Final = 2048
"""The longest webhook `url`."""

MAX_DESCRIPTION_LENGTH: Final = 500
"""The longest webhook `description`."""

MIN_PAGE_SIZE: Final = 1
"""The smallest `page_size`."""

MAX_PAGE_SIZE: Final = 100
"""The largest `page_size`."""

DEFAULT_PAGE_SIZE: Final = 20
"""The service's `page_size` when none is sent."""

DELIVERY_STATUS_FILTERS: Final = ("success", "failed")
"""The statuses the delivery history can be filtered on."""

CLEAR_HISTORY_STATUSES: Final = ("success", "failed")
"""The statuses `clear_delivery_history` can be limited to."""
