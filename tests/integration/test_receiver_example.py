"""The receiver examples, run for real: receiver_starlette.py under uvicorn (in a thread, and as
`uvicorn receiver_starlette:app` in a process), receiver_flask.py through Flask's WSGI stack,
receiver_replay.py against a sandbox whose deliveries failed."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.receiver import MemoryStore
from pancake_pos.sandbox import SandboxServer
from pancake_pos.signing import build_headers, generate_secret
from tests.receiver.receiving import serve_asgi

EXAMPLES = Path(__file__).parents[2] / "examples"
PATH = "/webhooks/pancake"


def load_example(name: str) -> ModuleType:
    """Import an example afresh (it reads the environment when imported)."""
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signed(
    secret: str | list[str], msg_id: str, event: str = "order.created", data: Any = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": msg_id,
            "event": event,
            "shop_id": "shop_42",
            "created_at": "2024-04-29T10:15:00Z",
            "data": {"id": 1024, "status_name": "confirmed"} if data is None else data,
        }
    ).encode()
    return body, build_headers(secret, msg_id, int(time.time()), body)


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    value = generate_secret()
    monkeypatch.setenv("PANCAKE_WEBHOOK_SECRET", value)
    monkeypatch.setenv("PANCAKE_EVENTS_DB", str(tmp_path / "events.db"))
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return value


def test_starlette_example_handles_once_logs_and_refuses_forgeries(
    secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    example = load_example("receiver_starlette")
    caplog.set_level(logging.INFO, logger="receiver")
    with serve_asgi(example.app) as url, httpx.Client(base_url=url) as http:
        body, headers = signed(secret, "msg_a")
        first = http.post(PATH, content=body, headers=headers)
        again = http.post(PATH, content=body, headers=headers)
        body_c, headers_c = signed(secret, "msg_c", "customer.created", {"name": "Lan"})
        customer = http.post(PATH, content=body_c, headers=headers_c)
        body_p, headers_p = signed(secret, "msg_p", "product.created", {})
        other = http.post(PATH, content=body_p, headers=headers_p)
        forged = http.post(PATH, content=body, headers=signed(generate_secret(), "msg_a")[1])
    assert (first.status_code, first.json()) == (200, {"outcome": "processed"})
    assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})
    assert customer.json() == {"outcome": "processed"}
    assert other.json() == {"outcome": "processed"}  # the unhandled handler takes it
    assert (forged.status_code, forged.json()) == (401, {"outcome": "rejected"})
    logged = [record.getMessage() for record in caplog.records if record.name == "receiver"]
    assert logged == [
        "order.created order 1024 is confirmed (msg_a)",
        "customer.created customer Lan (msg_c)",
        "product.created in shop shop_42 (msg_p)",
    ]


def test_starlette_example_without_the_secret_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PANCAKE_WEBHOOK_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="set PANCAKE_WEBHOOK_SECRET"):
        load_example("receiver_starlette")


def test_starlette_example_rotating_secrets(secret: str) -> None:
    example = load_example("receiver_starlette")
    old, new = generate_secret(), generate_secret()
    app = example.create_app([new, old], store=MemoryStore())
    with serve_asgi(app) as url, httpx.Client(base_url=url) as http:
        for n, signer in enumerate([old, new, [new, old]]):
            body, headers = signed(signer, f"msg_{n}")
            assert http.post(PATH, content=body, headers=headers).status_code == 200
        body, headers = signed(generate_secret(), "msg_none")
        assert http.post(PATH, content=body, headers=headers).status_code == 401


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_uvicorn_run_as_documented_shows_the_event_log(secret: str, tmp_path: Path) -> None:
    port = free_port()
    environment = {**os.environ, "PANCAKE_WEBHOOK_SECRET": secret}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "receiver_starlette:app", "--port", str(port)],
        cwd=EXAMPLES,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 20
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            while True:
                try:
                    body, headers = signed(secret, "msg_uv")
                    answer = http.post(PATH, content=body, headers=headers)
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "uvicorn did not start: " + "".join(lines)
                    time.sleep(0.1)
        assert answer.json() == {"outcome": "processed"}
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
        assert process.stdout is not None
        process.stdout.close()
    output = "".join(lines)
    assert "order.created order 1024 is confirmed (msg_uv)" in output


def test_flask_example_mounted_and_in_a_view(secret: str) -> None:
    example = load_example("receiver_flask")
    client = example.app.test_client()
    for path in ("/webhooks/pancake", "/hooks/pancake"):
        body, headers = signed(secret, f"msg_{path}")
        first = client.post(path, data=body, headers=headers)
        again = client.post(path, data=body, headers=headers)
        assert (first.status_code, first.get_json()) == (200, {"outcome": "processed"})
        assert (again.status_code, again.get_json()) == (200, {"outcome": "duplicate"})
        forged = client.post(path, data=body + b" ", headers=headers)
        assert (forged.status_code, forged.get_json()) == (401, {"outcome": "rejected"})
    assert client.get("/webhooks/pancake").status_code == 405


def test_replay_example_catches_up_once(
    secret: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A webhook whose receiver was down: every attempt failed; the worker catches up."""
    down = f"http://127.0.0.1:{free_port()}{PATH}"  # nothing listens there
    with SandboxServer(retry_schedule=(0.1,), loopback_only=True) as sandbox:

        async def prepare() -> str:
            client = AsyncPancakeClient(sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url)
            try:
                hook = await client.webhooks.create(url=down, events=["order.created"])
                async with httpx.AsyncClient(params={"api_key": sandbox.api_key}) as http:
                    for n in range(3):
                        answer = await http.post(
                            f"{sandbox.base_url}/shops/{sandbox.shop_id}/sandbox/events",
                            json={"event": "order.created", "data": {"id": n}},
                        )
                        assert answer.status_code == 202
                async with asyncio.timeout(20):
                    while True:
                        page = await client.webhooks.list_deliveries(webhook_id=hook.id)
                        pending = await client.webhooks.get_pending_deliveries()
                        if page.total == 6 and pending.total_count == 0:
                            return hook.id
                        await asyncio.sleep(0.05)
            finally:
                await client.close()

        webhook_id = asyncio.run(prepare())
        monkeypatch.setenv("PANCAKE_API_KEY", sandbox.api_key)
        monkeypatch.setenv("PANCAKE_SHOP_ID", sandbox.shop_id)
        monkeypatch.setenv("PANCAKE_BASE_URL", sandbox.base_url)
        example = load_example("receiver_replay")
        today = time.strftime("%Y-%m-%d", time.gmtime())
        assert example.main([webhook_id, "--since", today]) == 0
        assert capsys.readouterr().out.strip() == ("processed 3, duplicates 0, ignored 0, failed 0")
        assert example.main([webhook_id]) == 0
        assert capsys.readouterr().out.strip() == ("processed 0, duplicates 3, ignored 0, failed 0")
