"""Fixtures of the command-line tests: a running sandbox, a real receiver, and `cli(...)`.

- `sandbox`: one `SandboxServer` on a free loopback port for the whole session (automatic
  retries 10 minutes away, so failed events stay pending). Tests keep out of each other's way
  by creating their own webhooks and filtering on them.
- `receiver`: a `RecordingReceiver` that verifies every delivery (and can be told to refuse).
- `client`: a `PancakeClient` on the sandbox, to set things up and to compare with.
- `cli(*args, env=None)`: runs `pancake-pos` in-process against the sandbox (`CliRunner`).
- `webhook`: a fresh webhook delivering to the receiver, whose secret the receiver trusts.
- `make_deliveries(webhook, n, fail=False)`: n test deliveries, newest last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from pancake_pos._sync import PancakeClient
from pancake_pos.cli._app import app
from pancake_pos.errors import NotFoundError
from pancake_pos.models import Webhook, WebhookDelivery
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver

API_KEY = "sk_cli_tests_T0p5ecret_9d2f"

Cli = Callable[..., Result]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(API_KEY, "shop_cli", retry_schedule=(600,), loopback_only=True)
    with server:
        yield server


@pytest.fixture(scope="session")
def receiver() -> Iterator[RecordingReceiver]:
    with RecordingReceiver() as running:
        yield running


@pytest.fixture(scope="session")
def client(sandbox: SandboxServer) -> Iterator[PancakeClient]:
    with PancakeClient(sandbox.api_key, sandbox.shop_id, base_url=sandbox.base_url) as sdk:
        yield sdk


@pytest.fixture
def cli_env(sandbox: SandboxServer) -> dict[str, str | None]:
    """The environment `cli` runs with: the sandbox's settings, a wide terminal."""
    return {
        "PANCAKE_API_KEY": sandbox.api_key,
        "PANCAKE_SHOP_ID": sandbox.shop_id,
        "PANCAKE_BASE_URL": sandbox.base_url,
        "PANCAKE_WEBHOOK_SECRET": None,
        "PANCAKE_LOG": None,
        "COLUMNS": "200",
    }


@pytest.fixture
def cli(cli_env: dict[str, str | None]) -> Cli:
    runner = CliRunner()

    def run(
        *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        return runner.invoke(app, list(args), env={**cli_env, **(env or {})}, input=input)

    return run


@pytest.fixture
def webhook(client: PancakeClient, receiver: RecordingReceiver) -> Iterator[Webhook]:
    hook = client.webhooks.create(
        url=receiver.url, events=["order.created", "order.updated"], description="CLI tests"
    )
    assert hook.secret_key is not None
    receiver.trust(hook.secret_key)
    yield hook
    with contextlib.suppress(NotFoundError):  # a test deleted it already
        client.webhooks.delete(hook.id)


@pytest.fixture
def make_deliveries(
    client: PancakeClient, receiver: RecordingReceiver
) -> Callable[..., list[WebhookDelivery]]:
    def make(hook: Webhook, count: int, *, fail: bool = False) -> list[WebhookDelivery]:
        if fail:
            receiver.fail_next(count, status=500)
        made = []
        for number in range(count):
            result = client.webhooks.test(hook.id, "order.created", {"number": number})
            assert result.status == ("failed" if fail else "success")
            made.append(client.webhooks.get_delivery_by_id(result.delivery_id))
        return made

    return make


@pytest.fixture
def emit(sandbox: SandboxServer) -> Callable[..., dict[str, Any]]:
    """`emit(event, data)`: the sandbox's event endpoint (deliveries follow in the background)."""

    def post(event: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(
            f"{sandbox.base_url}/shops/{sandbox.shop_id}/sandbox/events",
            params={"api_key": sandbox.api_key},
            json={"event": event, "data": data},
        )
        assert answer.status_code == 202, answer.text
        body: dict[str, Any] = answer.json()
        return body

    return post
