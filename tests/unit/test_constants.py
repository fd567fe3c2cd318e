"""The limits the SDK checks come from the API description, through the generated constants."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from codegen.constants import generate_constants
from codegen.errors import CodegenError
from pancake_pos import _constants
from pancake_pos import _validation as check

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "pancake-pos-webhooks.yaml"


def test_the_committed_module_is_a_fresh_generation() -> None:
    assert (ROOT / "src" / "pancake_pos" / "_constants.py").read_text() == generate_constants(SPEC)


def test_a_changed_limit_in_the_description_changes_the_constant(tmp_path: Path) -> None:
    spec = yaml.safe_load(SPEC.read_text())
    listing = spec["paths"]["/shops/{shop_id}/webhook-deliveries"]["get"]
    for parameter in listing["parameters"]:
        if parameter.get("name") == "page_size":
            parameter["schema"]["maximum"] = 250
    changed = tmp_path / "spec.yaml"
    changed.write_text(yaml.safe_dump(spec))

    assert "MAX_PAGE_SIZE: Final = 250" in generate_constants(changed)


def test_a_missing_limit_is_refused_naming_it(tmp_path: Path) -> None:
    spec = yaml.safe_load(SPEC.read_text())
    del spec["components"]["schemas"]["CreateWebhookRequest"]["properties"]["description"]
    changed = tmp_path / "spec.yaml"
    changed.write_text(yaml.safe_dump(spec))

    with pytest.raises(CodegenError, match="CreateWebhookRequest/properties/description"):
        generate_constants(changed)


def test_the_checks_use_the_generated_limits() -> None:
    assert check.page_size(_constants.MAX_PAGE_SIZE, "page_size") == _constants.MAX_PAGE_SIZE
    with pytest.raises(ValueError, match=f"between 1 and {_constants.MAX_PAGE_SIZE}"):
        check.page_size(_constants.MAX_PAGE_SIZE + 1, "page_size")
    check.identifier("x" * _constants.MAX_ID_LENGTH, "webhook_id")
    with pytest.raises(ValueError, match=str(_constants.MAX_ID_LENGTH)):
        check.identifier("x" * (_constants.MAX_ID_LENGTH + 1), "webhook_id")
    with pytest.raises(ValueError, match=str(_constants.MAX_URL_LENGTH)):
        check.http_url("https://h/" + "x" * _constants.MAX_URL_LENGTH, "url")
    with pytest.raises(ValueError, match=str(_constants.MAX_DESCRIPTION_LENGTH)):
        check.description("x" * (_constants.MAX_DESCRIPTION_LENGTH + 1), "description")
    with pytest.raises(ValueError, match=str(_constants.MAX_IDEMPOTENCY_KEY_LENGTH)):
        check.idempotency_key("k" * (_constants.MAX_IDEMPOTENCY_KEY_LENGTH + 1))
    assert _constants.DELIVERY_STATUS_FILTERS == ("success", "failed")
