"""The benchmarks keep working: every part runs once with tiny sizes and produces numbers, and
the stand-alone benchmark scripts report every measurement.

Nothing here asserts a time or a goal: the numbers are for people (BENCHMARKS.md). A contender
whose tool is not installed (openapi-python-client, datamodel-code-generator) is recorded as an
error row and the part carries on, which is what is checked for those.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# Running the benchmarks, even with tiny sizes, takes seconds: `pytest -m "not slow"` skips them.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# What each part must measure (our own side, which needs nothing beyond the dev extras).
OWN_MEASUREMENTS = {
    "1.": [
        "get_by_id: AsyncPancakeClient",
        "get_by_id: bare httpx.AsyncClient + json.loads (floor)",
        "list_deliveries (100 items): AsyncPancakeClient",
        "get_by_id: AsyncPancakeClient on the aiohttp engine",
    ],
    "2.": [
        "pancake_pos: the transport's decoding of the answer",
        "pancake_pos: json.loads + structure(DeliveryPage)",
        "json.loads only (floor)",
    ],
    "3.": [],
    "4.": ["walk 300 deliveries: time", "walk 500 deliveries: peak memory"],
    "5.": ["AsyncPancakeClient x20: time", "bare httpx.AsyncClient x20: time"],
    "6.": ["pancake_pos verify_signature", "standardwebhooks verify(json_parse=False)"],
    "7.": ["import httpx", "import pancake_pos", "import pancake_pos._client"],
    "8.": [
        "WebhookReceiver.handle (MemoryStore, one empty async handler)",
        "standardwebhooks verify + json.loads (reference)",
    ],
    "9.": [
        "Starlette Route(receiver.asgi()) under uvicorn",
        "bare Starlette endpoint + standardwebhooks verify (reference)",
    ],
    "10": ["MemoryStore (floor)", "SQLiteStore (WAL, file on local disk)"],
    "11": ["20 events: time to all delivered and stored", "200 events: lost"],
}


@pytest.fixture(scope="module")
def benchmarks() -> ModuleType:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks")


@pytest.fixture(scope="module")
def report(benchmarks: ModuleType) -> Any:
    common = importlib.import_module("benchmarks._common")
    runner = importlib.import_module("benchmarks._runner")
    return runner.run_parts(common.SMOKE)


def test_every_part_runs_and_produces_numbers(report: Any) -> None:
    parts = report.parts
    assert [part.title[:2] for part in parts] == list(OWN_MEASUREMENTS)
    for part in parts:
        failures = [m.error for m in part.measurements if m.name == "the part failed"]
        assert failures == [], part.title
        numbers = [m for m in part.measurements if m.value is not None]
        assert numbers, f"{part.title}: no numbers"
        assert all(m.value >= 0 for m in numbers), part.title
        named = {m.name: m for m in part.measurements}
        for name in OWN_MEASUREMENTS[part.title[:2]]:
            assert name in named, f"{part.title}: {name} missing"
            assert named[name].value is not None, f"{name}: {named[name].error}"
        assert part.goals, f"{part.title}: no goal evaluated"


def test_the_sync_facade_part_reports_a_ratio(report: Any) -> None:
    part = next(p for p in report.parts if p.title.startswith("3."))
    (goal,) = part.goals
    assert goal.met is not None
    assert goal.measured.endswith("x")


def test_contenders_that_cannot_run_are_error_rows_not_crashes(report: Any) -> None:
    generator_errors: dict[str, str] = report.generator_errors
    part = next(p for p in report.parts if p.title.startswith("2."))
    named = {m.name: m for m in part.measurements}
    generated = named["openapi-python-client: DeliveryPage.from_dict(json.loads)"]
    pydantic = named["pydantic v2: model_validate_json"]
    if "openapi-python-client" in generator_errors:
        assert generated.value is None
        assert generated.error
    else:
        assert generated.value is not None
    if "datamodel-code-generator" in generator_errors:
        assert pydantic.value is None
        assert pydantic.error
    else:
        assert pydantic.value is not None


def test_the_report_renders_and_keeps_the_changes_section(
    benchmarks: ModuleType, report: Any
) -> None:
    render = importlib.import_module("benchmarks._report")
    console = render.render_console(report)
    assert "Goals (docs/performance.md)" in console
    previous = "# Benchmarks\n\n## What we changed\n\n- gate the pool (before 38 s, after 4 s)\n"
    markdown = render.render_markdown(report, previous)
    for heading in ("## Machine", "## Versions", "## Goals", "## Measurements", "## Misses"):
        assert heading in markdown
    assert "- gate the pool (before 38 s, after 4 s)" in markdown
    assert "httpx" in markdown
    fresh = render.render_markdown(report, None)
    assert "## What we changed" in fresh


def test_the_command_line_knows_its_parts(benchmarks: ModuleType) -> None:
    main = importlib.import_module("benchmarks.__main__")
    with pytest.raises(SystemExit):
        main.main(["--parts", "99"])


# The stand-alone scripts: what each one must report, for a short run of it.
SCRIPTS = {
    "bench_signing.py": (
        {"number": 20, "repeat": 1},
        {
            "pancake_pos verify_signature",
            "standardwebhooks verify(json_parse=False)",
            "pancake_pos verify (typed payload)",
            "standardwebhooks verify (dict)",
            "body_bytes",
        },
    ),
    "bench_facade.py": (
        {"number": 5, "repeat": 2},
        {
            "async get_by_id (us/call)",
            "facade get_by_id (us/call)",
            "facade / async",
            "async get_by_id (CPU us/call)",
            "facade get_by_id (CPU us/call)",
            "facade / async (CPU)",
        },
    ),
}


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_a_benchmark_script_runs_and_reports_every_measurement(script: str) -> None:
    path = ROOT / "benchmarks" / script
    spec = importlib.util.spec_from_file_location(f"{path.stem}_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sizes, expected = SCRIPTS[script]

    results = module.run(**sizes)

    assert set(results) == expected
    assert all(value > 0 for value in results.values())
