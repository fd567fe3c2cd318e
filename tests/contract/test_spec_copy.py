"""The sandbox's packaged `openapi.json` is exactly the YAML document: the copy can never drift."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from pancake_pos.sandbox._spec import load_spec

ROOT = Path(__file__).parents[2]
YAML_SPEC = ROOT / "openapi" / "pancake-pos-webhooks.yaml"
JSON_COPY = ROOT / "src" / "pancake_pos" / "sandbox" / "openapi.json"
REFRESH = "python -m codegen"  # writes the models and this copy


def test_the_json_copy_equals_the_yaml_document() -> None:
    document = yaml.safe_load(YAML_SPEC.read_text(encoding="utf-8"))
    copy = json.loads(JSON_COPY.read_text(encoding="utf-8"))
    assert copy == document, (
        f"openapi.json is stale; refresh it from the repository root: {REFRESH}"
    )


def test_the_sandbox_loads_the_packaged_copy() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    assert spec == json.loads(JSON_COPY.read_text(encoding="utf-8"))
