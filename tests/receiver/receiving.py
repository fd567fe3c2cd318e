"""Helpers of the receiver's tests: the receiver's secret, signed deliveries, free ports."""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

from pancake_pos.signing import build_headers, generate_secret

SECRET = generate_secret()

Delivery = tuple[bytes, dict[str, str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_delivery(
    event: str = "order.created",
    data: dict[str, Any] | None = None,
    *,
    msg_id: str | None = None,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> Delivery:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    payload = {
        "id": msg_id,
        "event": event,
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {"id": 1024, "status_name": "new"} if data is None else data,
    }
    body = json.dumps(payload).encode()
    headers = build_headers(secret, msg_id, timestamp or int(time.time()), body)
    return body, headers
