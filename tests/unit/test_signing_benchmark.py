"""benchmarks/bench_signing.py keeps working (its numbers are read by people, not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "bench_signing.py"


def test_the_signing_benchmark_runs_and_reports_every_measurement() -> None:
    spec = importlib.util.spec_from_file_location("bench_signing_under_test", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    results = module.run(number=20, repeat=1)

    assert set(results) == {
        "pancake_pos verify_signature",
        "standardwebhooks verify(json_parse=False)",
        "pancake_pos verify (typed payload)",
        "standardwebhooks verify (dict)",
        "body_bytes",
    }
    assert all(value > 0 for value in results.values())
