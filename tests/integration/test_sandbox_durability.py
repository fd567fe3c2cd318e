"""`pancake-pos sandbox --db` keeps what it accepted: killed (SIGKILL) or stopped (SIGTERM) while
deliveries hang, a sandbox started again on the same file delivers every accepted event at least
once, as the same shop with the same key. Also: its log lines, --quiet, and a busy port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from pancake_pos.cli._app import app
from pancake_pos.sandbox._server import ThreadedUvicorn

EVENTS = 20


class GatedReceiver:
    """A receiver that holds every request until its gate opens, then answers 200.

    It notes the event id of each request on arrival, per phase, so requests left hanging by a
    sandbox that died are told apart from those the restarted sandbox makes.
    """

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.phase = 1
        self.arrived: dict[int, list[str]] = {1: [], 2: []}
        self._lock = threading.Lock()
        self._runner = ThreadedUvicorn(
            Starlette(routes=[Route("/hook", self._endpoint, methods=["POST"])]), "127.0.0.1", 0
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._runner.port}/hook"

    def count(self, phase: int) -> int:
        with self._lock:
            return len(self.arrived[phase])

    def ids(self, phase: int) -> set[str]:
        with self._lock:
            return set(self.arrived[phase])

    async def _endpoint(self, request: Request) -> Response:
        with self._lock:
            self.arrived[self.phase].append(request.headers.get("webhook-id", ""))
        await asyncio.to_thread(self.gate.wait)
        return Response(status_code=200)

    def __enter__(self) -> GatedReceiver:
        self._runner.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.gate.set()
        self._runner.stop()


class SandboxProcess:
    """`pancake-pos sandbox` in a subprocess, with the settings it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pancake_pos", "sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        assert self.process.stdout is not None
        self.settings: dict[str, str] = {}
        self.errors: str | None = None
        for line in self.process.stdout:
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                self.settings[name] = value
            if line.startswith("Press Ctrl-C"):
                break
        if "PANCAKE_BASE_URL" not in self.settings:
            self.process.kill()
            raise AssertionError(self.finish())

    def http(self) -> httpx.Client:
        base = self.settings["PANCAKE_BASE_URL"]
        shop = self.settings["PANCAKE_SHOP_ID"]
        return httpx.Client(
            base_url=f"{base}/shops/{shop}",
            params={"api_key": self.settings["PANCAKE_API_KEY"]},
            timeout=30,
        )

    def finish(self) -> str:
        """Wait for the process to end (killing it after 30 s); its stderr."""
        if self.errors is None:
            try:
                _, self.errors = self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                _, self.errors = self.process.communicate(timeout=30)
        return self.errors

    def close(self) -> None:
        """Make sure the process is gone."""
        if self.process.poll() is None:
            self.process.kill()
        self.finish()


@pytest.fixture
def receiver() -> Iterator[GatedReceiver]:
    with GatedReceiver() as running:
        yield running


