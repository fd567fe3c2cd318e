"""codegen: schemas marked `x-python-module` go to a generated module of their own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from test_codegen import write_spec

from codegen import CodegenError, generate, module_names
from codegen.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
EVENT_DATA = ROOT / "src" / "pancake_pos" / "event_data.py"


PLAIN = {"type": "object", "properties": {"a": {"type": "string"}}}
EVENTS = {
    "Order": {
        "type": "object",
        "x-python-module": "event_data",
        "properties": {
            "kind": {"type": "string", "enum": ["x", "y"]},
            "line": {"$ref": "#/components/schemas/Line"},
        },
    },
    "Line": {
        "type": "object",
        "x-python-module": "event_data",
        "properties": {"n": {"type": "integer"}},
    },
}


def test_each_schema_goes_to_its_module(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"Plain": PLAIN, **EVENTS})
    assert module_names(yaml.safe_load(spec.read_text())) == ["models", "event_data"]
    models, events = generate(spec), generate(spec, "event_data")
    assert "class Plain" in models
    assert "class Order" not in models
    assert "class Order" in events
    assert "class Line" in events
    assert "class OrderKind(enum.StrEnum)" in events  # its inline enum stays with it
    assert "class Plain" not in events
    assert "__all__ = ['Line', 'Order', 'OrderKind']" in events.replace('"', "'")


def test_a_reference_across_modules_is_refused(tmp_path: Path) -> None:
    crossing = {
        "Plain": {"type": "object", "properties": {"line": {"$ref": "#/components/schemas/Line"}}},
        **EVENTS,
    }
    spec = write_spec(tmp_path, crossing)
    with pytest.raises(CodegenError, match="refers to 'Line', which goes to the generated module"):
        generate(spec)


def test_the_command_line_writes_and_checks_the_event_data_module(tmp_path: Path) -> None:
    spec = tmp_path / "openapi" / "pancake-pos-webhooks.yaml"
    spec.parent.mkdir()
    shutil.copy(ROOT / "openapi" / "pancake-pos-webhooks.yaml", spec)
    outputs = [
        "--spec",
        str(spec),
        "--output",
        str(tmp_path / "models.py"),
        "--spec-copy",
        str(tmp_path / "openapi.json"),
        "--event-data-output",
        str(tmp_path / "event_data.py"),
    ]
    assert main(outputs) == 0
    assert (tmp_path / "event_data.py").read_text(encoding="utf-8") == EVENT_DATA.read_text(
        encoding="utf-8"
    )
    assert main(["--check", *outputs]) == 0
    text = spec.read_text(encoding="utf-8")
    edited = text.replace("description: The order's note.", "description: A note.")
    assert edited != text
    spec.write_text(edited, encoding="utf-8")
    assert main(["--check", *outputs]) == 1  # the drift check guards the event data too


def test_an_unknown_module_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, {"A": {**PLAIN, "x-python-module": "elsewhere"}})
    output = tmp_path / "models.py"
    arguments = ["--spec", str(spec), "--output", str(output)]
    assert main([*arguments, "--spec-copy", str(tmp_path / "copy.json")]) == 2
    assert "unknown generated module 'elsewhere'" in capsys.readouterr().err
