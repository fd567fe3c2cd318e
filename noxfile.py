"""Every check the project runs: `nox` runs lint, typecheck, codegen and tests.

`nox -s bench` (not part of the default run) measures performance and writes BENCHMARKS.md.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "codegen", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
LINT_TOOLS = ["ruff>=0.6"]


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Formatting and lint: ruff format --check, ruff check."""
    session.install(*LINT_TOOLS)
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/ and codegen/."""
    session.install("-e", ".[all]", "mypy>=1.10", "pyyaml>=6", "types-PyYAML")
    session.run("mypy", "--strict", "src", "codegen")


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """The drift check: the committed models equal a fresh generation from openapi/."""
    session.install("-e", ".", "pyyaml>=6", "ruff>=0.6")
    session.run("python", "-m", "codegen", "--check")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, integration against the sandbox, contract)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks; writes BENCHMARKS.md. Not part of the default run."""
    session.install(
        "-e",
        ".[dev]",
        "openapi-python-client",
        "datamodel-code-generator",
        "pydantic>=2",
    )
    session.run("python", "-m", "benchmarks", *session.posargs)