def _wait(condition: object, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_a_restarted_sandbox_delivers_every_accepted_event(
    tmp_path: Path, receiver: GatedReceiver, stop: signal.Signals
) -> None:
    db = str(tmp_path / "sandbox.db")
    first = SandboxProcess(
        "--db", db, "--quiet", "--retry-schedule", "", "--delivery-timeout", "60"
    )
    try:
        with first.http() as http:
            created = http.post(
                "/webhooks", json={"url": receiver.url, "events": ["order.created"]}
            )
            assert created.status_code == 201, created.text
            accepted = set()
            for _ in range(EVENTS):
                answer = http.post("/sandbox/events", json={"event": "order.created"})
                assert answer.status_code == 202, answer.text
                accepted.add(answer.json()["id"])
        _wait(lambda: receiver.count(1) > 0, "a delivery under way")
        first.process.send_signal(stop)
        errors = first.finish()
    finally:
        first.close()
    if stop == signal.SIGTERM:  # a bounded, clean stop, ending as SIGTERM asks
        assert first.process.returncode == -signal.SIGTERM, errors
        assert "Traceback" not in errors

    receiver.phase = 2
    receiver.gate.set()
    again = SandboxProcess("--db", db, "--quiet", "--retry-schedule", "")
    try:
        # The same shop and key as before, though neither was given either time.
        assert again.settings["PANCAKE_SHOP_ID"] == first.settings["PANCAKE_SHOP_ID"]
        assert again.settings["PANCAKE_API_KEY"] == first.settings["PANCAKE_API_KEY"]
        _wait(lambda: receiver.ids(2) >= accepted, "every accepted event delivered again")
        with again.http() as http:

            def all_stored() -> bool:
                page = http.get("/webhook-deliveries", params={"page_size": 100}).json()
                return page["total"] >= EVENTS

            _wait(all_stored, "every delivery stored")
            page = http.get("/webhook-deliveries", params={"page_size": 100}).json()
        delivered = {d["payload"]["id"] for d in page["data"] if d["status"] == "success"}
        assert delivered == accepted
        assert [d for d in page["data"] if d["status"] != "success"] == []  # nothing false
        again.process.send_signal(signal.SIGINT)
        again.finish()
        assert again.process.returncode == 0
    finally:
        again.close()


@pytest.mark.slow  # starts the sandbox command as a process, twice
def test_log_lines_name_calls_and_attempts_without_the_key_and_quiet_turns_them_off(
    tmp_path: Path, receiver: GatedReceiver
) -> None:
    receiver.gate.set()
    for quiet in (False, True):
        sandbox = SandboxProcess(*(["--quiet"] if quiet else []))
        try:
            with sandbox.http() as http:
                hook = http.post(
                    "/webhooks", json={"url": receiver.url, "events": ["order.created"]}
                )
                tested = http.post(
                    f"/webhooks/{hook.json()['id']}/test", json={"event": "order.created"}
                )
                assert tested.json()["status"] == "success"
                assert http.get("/webhooks", params={"api_key": "wrong"}).status_code == 401
            sandbox.process.send_signal(signal.SIGINT)
            errors = sandbox.finish()
        finally:
            sandbox.close()
        shop = sandbox.settings["PANCAKE_SHOP_ID"]
        key = sandbox.settings["PANCAKE_API_KEY"]
        assert key not in errors
        if quiet:
            assert errors.strip() == ""
            continue
        lines = errors.splitlines()
        assert any(f"POST /api/v1/shops/{shop}/webhooks 201 " in line for line in lines), errors
        assert any(f"GET /api/v1/shops/{shop}/webhooks 401 " in line for line in lines), errors
        attempts = [line for line in lines if " delivery order.created " in line]
        assert len(attempts) == 1, errors
        assert f"-> {hook.json()['id']} 200 " in attempts[0]
        assert attempts[0].rstrip().endswith("ms")


def test_a_port_that_cannot_be_bound_is_a_usage_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["sandbox", "--port", str(port), "--quiet"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use"
    ]


@pytest.mark.slow
def test_a_stalled_request_does_not_hold_the_sandbox_open_on_sigterm() -> None:
    sandbox = SandboxProcess("--quiet")
    try:
        base = httpx.URL(sandbox.settings["PANCAKE_BASE_URL"])
        assert base.port is not None
        with socket.create_connection((base.host, base.port)) as stalled:
            shop = sandbox.settings["PANCAKE_SHOP_ID"]
            key = sandbox.settings["PANCAKE_API_KEY"]
            stalled.sendall(
                f"POST /api/v1/shops/{shop}/sandbox/events?api_key={key} HTTP/1.1\r\n"
                f"Host: {base.host}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n{".encode()
            )  # ...and the rest of the body never comes
            time.sleep(0.3)  # the sandbox is reading it
            sandbox.process.send_signal(signal.SIGTERM)
            errors = sandbox.finish()  # kills it after 30 s if it would not stop
        assert sandbox.process.returncode == -signal.SIGTERM, errors
        assert "Traceback" not in errors
    finally:
        sandbox.close()


def test_a_file_written_by_an_earlier_sandbox_keeps_its_previous_secret(tmp_path: Path) -> None:
    import sqlite3

    from pancake_pos.sandbox._store import Store

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE webhooks (id TEXT PRIMARY KEY, shop_id TEXT NOT NULL, url TEXT NOT NULL, "
            "events TEXT NOT NULL, is_active INTEGER NOT NULL, secret TEXT NOT NULL, "
            "previous_secret TEXT, previous_secret_until INTEGER, description TEXT, "
            "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_triggered_at INTEGER)"
        )
        old.execute(
            "INSERT INTO webhooks VALUES "
            "('wh_1', 'shop_1', 'http://127.0.0.1:9/', '[\"order.created\"]', 1, 'whsec_new', "
            "'whsec_old', 500, NULL, 0, 0, NULL)"
        )
    old.close()
    store = Store(path)
    try:
        webhook = store.get_webhook("shop_1", "wh_1")
    finally:
        store.close()
    assert webhook is not None
    assert webhook.signing_secrets(now=499) == ["whsec_new", "whsec_old"]
    assert webhook.signing_secrets(now=500) == ["whsec_new"]


def _status(store: Any, delivery_id: str) -> str | None:
    delivery = store.get_delivery("shop_1", delivery_id)
    return None if delivery is None else str(delivery.status)


def test_an_attempt_and_its_next_retry_are_written_together_or_not_at_all() -> None:
    from pancake_pos.sandbox._store import DeliveryRecord, Store

    store = Store(None)
    try:
        hook = store.create_webhook(
            shop_id="shop_1",
            url="http://127.0.0.1:9/",
            events=["order.created"],
            description=None,
            is_active=True,
            secret="whsec_x",
            now=0,
        )

        def record(delivery_id: str, status: str, attempt: int) -> DeliveryRecord:
            return DeliveryRecord(
                id=delivery_id, shop_id="shop_1", webhook_id=hook.id, event="order.created",
                event_id="msg_1", payload={}, response=None, status=status,
                failure_reason=None if status != "failed" else "timeout", created_at=attempt,
                duration_ms=0, attempt=attempt, next_attempt_at=attempt if status == "pending"
                else None, is_test=False,
            )  # fmt: skip

        store.accept([record("dlv_1", "pending", 1)])
        assert store.finish_attempt(
            record("dlv_1", "failed", 1), record("dlv_2", "pending", 2), replaces_pending=True
        )
        assert [d.id for d in store.pending_retries()] == ["dlv_2"]
        assert _status(store, "dlv_1") == "failed"

        store.drop_pending(hook.id, "msg_1")  # a retry asked for through the API succeeded
        store.finish_attempt(
            record("dlv_2", "failed", 2), record("dlv_3", "pending", 3), replaces_pending=True
        )
        assert store.pending_retries() == []  # the attempt is kept, no further retry
        assert _status(store, "dlv_2") == "failed"

        store.delete_webhook("shop_1", hook.id)
        assert not store.finish_attempt(record("dlv_4", "failed", 4), record("dlv_5", "pending", 5))
        assert store.get_delivery("shop_1", "dlv_4") is None
        assert store.get_delivery("shop_1", "dlv_5") is None
    finally:
        store.close()
