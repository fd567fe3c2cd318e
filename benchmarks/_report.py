"""The console table and BENCHMARKS.md."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
from collections.abc import Iterable

from ._common import Goal, Measurement, PartResult
from ._runner import Report

__all__ = [
    "MISS_EXPLANATIONS",
    "machine",
    "render_console",
    "render_goals",
    "render_markdown",
    "render_part",
    "versions",
]

PACKAGES = (
    "pancake-pos",
    "httpx",
    "httpcore",
    "anyio",
    "attrs",
    "cattrs",
    "httpx-aiohttp",
    "aiohttp",
    "pydantic",
    "pydantic-core",
    "openapi-python-client",
    "datamodel-code-generator",
    "standardwebhooks",
)

CHANGES_HEADING = "## What we changed"
_CHANGES_PLACEHOLDER = (
    "_Nothing yet. When a fix for a miss lands, add a line here: what changed (file, function), "
    "why, and the numbers before and after. This section is kept when BENCHMARKS.md is "
    "regenerated._"
)

_ORJSON = (
    "Parsing the JSON is most of the cost: for the 100-delivery page (65 KB) `json.loads` alone "
    "takes about two thirds of our decoding, and as long as the SDK parses with the standard "
    "library it cannot get under the goal (pydantic parses and validates in one pass in Rust "
    "in about the time `json.loads` takes alone). Parsing answers with `orjson.loads` in "
    "`Transport._decode` and `Transport._status_error` (`pancake_pos/_transport.py`), when "
    "orjson is installed, measured in a prototype on this machine (two runs each, against "
    "the same tree without it): list_deliveries 1.25x -> 1.02-1.03x the floor; decoding "
    "0.63-0.64x -> 0.41-0.42x the generated from_dict, and 1.31x -> 0.85-0.86x pydantic's "
    "model_validate_json. Structuring alone (cattrs, from "
    "parsed data) is already about 0.4x the generated from_dict, and about 1.2x pydantic's "
    "model_validate (see the notes of part 2)."
)

_IMPORT = (
    "`import httpx` is the floor; on top of it the SDK imports attrs and cattrs, "
    "creates its 27 attrs classes, and builds every cattrs hook at import time "
    "(`_build_model_hooks()` in `pancake_pos/_converter.py`, the largest single item); "
    "`import pancake_pos` also imports the sync facade (`_sync`, with anyio.from_thread: about "
    "15 ms more). Prototyped: build the hooks on first use (cattrs does that by itself), "
    "retry with a plain loop rather than tenacity, and "
    "import the converter in `Transport._decode` on first use: the client's import went from "
    "1.5-1.8x to 1.27-1.47x `import httpx` here. Not prototyped: `PancakeClient` (and `_sync`) "
    "loaded on first access through a module `__getattr__` in `pancake_pos/__init__.py`. Note "
    "that `import httpx` here includes rich and click (installed by the dev extras, httpx then "
    "loads its command line); without them httpx imports faster and every ratio here is about "
    "0.3x higher."
)

MISS_EXPLANATIONS: dict[str, str] = {
    "per_call_list": _ORJSON,
    "decode_generated": _ORJSON,
    "decode_pydantic": _ORJSON,
    "per_call_get_by_id": (
        "The SDK's own work on a small answer (building the request, the gate, mapping the "
        "status, structuring a Webhook) is a few percent of a loopback call; a miss here has "
        "been noise on a busy machine (see the spread in the notes) whenever seen so far."
    ),
    "generated_get_by_id": (
        "On a small answer both clients cost about one httpx request; the difference is a few "
        "percent and within the noise of a busy machine (see the spread in the notes). On the "
        "100-delivery page the SDK is clearly faster."
    ),
    "memory": (
        "Not a leak: httpx ties each response to its stream in a reference cycle "
        "(`response.stream = BoundAsyncStream(..., response=response)` in httpx/_client.py), so "
        "every response, its 65 KB body included, waits for the cyclic garbage collector; the "
        "longer the walk, the more of them pile up between two full collections (they are all "
        "freed by `gc.collect()`). Fix (prototyped): in `HttpPool.send` "
        "(`pancake_pos/_transport.py`), once the body is read, replace the stream by "
        "`httpx.ByteStream(response.content)`, which breaks the cycle; peak during a walk "
        "measured 1.73 -> 1.14 MiB (10,000 deliveries) and 2.78-3.54 -> 1.24 MiB (100,000)."
    ),
    "import": _IMPORT,
    "import_client": _IMPORT,
    "fanout_speed": (
        "The bare client's time varies a lot with the machine's load (20-38 s here) and it "
        "runs once; see the SDK's own time too. A smaller gate makes the fan-out faster still: "
        "with the pool and gate at 20 (`httpx.Limits(max_connections=20)`), 1,000 calls took "
        "2.1-2.7 s against 6.0-6.7 s at 100 in the same process, because httpcore's pool work "
        "per request grows with the connections and requests it holds."
    ),
    "facade": (
        "Each sync call crosses to the facade's loop thread and back: two thread wake-ups (a "
        "call that does nothing costs about 97 µs here), and the call itself runs slower on a "
        "loop woken from another thread (555-650 µs against 530 µs for the same get_by_id made "
        "on one thread: wake-ups and cold caches on this 2-core machine). The caller's own "
        "Python work is under 30 µs a call (cProfile). The cost is fixed per call, so the "
        "cheaper the async call, the higher the ratio: against a real network (tens of "
        "milliseconds a call) it is a few percent. Getting under 1.25x here would mean calls "
        "that do not cross threads, which a loop of its own (needed to work under a running "
        "loop and from any thread) does not allow. See "
        "docs/design.md (the sync facade)."
    ),
    "aiohttp_single": (
        "The aiohttp engine's single call was measured slower than a bare httpx call; httpx "
        "got cheaper when sniffio became a dependency (httpcore imports it on every request)."
    ),
    "fanout_clean": "See the errors column of the fan-out rows for the first error.",
    "fanout_aiohttp_clean": "See the errors column of the fan-out rows for the first error.",
    "verify": "See benchmarks/bench_signing.py.",
    "receiver_handle": (
        "The reference stops at a dict; `handle` also builds the typed event (envelope, `Order`, "
        "its `OrderItem`s and `CustomerAddress`: about 60% of its time, see the 'of which' rows) "
        "and claims and completes the event in the store (a quarter). Verifying the signature is "
        "a third of the reference's time. Already done: data that fits is read by a reader built "
        "once per model (`pancake_pos/events.py`, the converter only deciding what does not "
        "fit), orjson parses when installed, and claim tokens are a counter after a random "
        "prefix: 27-28 µs (1.8-2.1x) before, 20-21 µs after. What is left is building about 40 "
        "attrs fields of typed models per delivery, which the typed events are for."
    ),
    "receiver_asgi": "See part 8.",
    "store_cost": "See the notes of part 10.",
}
"""Why a goal is missed, by `Goal.key`: shown under "Misses" only while the goal is missed."""


def machine() -> dict[str, str]:
    """CPU model, cores, Python and OS."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    logical = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = logical
    return {
        "CPU": model,
        "cores": f"{usable} usable ({logical} logical)",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": platform.platform(),
    }


def versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """The installed version of each package ("not installed" when absent)."""
    found: dict[str, str] = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def format_value(measurement: Measurement) -> str:
    value, unit = measurement.value, measurement.unit
    if value is None:
        return "error"
    if unit == "µs":
        return f"{value:,.1f} µs"
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "s":
        return f"{value:,.3f} s"
    if unit == "MiB":
        return f"{value:,.2f} MiB"
    if unit in ("/s", "calls/s"):
        return f"{value:,.0f} {unit}"
    if unit in ("", "fds"):
        return f"{value:+.0f}" if unit == "fds" else f"{value:,.0f}"
    return f"{value:,.3g} {unit}"


def _ratio(measurement: Measurement) -> str:
    return "" if measurement.ratio is None else f"{measurement.ratio:.2f}x"


def verdict(goal: Goal) -> str:
    if goal.met is None:
        return "not measured"
    word = "met" if goal.met else "MISSED"
    return f"{word} ({goal.margin})" if goal.margin else word


def render_part(part: PartResult) -> str:
    """One part as console lines: name, median, ratio, note."""
    lines = [f"{part.title}  [{part.seconds:.1f} s]"]
    width = max((len(m.name) for m in part.measurements), default=10)
    for measurement in part.measurements:
        note = measurement.error or measurement.note
        lines.append(
            f"  {measurement.name:<{width}}  {format_value(measurement):>16}  "
            f"{_ratio(measurement):>7}  {note}".rstrip()
        )
    return "\n".join(lines)


def render_goals(parts: Iterable[PartResult]) -> str:
    goals = [goal for part in parts for goal in part.goals]
    width = max((len(goal.name) for goal in goals), default=10)
    target_width = max((len(goal.target) for goal in goals), default=6)
    measured_width = max((len(goal.measured) for goal in goals), default=8)
    lines = ["Goals (docs/performance.md)"]
    for goal in goals:
        lines.append(
            f"  {goal.name:<{width}}  {goal.target:<{target_width}}  "
            f"{goal.measured:<{measured_width}}  {verdict(goal)}"
        )
    return "\n".join(lines)


