"""`SandboxServer`: a sandbox served by uvicorn in a background thread, for tests and the demo.

Example:

    from pancake_pos import AsyncPancakeClient
    from pancake_pos.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        async with AsyncPancakeClient(
            sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url
        ) as client:
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from ._app import SandboxApp, create_app
from ._asgi import Observer
from ._config import DEFAULT_RETRY_SCHEDULE, SandboxConfig
from ._faults import parse_fault
from ._samples import sample_data
from ._spec import API_PREFIX, Operation, find_operation
from ._store import remembered_identity
from ._validation import BodyNotJSON, check_body

__all__ = ["GRACEFUL_SHUTDOWN", "SandboxServer", "bind_socket", "serve"]

_START_TIMEOUT = 30.0
_uvicorn_logger = logging.getLogger("uvicorn.error")
GRACEFUL_SHUTDOWN = 3
"""Seconds calls still running get to finish when the server stops; then they are cancelled."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port); port 0 picks a free port, with no race."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: accepted sockets inherit it, and asyncio only turns Nagle's
    # algorithm off (TCP_NODELAY) on sockets whose proto says TCP; without it every answer
    # written in two parts (headers, body) waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _PromptServer(uvicorn.Server):
    """A uvicorn server that stops as soon as it is asked, not at its next tick.

    uvicorn looks at `should_exit` every 0.1 s and, once stopping, waits a fixed 0.1 s and then
    polls every 0.1 s for the connections and calls to finish. This server wakes its main loop at
    once when `wake()` is called (from any thread) and polls every 10 ms while stopping. What
    stopping does is unchanged: no new connections; idle keep-alive connections are closed; the
    calls still running get `timeout_graceful_shutdown` seconds, then are cancelled; then the
    app's shutdown runs.
    """

    _POLL = 0.01

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None

    def wake(self) -> None:
        """Ask the server to stop now (safe from any thread)."""
        self.should_exit = True
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: it stopped already
                loop.call_soon_threadsafe(woken.set)

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._woken.wait()
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        state = self.server_state
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                # uvicorn's state has no event to wait on: poll it, as uvicorn does (10x as often)
                while (state.connections or state.tasks) and not self.force_exit:  # noqa: ASYNC110
                    await asyncio.sleep(self._POLL)
                for server in self.servers:
                    await server.wait_closed()
        except TimeoutError:
            _uvicorn_logger.error(
                "Cancel %s running task(s), timeout graceful shutdown exceeded", len(state.tasks)
            )
            for task in state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()


