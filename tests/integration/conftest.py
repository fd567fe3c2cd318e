"""Real things for the integration tests: a running sandbox, a real receiver, SDK clients whose
every answer is checked against the OpenAPI document.

- `sandbox`: a `SandboxServer` on a free loopback port (short retry schedule, loopback only).
- `make_sandbox(**options)`: more sandboxes, with other options; all stopped at teardown.
- `receiver`: a `RecordingReceiver` that verifies every delivery's signature.
- `spec_check`: checks every answer against the document (status listed for the operation,
  body valid against its schema, `X-Request-Id`, `Retry-After` on 429/503), both as the sandbox
  sends it (its observer) and as the tests' HTTP clients receive it (an httpx event hook);
  asserted at teardown.
- `client`: an `AsyncPancakeClient` on the sandbox, its answers going through `spec_check`.
- `raw`: a plain `httpx.AsyncClient` on the sandbox (for what the SDK refuses to send).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver
from pancake_pos.sandbox._spec import find_operation, operation_validator

SHORT_SCHEDULE = (0.3, 0.6)


class SpecCheck:
    """Checks answers against the document; keeps the problems for the teardown assertion."""

    def __init__(self) -> None:
        self.checked = 0
        self.problems: list[str] = []

    def check(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> None:
        """Check one answer of the API (answers of other paths are ignored)."""
        operation = find_operation(method, path)
        if operation is None:
            return
        self.checked += 1
        where = f"{method} {path} -> {status}"
        if "x-request-id" not in headers:
            self.problems.append(f"{where}: no X-Request-Id")
        if status in (429, 503) and "retry-after" not in headers:
            self.problems.append(f"{where}: no Retry-After")
        try:
            schema = operation.response_schema(status)
        except KeyError:
            self.problems.append(f"{where}: status not in the document")
            return
        if schema is None:
            if body:
                self.problems.append(f"{where}: a body where the document has none")
            return
        try:
            document = json.loads(body)
        except ValueError:
            self.problems.append(f"{where}: body is not JSON: {body[:200]!r}")
            return
        for error in operation_validator(schema).iter_errors(document):
            self.problems.append(f"{where}: {error.message} at {list(error.absolute_path)}")

    async def hook(self, response: httpx.Response) -> None:
        """An httpx response event hook."""
        await response.aread()
        self.check(
            response.request.method,
            response.url.path,
            response.status_code,
            response.headers,
            response.content,
        )


@pytest.fixture
def spec_check() -> Iterator[SpecCheck]:
    checker = SpecCheck()
    yield checker
    assert checker.problems == []


@pytest.fixture
def make_sandbox(spec_check: SpecCheck) -> Iterator[Callable[..., SandboxServer]]:
    """`make_sandbox(**options)`: sandboxes whose every answer goes through `spec_check`."""
    started: list[SandboxServer] = []

    def make(**options: Any) -> SandboxServer:
        options.setdefault("retry_schedule", SHORT_SCHEDULE)
        options.setdefault("loopback_only", True)
        options.setdefault("observer", spec_check.check)
        server = SandboxServer(**options).start()
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox()


@pytest.fixture
def receiver() -> Iterator[RecordingReceiver]:
    with RecordingReceiver() as running:
        yield running


@pytest.fixture
async def make_client(
    spec_check: SpecCheck,
) -> AsyncIterator[Callable[..., AsyncPancakeClient]]:
    """`make_client(server, **options)`: SDK clients whose answers go through `spec_check`."""
    opened: list[tuple[AsyncPancakeClient, httpx.AsyncClient]] = []

    def make(server: SandboxServer, **options: Any) -> AsyncPancakeClient:
        http_client = httpx.AsyncClient(event_hooks={"response": [spec_check.hook]})
        sdk = AsyncPancakeClient(
            server.api_key,
            server.shop_id,
            base_url=server.base_url,
            http_client=http_client,
            **options,
        )
        opened.append((sdk, http_client))
        return sdk

    yield make
    for sdk, http_client in opened:
        await sdk.close()
        await http_client.aclose()


@pytest.fixture
def client(
    sandbox: SandboxServer, make_client: Callable[..., AsyncPancakeClient]
) -> AsyncPancakeClient:
    return make_client(sandbox)


@pytest.fixture
async def raw(sandbox: SandboxServer, spec_check: SpecCheck) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{sandbox.base_url}/shops/{sandbox.shop_id}",
        params={"api_key": sandbox.api_key},
        event_hooks={"response": [spec_check.hook]},
    ) as http_client:
        yield http_client


Probe = Callable[[], Awaitable[Any]]


@pytest.fixture
def eventually() -> Callable[..., Awaitable[Any]]:
    """`await eventually(probe, condition)`: poll until the condition holds (10 s at most)."""
    return _eventually


async def _eventually(probe: Probe, condition: Callable[[Any], bool]) -> Any:
    """Call `probe` until `condition(result)` holds; return that result (fail after 10 s)."""
    last: Any = None
    try:
        async with asyncio.timeout(10):
            while True:
                last = await probe()
                if condition(last):
                    return last
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"the condition never held; last result: {last!r}") from None
