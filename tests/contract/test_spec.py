"""The API description itself: valid OpenAPI 3.1, examples that fit their schemas and the models,
and the conventions the SDK relies on."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from pancake_pos import event_data, models
from pancake_pos._converter import structure, unstructure

ROOT = Path(__file__).parents[2]
SPEC_PATH = ROOT / "openapi" / "pancake-pos-webhooks.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
DOCUMENT_URI = "urn:pancake-pos:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(SPEC))


def validator_for(pointer: str) -> Draft202012Validator:
    """A JSON Schema (2020-12) validator for the schema at ``pointer`` in the document."""
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{pointer}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (parameters, responses...) to what it names."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(section: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC.get(section, {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


SCHEMA_EXAMPLES = [name for name, schema in SCHEMAS.items() if "example" in schema]


@pytest.mark.parametrize("name", SCHEMA_EXAMPLES)
def test_each_schema_example_fits_its_schema(name: str) -> None:
    errors = [
        error.message
        for error in validator_for(f"/components/schemas/{name}").iter_errors(
            SCHEMAS[name]["example"]
        )
    ]
    assert errors == []


def normalized(value: Any) -> Any:
    """``value`` with every date-time string replaced by the instant it names."""
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, str) and "T" in value and value[:4].isdigit():
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


@pytest.mark.parametrize(
    "name",
    [name for name in SCHEMA_EXAMPLES if hasattr(models, name) or hasattr(event_data, name)],
)
def test_each_schema_example_reads_into_its_model_and_back(name: str) -> None:
    cls = getattr(models, name, None) or getattr(event_data, name)
    example = SCHEMAS[name]["example"]
    model = structure(example, cls)
    assert normalized(unstructure(model)) == normalized(example)
    assert structure(unstructure(model), cls) == model


def test_the_delivery_example_carries_a_valid_event_payload() -> None:
    payload = SCHEMAS["WebhookDelivery"]["example"]["payload"]
    assert list(validator_for("/components/schemas/WebhookEventPayload").iter_errors(payload)) == []
    assert structure(payload, models.WebhookEventPayload).id == payload["id"]


RESPONSE_EXAMPLES = [
    (name, media_type, content["example"])
    for name, response in SPEC["components"]["responses"].items()
    for media_type, content in response.get("content", {}).items()
    if "example" in content
]


@pytest.mark.parametrize(
    ("name", "media_type", "example"), RESPONSE_EXAMPLES, ids=[r[0] for r in RESPONSE_EXAMPLES]
)
def test_each_error_response_example_fits_and_reads(
    name: str, media_type: str, example: Any
) -> None:
    pointer = f"/components/responses/{name}/content/{media_type.replace('/', '~1')}/schema"
    assert list(validator_for(pointer).iter_errors(example)) == []
    error = structure(example, models.ErrorResponse)
    assert error.success is False
    assert error.error.code == example["error"]["code"]


def test_every_schema_has_a_model() -> None:
    assert set(SCHEMAS) == set(models.__all__) | set(event_data.__all__) - {
        "CustomerGender",
        "LoyaltyPointsChangeType",
    }
    assert not set(models.__all__) & set(event_data.__all__)


def test_every_operation_is_documented() -> None:
    ids = []
    for section in ("paths", "webhooks"):
        for path, method, operation in operations(section):
            where = f"{method.upper()} {path}"
            assert operation.get("operationId"), where
            assert operation.get("summary"), where
            assert operation.get("description"), where
            ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))


def test_every_post_takes_an_idempotency_key() -> None:
    posts = [(path, op) for path, method, op in operations("paths") if method == "post"]
    assert posts
    for path, operation in posts:
        headers = [resolve(p)["name"] for p in operation.get("parameters", [])]
        assert "Idempotency-Key" in headers, path


def test_fourteen_shop_operations_plus_the_sandbox_one() -> None:
    all_operations = list(operations("paths"))
    assert all(path.startswith("/shops/{shop_id}/") for path, _, _ in all_operations)
    sandbox = [(path, method) for path, method, op in all_operations if op.get("x-sandbox-only")]
    assert sandbox == [("/shops/{shop_id}/sandbox/events", "post")]
    assert len(all_operations) - len(sandbox) == 14


def test_the_webhooks_section_has_one_entry_per_event() -> None:
    events = SCHEMAS["WebhookEvent"]["enum"]
    assert list(SPEC["webhooks"]) == events
    assert [member.value for member in models.WebhookEvent] == events
    for event, item in SPEC["webhooks"].items():
        body = resolve(item["post"]["requestBody"])
        schema = body["content"]["application/json"]["schema"]
        envelope, data = schema["allOf"]
        assert envelope == {"$ref": "#/components/schemas/WebhookEventPayload"}, event
        group_data = {
            "order": "Order",
            "customer": "Customer",
            "inventory": "InventoryChange",
            "product": "Product",
            "transaction": "Transaction",
            "loyalty": "LoyaltyPointsChange",
        }[event.split(".")[0]]
        assert data["properties"] == {"data": {"$ref": f"#/components/schemas/{group_data}"}}
