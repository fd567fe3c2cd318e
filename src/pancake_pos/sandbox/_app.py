"""The sandbox's ASGI application, assembled: routes from the document, the layers around them,
the store and the dispatcher started and stopped with the app.

Every operation of the document gets a route under `/api/v1` and a handler by `operationId`; a
handler missing for an operation is an error at start. Every answer carries an `X-Request-Id`;
errors are the envelope `{success: false, error: {code, message, details}}`.

Example:

    import uvicorn
    from pancake_pos.sandbox import SandboxConfig, create_app

    app = create_app(SandboxConfig(api_key="sk_sandbox_1", shop_id="shop_1"))
    uvicorn.run(app, host="127.0.0.1", port=8765)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._asgi import (
    CallLogMiddleware,
    Observer,
    ObserverMiddleware,
    QuietOnDisconnect,
    RequestIdMiddleware,
)
from ._config import SandboxConfig
from ._dispatcher import Dispatcher
from ._errors import APIProblem, error_response, http_exception, server_error
from ._faults import FaultMiddleware, Faults, parse_fault
from ._handlers import SandboxAPI
from ._pipeline import OperationEndpoint, Pipeline, authorized, read_body
from ._spec import API_PREFIX, Operation, operations
from ._store import Store

__all__ = ["Observer", "SandboxApp", "SandboxState", "create_app"]


@dataclasses.dataclass(kw_only=True)
class SandboxState:
    """The parts of one sandbox, for its in-process owners (such as `SandboxServer`)."""

    config: SandboxConfig
    store: Store
    dispatcher: Dispatcher
    faults: Faults
    pipeline: Pipeline


class SandboxApp:
    """The sandbox's ASGI application (what `create_app` returns)."""

    def __init__(self, config: SandboxConfig, *, observer: Observer | None = None) -> None:
        store = Store(config.db)
        dispatcher = Dispatcher(store, config)
        handlers = SandboxAPI(config, store, dispatcher).handlers()
        self.state = SandboxState(
            config=config,
            store=store,
            dispatcher=dispatcher,
            faults=Faults(),
            pipeline=Pipeline(config=config, store=store, handlers=handlers),
        )
        self._starlette = Starlette(
            routes=self._routes(),
            lifespan=self._lifespan,
            exception_handlers={HTTPException: http_exception, Exception: server_error},
        )
        inner: ASGIApp = RequestIdMiddleware(self._starlette)
        if observer is not None:
            inner = ObserverMiddleware(inner, observer)
        inner = FaultMiddleware(inner, self.state.faults, config.api_key)
        self._app: ASGIApp = CallLogMiddleware(inner)

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
        for operation in operations():  # literal segments first: `.../pending` before `{id}`
            if operation.operation_id not in self.state.pipeline.handlers:
                raise RuntimeError(f"the sandbox has no handler for {operation.operation_id}")
            by_path.setdefault(operation.path_template, {})[operation.method] = operation
        routes = [
            Route(
                API_PREFIX + template,
                QuietOnDisconnect(OperationEndpoint(self.state.pipeline, methods).endpoint),
                methods=list(methods),
            )
            for template, methods in by_path.items()
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
        if not authorized(request, self.state.config.api_key):
            return error_response(401, "unauthorized", "Missing or invalid api_key.")
        faults = self.state.faults
        if request.method == "DELETE":
            faults.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                raw = await read_body(request)
            except APIProblem as problem:
                return problem.response()
            try:
                data: Any = json.loads(raw)
                fault = parse_fault(data)
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
