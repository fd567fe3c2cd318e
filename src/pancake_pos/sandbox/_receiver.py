"""A webhook receiver that verifies and records every delivery (for the demo and the tests).

It answers 401 to a delivery whose signature does not verify with any trusted secret, and can be
told to refuse deliveries (answer 500 or any status): the next `n` ones, or those a rule picks.

Example:

    with RecordingReceiver() as receiver:
        receiver.trust(webhook.secret_key)
        ...                                   # register receiver.url, emit events
        received = receiver.wait_for(3)       # the first 3 deliveries
        assert all(delivery.verified for delivery in received)
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import WebhookVerificationError
from ..signing import WebhookVerifier
from ._server import ThreadedUvicorn

__all__ = ["ReceivedDelivery", "RecordingReceiver"]

Rule = Callable[[dict[str, Any]], int | None]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReceivedDelivery:
    """One delivery as the receiver saw it, and what it answered."""

    body: bytes
    headers: dict[str, str]
    verified: bool
    payload: dict[str, Any] | None
    status_code: int

    @property
    def event_id(self) -> str:
        """The `webhook-id` header."""
        return self.headers.get("webhook-id", "")


class RecordingReceiver:
    """A Starlette receiver on a free loopback port, served in a background thread."""

    def __init__(self, *secrets: str, path: str = "/webhooks", host: str = "127.0.0.1") -> None:
        self.path = path
        self._host = host
        self._secrets: list[str] = list(secrets)
        self._lock = threading.Condition()
        self._received: list[ReceivedDelivery] = []
        self._failures: collections.deque[int] = collections.deque()
        self.rule: Rule | None = None
        self.app = Starlette(routes=[Route(path, self._endpoint, methods=["POST"])])
        self._runner: ThreadedUvicorn | None = None

    @property
    def url(self) -> str:
        """The URL to register as a webhook."""
        if self._runner is None:
            raise RuntimeError("the receiver is not running")
        return f"http://{self._host}:{self._runner.port}{self.path}"

    def trust(self, *secrets: str) -> None:
        """Accept signatures made with these secrets too."""
        with self._lock:
            self._secrets.extend(secrets)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer `status` to the next `count` deliveries (verified ones)."""
        with self._lock:
            self._failures.extend([status] * count)

    @property
    def received(self) -> list[ReceivedDelivery]:
        """Every delivery received so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedDelivery]:
        """Block until `count` deliveries have arrived; return them (`TimeoutError` otherwise)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self._received)} deliveries arrived, {count} were expected"
                    )
                self._lock.wait(left)
            return list(self._received)

    def _decide(self, payload: dict[str, Any]) -> int:
        with self._lock:
            if self._failures:
                return self._failures.popleft()
            rule = self.rule
        status = rule(payload) if rule is not None else None
        return 200 if status is None else status

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
            secrets = list(self._secrets)
        payload: dict[str, Any] | None = None
        try:
            if not secrets:
                raise WebhookVerificationError("no secret to verify with")
            WebhookVerifier(secrets).verify(body, headers)
            verified = True
            payload = json.loads(body)
        except WebhookVerificationError:
            verified = False
        status = self._decide(payload) if payload is not None else 401
        with self._lock:
            self._received.append(
                ReceivedDelivery(
                    body=body,
                    headers=headers,
                    verified=verified,
                    payload=payload,
                    status_code=status,
                )
            )
            self._lock.notify_all()
        if status < 300:
            return JSONResponse({"ok": True}, status_code=status)
        return JSONResponse({"ok": False, "error": f"refused with {status}"}, status_code=status)

    def start(self) -> RecordingReceiver:
        """Start serving on a free port."""
        runner = ThreadedUvicorn(self.app, self._host, 0)
        runner.start()
        self._runner = runner
        return self

    def stop(self) -> None:
        """Stop serving."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()

    def __enter__(self) -> RecordingReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
