"""The sandbox's ASGI application: every operation of the document, served as it says.

Routes are built from the document's paths (under `/api/v1`), one handler per `operationId`; a
handler missing for an operation is an error at start. Every call goes through the same steps:
the `api_key` (401, checked first), the shop (404), the path, query and header parameters (422),
the `Idempotency-Key` of a POST (the first answer replayed; 409 for another request), the body
(400 when it is not JSON, 422 when it does not fit the schema), then the handler. Every answer
carries an `X-Request-Id`; errors are the envelope `{success: false, error: {code, message,
details}}`.

Example:

    import uvicorn
    from pancake_pos.sandbox import SandboxConfig, create_app

    app = create_app(SandboxConfig(api_key="sk_sandbox_1", shop_id="shop_1"))
    uvicorn.run(app, host="127.0.0.1", port=8765)
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..signing import generate_secret
from ._config import SandboxConfig, to_micros
from ._dispatcher import Dispatcher, sample_data
from ._faults import FaultMiddleware, Faults, new_request_id, parse_fault
from ._spec import Operation, load_spec
from ._store import DeliveryFilters, DeliveryRecord, IdempotencyRecord, Store
from ._validation import BodyNotJSON, check_body, check_parameters, parse_json

__all__ = ["Observer", "SandboxApp", "create_app"]

API_PREFIX = "/api/v1"
IDEMPOTENCY_TTL = 24 * 3600 * 1_000_000
_DAY_MICROS = 86_400 * 1_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class APIProblem(Exception):
    """An error answer: raised by handlers, rendered as the error envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """The error envelope."""
        return error_response(self.status, self.code, self.message, self.details, self.headers)


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """`{"success": false, "error": {code, message, details}}` with `status`."""
    body = {"success": False, "error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def _invalid(problems: list[dict[str, str]]) -> APIProblem:
    return APIProblem(422, "validation_error", "The request is invalid.", {"errors": problems})


def _day_start(day: date) -> int:
    """Microseconds since the epoch at 00:00 UTC of `day`."""
    return (day.toordinal() - _EPOCH_ORDINAL) * _DAY_MICROS


@dataclasses.dataclass(kw_only=True)
class Call:
    """One validated API call, as the handlers see it."""

    shop_id: str
    path: dict[str, str]
    query: dict[str, str]
    body: Any
    now: int


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]