class ThreadedUvicorn:
    """An ASGI app served by uvicorn on its own event loop in a daemon thread."""

    def __init__(self, app: Any, host: str, port: int, *, log_level: str | None = None) -> None:
        self._socket = bind_socket(host, port)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            http="h11",
            ws="none",
            lifespan="on",
            log_config=None,
            log_level=log_level,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        )
        self._server = _PromptServer(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # SystemExit on a failed startup, reported by start()
            self._failure = exc

    def start(self) -> None:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        started = threading.Event()
        while not self._server.started:
            if not self._thread.is_alive():
                self._socket.close()
                raise RuntimeError("the server failed to start") from self._failure
            started.wait(0.01)

    def stop(self) -> None:
        """Stop accepting, finish what is running, shut the app down, join the thread."""
        self._server.wake()
        self._thread.join(timeout=_START_TIMEOUT)
        self._socket.close()
        if self._failure is not None and not isinstance(self._failure, SystemExit):
            raise RuntimeError("the server stopped with an error") from self._failure


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _AnnouncingServer(_PromptServer):
    """A uvicorn server that calls `on_ready` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()


def serve(
    config: SandboxConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve a sandbox in this thread until Ctrl-C (SIGINT) or SIGTERM; what `pancake-pos
    sandbox` runs. `on_ready(base_url)` is called once it accepts connections; `OSError` when
    the address cannot be bound. Stopping takes a few seconds at most: calls still running
    after `GRACEFUL_SHUTDOWN` seconds are cancelled, deliveries in flight after one more
    second too (they stay pending in the database and go out on the next start).

    Example:

        serve(SandboxConfig(api_key="sk_sandbox_1", shop_id="shop_1"), port=8765, on_ready=print)
    """
    sock = bind_socket(host, port)
    base_url = f"http://{_url_host(host)}:{sock.getsockname()[1]}{API_PREFIX}"
    server = _AnnouncingServer(
        uvicorn.Config(
            create_app(config),
            http="h11",
            ws="none",
            lifespan="on",
            log_level="warning",
            access_log=False,  # access lines would show the api_key query parameter
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        ),
        on_ready=lambda: on_ready(base_url) if on_ready is not None else None,
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its graceful shutdown; stopping is the point
    finally:
        sock.close()


@functools.cache
def _emit_operation() -> Operation:
    operation = find_operation("POST", f"{API_PREFIX}/shops/shop/sandbox/events")
    assert operation is not None  # the document describes the sandbox's own endpoint
    return operation


def _check_emitted(event: object, data: object) -> None:
    """Refuse what `POST /sandbox/events` would refuse (`ValueError` naming the field), and data
    that is not JSON at all (a receiver could not read it)."""
    body = {"event": event} if data is None else {"event": event, "data": data}
    try:
        raw = json.dumps(body, allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise ValueError(f"data: not JSON ({error})") from None
    try:
        _, problems = check_body(_emit_operation(), raw)
    except BodyNotJSON as error:  # such as a lone surrogate in a string
        raise ValueError(f"data: not JSON ({error})") from None
    if problems:
        raise ValueError("; ".join(f"{p['field']}: {p['message']}" for p in problems))


class SandboxServer:
    """A sandbox on a free loopback port, in a background thread (`with` or `async with`).

    Example:

        >>> with SandboxServer(retry_schedule=(0.2, 0.5)) as sandbox:
        ...     sandbox.base_url.endswith("/api/v1")
        True

    `api_key` and `shop_id` are generated when not given; with a `db` file, the ones it
    remembers are used (and the ones given are remembered). `db` keeps the state across
    restarts. `observer(method, path, status, headers, body)` sees every answer of the API.
    The other keyword arguments are those of `SandboxConfig`. It logs one line per API call
    and per delivery attempt to the `pancake_pos.sandbox` logger (level INFO).
    """

    def __init__(
        self,
        api_key: str | None = None,
        shop_id: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | os.PathLike[str] | None = None,
        retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE,
        delivery_timeout: float = 5.0,
        rotation_grace: float = 24 * 3600.0,
        loopback_only: bool = False,
        delivery_workers: int = 16,
        deliveries_per_webhook: int = 8,
        log_level: str | None = None,
        observer: Observer | None = None,
    ) -> None:
        if db is not None:
            api_key, shop_id = remembered_identity(db, api_key, shop_id)
        self.api_key = api_key or f"sk_sandbox_{secrets.token_urlsafe(18)}"
        self.shop_id = shop_id or f"shop_{secrets.token_hex(4)}"
        self.host = host
        self.config = SandboxConfig(
            api_key=self.api_key,
            shop_id=self.shop_id,
            db=db,
            retry_schedule=tuple(retry_schedule),
            delivery_timeout=delivery_timeout,
            rotation_grace=rotation_grace,
            loopback_only=loopback_only,
            delivery_workers=delivery_workers,
            deliveries_per_webhook=deliveries_per_webhook,
        )
        self._requested_port = port
        self._log_level = log_level
        self._observer = observer
        self._runner: ThreadedUvicorn | None = None
        self.app: SandboxApp | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._runner else "not running"
        return f"SandboxServer({where}, shop_id={self.shop_id!r}, api_key='***')"

    @property
    def port(self) -> int:
        """The port it listens on (known once started)."""
        if self._runner is None:
            raise RuntimeError("the sandbox is not running")
        return self._runner.port

    @property
    def url(self) -> str:
        """`http://host:port`, the server's root."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API's base URL, `http://host:port/api/v1` (what the SDK's `base_url` wants)."""
        return f"{self.url}{API_PREFIX}"

    def start(self) -> SandboxServer:
        """Start serving (a fresh app each time, so a `db` file is read again)."""
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        self.app = create_app(self.config, observer=self._observer)
        runner = ThreadedUvicorn(
            self.app, self.host, self._requested_port, log_level=self._log_level
        )
        runner.start()
        self._runner = runner
        return self

    def stop(self) -> None:
        """Stop serving (a few seconds at most). Deliveries not yet made stay pending: with a `db`
        file, they go out when a sandbox starts on it again."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()

    def emit(self, event: str, data: dict[str, Any] | None = None) -> str:
        """Emit `event` to every active webhook subscribed to it; return the event id.

        As `POST /sandbox/events` does: the deliveries are stored before this returns and sent
        in the background. `data` is the event's data (a realistic sample when `None`).
        `ValueError` when `event` is not a name of the form `group.action` or `data` is not
        a JSON object.

        Example:

            event_id = sandbox.emit("order.created", {"id": 1001, "status_name": "new"})
        """
        if self.app is None or self._runner is None:
            raise RuntimeError("the sandbox is not running")
        _check_emitted(event, data)
        event_id, _ = self.app.state.dispatcher.emit(
            self.shop_id, event, sample_data(event) if data is None else data
        )
        return event_id

    def inject_fault(
        self,
        kind: str,
        count: int = 1,
        *,
        retry_after: int = 1,
        delay: float = 1.0,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Make the next `count` API calls fail (see `pancake_pos.sandbox._faults` for kinds).

        Example:

            sandbox.inject_fault("503", count=2, retry_after=1)
        """
        if self.app is None:
            raise RuntimeError("the sandbox is not running")

        fault = parse_fault(
            {
                "kind": kind,
                "count": count,
                "retry_after": retry_after,
                "delay": delay,
                "path": path,
                "method": method,
            }
        )
        self.app.state.faults.add(fault)

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        if self.app is not None:
            self.app.state.faults.clear()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
