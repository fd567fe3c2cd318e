"""`python -m benchmarks`: run every part, print the table, write BENCHMARKS.md.

Options: `--quick` (smaller sizes, for a look; BENCHMARKS.md is not written unless `--output`
is given), `--parts 1,2` (only those parts), `--output PATH` (default: BENCHMARKS.md at the
root of the repository), `--no-write`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ._common import FULL, PartResult
from ._report import render_goals, render_markdown, render_part
from ._runner import PARTS, run_parts

ROOT = Path(__file__).resolve().parents[1]
QUICK = dataclasses.replace(
    FULL,
    warmup=50,
    rounds=7,
    repeats=3,
    get_calls=100,
    list_calls=30,
    decode_number=30,
    walk_sizes=(2_000, 10_000),
    fanout_repeats=1,
    bare_fanout_budget=20.0,
    facade_calls=200,
    signing_number=2_000,
    import_runs=5,
)


def _parts(text: str) -> list[int]:
    numbers = [int(item) for item in text.split(",") if item.strip()]
    unknown = [number for number in numbers if number not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"no such part: {unknown}; parts are {sorted(PARTS)}")
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a look")
    parser.add_argument("--parts", type=_parts, default=None, help="e.g. 1,2,5")
    parser.add_argument("--output", type=Path, default=None, help="where to write the report")
    parser.add_argument("--no-write", action="store_true", help="print only")
    arguments = parser.parse_args(argv)
    settings = QUICK if arguments.quick else FULL
    output: Path | None = arguments.output
    if output is None and not arguments.quick and arguments.parts is None:
        output = ROOT / "BENCHMARKS.md"
    if arguments.no_write:
        output = None

    def show(part: PartResult) -> None:
        print(render_part(part), end="\n\n", flush=True)

    print("pancake-pos benchmarks: every part prints its table as it ends.\n", flush=True)
    report = run_parts(settings, arguments.parts, on_part=show)
    print(render_goals(report.parts))
    print(f"\n{report.seconds:.0f} s in all.")
    if output is not None:
        previous = output.read_text(encoding="utf-8") if output.exists() else None
        output.write_text(render_markdown(report, previous), encoding="utf-8")
        print(f"Wrote {output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
