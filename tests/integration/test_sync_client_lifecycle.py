"""The sync `PancakeClient`'s life on real sockets, against the sandbox: shared by many threads,
closed (or never closed) by a script, interrupted by Ctrl-C, and run by examples/sync_usage.py.

What each operation does through the facade is in test_sync_client_operations.py.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import pancake_pos
from pancake_pos._sync import PancakeClient
from pancake_pos.errors import NotFoundError
from pancake_pos.models import DeliveryStatus, Webhook
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver

EXAMPLE = Path(__file__).parents[2] / "examples" / "sync_usage.py"


def connect(sandbox: SandboxServer, **options: object) -> PancakeClient:
    return PancakeClient(
        sandbox.api_key,
        sandbox.shop_id,
        base_url=sandbox.base_url,
        **options,  # type: ignore[arg-type]
    )


def open_fds() -> set[tuple[str, str]]:
    """This process's file descriptors, with what each one is (a socket's inode is unique)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        # FileNotFoundError: the listing's own descriptor, closed by now.
        with contextlib.suppress(FileNotFoundError):
            found.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
    return found


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def emit(sandbox: SandboxServer, event: str, order_id: str = "o_1") -> None:
    answer = httpx.post(
        f"{sandbox.base_url}/shops/{sandbox.shop_id}/sandbox/events",
        params={"api_key": sandbox.api_key},
        json={"event": event, "data": {"order_id": order_id}},
    )
    assert answer.status_code == 202


def test_sixteen_threads_share_one_client(sandbox: SandboxServer) -> None:
    with connect(sandbox) as client:
        hooks = [
            client.webhooks.create(
                url=f"http://127.0.0.1:9/hooks/{number}",
                events=["order.created"],
                description=f"hook {number}",
            )
            for number in range(8)
        ]
        start = threading.Barrier(16)
        results: dict[int, object] = {}
        failures: list[BaseException] = []

        def call(number: int) -> object:
            hook = hooks[number % len(hooks)]
            if number % 5 == 0:
                return sorted(item.id for item in client.webhooks.list().data)
            if number % 5 == 1:
                page = client.webhooks.list_deliveries(webhook_id=hook.id, page_size=10)
                return (hook.id, page.total, page.data)
            found = client.webhooks.get_by_id(hook.id)
            return (found.id, found.description, found.secret_key == hook.secret_key)

        def work(first: int) -> None:
            start.wait()
            try:
                for number in range(first, 200, 16):
                    results[number] = call(number)
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=work, args=(first,)) for first in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert failures == []
    assert len(results) == 200
    all_ids = sorted(hook.id for hook in hooks)
    for number, result in results.items():
        hook = hooks[number % len(hooks)]
        if number % 5 == 0:
            assert result == all_ids
        elif number % 5 == 1:
            assert result == (hook.id, 0, [])
        else:
            assert result == (hook.id, hook.description, True)


