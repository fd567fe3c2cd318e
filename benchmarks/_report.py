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
    "tenacity",
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

MISS_EXPLANATIONS: dict[str, str] = {}
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
    lines = ["Goals (DESIGN.md)"]
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
        "Side-by-side measurements of the SDK against the goals in DESIGN.md (measured here, "
        "never asserted by a test). Regenerate with `nox -s bench` (or `python -m benchmarks`); "
        "`python -m benchmarks --quick` is a shorter run that does not write this file.",
        "",
        "Every network number is taken against a loopback HTTP/1.1 server that answers at once "
        "with canned JSON (a raw asyncio protocol with keep-alive, in its own process so it "
        "shares neither CPU time nor the GIL with the client): a `Webhook` for "
        "`GET .../webhooks/{id}`, a 100-delivery `DeliveryPage` for `GET .../webhook-deliveries`,"
        " and a paged history for the walks. It is not the sandbox: no business logic is "
        "measured. Times are medians of several repeats after a warm-up; contenders are timed "
        "in turns so a busy moment of the machine hits them alike. Ratios in the tables are "
        "over the reference named in each part.",
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
    for goal in missed:
        explanation = MISS_EXPLANATIONS.get(goal.key, "Not analysed yet.")
        out += [f"**{goal.name}** ({goal.measured}, target {goal.target}): {explanation}", ""]
    out += [CHANGES_HEADING, "", _kept_changes(previous), ""]
    return "\n".join(out)
