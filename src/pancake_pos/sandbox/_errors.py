"""Error answers: the envelope `{success: false, error: {code, message, details}}`.

Handlers raise `APIProblem`; the request pipeline and the app's exception handlers render it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._spec import API_PREFIX

__all__ = [
    "APIProblem",
    "error_response",
    "http_exception",
    "invalid",
    "server_error",
]


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


def invalid(problems: list[dict[str, str]]) -> APIProblem:
    """The 422 for a request that does not fit the document, listing each problem."""
    return APIProblem(422, "validation_error", "The request is invalid.", {"errors": problems})


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's routing errors (unknown path, wrong method) as the error envelope."""
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
        message = "No such path."
        if not request.url.path.startswith(f"{API_PREFIX}/"):
            message = f"No such path: the API is under {API_PREFIX}/shops/ (is the base URL right?)"
        return error_response(404, "not_found", message, {"path": request.url.path[:256]})
    return error_response(exc.status_code, "http_error", str(exc.detail), headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    """Any other exception: a 500 that shows nothing of the server's insides."""
    return error_response(500, "internal_error", "Something went wrong.")
