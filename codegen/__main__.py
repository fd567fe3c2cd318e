"""``python -m codegen [--check] [--spec PATH] [--output PATH] [--spec-copy PATH]``.

Writes the models module and the sandbox's JSON copy of the API description.

Exit codes: 0 done (or, with ``--check``, up to date); 1 ``--check`` found a committed file out of
date; 2 the API description holds something the generator refuses (the message says where).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from codegen import CodegenError, generate, module_names, spec_copy
from codegen.constants import generate_constants
from codegen.render import REPO_ROOT
from codegen.schema import load_spec

__all__ = ["main"]

DEFAULT_SPEC = REPO_ROOT / "openapi" / "pancake-pos-webhooks.yaml"
DEFAULT_OUTPUT = REPO_ROOT / "src" / "pancake_pos" / "models.py"
DEFAULT_SPEC_COPY = REPO_ROOT / "src" / "pancake_pos" / "sandbox" / "openapi.json"
CONSTANTS_OUTPUT = REPO_ROOT / "src" / "pancake_pos" / "_constants.py"
DEFAULT_EVENT_DATA_OUTPUT = REPO_ROOT / "src" / "pancake_pos" / "event_data.py"
MAX_DIFF_LINES = 60


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Generate the attrs models from the OpenAPI description.",
    )
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="the OpenAPI document")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the models module")
    parser.add_argument(
        "--spec-copy",
        type=Path,
        default=DEFAULT_SPEC_COPY,
        help="the sandbox's JSON copy of the document",
    )
    parser.add_argument(
        "--event-data-output",
        type=Path,
        default=DEFAULT_EVENT_DATA_OUTPUT,
        help="the module of the events' data models (schemas with x-python-module: event_data)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if an output differs from a fresh generation",
    )
    args = parser.parse_args(argv)
    try:
        outputs = [(args.output, generate(args.spec)), (args.spec_copy, spec_copy(args.spec))]
        outputs += _module_outputs(args)
        outputs.append((CONSTANTS_OUTPUT, generate_constants(args.spec)))
    except CodegenError as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 2
    status = 0
    for path, fresh in outputs:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if args.check:
            status = max(status, _check(current, fresh, _display(path)))
        elif current != fresh:
            path.write_text(fresh, encoding="utf-8")
            print(f"codegen: wrote {_display(path)}")
        else:
            print(f"codegen: {_display(path)} is up to date")
    return status


def _module_outputs(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """The other generated modules the document's schemas ask for (``x-python-module``)."""
    paths = {"event_data": args.event_data_output}
    outputs = []
    for module in module_names(load_spec(args.spec))[1:]:
        if module not in paths:
            raise CodegenError(f"x-python-module: unknown generated module {module!r}")
        outputs.append((paths[module], generate(args.spec, module)))
    return outputs


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, for shorter messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _check(current: str, fresh: str, output: str) -> int:
    if current == fresh:
        print(f"codegen: {output} is up to date")
        return 0
    diff = list(
        difflib.unified_diff(
            current.splitlines(),
            fresh.splitlines(),
            fromfile=f"{output} (committed)",
            tofile=f"{output} (generated)",
            lineterm="",
        )
    )
    changed = sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    print(f"codegen: {output} is out of date ({changed} lines differ):", file=sys.stderr)
    print("\n".join(diff[:MAX_DIFF_LINES]), file=sys.stderr)
    if len(diff) > MAX_DIFF_LINES:
        print(f"... {len(diff) - MAX_DIFF_LINES} more diff lines", file=sys.stderr)
    print("codegen: run `python -m codegen` and commit the result", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
