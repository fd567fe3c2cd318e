"""The request pipeline: the steps every API call goes through before its handler.

In order: the `api_key` (401, checked first), the shop (404), the path, query and header
parameters (422), the body's size (413 over `BODY_LIMIT`), the `Idempotency-Key` of a POST
(the first answer replayed; 409 when the same key comes with a different request), the body
(400 when it is not JSON, 422 when it does not fit the schema), then the handler.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._constants import MAX_ID_LENGTH
from ._config import SandboxConfig, to_micros
from ._errors import APIProblem, error_response, invalid
from ._handlers import Call, Handler
from ._spec import Operation
from ._store import IdempotencyRecord, Store
from ._validation import BodyNotJSON, check_body, check_parameters, parse_json

__all__ = ["BODY_LIMIT", "IDEMPOTENCY_TTL", "OperationEndpoint", "Pipeline", "authorized"]

BODY_LIMIT = 1024 * 1024
"""The largest request body the sandbox reads, in bytes; a larger one is answered 413."""
IDEMPOTENCY_TTL = 24 * 3600 * 1_000_000
"""How long (microseconds) an `Idempotency-Key` is remembered."""


def authorized(request: Request, api_key: str) -> bool:
    """Whether the request's `api_key` query parameter is the sandbox's key."""
    given = request.query_params.get("api_key", "")
    return hmac.compare_digest(given.encode(), api_key.encode())


async def read_body(request: Request, limit: int = BODY_LIMIT) -> bytes:
    """The request body; `APIProblem` 413 as soon as it is known to be over `limit` bytes."""
    too_large = APIProblem(
        413,
        "payload_too_large",
        f"The request body is larger than {limit} bytes.",
        {"limit": limit},
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise too_large
    return bytes(received)


def _fingerprint(method: str, path: str, raw: bytes) -> str:
    """What tells two requests apart: method, path and the body as JSON (or as bytes)."""
    try:
        canonical = json.dumps(parse_json(raw), sort_keys=True, separators=(",", ":")).encode()
    except BodyNotJSON:  # answered with 400 later; the raw bytes tell such requests apart
        canonical = raw
    return hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest()


@dataclasses.dataclass(frozen=True)
class _Request:
    """A request whose key, shop and parameters are checked; its body is not yet read as JSON."""

    operation: Operation
    shop_id: str
    path: dict[str, str]
    query: dict[str, str]
    raw: bytes


@dataclasses.dataclass(kw_only=True)
class Pipeline:
    """What every endpoint shares: settings, store, handlers, the idempotency locks."""

    config: SandboxConfig
    store: Store
    handlers: dict[str, Handler]
    idempotency_locks: dict[tuple[str, str], asyncio.Lock] = dataclasses.field(default_factory=dict)


class OperationEndpoint:
    """The endpoint of one path: runs the common steps, then the operation's handler."""

    def __init__(self, pipeline: Pipeline, operations: dict[str, Operation]) -> None:
        self.pipeline = pipeline
        self.operations = operations

    async def endpoint(self, request: Request) -> Response:
        """The Starlette endpoint."""
        method = "GET" if request.method == "HEAD" else request.method
        operation = self.operations[method]
        try:
            return await self._handle(request, operation)
        except APIProblem as problem:
            return problem.response()

    async def _handle(self, request: Request, operation: Operation) -> Response:
        pipeline = self.pipeline
        if not authorized(request, pipeline.config.api_key):
            raise APIProblem(401, "unauthorized", "Missing or invalid api_key.")
        shop_id = request.path_params["shop_id"]
        if shop_id != pipeline.config.shop_id:
            raise APIProblem(
                404, "not_found", f"No shop {shop_id}.", {"shop_id": shop_id[:MAX_ID_LENGTH]}
            )
        path = {name: str(value) for name, value in request.path_params.items()}
        query = {name: value for name, value in request.query_params.items() if name != "api_key"}
        problems = check_parameters(
            operation, path=path, query=query, headers=dict(request.headers)
        )
        if problems:
            raise invalid(problems)
        raw = await read_body(request)
        checked = _Request(operation, shop_id, path, query, raw)
        key = request.headers.get("idempotency-key") if operation.method == "POST" else None
        if key is None:
            return await self._run(checked)
        fingerprint = _fingerprint(operation.method, request.url.path, raw)
        lock_key = (shop_id, key)
        lock = pipeline.idempotency_locks.setdefault(lock_key, asyncio.Lock())
        try:
            async with lock:
                return await self._once(checked, (request.url.path, key, fingerprint))
        finally:
            if not lock.locked() and pipeline.idempotency_locks.get(lock_key) is lock:
                del pipeline.idempotency_locks[lock_key]

    async def _once(self, checked: _Request, idempotency: tuple[str, str, str]) -> Response:
        """Answer a POST with an `Idempotency-Key`: the first answer again, or do the work.

        A key belongs to the shop, not to a path: the same key with any other request (another
        body, another path) answers 409.
        """
        store = self.pipeline.store
        shop_id = checked.shop_id
        url_path, key, fingerprint = idempotency
        now = to_micros(self.pipeline.config.clock())
        first = store.get_idempotent(shop_id, key)
        if first is not None and now - first.created_at < IDEMPOTENCY_TTL:
            if first.fingerprint != fingerprint:
                raise APIProblem(
                    409,
                    "idempotency_conflict",
                    "This Idempotency-Key was used for another request.",
                )
            return Response(
                first.body or None,
                status_code=first.status,
                media_type="application/json" if first.body else None,
                headers={"idempotent-replayed": "true"},
            )
        response = await self._run(checked)
        if response.status_code < 500:
            record = IdempotencyRecord(
                fingerprint=fingerprint,
                status=response.status_code,
                body=bytes(response.body),
                created_at=now,
            )
            store.put_idempotent(shop_id, key, url_path, record)
        return response

    async def _run(self, checked: _Request) -> Response:
        operation = checked.operation
        try:
            body, problems = check_body(operation, checked.raw)
            if problems:
                raise invalid(problems)
        except BodyNotJSON as exc:
            return error_response(400, "bad_request", str(exc))
        except APIProblem as problem:
            return problem.response()
        call = Call(
            shop_id=checked.shop_id,
            path=checked.path,
            query=checked.query,
            body=body,
            now=to_micros(self.pipeline.config.clock()),
        )
        try:
            status, content = await self.pipeline.handlers[operation.operation_id](call)
        except APIProblem as problem:
            return problem.response()
        if content is None:
            return Response(status_code=status)
        return JSONResponse(content, status_code=status)