def render_console(report: Report) -> str:
    sections = [render_part(part) for part in report.parts]
    sections.append(render_goals(report.parts))
    return "\n\n".join(sections)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _kept_changes(previous: str | None) -> str:
    """The "What we changed" section of the previous BENCHMARKS.md, else the placeholder."""
    if previous:
        match = re.search(
            rf"^{re.escape(CHANGES_HEADING)}\n(.*?)(?=^## |\Z)", previous, re.S | re.M
        )
        if match and match.group(1).strip():
            return match.group(1).strip()
    return _CHANGES_PLACEHOLDER


def _load(load: tuple[float, float, float] | None) -> str:
    return "unknown" if load is None else " / ".join(f"{value:.2f}" for value in load)


def render_markdown(report: Report, previous: str | None = None) -> str:
    """BENCHMARKS.md for `report`; the "What we changed" section of `previous` is kept."""
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out: list[str] = [
        "# Benchmarks",
        "",
        "Side-by-side measurements of the SDK against the goals in docs/performance.md "
        "(measured here, never asserted by a test). "
        "Regenerate with `nox -s bench` (or `python -m benchmarks`); "
        "`python -m benchmarks --quick` is a shorter run that does not write this file.",
        "",
        "Every network number is taken against a loopback HTTP/1.1 server that answers at once "
        "with canned JSON (a raw asyncio protocol with keep-alive, in its own process so it "
        "shares neither CPU time nor the GIL with the client): a `Webhook` for "
        "`GET .../webhooks/{id}`, a 100-delivery `DeliveryPage` for `GET .../webhook-deliveries`,"
        " and a paged history for the walks. It is not the sandbox: no business logic is "
        "measured. Times are medians of several rounds after a warm-up; in each round the "
        "contenders are timed in turn, and a ratio is the median over rounds of the ratio "
        "within a round, so a busy moment of the machine hits both sides of it. Ratios in the "
        "tables are over the reference named in each part. The notes give the ratio of the "
        "best rounds too, and the spread of the rounds (the slowest quarter over the fastest "
        "quarter): a wide spread means the machine was busy with other work.",
        "",
        f"Run: {today}, {report.seconds:.0f} s in all.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    for key, value in machine().items():
        out.append(f"| {key} | {_cell(value)} |")
    out.append(
        f"| load average (1/5/15 min) | {_load(report.load_before)} before, "
        f"{_load(report.load_after)} after |"
    )
    out += ["", "## Versions", "", "| package | version |", "|---|---|"]
    for package, version in versions().items():
        out.append(f"| {package} | {version} |")
    out += [
        "",
        "## Goals",
        "",
        "| goal | target | measured | verdict |",
        "|---|---|---|---|",
    ]
    goals = [goal for part in report.parts for goal in part.goals]
    for goal in goals:
        shown = verdict(goal)
        if goal.met is False:
            shown = f"**{shown}**"
        out.append(
            f"| {_cell(goal.name)} | {_cell(goal.target)} | {_cell(goal.measured)} | "
            f"{_cell(shown)} |"
        )
    out += ["", "## Measurements", ""]
    for part in report.parts:
        out += [
            f"### {part.title}",
            "",
            "| measurement | median | ratio | note |",
            "|---|---:|---:|---|",
        ]
        for measurement in part.measurements:
            note = measurement.note
            if measurement.error:
                note = f"error: {measurement.error}"
            out.append(
                f"| {_cell(measurement.name)} | {format_value(measurement)} | "
                f"{_ratio(measurement)} | {_cell(note)} |"
            )
        out.append("")
        for note in part.notes:
            out += [note, ""]
    if report.generator_errors or report.generator_warnings:
        out += ["## Generators", ""]
        for name, error in report.generator_errors.items():
            out += [f"- {name} failed: `{error}`"]
        for warning in report.generator_warnings:
            out += [f"- warning: `{warning}`"]
        out.append("")
    missed = [goal for goal in goals if goal.met is False]
    out += ["## Misses", ""]
    if not missed:
        out += ["Every goal measured was met.", ""]
    by_explanation: dict[str, list[Goal]] = {}
    for goal in missed:
        explanation = MISS_EXPLANATIONS.get(goal.key, "Not analysed yet.")
        by_explanation.setdefault(explanation, []).append(goal)
    for explanation, goals_missed in by_explanation.items():
        names = "; ".join(
            f"**{goal.name}** ({goal.measured}, target {goal.target})" for goal in goals_missed
        )
        out += [f"{names}: {explanation}", ""]
    out += [CHANGES_HEADING, "", _kept_changes(previous), ""]
    return "\n".join(out)
