"""Ctrl-C during `pancake-pos deliveries export`: a valid file of whole lines, exit 130."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pancake_pos.models import Webhook, WebhookDelivery
from pancake_pos.sandbox import SandboxServer

DELIVERIES = 12


def _wait_for_lines(path: Path, process: subprocess.Popen[str]) -> None:
    """Wait until the export has written its first whole line (10 s at most)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= 1:
            return
        if process.poll() is not None:
            raise AssertionError(f"the export ended early: {process.communicate()}")
        time.sleep(0.01)
    raise AssertionError("the export wrote nothing in 10 s")


def test_ctrl_c_leaves_whole_lines_and_exits_130(
    sandbox: SandboxServer,
    webhook: Webhook,
    make_deliveries: Callable[..., list[WebhookDelivery]],
    tmp_path: Path,
) -> None:
    made = make_deliveries(webhook, DELIVERIES)
    target = tmp_path / "history.jsonl"
    # Every page takes 0.3 s: the 12 one-delivery pages take over 3 s, so the interrupt
    # lands while the export is still running.
    sandbox.inject_fault("slow", count=50, delay=0.3, path="/api/v1/shops/", method="GET")
    env = {
        **os.environ,
        "PANCAKE_API_KEY": sandbox.api_key,
        "PANCAKE_SHOP_ID": sandbox.shop_id,
        "PANCAKE_BASE_URL": sandbox.base_url,
        "PYTHONWARNINGS": "error",
    }
    command = [sys.executable, "-m", "pancake_pos", "deliveries", "export"]
    options = ["--output", str(target), "--webhook-id", webhook.id, "--page-size", "1"]
    process = subprocess.Popen(
        [*command, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for_lines(target, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        sandbox.clear_faults()

    assert process.returncode == 130, stdout + stderr
    content = target.read_text(encoding="utf-8")
    assert content.endswith("\n")
    lines = content.splitlines()
    assert 1 <= len(lines) < DELIVERIES
    newest_first = [delivery.id for delivery in reversed(made)]
    assert [json.loads(line)["id"] for line in lines] == newest_first[: len(lines)]
    reported = re.search(r"Interrupted: (\d+) deliver(?:y|ies) written to (.+)\.", stderr)
    assert reported is not None, stderr
    assert int(reported[1]) == len(lines)
    assert reported[2] == str(target)
    assert "Traceback" not in stderr
    assert sandbox.api_key not in stdout + stderr
