"""`pancake-pos sandbox` hands its options to the server it starts (no server runs here)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from pancake_pos.cli._app import app
from pancake_pos.sandbox import _server


def test_rotation_grace_retry_schedule_and_delivery_timeout_reach_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[Any] = []

    def serve(config: Any, *, host: str, port: int, on_ready: Any) -> None:
        started.append((config, host, port))
        on_ready(f"http://{host}:{port}/api/v1")

    monkeypatch.setattr(_server, "serve", serve)
    result = CliRunner().invoke(
        app,
        [
            "sandbox", "--port", "0", "--quiet", "--rotation-grace", "5",
            "--retry-schedule", "2,4", "--delivery-timeout", "3", "--api-key", "sk_given",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [(config, host, port)] = started
    assert (host, port) == ("127.0.0.1", 0)
    assert config.rotation_grace == 5
    assert tuple(config.retry_schedule) == (2, 4)
    assert config.delivery_timeout == 3
    assert config.api_key == "sk_given"
    assert "export PANCAKE_API_KEY=sk_given" in result.stdout
