"""`python -m codegen`: small API descriptions in temporary folders, and the repository's own."""

from __future__ import annotations

import ast
import datetime
import doctest
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
import yaml

ROOT = Path(__file__).parents[2]
if str(ROOT) not in sys.path:  # codegen/ is a tool beside src/, not an installed package
    sys.path.insert(0, str(ROOT))

import codegen  # noqa: E402
import codegen.errors  # noqa: E402
import codegen.schema  # noqa: E402
from codegen import CodegenError, generate  # noqa: E402
from codegen.__main__ import main  # noqa: E402
from codegen.render import find_ruff  # noqa: E402

SPEC = ROOT / "openapi" / "pancake-pos-webhooks.yaml"
MODELS = ROOT / "src" / "pancake_pos" / "models.py"
SPEC_COPY = ROOT / "src" / "pancake_pos" / "sandbox" / "openapi.json"


def write_spec(folder: Path, schemas: dict[str, Any]) -> Path:
    """An OpenAPI document holding only ``schemas``, as ``folder/openapi/spec.yaml``."""
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Tiny API", "version": "0.1.0"},
        "paths": {},
        "components": {"schemas": schemas},
    }
    path = folder / "openapi" / "spec.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def generate_from(folder: Path, schemas: dict[str, Any]) -> str:
    return generate(write_spec(folder, schemas))


def fields_of(source: str, class_name: str) -> dict[str, tuple[str, str | None]]:
    """Each field of a generated class: (annotation, default or None), as written in the code."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return {
                statement.target.id: (
                    ast.unparse(statement.annotation),
                    None if statement.value is None else ast.unparse(statement.value),
                )
                for statement in node.body
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
            }
    raise AssertionError(f"no class {class_name} in the generated code")


def import_generated(source: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import generated code as a real module (attrs and cattrs resolve annotations through it)."""
    path = folder / "generated_models.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("generated_models", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "generated_models", module)
    spec.loader.exec_module(module)
    return module


THING = {
    "type": "object",
    "description": "A thing with one of every kind of field.",
    "required": ["name", "count", "ratio", "flag", "at", "day", "tags", "counts", "extra", "link"],
    "properties": {
        "name": {"type": "string", "description": "The name."},
        "count": {"type": "integer", "format": "int64"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "at": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "extra": {"type": "object", "additionalProperties": True},
        "link": {"type": "string", "format": "uri"},
        "fixed": {"type": "boolean", "const": False},
        "note": {"type": "string"},
    },
}


def test_each_json_type_has_its_python_type(tmp_path: Path) -> None:
    fields = fields_of(generate_from(tmp_path, {"Thing": THING}), "Thing")
    assert fields == {
        "name": ("str", None),
        "count": ("int", None),
        "ratio": ("float", None),
        "flag": ("bool", None),
        "at": ("datetime.datetime", None),
        "day": ("datetime.date", None),
        "tags": ("list[str]", None),
        "counts": ("dict[str, int]", None),
        "extra": ("dict[str, Any]", None),
        "link": ("str", None),
        "fixed": ("bool | None", "None"),
        "note": ("str | None", "None"),
    }


def test_a_class_is_keyword_only_slotted_attrs_with_its_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = generate_from(tmp_path, {"Thing": THING})
    module = import_generated(source, tmp_path, monkeypatch)
    thing: Any = module.Thing
    assert attrs.has(thing)
    assert "__slots__" in thing.__dict__
    assert all(field.kw_only for field in attrs.fields(thing))
    doc = thing.__doc__ or ""
    assert doc.startswith("A thing with one of every kind of field.")
    assert "name: The name." in doc
    with pytest.raises(TypeError):
        thing("positional")  # type: ignore[call-arg]
    attrs.resolve_types(thing)
    assert attrs.fields(thing).at.type is datetime.datetime


def test_the_module_has_its_header_future_import_and_all(tmp_path: Path) -> None:
    source = generate_from(tmp_path, {"Thing": THING, "Colour": {"type": "string", "enum": ["r"]}})
    lines = source.splitlines()
    assert lines[0] == "# Generated from openapi/spec.yaml by python -m codegen; do not edit."
    assert "from __future__ import annotations" in lines
    tree = ast.parse(source)
    exported = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__"
    )
    classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    assert sorted(exported) == sorted(classes) == ["Colour", "Thing"]