class SandboxAPI:
    """The handlers, one per operation of the document."""

    def __init__(self, config: SandboxConfig, store: Store, dispatcher: Dispatcher) -> None:
        self.config = config
        self.store = store
        self.dispatcher = dispatcher

    def handlers(self) -> dict[str, Handler]:
        """`operationId` -> handler."""
        return {
            "listWebhooks": self.list_webhooks,
            "createWebhook": self.create_webhook,
            "getWebhook": self.get_webhook,
            "updateWebhook": self.update_webhook,
            "deleteWebhook": self.delete_webhook,
            "setWebhookActive": self.set_webhook_active,
            "testWebhook": self.test_webhook,
            "rotateWebhookSecret": self.rotate_secret,
            "getWebhookStats": self.get_stats,
            "clearDeliveryHistory": self.clear_history,
            "listDeliveries": self.list_deliveries,
            "getPendingDeliveries": self.pending_deliveries,
            "getDelivery": self.get_delivery,
            "retryDelivery": self.retry_delivery,
            "emitSandboxEvent": self.emit_event,
        }

    def _webhook(self, call: Call) -> Any:
        webhook_id = call.path["webhook_id"]
        webhook = self.store.get_webhook(call.shop_id, webhook_id)
        if webhook is None:
            raise APIProblem(
                404, "not_found", f"No webhook {webhook_id}.", {"webhook_id": webhook_id}
            )
        return webhook

    def _delivery(self, call: Call) -> DeliveryRecord:
        delivery_id = call.path["delivery_id"]
        delivery = self.store.get_delivery(call.shop_id, delivery_id)
        if delivery is None:
            raise APIProblem(
                404, "not_found", f"No delivery {delivery_id}.", {"delivery_id": delivery_id}
            )
        return delivery

    async def list_webhooks(self, call: Call) -> tuple[int, Any]:
        webhooks = self.store.list_webhooks(call.shop_id)
        return 200, {"data": [self.store.webhook_json(w, with_secret=False) for w in webhooks]}

    async def create_webhook(self, call: Call) -> tuple[int, Any]:
        body = call.body
        webhook = self.store.create_webhook(
            shop_id=call.shop_id,
            url=body["url"],
            events=body["events"],
            description=body.get("description"),
            is_active=body.get("is_active", True),
            secret=generate_secret(),
            now=call.now,
        )
        return 201, self.store.webhook_json(webhook, with_secret=True)

    async def get_webhook(self, call: Call) -> tuple[int, Any]:
        return 200, self.store.webhook_json(self._webhook(call), with_secret=True)

    async def update_webhook(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        was_active = webhook.is_active
        for name in ("url", "events", "description", "is_active"):
            if name in call.body:
                setattr(webhook, name, call.body[name])
        self.store.update_webhook(webhook, now=call.now)
        if webhook.is_active and not was_active:
            self.dispatcher.resume(webhook)
        return 200, self.store.webhook_json(webhook, with_secret=False)

    async def delete_webhook(self, call: Call) -> tuple[int, Any]:
        self._webhook(call)
        self.store.delete_webhook(call.shop_id, call.path["webhook_id"])
        return 204, None

    async def set_webhook_active(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        was_active = webhook.is_active
        webhook.is_active = call.body["is_active"]
        self.store.update_webhook(webhook, now=call.now)
        if webhook.is_active and not was_active:
            self.dispatcher.resume(webhook)
        return 200, self.store.webhook_json(webhook, with_secret=False)

    async def test_webhook(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        event = call.body["event"]
        data = call.body.get("payload")
        record = await self.dispatcher.send_test(
            webhook, event, sample_data(event) if data is None else data
        )
        return 200, _attempt_result(record)

    async def rotate_secret(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_until = call.now + round(self.config.rotation_grace * 1_000_000)
        webhook.secret = generate_secret()
        self.store.update_webhook(webhook, now=call.now)
        return 200, {"secret_key": webhook.secret}

    async def get_stats(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        first = date.fromisoformat(call.query["from_date"])
        last = date.fromisoformat(call.query["to_date"])
        if first > last:
            raise _invalid(
                [
                    {
                        "location": "query",
                        "field": "from_date",
                        "message": "must not be after to_date",
                    }
                ]
            )
        stats = self.store.stats(
            webhook.id, since=_day_start(first), until=_day_start(last) + _DAY_MICROS
        )
        return 200, stats

    async def clear_history(self, call: Call) -> tuple[int, Any]:
        webhook = self._webhook(call)
        before = call.body.get("before_date")
        deleted = self.store.clear_history(
            webhook.id,
            before=None if before is None else _day_start(date.fromisoformat(before)),
            status=call.body.get("status"),
        )
        return 200, {"deleted_count": deleted}

    async def list_deliveries(self, call: Call) -> tuple[int, Any]:
        query = call.query
        from_date, to_date = query.get("from_date"), query.get("to_date")
        filters = DeliveryFilters(
            webhook_id=query.get("webhook_id"),
            status=query.get("status"),
            event=query.get("event"),
            since=None if from_date is None else _day_start(date.fromisoformat(from_date)),
            until=None
            if to_date is None
            else _day_start(date.fromisoformat(to_date)) + _DAY_MICROS,
        )
        page = self.store.list_deliveries(
            call.shop_id,
            filters,
            page_size=int(query.get("page_size", 20)),
            page_number=int(query.get("page_number", 1)),
        )
        return 200, page

    async def pending_deliveries(self, call: Call) -> tuple[int, Any]:
        pending = self.store.pending_deliveries(call.shop_id)
        return 200, {"total_count": len(pending), "deliveries": [d.to_json() for d in pending]}

    async def get_delivery(self, call: Call) -> tuple[int, Any]:
        return 200, self._delivery(call).to_json()

    async def retry_delivery(self, call: Call) -> tuple[int, Any]:
        delivery = self._delivery(call)
        webhook = self.store.get_webhook(call.shop_id, delivery.webhook_id)
        if webhook is None:  # deliveries go with their webhook; kept for safety
            raise APIProblem(404, "not_found", f"No webhook {delivery.webhook_id}.")
        record = await self.dispatcher.retry(delivery, webhook)
        return 200, _attempt_result(record)

    async def emit_event(self, call: Call) -> tuple[int, Any]:
        event = call.body["event"]
        data = call.body.get("data")
        event_id, webhook_ids = self.dispatcher.emit(
            call.shop_id, event, sample_data(event) if data is None else data
        )
        return 202, {"id": event_id, "event": event, "webhook_ids": webhook_ids}


def _attempt_result(record: DeliveryRecord) -> dict[str, Any]:
    """`WebhookTestResult` / `RetryWebhookResult` of one attempt."""
    result: dict[str, Any] = {"delivery_id": record.id, "status": record.status}
    if record.response is not None:
        result["response"] = {
            "status_code": record.response["status_code"],
            "body": record.response.get("body", ""),
        }
    if record.failure_reason is not None:
        result["failure_reason"] = record.failure_reason
    return result


def _fingerprint(method: str, path: str, raw: bytes) -> str:
    try:
        canonical = json.dumps(parse_json(raw), sort_keys=True, separators=(",", ":")).encode()
    except BodyNotJSON:  # answered with 400 later; the raw bytes tell such requests apart
        canonical = raw
    digest = hashlib.sha256(f"{method} {path}\n".encode() + canonical)
    return digest.hexdigest()


class OperationEndpoint:
    """The endpoint of one path: runs the common steps, then the operation's handler."""

    def __init__(self, server: SandboxState, operations: dict[str, Operation]) -> None:
        self.server = server
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
        state = self.server
        given_key = request.query_params.get("api_key", "")
        if not hmac.compare_digest(given_key.encode(), state.config.api_key.encode()):
            raise APIProblem(401, "unauthorized", "Missing or invalid api_key.")
        shop_id = request.path_params["shop_id"]
        if shop_id != state.config.shop_id:
            raise APIProblem(404, "not_found", f"No shop {shop_id}.", {"shop_id": shop_id[:128]})
        path = {name: str(value) for name, value in request.path_params.items()}
        query = {name: value for name, value in request.query_params.items() if name != "api_key"}
        problems = check_parameters(
            operation, path=path, query=query, headers=dict(request.headers)
        )
        if problems:
            raise _invalid(problems)
        raw = await request.body()
        key = request.headers.get("idempotency-key") if operation.method == "POST" else None
        if key is None:
            return await self._run(operation, shop_id, path, query, raw)
        fingerprint = _fingerprint(operation.method, request.url.path, raw)
        lock_key = (shop_id, request.url.path, key)
        lock = state.idempotency_locks.setdefault(lock_key, asyncio.Lock())
        try:
            async with lock:
                return await self._once(
                    operation, shop_id, path, query, raw, (request.url.path, key, fingerprint)
                )
        finally:
            if not lock.locked() and state.idempotency_locks.get(lock_key) is lock:
                del state.idempotency_locks[lock_key]

    async def _once(
        self,
        operation: Operation,
        shop_id: str,
        path: dict[str, str],
        query: dict[str, str],
        raw: bytes,
        idempotency: tuple[str, str, str],
    ) -> Response:
        """Answer a POST with an `Idempotency-Key`: the first answer again, or do the work."""
        store = self.server.store
        url_path, key, fingerprint = idempotency
        now = to_micros(self.server.config.clock())
        first = store.get_idempotent(shop_id, url_path, key)
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
        response = await self._run(operation, shop_id, path, query, raw)
        if response.status_code < 500:
            record = IdempotencyRecord(
                fingerprint=fingerprint,
                status=response.status_code,
                body=bytes(response.body),
                created_at=now,
            )
            store.put_idempotent(shop_id, url_path, key, record)
        return response

    async def _run(
        self,
        operation: Operation,
        shop_id: str,
        path: dict[str, str],
        query: dict[str, str],
        raw: bytes,
    ) -> Response:
        try:
            body, problems = check_body(operation, raw)
            if problems:
                raise _invalid(problems)
        except BodyNotJSON as exc:
            return error_response(400, "bad_request", str(exc))
        except APIProblem as problem:
            return problem.response()
        call = Call(
            shop_id=shop_id,
            path=path,
            query=query,
            body=body,
            now=to_micros(self.server.config.clock()),
        )
        try:
            status, content = await self.server.handlers[operation.operation_id](call)
        except APIProblem as problem:
            return problem.response()
        if content is None:
            return Response(status_code=status)
        return JSONResponse(content, status_code=status)


class QuietOnDisconnect:
    """An endpoint as a plain ASGI app that gives no answer to a client gone mid-request.

    Reading the body of a request whose client hung up raises `ClientDisconnect`. Let out, it
    would make Starlette answer a 500 nobody reads (which the observer would take for a server
    failure) and uvicorn log "Exception in ASGI application". Returning without an answer is
    what a server does for a vanished client; uvicorn, which saw the disconnect, logs nothing.
    (A class, not a function: Starlette wraps functions given to `Route` as request handlers.)
    """

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.endpoint(Request(scope, receive, send))
        except ClientDisconnect:
            return
        await response(scope, receive, send)


@dataclasses.dataclass(kw_only=True)
class SandboxState:
    """What the parts of one sandbox share."""

    config: SandboxConfig
    store: Store
    dispatcher: Dispatcher
    faults: Faults
    handlers: dict[str, Handler]
    idempotency_locks: dict[tuple[str, str, str], asyncio.Lock] = dataclasses.field(
        default_factory=dict
    )


class RequestIdMiddleware:
    """Adds an `X-Request-Id` header to every answer that has none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id().encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


Observer = Callable[[str, str, int, dict[str, str], bytes], None]
"""Called with (method, path, status, lower-case headers, body) of every answer of the API."""


class ObserverMiddleware:
    """Shows every answer of the API (under `/api/v1`) to an observer, once it is complete."""

    def __init__(self, app: ASGIApp, observer: Observer) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        status = 0
        headers: dict[str, str] = {}
        body = bytearray()

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    self.observer(scope["method"], scope["path"], status, headers, bytes(body))
            await send(message)

        await self.app(scope, receive, observing_send)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {allowed}.",
            {"allow": allowed},
            headers=exc.headers,
        )
    if exc.status_code == 404:
        return error_response(404, "not_found", "No such path.", {"path": request.url.path[:256]})
    return error_response(exc.status_code, "http_error", str(exc.detail), headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal_error", "Something went wrong.")


class SandboxApp:
    """The sandbox's ASGI application (what `create_app` returns).

    `.state` gives the store, dispatcher and faults of this sandbox to in-process owners such as
    `SandboxServer`.
    """

    def __init__(self, config: SandboxConfig, *, observer: Observer | None = None) -> None:
        store = Store(config.db)
        dispatcher = Dispatcher(store, config)
        api = SandboxAPI(config, store, dispatcher)
        self.state = SandboxState(
            config=config,
            store=store,
            dispatcher=dispatcher,
            faults=Faults(),
            handlers=api.handlers(),
        )
        self._starlette = Starlette(
            routes=self._routes(),
            lifespan=self._lifespan,
            exception_handlers={HTTPException: _http_exception, Exception: _server_error},
        )
        inner: ASGIApp = RequestIdMiddleware(self._starlette)
        if observer is not None:
            inner = ObserverMiddleware(inner, observer)
        self._app: ASGIApp = FaultMiddleware(inner, self.state.faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.state.dispatcher.start()
        try:
            yield
        finally:
            await self.state.dispatcher.aclose()
            self.state.store.close()

    def _routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Operation]] = {}
        for template, item in load_spec()["paths"].items():
            for method, definition in item.items():
                if method in ("get", "put", "post", "delete", "patch"):
                    operation = Operation(method.upper(), template, definition)
                    if operation.operation_id not in self.state.handlers:
                        raise RuntimeError(
                            f"the sandbox has no handler for {operation.operation_id}"
                        )
                    by_path.setdefault(template, {})[method.upper()] = operation
        # Literal segments win over templates: `.../pending` before `.../{delivery_id}`.
        templates = sorted(by_path, key=lambda template: template.count("{"))
        routes = [
            Route(
                API_PREFIX + template,
                QuietOnDisconnect(OperationEndpoint(self.state, by_path[template]).endpoint),
                methods=list(by_path[template]),
            )
            for template in templates
        ]
        routes.append(
            Route(
                "/_sandbox/faults",
                QuietOnDisconnect(self._faults_endpoint),
                methods=["GET", "POST", "DELETE"],
            )
        )
        return routes

    async def _faults_endpoint(self, request: Request) -> Response:
        given_key = request.query_params.get("api_key", "")
        if not hmac.compare_digest(given_key.encode(), self.state.config.api_key.encode()):
            return error_response(401, "unauthorized", "Missing or invalid api_key.")
        faults = self.state.faults
        if request.method == "DELETE":
            faults.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                fault = parse_fault(json.loads(await request.body()))
            except ValueError as exc:
                return error_response(422, "validation_error", f"Invalid fault: {exc}.")
            faults.add(fault)
            return JSONResponse(fault.to_json(), status_code=201)
        return JSONResponse({"faults": [fault.to_json() for fault in faults.armed()]})


def create_app(config: SandboxConfig, *, observer: Observer | None = None) -> SandboxApp:
    """The sandbox's ASGI application for `config` (serve it with uvicorn).

    `observer(method, path, status, headers, body)`, when given, sees every answer of the API
    (a traffic log; the tests check each answer against the document with it).

    Example:

        app = create_app(SandboxConfig(api_key="sk_sandbox_1", shop_id="shop_1"))
    """
    return SandboxApp(config, observer=observer)
