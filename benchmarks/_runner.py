"""Runs the parts one after the other; a part that fails is recorded and the others carry on."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import (
    bench_calls,
    bench_decode,
    bench_fanout,
    bench_import,
    bench_receiver,
    bench_receiver_http,
    bench_sandbox,
    bench_stores,
    bench_sync,
    bench_verify,
    bench_walk,
)
from ._common import Context, PartResult, Settings
from ._generated import Generated, generate
from ._server import LoopbackServer

__all__ = ["PARTS", "Report", "run_parts"]

PARTS: dict[int, ModuleType] = {
    1: bench_calls,
    2: bench_decode,
    3: bench_sync,
    4: bench_walk,
    5: bench_fanout,
    6: bench_verify,
    7: bench_import,
    8: bench_receiver,
    9: bench_receiver_http,
    10: bench_stores,
    11: bench_sandbox,
}
"""Each module has `TITLE` and `measure(context)` (a function or a coroutine function)."""


@dataclass
class Report:
    """Everything one run produced."""

    settings: Settings
    parts: list[PartResult] = field(default_factory=list)
    generator_errors: dict[str, str] = field(default_factory=dict)
    generator_warnings: list[str] = field(default_factory=list)
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    seconds: float = 0.0


def _load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def _run_part(module: ModuleType, context: Context) -> PartResult:
    measure: Callable[[Context], Any] = module.measure
    start = time.perf_counter()
    try:
        if inspect.iscoroutinefunction(measure):
            result: PartResult = asyncio.run(measure(context))
        else:
            result = measure(context)
    except Exception as error:
        result = PartResult(module.TITLE)
        result.failed("the part failed", error)
    result.seconds = time.perf_counter() - start
    return result


def run_parts(
    settings: Settings,
    numbers: Sequence[int] | None = None,
    *,
    on_part: Callable[[PartResult], None] | None = None,
) -> Report:
    """Run the parts numbered `numbers` (all by default) with `settings`."""
    chosen = sorted(PARTS) if numbers is None else sorted(numbers)
    report = Report(settings, load_before=_load_average())
    start = time.perf_counter()
    needs_generated = bool({1, 2} & set(chosen))
    generated = generate() if needs_generated else Generated()
    try:
        for name, error in (
            ("openapi-python-client", generated.client_error),
            ("datamodel-code-generator", generated.pydantic_error),
        ):
            if needs_generated and error:
                report.generator_errors[name] = error
        report.generator_warnings = list(generated.warnings)
        with LoopbackServer() as server:
            context = Context(settings, server, generated)
            for number in chosen:
                result = _run_part(PARTS[number], context)
                report.parts.append(result)
                if on_part is not None:
                    on_part(result)
    finally:
        generated.close()
    report.seconds = time.perf_counter() - start
    report.load_after = _load_average()
    return report
