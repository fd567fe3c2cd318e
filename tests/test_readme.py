"""The README stays true: its examples are the files the tests run, and its commands exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

# <!-- example: examples/name.py --> followed by a fenced block: the block must equal the file.
EXAMPLE_BLOCK = re.compile(
    r"<!-- example: (?P<path>[\w/.-]+) -->\s*```(?:python|py)\n(?P<code>.*?)```", re.DOTALL
)


def test_readme_embeds_examples_verbatim() -> None:
    blocks = list(EXAMPLE_BLOCK.finditer(README))
    assert blocks, "the README shows no example files"
    for block in blocks:
        path = ROOT / block["path"]
        assert path.is_file(), f"README names {block['path']}, which does not exist"
        assert block["code"].strip() == path.read_text(encoding="utf-8").strip(), (
            f"the README's copy of {block['path']} differs from the file; paste the file again"
        )


def test_every_example_file_is_shown_in_the_readme() -> None:
    shown = {block["path"] for block in EXAMPLE_BLOCK.finditer(README)}
    for path in sorted((ROOT / "examples").glob("*.py")):
        assert f"examples/{path.name}" in shown, f"examples/{path.name} is not shown in the README"


def test_readme_commands_exist() -> None:
    assert 'pip install -e ".[all]" && pancake-pos demo' in README
    assert "pip install nox && nox" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "nox" in ci
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["pancake-pos"] == "pancake_pos.cli:main"
    assert {"cli", "sandbox", "aiohttp", "all", "dev"} <= set(project["optional-dependencies"])
