"""benchmarks/bench_facade.py keeps working (its numbers are read by people, not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "bench_facade.py"


def test_the_facade_benchmark_runs_and_reports_every_measurement() -> None:
    spec = importlib.util.spec_from_file_location("bench_facade_under_test", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    results = module.run(number=5, repeat=2)

    assert set(results) == {
        "async get_by_id (us/call)",
        "facade get_by_id (us/call)",
        "facade / async",
        "async get_by_id (CPU us/call)",
        "facade get_by_id (CPU us/call)",
        "facade / async (CPU)",
    }
    assert all(value > 0 for value in results.values())