def test_nullable_forms_and_optional_defaults(tmp_path: Path) -> None:
    schemas = {
        "Inner": {"type": "object", "properties": {"x": {"type": "integer"}}},
        "Outer": {
            "type": "object",
            "required": ["listed", "one_of", "any_of"],
            "properties": {
                "listed": {"type": ["string", "null"]},
                "one_of": {"oneOf": [{"$ref": "#/components/schemas/Inner"}, {"type": "null"}]},
                "any_of": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
                "optional": {"$ref": "#/components/schemas/Inner"},
                "optional_nullable": {"type": ["integer", "null"]},
            },
        },
    }
    fields = fields_of(generate_from(tmp_path, schemas), "Outer")
    assert fields == {
        "listed": ("str | None", None),
        "one_of": ("Inner | None", None),
        "any_of": ("int | None", None),
        "optional": ("Inner | None", "None"),
        "optional_nullable": ("int | None", "None"),
    }


def test_a_named_non_object_schema_is_used_inline(tmp_path: Path) -> None:
    schemas = {
        "Ids": {"type": "array", "items": {"type": "string"}},
        "Thing": {"type": "object", "properties": {"ids": {"$ref": "#/components/schemas/Ids"}}},
    }
    source = generate_from(tmp_path, schemas)
    assert fields_of(source, "Thing") == {"ids": ("list[str] | None", "None")}
    assert "class Ids" not in source


def test_all_of_merges_properties_and_required(tmp_path: Path) -> None:
    schemas = {
        "Base": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string"}, "note": {"type": "string"}},
        },
        "Derived": {
            "description": "A base with more.",
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {
                    "type": "object",
                    "required": ["size"],
                    "properties": {"size": {"type": "integer"}},
                },
            ],
        },
    }
    fields = fields_of(generate_from(tmp_path, schemas), "Derived")
    assert fields == {
        "id": ("str", None),
        "note": ("str | None", "None"),
        "size": ("int", None),
    }


def test_enums_and_fields_typed_by_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schemas = {
        "Event": {"type": "string", "description": "An event.", "enum": ["a.created", "b.x_y"]},
        "Outcome": {"type": "string", "enum": ["success", "failed", "pending"]},
        "Thing": {
            "type": "object",
            "required": ["event"],
            "properties": {
                "event": {"$ref": "#/components/schemas/Event"},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "outcome": {"type": "string", "enum": ["success", "failed"]},
                "mode": {"type": "string", "enum": ["fast", "slow-ish"]},
            },
        },
    }
    source = generate_from(tmp_path, schemas)
    assert fields_of(source, "Thing") == {
        "event": ("Event | str", None),
        "events": ("list[Event | str] | None", "None"),
        "outcome": ("Outcome | str | None", "None"),
        "mode": ("ThingMode | str | None", "None"),
    }
    module = import_generated(source, tmp_path, monkeypatch)
    assert module.Event.A_CREATED == "a.created"
    assert module.Event.B_X_Y.value == "b.x_y"
    assert [member.name for member in module.ThingMode] == ["FAST", "SLOW_ISH"]
    assert "ThingMode" in module.__all__
    assert "One of `success`, `failed`." in module.Thing.__doc__


def test_secret_fields_are_masked_in_the_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas = {
        "Hook": {
            "type": "object",
            "required": ["secret_key"],
            "properties": {"secret_key": {"type": "string"}, "api_key": {"type": "string"}},
        }
    }
    source = generate_from(tmp_path, schemas)
    assert fields_of(source, "Hook") == {
        "secret_key": ("str", "attrs.field(repr=_mask_secret)"),
        "api_key": ("str | None", "attrs.field(default=None, repr=_mask_secret)"),
    }
    module = import_generated(source, tmp_path, monkeypatch)
    hook = module.Hook(secret_key="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", api_key="short")
    assert repr(hook) == "Hook(secret_key='whsec_MfK…', api_key='s…')"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    assert generate(SPEC) == generate(SPEC)
    output, copy = tmp_path / "models.py", tmp_path / "openapi.json"
    arguments = ["--output", str(output), "--spec-copy", str(copy)]
    assert main(arguments) == 0
    first, first_copy = output.read_bytes(), copy.read_bytes()
    assert main(arguments) == 0
    assert output.read_bytes() == first == MODELS.read_bytes()
    assert copy.read_bytes() == first_copy == SPEC_COPY.read_bytes()


