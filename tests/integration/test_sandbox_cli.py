"""`pancake-pos sandbox` and `pancake-pos demo`, run as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.cli._app import app


@pytest.fixture
def sandbox_process() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pancake_pos", "sandbox", "--port", "0", "--shop-id", "shop_cli"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert process.stdout is not None
    settings: dict[str, str] = {}
    try:
        for line in process.stdout:
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                settings[name] = value
            if line.startswith("Press Ctrl-C"):
                break
        yield process, settings
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


async def test_the_sandbox_command_prints_its_settings_serves_and_stops_on_ctrl_c(
    sandbox_process: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, settings = sandbox_process
    assert settings["PANCAKE_SHOP_ID"] == "shop_cli"
    assert settings["PANCAKE_API_KEY"].startswith("sk_sandbox_")
    assert settings["PANCAKE_BASE_URL"].startswith("http://127.0.0.1:")
    assert settings["PANCAKE_BASE_URL"].endswith("/api/v1")

    async with AsyncPancakeClient(
        settings["PANCAKE_API_KEY"],
        settings["PANCAKE_SHOP_ID"],
        base_url=settings["PANCAKE_BASE_URL"],
    ) as client:
        created = await client.webhooks.create(url="http://127.0.0.1:9/x", events=["order.created"])
        assert [hook.id for hook in (await client.webhooks.list()).data] == [created.id]

    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors
    assert settings["PANCAKE_API_KEY"] not in errors


@pytest.mark.slow
def test_the_demo_command_runs_the_examples_and_exits_0() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "pancake_pos", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error", "COLUMNS": "100"},
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "The webhook is ready." in finished.stdout
    assert "Recent failures:" in finished.stdout
    assert "Demo OK" in finished.stdout
    assert "Traceback" not in finished.stderr


def test_a_bad_retry_schedule_is_refused() -> None:
    result = CliRunner().invoke(app, ["sandbox", "--retry-schedule", "1,soon"])
    assert result.exit_code == 2
    assert "retry schedule" in result.output
