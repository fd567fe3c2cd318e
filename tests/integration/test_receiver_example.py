"""examples/receiver_starlette.py, served by a real uvicorn on loopback and fed real deliveries."""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from pancake_pos.models import WebhookEventPayload
from pancake_pos.signing import build_headers, generate_secret

EXAMPLE = Path(__file__).parents[2] / "examples" / "receiver_starlette.py"
PATH = "/webhooks/pancake"


def load_example() -> ModuleType:
    """Import the example afresh (it reads PANCAKE_WEBHOOK_SECRET when imported)."""
    spec = importlib.util.spec_from_file_location("receiver_starlette_under_test", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run ``app`` on uvicorn in a thread, on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "the server to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def event_body(msg_id: str, event: str = "order.created") -> bytes:
    return json.dumps(
        {
            "id": msg_id,
            "event": event,
            "shop_id": "shop_42",
            "created_at": "2024-04-29T10:15:00Z",
            "data": {"order_id": "123", "total_amount": 1000000},
        }
    ).encode()


def deliver(
    client: httpx.Client, secret: str | list[str], msg_id: str, body: bytes | None = None
) -> httpx.Response:
    """POST one delivery the way the service does: fresh timestamp, signed raw body."""
    body = event_body(msg_id) if body is None else body
    headers = build_headers(secret, msg_id, int(time.time()), body)
    headers["content-type"] = "application/json"
    return client.post(PATH, content=body, headers=headers)


@pytest.fixture
def secret() -> str:
    return generate_secret()


def test_module_app_reads_the_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("PANCAKE_WEBHOOK_SECRET", secret)
    example = load_example()
    with serve(example.app) as base_url, httpx.Client(base_url=base_url) as client:
        good = deliver(client, secret, "msg_1")
        assert good.status_code == 202
        assert good.json() == {"status": "accepted"}

        wrong_secret = deliver(client, generate_secret(), "msg_2")
        assert wrong_secret.status_code == 400
        assert wrong_secret.json()["error"].startswith("no signature matched")


def test_module_without_the_secret_in_the_environment_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PANCAKE_WEBHOOK_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="set PANCAKE_WEBHOOK_SECRET"):
        load_example()


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch, secret: str) -> ModuleType:
    monkeypatch.setenv("PANCAKE_WEBHOOK_SECRET", secret)
    return load_example()


def test_valid_deliveries_are_processed_once_and_duplicates_acknowledged(
    example: ModuleType, secret: str
) -> None:
    processed: list[WebhookEventPayload] = []

    async def record(event: WebhookEventPayload) -> None:
        processed.append(event)

    app = example.create_app(secret, handle_event=record)
    with serve(app) as base_url, httpx.Client(base_url=base_url) as client:
        first = deliver(client, secret, "msg_a")
        # A retry of the same event: same webhook-id, signed again with a new timestamp.
        retry = deliver(client, secret, "msg_a")
        other = deliver(client, secret, "msg_b")
        wait_until(lambda: len(processed) >= 2, "both events to be processed")
        again = deliver(client, secret, "msg_a")

    assert (first.status_code, first.json()) == (202, {"status": "accepted"})
    assert (retry.status_code, retry.json()) == (200, {"status": "duplicate"})
    assert (other.status_code, other.json()) == (202, {"status": "accepted"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert sorted(event.id for event in processed) == ["msg_a", "msg_b"]
    assert all(event.shop_id == "shop_42" for event in processed)


def test_tampered_and_malformed_deliveries_get_400_with_a_short_reason(
    example: ModuleType, secret: str
) -> None:
    processed: list[str] = []
    app = example.create_app(secret, handle_event=lambda event: processed.append(event.id))
    body = event_body("msg_t")
    headers = build_headers(secret, "msg_t", int(time.time()), body)
    stale = build_headers(secret, "msg_t", int(time.time()) - 3600, body)
    cases = {
        "tampered body": (body.replace(b"1000000", b"9000000"), headers, "no signature matched"),
        "tampered id": (body, {**headers, "webhook-id": "msg_u"}, "no signature matched"),
        "no signature": (
            body,
            {k: v for k, v in headers.items() if k != "webhook-signature"},
            "missing or empty header(s): webhook-signature",
        ),
        "replayed": (body, stale, "webhook-timestamp header is too old"),
        "not a payload": (
            b"[]",
            build_headers(secret, "msg_t", int(time.time()), b"[]"),
            "body is not a valid event payload",
        ),
    }
    with serve(app) as base_url, httpx.Client(base_url=base_url) as client:
        for case, (content, case_headers, reason) in cases.items():
            response = client.post(PATH, content=content, headers=case_headers)
            assert response.status_code == 400, case
            assert response.json()["error"].startswith(reason), case
            assert secret.removeprefix("whsec_") not in response.text
        # The untampered delivery still goes through, and a sync handler runs too.
        assert client.post(PATH, content=body, headers=headers).status_code == 202
        wait_until(lambda: processed == ["msg_t"], "the event to be processed")
    assert processed == ["msg_t"]


def test_a_rotating_receiver_accepts_either_secret(example: ModuleType) -> None:
    old, new = generate_secret(), generate_secret()
    app = example.create_app([new, old])
    with serve(app) as base_url, httpx.Client(base_url=base_url) as client:
        assert deliver(client, old, "msg_old").status_code == 202
        assert deliver(client, new, "msg_new").status_code == 202
        assert deliver(client, [new, old], "msg_both").status_code == 202
        assert deliver(client, generate_secret(), "msg_none").status_code == 400


def test_seen_ids_forgets_the_oldest_beyond_capacity(example: ModuleType) -> None:
    seen = example.SeenIds(capacity=2)
    assert seen.add("a")
    assert seen.add("b")
    assert not seen.add("a")  # seen again: now the most recent
    assert seen.add("c")  # "b" is forgotten
    assert not seen.add("a")
    assert seen.add("b")
