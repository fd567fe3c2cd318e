"""What every benchmark part shares: settings, the context, results, and timing helpers."""

from __future__ import annotations

import gc
import os
import statistics
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._server import LoopbackServer

__all__ = [
    "API_KEY",
    "FULL",
    "SHOP_ID",
    "SMOKE",
    "Context",
    "Goal",
    "Measurement",
    "PartResult",
    "Settings",
    "Timings",
    "describe_error",
    "interleave_async",
    "interleave_sync",
    "open_file_descriptors",
    "per_call_async",
    "per_call_sync",
]

API_KEY = "bench-api-key"
SHOP_ID = "shop_42"


@dataclass(frozen=True)
class Settings:
    """How much each part measures. `FULL` for `python -m benchmarks`, `SMOKE` for the tests."""

    warmup: int = 200
    rounds: int = 25
    """Rounds of the interleaved timings (parts 1 and 2); medians are over rounds."""
    repeats: int = 7
    """Repeats of the other timings (signing, facade)."""
    get_calls: int = 100
    list_calls: int = 30
    decode_number: int = 40
    walk_sizes: tuple[int, ...] = (10_000, 100_000)
    fanout: int = 1_000
    fanout_repeats: int = 3
    bare_fanout: int = 1_000
    bare_fanout_budget: float = 60.0
    sustained_calls: int = 2_000
    sustained_workers: int = 50
    facade_calls: int = 500
    facade_rounds: int | None = None
    """Rounds (or repeats) of bench_facade.run(); None: its own default."""
    signing_number: int = 10_000
    import_runs: int = 15
    sandbox_events: tuple[int, int] = (1_000, 10_000)
    """Events emitted in part 11's two runs (the goal compares their times)."""


FULL = Settings()
SMOKE = Settings(
    warmup=2,
    rounds=1,
    repeats=1,
    get_calls=5,
    list_calls=2,
    decode_number=2,
    walk_sizes=(300, 500),
    fanout=20,
    fanout_repeats=1,
    bare_fanout=20,
    bare_fanout_budget=30.0,
    sustained_calls=40,
    sustained_workers=4,
    facade_calls=5,
    facade_rounds=1,
    signing_number=20,
    import_runs=1,
    sandbox_events=(20, 200),
)


@dataclass
class Context:
    """What the parts share: the settings, the loopback server, the generated contenders."""

    settings: Settings
    server: LoopbackServer
    generated: Any = None
    """A `benchmarks._generated.Generated` (the other clients' code), made once per run."""

    @property
    def base_url(self) -> str:
        return self.server.base_url


@dataclass
class Measurement:
    """One number: a median time (seconds), a rate, a size or a count. `error` when it failed."""

    part: str
    name: str
    value: float | None
    unit: str
    ratio: float | None = None
    """This value over the part's reference (the floor, or the other library)."""
    note: str = ""
    error: str | None = None


@dataclass
class Goal:
    """A performance goal, with what was measured. `met` is None when it could not be."""

    name: str
    target: str
    measured: str
    met: bool | None
    margin: str = ""
    key: str = ""
    """Names the explanation of a miss (`benchmarks._report.MISS_EXPLANATIONS`)."""


