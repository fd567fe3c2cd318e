"""The documentation stays true: the examples it shows are the files the tests run, wherever they
are shown (README.md or docs/), and the commands it gives exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# <!-- example: examples/name.py --> followed by a fenced block: the block must equal the file.
EXAMPLE_BLOCK = re.compile(
    r"<!-- example: (?P<path>[\w/.-]+) -->\s*```(?:python|py)\n(?P<code>.*?)```", re.DOTALL
)


def shown_examples() -> list[tuple[str, re.Match[str]]]:
    """Every embedded example: (the document it is in, the block)."""
    return [
        (document.relative_to(ROOT).as_posix(), block)
        for document in DOCUMENTS
        for block in EXAMPLE_BLOCK.finditer(document.read_text(encoding="utf-8"))
    ]


def test_the_documents_show_examples() -> None:
    assert shown_examples(), "neither README.md nor docs/ shows an example file"


@pytest.mark.parametrize(
    ("document", "block"),
    [
        pytest.param(document, block, id=f"{document}:{block['path']}")
        for document, block in shown_examples()
    ],
)
def test_an_embedded_example_equals_its_file(document: str, block: re.Match[str]) -> None:
    path = ROOT / block["path"]
    assert path.is_file(), f"{document} names {block['path']}, which does not exist"
    assert block["code"].strip() == path.read_text(encoding="utf-8").strip(), (
        f"the copy of {block['path']} in {document} differs from the file; paste the file again"
    )


def test_every_example_file_is_shown_somewhere() -> None:
    shown = {block["path"] for _, block in shown_examples()}
    for path in sorted((ROOT / "examples").glob("*.py")):
        assert f"examples/{path.name}" in shown, (
            f"examples/{path.name} is shown neither in README.md nor in docs/"
        )


def test_readme_commands_exist() -> None:
    assert 'pip install -e ".[all]" && pancake-pos demo' in README
    assert "pip install nox && nox" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "nox" in ci
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["pancake-pos"] == "pancake_pos.cli:main"
    assert {"cli", "sandbox", "aiohttp", "all", "dev"} <= set(project["optional-dependencies"])


def test_the_quick_test_command_is_documented_and_its_marker_declared() -> None:
    quick = 'pytest -m "not slow"'
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert quick in README
    assert quick in contributing
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "pytest"
    ]["ini_options"]
    assert "--strict-markers" in pytest_options["addopts"]
    assert any(marker.startswith("slow:") for marker in pytest_options["markers"])


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_documents_speak_for_themselves(document: Path) -> None:
    # Readers have this repository, not the notes it was planned in.
    text = document.read_text(encoding="utf-8")
    for citation in ("CONTRACT.md", "CONTRACT section", "DESIGN.md"):
        assert citation not in text, f"{document.name} cites {citation}, which readers do not have"


# [text](target) with a relative target: the file (or folder) it names must exist.
RELATIVE_LINK = re.compile(r"\]\((?![a-z]+:)(?P<target>[^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_points_at_a_file_of_the_repository(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    targets = [match["target"] for match in RELATIVE_LINK.finditer(text)]
    missing = [target for target in targets if not (document.parent / target).exists()]
    assert not missing, f"{document.name} links to files that do not exist: {missing}"
