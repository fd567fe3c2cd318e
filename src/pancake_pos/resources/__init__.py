"""The API's resources: one module per resource, the async class and its sync twin side by side."""

from __future__ import annotations

from .webhooks import AsyncWebhooks, Webhooks

__all__ = ["AsyncWebhooks", "Webhooks"]