@dataclass
class PartResult:
    """What one part produced."""

    title: str
    measurements: list[Measurement] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(
        self,
        name: str,
        value: float | None,
        unit: str,
        *,
        ratio: float | None = None,
        note: str = "",
        error: str | None = None,
    ) -> Measurement:
        measurement = Measurement(self.title, name, value, unit, ratio, note, error)
        self.measurements.append(measurement)
        return measurement

    def failed(self, name: str, error: BaseException | str, unit: str = "") -> Measurement:
        text = error if isinstance(error, str) else describe_error(error)
        return self.add(name, None, unit, error=text)

    def ratio_goal(
        self,
        name: str,
        ratio: float | None,
        limit: float,
        *,
        at_most: bool = True,
        key: str = "",
        unit: str = "x",
        detail: str = "",
    ) -> Goal:
        """A goal of the form `ratio <= limit` (or `>= limit`); unmeasured when `ratio` is None."""
        sign = "<=" if at_most else ">="
        target = f"{sign} {limit:g}{unit}"
        if ratio is None:
            goal = Goal(name, target, "not measured", None, detail, key)
        else:
            met = ratio <= limit if at_most else ratio >= limit
            off = (ratio - limit) / limit * 100 if at_most else (limit - ratio) / limit * 100
            margin = f"{abs(off):.0f}% {'under' if at_most else 'over'} the limit"
            if not met:
                margin = f"by {abs(off):.0f}%"
            if detail:
                margin = f"{margin}; {detail}"
            goal = Goal(name, target, f"{ratio:.2f}{unit}", met, margin, key)
        self.goals.append(goal)
        return goal

    def check_goal(
        self,
        name: str,
        target: str,
        measured: str,
        met: bool | None,
        margin: str = "",
        key: str = "",
    ) -> Goal:
        goal = Goal(name, target, measured, met, margin, key)
        self.goals.append(goal)
        return goal

    def value(self, name: str) -> float | None:
        for measurement in self.measurements:
            if measurement.name == name:
                return measurement.value
        return None


def describe_error(error: BaseException) -> str:
    """One line: the exception type and message, and where it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(error).split())[:400]
    return f"{type(error).__name__}: {message}{where}"


def open_file_descriptors() -> int | None:
    """How many file descriptors this process has open (Linux), else None."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


async def per_call_async(call: Callable[[], Awaitable[Any]], number: int) -> float:
    """Seconds per call of `number` calls one after the other."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(number):
        await call()
    return (time.perf_counter() - start) / number


def per_call_sync(call: Callable[[], Any], number: int) -> float:
    """Seconds per call of `number` calls one after the other."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


@dataclass
class Timings:
    """Seconds per call of each contender in each round (rounds in the same order for all)."""

    samples: dict[str, list[float]]

    @property
    def medians(self) -> dict[str, float]:
        return {name: statistics.median(values) for name, values in self.samples.items()}

    def ratio(self, name: str, reference: str) -> float | None:
        """The median over rounds of `name`'s time over `reference`'s in the same round: a slow
        spell of the machine lands on both sides of each ratio."""
        if name not in self.samples or reference not in self.samples:
            return None
        pairs = zip(self.samples[name], self.samples[reference], strict=True)
        return statistics.median(mine / theirs for mine, theirs in pairs)

    def best_ratio(self, name: str, reference: str) -> float | None:
        """`name`'s best round over `reference`'s best round (least touched by other load)."""
        if name not in self.samples or reference not in self.samples:
            return None
        return min(self.samples[name]) / min(self.samples[reference])

    def spread(self, name: str) -> float:
        """How far apart the rounds are: the slowest quarter's time over the fastest's."""
        values = sorted(self.samples[name])
        low, high = values[len(values) // 4], values[-1 - len(values) // 4]
        return high / low


def _rotated(names: list[str], round_number: int) -> list[str]:
    shift = round_number % len(names)
    return names[shift:] + names[:shift]


async def interleave_async(
    contenders: Mapping[str, Callable[[], Awaitable[Any]]],
    *,
    number: int,
    rounds: int,
    warmup: int,
) -> Timings:
    """Time `number` calls of each contender per round, for `rounds` rounds; within a round the
    contenders take turns (in an order that rotates from round to round)."""
    for call in contenders.values():
        for _ in range(warmup):
            await call()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(rounds):
        for name in _rotated(names, round_number):
            samples[name].append(await per_call_async(contenders[name], number))
    return Timings(samples)


def interleave_sync(
    contenders: Mapping[str, Callable[[], Any]],
    *,
    number: int,
    rounds: int,
    warmup: int,
) -> Timings:
    """`interleave_async` for plain functions."""
    for call in contenders.values():
        for _ in range(warmup):
            call()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(rounds):
        for name in _rotated(names, round_number):
            samples[name].append(per_call_sync(contenders[name], number))
    return Timings(samples)
