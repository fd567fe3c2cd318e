"""The OpenAPI document, as the sandbox reads it at run time: its operations and validators.

`openapi.json` next to this module is a JSON copy of `openapi/pancake-pos-webhooks.yaml` (the
wheel only ships `src/pancake_pos`, and the sandbox must not need a YAML parser). This module
loads it once, lists its operations, and offers JSON Schema validators for its schemas, with
`$ref`s resolved through a `referencing` registry over the whole document.

Example:

    >>> from pancake_pos.sandbox._spec import schema_validator
    >>> schema_validator("SetActiveRequest").is_valid({"is_active": True})
    True
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "API_PREFIX",
    "FORMAT_CHECKER",
    "SPEC_URI",
    "Operation",
    "find_operation",
    "load_spec",
    "operation_validator",
    "operations",
    "resolve",
    "response_validator",
    "schema_validator",
]

SPEC_URI = "urn:pancake-pos:openapi"
API_PREFIX = "/api/v1"
"""Where the API is served: every path of the document is under it."""
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


_PCT = "%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|{_PCT})"
_HOST = rf"(?:\[[0-9A-Za-z:.\-_~!$&'()*+,;=]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|{_PCT})*)"
_AUTHORITY = rf"(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|{_PCT})*@)?{_HOST}(?::[0-9]*)?"
_HIER_PART = (
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?|{_PCHAR}+(?:/{_PCHAR}*)*|)"
)
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*:{_HIER_PART}(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)

FORMAT_CHECKER = FormatChecker()
"""jsonschema's format checks, plus `uri` (RFC 3986, without needing the `rfc3987` package)."""


def is_uri(instance: object) -> bool:
    """Whether `instance` is an absolute URI by RFC 3986 (non-strings pass, as JSON Schema wants).

    >>> is_uri("https://shop.example.com/hooks?x=1"), is_uri("https://\u00cf")
    (True, False)
    """
    return not isinstance(instance, str) or _URI.fullmatch(instance) is not None


FORMAT_CHECKER.checks("uri")(is_uri)


@functools.cache
def load_spec() -> dict[str, Any]:
    """The OpenAPI document as a dict (loaded once from the packaged `openapi.json`)."""
    text = resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


@functools.cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(
        schema,
        registry=_registry(),
        format_checker=FORMAT_CHECKER,
    )


@functools.cache
def schema_validator(name: str) -> Draft202012Validator:
    """A validator (with format checking) for `components/schemas/<name>`."""
    return _validator_for({"$ref": f"{SPEC_URI}#/components/schemas/{name}"})


def operation_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for an inline schema of the document (its `$ref`s point into the document)."""
    return _validator_for(_absolute_refs(schema))


def _absolute_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                f"{SPEC_URI}{value}"
                if key == "$ref" and isinstance(value, str)
                else _absolute_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(item) for item in node]
    return node


def resolve(node: Any) -> Any:
    """Follow a local `$ref` of the document (one level at a time, until none is left)."""
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        target: Any = load_spec()
        for part in pointer:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


class Operation:
    """One operation of the document: its method, path template and definition."""

    __slots__ = ("definition", "method", "path_template", "pattern")

    def __init__(self, method: str, path_template: str, definition: dict[str, Any]) -> None:
        self.method = method
        self.path_template = path_template
        self.definition = definition
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path_template))
        self.pattern = re.compile(f"^{re.escape(API_PREFIX)}{regex}$")

    def parameters(self) -> list[dict[str, Any]]:
        """The operation's parameters (the path item's, overridden by the operation's)."""
        path_item = load_spec()["paths"][self.path_template]
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*path_item.get("parameters", []), *self.definition.get("parameters", [])]:
            parameter = resolve(raw)
            merged[(parameter["in"], parameter["name"])] = parameter
        return list(merged.values())

    @property
    def operation_id(self) -> str:
        """The operation's `operationId`."""
        return str(self.definition["operationId"])

    def response_schema(self, status_code: int) -> dict[str, Any] | None:
        """The JSON schema of the answer with `status_code`, `None` when it has no body.

        Raises `KeyError` when the document does not list `status_code` for this operation.
        """
        responses = self.definition["responses"]
        response = resolve(responses[str(status_code)])
        content = response.get("content", {}).get("application/json")
        if content is None:
            return None
        schema: dict[str, Any] = content["schema"]
        return schema


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the document, literal path segments before templated ones."""
    found = []
    for template, item in load_spec()["paths"].items():
        for method in _METHODS:
            if method in item:
                found.append(Operation(method.upper(), template, item[method]))
    # Literal segments win over templates: `/webhook-deliveries/pending` before `/{delivery_id}`.
    return tuple(sorted(found, key=lambda operation: operation.path_template.count("{")))


def find_operation(method: str, path: str) -> Operation | None:
    """The operation serving `method` on the URL path `path` (`/api/v1/shops/...`), if any."""
    for operation in operations():
        if operation.method == method.upper() and operation.pattern.match(path):
            return operation
    return None


def response_validator(method: str, path: str, status_code: int) -> Draft202012Validator | None:
    """A validator for the body of an answer, `None` when the answer has no body.

    Raises `LookupError` when the document has no such operation or status.
    """
    operation = find_operation(method, path)
    if operation is None:
        raise LookupError(f"no operation {method} {path} in the document")
    schema = operation.response_schema(status_code)
    return None if schema is None else operation_validator(schema)
