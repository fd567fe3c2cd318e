"""Schemathesis against a running sandbox: every check, every phase, no failure.

Schemathesis reads the packaged copy of the document (equal to the YAML, see test_spec_copy.py),
generates valid and invalid requests for every operation (examples, coverage, fuzzing and
stateful phases) and checks each answer: status codes, content types, headers, bodies against
the schemas, invalid data rejected, valid data accepted, 405 with `Allow` for undeclared methods,
401 without the key. The `api_key` comes from the config's auth section and `shop_id` is pinned
to the sandbox's shop, so the calls reach the handlers instead of a 404.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pancake_pos.sandbox import SandboxServer

SPEC = Path(__file__).parents[2] / "src" / "pancake_pos" / "sandbox" / "openapi.json"
MAX_EXAMPLES = 10
SEED = 20240429

CONFIG = """
[auth.openapi.api_key]
api_key = "{api_key}"

[parameters]
"path.shop_id" = "{shop_id}"

"""

# An Idempotency-Key belongs to the shop: the same key with a different request answers 409.
# Schemathesis would send the same example key with many requests; each gets its own instead.
HOOKS = """
import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
"""


@pytest.mark.slow
def test_schemathesis_finds_no_failure(tmp_path: Path) -> None:
    # No automatic retries (fuzzed webhooks would keep them busy) and deliveries only to
    # loopback (fuzzed URLs must never leave the machine).
    with SandboxServer(retry_schedule=(), loopback_only=True, delivery_timeout=2.0) as sandbox:
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            CONFIG.format(api_key=sandbox.api_key, shop_id=sandbox.shop_id), encoding="utf-8"
        )
        (tmp_path / "fresh_keys.py").write_text(HOOKS, encoding="utf-8")
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                str(SPEC),
                "--url",
                sandbox.base_url,
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--request-timeout",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "fresh_keys", "PYTHONPATH": str(tmp_path)},
            check=False,
        )
    report = finished.stdout[-6000:] + finished.stderr[-2000:]
    assert finished.returncode == 0, report
    assert "No issues found" in finished.stdout, report
    assert sandbox.api_key not in finished.stdout