def test_the_generated_code_passes_ruff_check(tmp_path: Path) -> None:
    schemas = {"Thing": THING, "Colour": {"type": "string", "enum": ["red", "dark.blue"]}}
    for source in (generate_from(tmp_path, schemas), generate(SPEC)):
        result = subprocess.run(
            [find_ruff(), "check", "--stdin-filename", str(ROOT / "models.py"), "-"],
            input=source,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert result.returncode == 0, result.stdout


REFUSED = [
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/Nope"}}}},
        "#/components/schemas/A/properties/b: dangling $ref '#/components/schemas/Nope'",
        id="dangling-ref",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"$ref": "other.yaml#/B"}}}},
        "#/components/schemas/A/properties/b: unsupported $ref",
        id="non-local-ref",
    ),
    pytest.param(
        {
            "A": {
                "type": "object",
                "properties": {"b": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
            }
        },
        "#/components/schemas/A/properties/b/oneOf: only the nullable idiom",
        id="union-oneOf",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"anyOf": [{"type": "string"}]}}}},
        "#/components/schemas/A/properties/b/anyOf: only the nullable idiom",
        id="union-anyOf",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"type": "decimal"}}}},
        "#/components/schemas/A/properties/b/type: unknown type 'decimal'",
        id="unknown-type",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"type": ["string", "integer"]}}}},
        "#/components/schemas/A/properties/b/type: only [T, 'null'] is supported",
        id="type-list",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"type": "string", "format": "duration"}}}},
        "#/components/schemas/A/properties/b/format: unknown string format 'duration'",
        id="unknown-format",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"description": "no type"}}}},
        "#/components/schemas/A/properties/b: no type",
        id="no-type",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"type": "object"}}}},
        "#/components/schemas/A/properties/b: an object without properties needs "
        "additionalProperties",
        id="implicit-free-form",
    ),
    pytest.param(
        {
            "A": {
                "type": "object",
                "properties": {
                    "b": {"type": "object", "properties": {"c": {"type": "string"}}},
                },
            }
        },
        "#/components/schemas/A/properties/b: an inline object with properties has no class name",
        id="inline-object",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"type": "array"}}}},
        "#/components/schemas/A/properties/b/items: an array needs an items schema",
        id="array-without-items",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"class": {"type": "string"}}}},
        "#/components/schemas/A/properties/class: property name 'class' is not usable",
        id="keyword-field",
    ),
    pytest.param(
        {"A": {"type": "string", "enum": ["1st"]}},
        "#/components/schemas/A/enum: '1st' makes no Python name",
        id="enum-value",
    ),
    pytest.param(
        {"A": {"type": "object", "properties": {"b": {"type": "string", "nullable": True}}}},
        "#/components/schemas/A/properties/b: 'nullable' is OpenAPI 3.0",
        id="nullable-3.0",
    ),
    pytest.param(
        {
            "A": {
                "type": "object",
                "properties": {"b": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            }
        },
        "#/components/schemas/A/additionalProperties: a class cannot also hold arbitrary keys",
        id="class-with-extra-keys",
    ),
    pytest.param(
        {"Ids": {"type": "array", "items": {"type": "string", "format": "ulid"}}},
        "#/components/schemas/Ids/items/format: unknown string format 'ulid'",
        id="unreferenced-alias",
    ),
    pytest.param(
        {"A": {"type": "object", "required": ["c"], "properties": {"b": {"type": "string"}}}},
        "#/components/schemas/A/required: 'c' is not a property",
        id="required-unknown",
    ),
]


@pytest.mark.parametrize(("schemas", "message"), REFUSED)
def test_what_cannot_be_expressed_is_refused_naming_the_place(
    tmp_path: Path, schemas: dict[str, Any], message: str
) -> None:
    with pytest.raises(CodegenError) as caught:
        generate_from(tmp_path, schemas)
    assert message in str(caught.value)


def test_the_command_line_exits_2_on_a_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dangling = {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/Nope"}}}
    spec = write_spec(tmp_path, {"A": dangling})
    output = tmp_path / "models.py"
    assert main(["--spec", str(spec), "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert "codegen: error: #/components/schemas/A/properties/b: dangling $ref" in error
    assert not output.exists()


def test_check_passes_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "codegen", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_check_fails_when_the_description_changed_without_regenerating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "openapi" / SPEC.name
    spec.parent.mkdir()
    shutil.copy(SPEC, spec)
    models, copy = tmp_path / "models.py", tmp_path / "openapi.json"
    shutil.copy(MODELS, models)
    shutil.copy(SPEC_COPY, copy)
    arguments = ["--check", "--spec", str(spec), "--output", str(models), "--spec-copy", str(copy)]
    assert main(arguments) == 0

    text = spec.read_text(encoding="utf-8")
    edited = text.replace("description: The number of deliveries deleted.", "description: Gone.")
    assert edited != text
    spec.write_text(edited, encoding="utf-8")
    capsys.readouterr()
    assert main(arguments) == 1
    error = capsys.readouterr().err
    assert "is out of date" in error
    assert "+        deleted_count: Gone." in error
    assert "openapi.json is out of date" in error
    assert models.read_bytes() == MODELS.read_bytes()  # --check writes nothing
    assert copy.read_bytes() == SPEC_COPY.read_bytes()


@pytest.mark.parametrize(
    "module", [codegen, codegen.errors, codegen.schema], ids=lambda m: m.__name__
)
def test_the_docstring_examples_run(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0
