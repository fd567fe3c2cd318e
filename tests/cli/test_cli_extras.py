"""Without an extra installed, the command line and the sandbox say which extra to install,
in one line, instead of a traceback."""

from __future__ import annotations

import subprocess
import sys


def _run_without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    hide = f"import sys\nsys.modules[{module!r}] = None\n"  # importing it now fails
    return subprocess.run(
        [sys.executable, "-c", hide + code], capture_output=True, text=True, timeout=60, check=False
    )


def test_without_the_cli_extra_the_command_says_what_to_install() -> None:
    result = _run_without("typer", "from pancake_pos.cli import main; main()")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: the command line needs the 'cli' extra: pip install 'pancake-pos[cli]'"
    ]


def test_without_the_sandbox_extra_the_sandbox_command_says_what_to_install() -> None:
    result = _run_without(
        "uvicorn",
        "import sys; sys.argv = ['pancake-pos', 'sandbox']; import pancake_pos.cli; "
        "pancake_pos.cli.main()",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: the sandbox needs the 'sandbox' extra: pip install 'pancake-pos[sandbox,cli]'"
    ]


def test_without_the_sandbox_extra_importing_the_sandbox_names_the_extra() -> None:
    result = _run_without(
        "starlette",
        "try:\n"
        "    import pancake_pos.sandbox\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error)\n",
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'pancake-pos[sandbox]'" in result.stdout