def test_close_leaves_no_thread_and_no_socket_behind(sandbox: SandboxServer) -> None:
    with connect(sandbox) as warm_up:  # imports and the sandbox's lazy setup, done once
        warm_up.webhooks.list()
    threads = set(threading.enumerate())
    fds = open_fds()

    with connect(sandbox) as client:
        callers = [threading.Thread(target=client.webhooks.list) for _ in range(8)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        sockets_open = {fd for fd in open_fds() - fds if fd[1].startswith("socket:")}
        assert sockets_open  # pooled connections (and the loop's own wake-up pipe)
        assert set(threading.enumerate()) - threads == {client._loop_thread._thread}

    assert set(threading.enumerate()) - threads == set()
    # The sandbox runs in this process too: its end of each connection closes when it reads
    # the EOF, a moment later.
    wait_until(lambda: open_fds() <= fds, "every socket of the client to be closed")


SCRIPT_PREAMBLE = """
import threading, time
from pancake_pos._sync import PancakeClient
from pancake_pos.errors import APIConnectionError
"""

UNCLOSED_SCRIPTS = {
    "after a refused connection": """
client = PancakeClient("sk_x", "shop_x", base_url="http://127.0.0.1:1/api/v1", max_retries=0)
try:
    client.webhooks.list()
except APIConnectionError:
    print("refused")
""",
    "with a pooled connection, a copy and a walk half done": """
client = PancakeClient()  # the sandbox's settings, from the environment
client.webhooks.create(url="http://127.0.0.1:9/hook", events=["order.created"])
copy = client.with_options(max_retries=0)
print(len(copy.webhooks.list().data))
walk = client.webhooks.iter_delivery_pages(page_size=1)
print(next(walk).data)
""",
    "with a call still running in another thread": """
client = PancakeClient()
threading.Thread(target=client.webhooks.list, daemon=True).start()
time.sleep(0.3)  # the call is in flight (the sandbox holds it for 5 s)
print("leaving")
""",
}


# The sandbox's teardown waits out the call held for 5 s: slow.
@pytest.mark.parametrize(
    "script",
    [
        pytest.param(name, marks=pytest.mark.slow) if "still running" in name else name
        for name in UNCLOSED_SCRIPTS
    ],
    ids=list(UNCLOSED_SCRIPTS),
)
def test_a_client_never_closed_does_not_keep_a_script_from_exiting(
    sandbox: SandboxServer, script: str
) -> None:
    if "still running" in script:
        sandbox.inject_fault("slow", delay=5)
    code = SCRIPT_PREAMBLE + textwrap.dedent(UNCLOSED_SCRIPTS[script])

    environment = os.environ | {
        "PANCAKE_API_KEY": sandbox.api_key,
        "PANCAKE_SHOP_ID": sandbox.shop_id,
        "PANCAKE_BASE_URL": sandbox.base_url,
    }

    finished = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=20,  # the guard: the script must end by itself, long before this
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip()
    assert finished.stderr == ""


INTERRUPTED_SCRIPT = """
import os, signal, threading
from pancake_pos._sync import PancakeClient

client = PancakeClient()
client.webhooks.list()
try:
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    client.webhooks.get_pending_deliveries()  # the sandbox holds this one for 5 s
except KeyboardInterrupt:
    print("interrupted")
print(len(client.webhooks.list().data))
client.close()
print("closed")
"""


@pytest.mark.slow  # the sandbox's teardown waits out the call held for 5 s
def test_ctrl_c_interrupts_a_call_and_the_client_stays_usable(sandbox: SandboxServer) -> None:
    sandbox.inject_fault(
        "slow", delay=5, path=f"/api/v1/shops/{sandbox.shop_id}/webhook-deliveries"
    )
    environment = os.environ | {
        "PANCAKE_API_KEY": sandbox.api_key,
        "PANCAKE_SHOP_ID": sandbox.shop_id,
        "PANCAKE_BASE_URL": sandbox.base_url,
    }

    finished = subprocess.run(
        [sys.executable, "-W", "error", "-c", INTERRUPTED_SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["interrupted", "0", "closed"]


def test_errors_from_the_sandbox_keep_their_class_and_attributes(sandbox: SandboxServer) -> None:
    with connect(sandbox) as client, pytest.raises(NotFoundError) as caught:
        client.webhooks.get_by_id("wh_missing")

    assert caught.value.status_code == 404
    assert caught.value.code == "not_found"
    assert caught.value.request_id is not None
    assert sandbox.api_key not in repr(caught.value)


def test_the_example_retries_each_undelivered_event_once(
    make_sandbox: Callable[..., SandboxServer],
    receiver: RecordingReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One automatic retry per event. Order "a" fails once, then its retry gets through; "b" and
    # "c" fail both attempts. So the history holds 5 failed attempts of 3 events, and only "b"
    # and "c" were never delivered: the example must retry those two, once each.
    sandbox = make_sandbox(retry_schedule=(0.2,))
    failures_left = {"a": 1, "b": 2, "c": 2}

    def refuse_early_attempts(payload: dict[str, Any]) -> int | None:
        order = payload["data"]["order_id"]
        if failures_left[order] == 0:
            return None
        failures_left[order] -= 1
        return 500

    receiver.rule = refuse_early_attempts
    with connect(sandbox) as client:
        hook: Webhook = client.webhooks.create(url=receiver.url, events=["order.created"])
        assert hook.secret_key is not None
        receiver.trust(hook.secret_key)
        for order in "abc":
            emit(sandbox, "order.created", order_id=order)
        receiver.wait_for(6)
        wait_until(
            lambda: (
                client.webhooks.get_pending_deliveries().total_count == 0
                and client.webhooks.list_deliveries().total == 6
            ),
            "the 6 attempts to be recorded",
        )
        events = {
            delivery.payload["data"]["order_id"]: delivery.payload["id"]
            for delivery in client.webhooks.iter_deliveries()
        }
    for name, value in [
        ("PANCAKE_API_KEY", sandbox.api_key),
        ("PANCAKE_SHOP_ID", sandbox.shop_id),
        ("PANCAKE_BASE_URL", sandbox.base_url),
    ]:
        monkeypatch.setenv(name, value)
    # Until the package's __init__ exports it (the lead's file), as users will import it.
    monkeypatch.setattr(pancake_pos, "PancakeClient", PancakeClient, raising=False)

    runpy.run_path(str(EXAMPLE), run_name="__main__")

    output = capsys.readouterr().out
    assert f"{hook.id}  active" in output
    assert "2 undelivered events retried, 1 already delivered" in output
    assert output.count(": success") == 2
    received = receiver.wait_for(8)
    assert len(received) == 8
    assert all(delivery.verified for delivery in received)
    retried = [delivery.event_id for delivery in received[6:]]
    assert sorted(retried) == sorted([events["b"], events["c"]])
    assert [delivery.status_code for delivery in received[6:]] == [200, 200]

    # Everything is delivered now: running the example again retries nothing.
    runpy.run_path(str(EXAMPLE), run_name="__main__")

    assert "0 undelivered events retried, 3 already delivered" in capsys.readouterr().out
    with connect(sandbox) as client:
        assert client.webhooks.list_deliveries(status=DeliveryStatus.SUCCESS).total == 3
        assert client.webhooks.list_deliveries(status=DeliveryStatus.FAILED).total == 5
    assert len(receiver.received) == 8
