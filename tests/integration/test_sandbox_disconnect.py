"""A client that hangs up before its request body arrived gets no answer and makes no noise.

uvicorn logs "Exception in ASGI application" for any exception an app lets out, and Starlette's
error middleware answers such an exception with a 500 before letting it out. Neither fits a
client that is gone: nobody can read an answer, and the server did nothing wrong. The sandbox
answers nothing (so its observer, which checks every answer against the document, sees
nothing) and raises nothing (so uvicorn, which knows the client disconnected, stays quiet).
"""

from __future__ import annotations

from typing import Any

import pytest

from pancake_pos.sandbox import SandboxConfig, create_app

API_KEY = "sk_disconnect_tests"
SHOP_ID = "shop_gone"


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": f"api_key={API_KEY}".encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-length", b"100"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
    }


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (f"/api/v1/shops/{SHOP_ID}/webhooks", []),
        (f"/api/v1/shops/{SHOP_ID}/webhooks", [(b"idempotency-key", b"gone-1")]),
        (f"/api/v1/shops/{SHOP_ID}/sandbox/events", []),
        ("/_sandbox/faults", []),
    ],
    ids=["create", "create-with-idempotency-key", "emit", "faults-control"],
)
async def test_a_client_gone_mid_body_gets_no_answer_and_raises_nothing(
    path: str, headers: list[tuple[bytes, bytes]]
) -> None:
    observed: list[tuple[str, str, int]] = []
    app = create_app(
        SandboxConfig(api_key=API_KEY, shop_id=SHOP_ID),
        observer=lambda method, path, status, headers, body: observed.append(
            (method, path, status)
        ),
    )
    incoming = [{"type": "http.request", "body": b'{"url": "http://127.0', "more_body": True}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await app(_scope("POST", path, headers), receive, send)
    finally:
        app.state.store.close()
    assert sent == []
    assert observed == []
