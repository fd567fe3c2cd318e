"""Part 7: import time, in fresh interpreters.

Each run starts a new interpreter that times `import <module>` with `time.perf_counter` (the
interpreter's own start-up is not counted); the runs of the contenders alternate, and the
median is kept. `import pancake_pos` is measured, and `import pancake_pos._client` (what
`from pancake_pos import AsyncPancakeClient` costs: the client, httpx, attrs, cattrs,
the models and the converter). Goal: at most 1.5x `import httpx`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from ._common import Context, PartResult

__all__ = ["TITLE", "import_seconds", "measure"]

TITLE = "7. Import time (fresh interpreter)"

_PROGRAM = (
    "import time; start = time.perf_counter(); import {module}; print(time.perf_counter() - start)"
)
MODULES = ("httpx", "pancake_pos", "pancake_pos._client")


def import_seconds(module: str) -> float:
    """Seconds `import module` takes in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", _PROGRAM.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(context: Context) -> PartResult:
    """Run part 7; see the module's docstring."""
    part = PartResult(TITLE)
    samples: dict[str, list[float]] = {module: [] for module in MODULES}
    for module in MODULES:  # a first, unrecorded run warms the file system cache
        import_seconds(module)
    for _ in range(context.settings.import_runs):
        for module in MODULES:
            samples[module].append(import_seconds(module))
    medians = {module: statistics.median(values) for module, values in samples.items()}
    floor = medians["httpx"]
    for module, seconds in medians.items():
        part.add(f"import {module}", seconds * 1e3, "ms", ratio=seconds / floor)
    part.ratio_goal(
        "import pancake_pos / import httpx",
        medians["pancake_pos"] / floor,
        1.5,
        key="import",
    )
    part.ratio_goal(
        "import pancake_pos._client (the client) / import httpx",
        medians["pancake_pos._client"] / floor,
        1.5,
        key="import_client",
        detail="what `from pancake_pos import AsyncPancakeClient` costs",
    )
    part.notes.append(
        f"Medians of {context.settings.import_runs} runs each, interpreters started with the "
        "same flags; the interpreter's own start-up is not counted."
    )
    return part
