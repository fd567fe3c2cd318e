"""Generate ``src/pancake_pos/_constants.py``: the limits and value lists the API description
states, so the SDK checks arguments against the document instead of copies of its numbers.

Example:
    >>> from pathlib import Path
    >>> source = generate_constants(Path("openapi/pancake-pos-webhooks.yaml"))
    >>> "MAX_PAGE_SIZE: Final = 100" in source
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codegen.errors import CodegenError
from codegen.render import format_python
from codegen.schema import load_spec

__all__ = ["generate_constants"]


def generate_constants(spec_path: Path) -> str:
    """The formatted source of the constants module for the API description at ``spec_path``."""
    spec = load_spec(spec_path)
    reader = _Reader(spec)
    ids = {reader.parameter(name)["maxLength"] for name in ("ShopId", "WebhookId", "DeliveryId")}
    if len(ids) != 1:
        raise CodegenError(f"the id parameters disagree on maxLength: {sorted(ids)}")
    page_size = reader.operation_parameter("listDeliveries", "page_size")
    values: list[tuple[str, object, str]] = [
        ("MAX_ID_LENGTH", ids.pop(), "The longest id (shop, webhook, delivery)."),
        (
            "MAX_IDEMPOTENCY_KEY_LENGTH",
            reader.parameter("IdempotencyKey")["maxLength"],
            "The longest `Idempotency-Key`.",
        ),
        (
            "MAX_URL_LENGTH",
            reader.property("CreateWebhookRequest", "url")["maxLength"],
            "The longest webhook `url`.",
        ),
        (
            "MAX_DESCRIPTION_LENGTH",
            reader.property("CreateWebhookRequest", "description")["maxLength"],
            "The longest webhook `description`.",
        ),
        ("MIN_PAGE_SIZE", page_size["minimum"], "The smallest `page_size`."),
        ("MAX_PAGE_SIZE", page_size["maximum"], "The largest `page_size`."),
        ("DEFAULT_PAGE_SIZE", page_size["default"], "The service's `page_size` when none is sent."),
        (
            "DELIVERY_STATUS_FILTERS",
            tuple(reader.operation_parameter("listDeliveries", "status")["enum"]),
            "The statuses the delivery history can be filtered on.",
        ),
        (
            "CLEAR_HISTORY_STATUSES",
            tuple(reader.property("ClearHistoryRequest", "status")["enum"]),
            "The statuses `clear_delivery_history` can be limited to.",
        ),
    ]
    return format_python(_render(values, spec_path))


def _render(values: list[tuple[str, object, str]], spec_path: Path) -> str:
    names = ", ".join(f'"{name}"' for name in sorted(name for name, _, _ in values))
    lines = [
        f"# Generated from openapi/{spec_path.name} by python -m codegen; do not edit.",
        '"""Limits and value lists stated by the API description."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Final",
        "",
        f"__all__ = [{names}]",
        "",
    ]
    for name, value, doc in values:
        lines += [f"{name}: Final = {value!r}", f'"""{doc}"""', ""]
    return "\n".join(lines)


class _Reader:
    """Looks values up in the document, raising `CodegenError` naming what is missing."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._spec = spec

    def parameter(self, name: str) -> Mapping[str, Any]:
        found = self._spec.get("components", {}).get("parameters", {}).get(name)
        return self._schema_of(found, f"#/components/parameters/{name}")

    def property(self, schema: str, name: str) -> Mapping[str, Any]:
        found = self._spec.get("components", {}).get("schemas", {}).get(schema, {})
        value = found.get("properties", {}).get(name)
        if not isinstance(value, Mapping):
            raise CodegenError(f"#/components/schemas/{schema}/properties/{name} is missing")
        return value

    def operation_parameter(self, operation_id: str, name: str) -> Mapping[str, Any]:
        for path_item in self._spec.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, Mapping) and operation.get("operationId") == operation_id:
                    for parameter in operation.get("parameters", []):
                        if parameter.get("name") == name:
                            return self._schema_of(parameter, f"{operation_id}: {name}")
        raise CodegenError(f"operation {operation_id} has no parameter {name}")

    @staticmethod
    def _schema_of(parameter: object, where: str) -> Mapping[str, Any]:
        schema = parameter.get("schema") if isinstance(parameter, Mapping) else None
        if not isinstance(schema, Mapping):
            raise CodegenError(f"{where} has no schema")
        return schema
