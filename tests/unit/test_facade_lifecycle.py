"""The facade in a process's hard moments: fork, signal handlers, Ctrl-C, interpreter exit; and
an async client reused on a second event loop."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import httpx
import pytest
from conftest import API_KEY
from loopback import LoopbackServer, RecordedRequest, Respond, Stall

from pancake_pos import PancakeClient
from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import APITimeoutError, PancakeError
from pancake_pos.models import WebhookList

GUARD = 60  # seconds before a hung child process counts as a deadlock


def empty_list(request: RecordedRequest) -> Respond:
    return Respond.json(200, {"data": []})


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(empty_list) as running:
        yield running


def run_script(script: str, **values: str) -> subprocess.CompletedProcess[str]:
    source = textwrap.dedent(script)
    for name, value in values.items():
        source = source.replace(name, repr(value))
    return subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=GUARD, check=False
    )


def test_a_client_made_before_fork_works_in_the_child_and_the_parent(
    server: LoopbackServer,
) -> None:
    result = run_script(
        """
        import os, traceback
        from pancake_pos import PancakeClient

        client = PancakeClient(KEY, "shop", base_url=URL, timeout=5, max_retries=0)
        copy = client.with_options(max_retries=1)
        assert client.webhooks.list().data == []
        pid = os.fork()
        if pid == 0:
            try:
                assert client.webhooks.list().data == []
                assert copy.webhooks.list().data == []
                thread = client._loop_thread._thread
                assert thread.is_alive(), "the child runs its own loop thread"
                client.close()
            except BaseException:
                traceback.print_exc()
                os._exit(3)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert client.webhooks.list().data == []
        client.close()
        print("parent ok")
        """,
        KEY=API_KEY,
        URL=server.base_url,
    )

    assert result.returncode == 0, result.stderr
    assert "parent ok" in result.stdout
    assert len(server.requests) == 4


def test_an_async_client_reused_on_another_loop_says_why(server: LoopbackServer) -> None:
    client = AsyncPancakeClient(API_KEY, "shop", base_url=server.base_url, max_retries=0)
    first_loop = asyncio.new_event_loop()
    try:
        assert first_loop.run_until_complete(client.webhooks.list()) == WebhookList(data=[])

        with pytest.raises(PancakeError) as caught:
            asyncio.run(client.webhooks.list())  # a second asyncio.run(): another loop
    finally:
        first_loop.run_until_complete(client.close())
        first_loop.close()

    message = str(caught.value)
    assert "event loop" in message
    assert "asyncio.run" in message
    assert not isinstance(caught.value, RuntimeError)
    assert len(server.requests) == 1


def test_close_and_a_call_from_a_signal_handler_during_a_hand_over(
    server: LoopbackServer,
) -> None:
    result = run_script(
        """
        import signal
        from pancake_pos import PancakeClient
        from pancake_pos.errors import APITimeoutError, PancakeError

        client = PancakeClient(KEY, "shop", base_url=URL, max_retries=0)
        handled = []

        def on_term(signum, frame):
            handled.append(client.webhooks.list().data)  # a call from the handler
            client.close()
            handled.append("closed")

        signal.signal(signal.SIGTERM, on_term)
        loop = client._loop_thread._loop
        real = loop.call_soon_threadsafe
        fired = []

        def hand_over(*args):
            if not fired:  # the signal lands in the middle of the main thread's hand-over
                fired.append(True)
                signal.raise_signal(signal.SIGTERM)
            return real(*args)

        loop.call_soon_threadsafe = hand_over
        try:
            client.webhooks.get_pending_deliveries()
            print("call ran")
        except PancakeError as error:
            print("call refused:", error)
        print(handled)
        """,
        KEY=API_KEY,
        URL=server.base_url,
    )

    assert result.returncode == 0, result.stderr
    assert "[[], 'closed']" in result.stdout
    assert "call refused: This PancakeClient is closed" in result.stdout


def test_close_from_a_signal_handler_does_not_wait_for_the_call_it_interrupted() -> None:
    # The main thread is inside a call to a server that never answers; a SIGTERM handler
    # closes the client. That call can never be returned to (its thread is running the
    # handler), so close() ends it instead of waiting out its timeout.
    with LoopbackServer([Stall()]) as stalled:
        result = run_script(
            """
            import os, signal, threading, time
            from pancake_pos import PancakeClient
            from pancake_pos.errors import PancakeError

            client = PancakeClient(KEY, "shop", base_url=URL, max_retries=0, timeout=30)
            handled = []

            def on_term(signum, frame):
                client.close()
                handled.append("closed")

            signal.signal(signal.SIGTERM, on_term)

            def terminate_once_the_call_runs():
                while not client._loop_thread._calls:
                    time.sleep(0.01)
                os.kill(os.getpid(), signal.SIGTERM)

            threading.Thread(target=terminate_once_the_call_runs, daemon=True).start()
            try:
                client.webhooks.list()
                print("call ran")
            except PancakeError as error:
                print(type(error).__name__, "-", error)
            print(handled)
            """,
            KEY=API_KEY,
            URL=stalled.base_url,
        )

    assert result.returncode == 0, result.stderr
    assert "['closed']" in result.stdout
    assert "PancakeError - This PancakeClient is closed" in result.stdout


def lines_of(function: Any) -> list[int]:
    code = function.__code__
    return sorted({line for _, _, line in code.co_lines() if line is not None})


def test_an_interrupt_at_any_line_of_the_hand_over_leaves_a_closable_client(
    server: LoopbackServer,
) -> None:
    client = PancakeClient(API_KEY, "shop", base_url=server.base_url, max_retries=0)
    loop_thread = client._loop_thread
    target = type(loop_thread).run.__code__
    interrupted = 0
    previous = sys.gettrace()  # a coverage tool's tracer, say: put back after each round
    for line in lines_of(type(loop_thread).run):

        def tracer(frame: FrameType, event: str, arg: Any, line: int = line) -> Any:
            if frame.f_code is not target:
                return None

            def local(frame: FrameType, event: str, arg: Any) -> Any:
                if event == "line" and frame.f_lineno == line:
                    sys.settrace(previous)
                    raise KeyboardInterrupt
                return local

            return local

        sys.settrace(tracer)
        try:
            client.webhooks.list()
        except KeyboardInterrupt:
            interrupted += 1
        finally:
            sys.settrace(previous)

    closer = threading.Thread(target=client.close, daemon=True)
    closer.start()
    closer.join(timeout=GUARD)

    assert interrupted > 3
    assert not closer.is_alive(), "close() hung after an interrupted hand-over"
    assert client.is_closed


def test_a_call_from_an_atexit_handler_raises_a_pancake_error(server: LoopbackServer) -> None:
    # "localhost" makes the call resolve a name, which needs a worker thread: Python refuses to
    # start one once the interpreter is shutting down.
    result = run_script(
        """
        import atexit
        from pancake_pos import PancakeClient
        from pancake_pos.errors import APITimeoutError, PancakeError

        client = PancakeClient(KEY, "shop", base_url=URL, max_retries=0)

        def at_exit():
            try:
                client.webhooks.list()
                print("call ran")
            except PancakeError as error:
                print("PancakeError:", error)

        atexit.register(at_exit)
        """,
        KEY=API_KEY,
        URL=server.base_url.replace("127.0.0.1", "localhost"),
    )

    assert result.returncode == 0, result.stderr
    assert "RuntimeError" not in result.stderr
    assert "PancakeError: The interpreter is shutting down" in result.stdout


async def test_the_wait_for_a_pooled_connection_is_bounded_by_the_pool_timeout() -> None:
    one_connection = httpx.AsyncClient(limits=httpx.Limits(max_connections=1))
    async with (
        LoopbackServer([Stall(), Respond.json(200, {"data": []})]) as server,
        one_connection,
        AsyncPancakeClient(
            API_KEY,
            "shop",
            base_url=server.base_url,
            timeout=httpx.Timeout(20, pool=0.2),
            max_retries=0,
            http_client=one_connection,
        ) as client,
    ):
        holder = asyncio.create_task(client.webhooks.list())
        # The server runs in a thread of its own: poll until the first call holds the connection.
        while not server.requests:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        with pytest.raises(APITimeoutError) as caught:
            await client.webhooks.get_pending_deliveries()
        holder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await holder

    assert isinstance(caught.value.__cause__, httpx.PoolTimeout)
    assert "pool" in str(caught.value)
    assert len(server.requests) == 1


def test_close_closes_an_injected_http_client_on_the_facades_loop(
    server: LoopbackServer,
) -> None:
    http_client = httpx.AsyncClient()
    with PancakeClient(
        API_KEY, "shop", base_url=server.base_url, http_client=http_client, max_retries=0
    ) as client:
        assert client.webhooks.list() == WebhookList(data=[])  # a pooled connection is open
        copy = client.with_options(timeout=5)
        copy.close()
        assert not http_client.is_closed  # a copy closes nothing

    assert http_client.is_closed
