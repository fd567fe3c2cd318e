"""Checking requests against the operation's parameters and request body in the document.

Every problem becomes one entry of the 422 answer's `details.errors`:
`{"location": "query" | "path" | "header" | "body", "field": ..., "message": ...}`.

Example:

    >>> from pancake_pos.sandbox._spec import find_operation
    >>> operation = find_operation("GET", "/api/v1/shops/s/webhook-deliveries")
    >>> check_parameters(operation, path={"shop_id": "s"}, query={"page_size": "0"}, headers={})
    [{'location': 'query', 'field': 'page_size', 'message': '0 is less than the minimum of 1'}]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

from ._spec import Operation, operation_validator, resolve

__all__ = ["BodyNotJSON", "check_body", "check_parameters", "parse_json"]

_INTEGER = re.compile(r"^[+-]?[0-9]{1,4000}$")  # Python reads up to 4300 digits
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_MESSAGE_LIMIT = 300


class BodyNotJSON(ValueError):
    """The request body is not JSON (answered with 400)."""


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    raise BodyNotJSON(f"The body is not valid JSON ({name} is not a JSON number).")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BodyNotJSON(f"The body is not valid JSON ({text[:40]} is too large a number).")
    return number


def parse_json(raw: bytes) -> Any:
    """`raw` parsed as strict JSON: what the sandbox can store and send back as it came.

    Python's `json` takes more than JSON: `NaN` and `Infinity`, numbers that overflow to an
    infinite float, and escaped lone surrogates (`"\\ud800"`) that no UTF-8 text can carry.
    Stored, such a value would make every later answer that shows it fail; they raise
    `BodyNotJSON` here instead, as does nesting deeper than the parser can follow.

    >>> parse_json(b'{"n": 1.5}')
    {'n': 1.5}
    """
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except BodyNotJSON:
        raise
    except (UnicodeDecodeError, ValueError):
        raise BodyNotJSON("The body is not valid JSON.") from None
    except RecursionError:
        raise BodyNotJSON("The body is nested too deeply.") from None
    if _SURROGATE_ESCAPE.search(raw):  # escaped surrogates: only whole pairs make characters
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BodyNotJSON(
                "The body is not valid JSON (a \\u escape is half of a surrogate pair)."
            ) from None
    return body


def _problem(location: str, field: str, message: str) -> dict[str, str]:
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return {"location": location, "field": field, "message": message}


def _convert(value: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """A query or path string as the schema's type; the error message when it is not one."""
    kind = resolve(schema).get("type")
    if kind == "integer":
        return (int(value), None) if _INTEGER.match(value) else (value, "must be an integer")
    if kind == "number":
        return (float(value), None) if _NUMBER.match(value) else (value, "must be a number")
    if kind == "boolean":
        if value in ("true", "false"):
            return value == "true", None
        return value, "must be true or false"
    return value, None


def check_parameters(
    operation: Operation,
    *,
    path: Mapping[str, str],
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> list[dict[str, str]]:
    """The problems with the path, query and header parameters of a request (empty when none)."""
    sources: dict[str, Mapping[str, str]] = {"path": path, "query": query, "header": headers}
    problems = []
    for parameter in operation.parameters():
        location, name = parameter["in"], parameter["name"]
        source = sources.get(location)
        if source is None:
            continue
        value = source.get(name.lower() if location == "header" else name)
        if value is None:
            if parameter.get("required"):
                problems.append(_problem(location, name, "is required"))
            continue
        schema = parameter.get("schema", {})
        converted, error = _convert(value, schema)
        if error is not None:
            problems.append(_problem(location, name, error))
            continue
        for failure in _readable(operation_validator(schema).iter_errors(converted)):
            problems.append(_problem(location, name, _message(failure, name)))
    return problems


_SPELLED_OUT = 6
"""Allowed values listed in a message when there are at most this many."""


def _message(error: ValidationError, field: str) -> str:
    """jsonschema's message, but an `enum` failure says it in a line: the events by name, a short
    list of values spelled out, a long one counted."""
    if error.validator != "enum" or not isinstance(error.validator_value, list):
        return str(error.message)
    allowed = error.validator_value
    name = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if name in ("event", "events"):
        return f"{error.instance!r} is not a known event"
    if len(allowed) <= _SPELLED_OUT:
        return f"{error.instance!r} is not one of " + ", ".join(repr(v) for v in allowed)
    return f"{error.instance!r} is not one of the {len(allowed)} values allowed here"


def _readable(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """The errors, without an `enum` failure where the value has the wrong type anyway (`3` for
    an event name is one problem, not two)."""
    found = list(errors)
    mistyped = {tuple(error.absolute_path) for error in found if error.validator == "type"}
    return [
        error
        for error in found
        if not (error.validator == "enum" and tuple(error.absolute_path) in mistyped)
    ]


def _field(error: ValidationError) -> str:
    parts = [f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = re.match(r"^'(.+)' is a required property$", error.message)
        if missing:
            parts.append("." + missing.group(1))
    elif error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        if extra:
            parts.append("." + extra[0])
    return "".join(parts).removeprefix(".")


def _problems_in(error: ValidationError) -> list[ValidationError]:
    """The innermost errors (a failed `oneOf`/`$ref` has more precise sub-errors)."""
    if error.context:
        return [leaf for sub in error.context for leaf in _problems_in(sub)]
    return [error]


def check_body(operation: Operation, raw: bytes) -> tuple[Any, list[dict[str, str]]]:
    """The parsed body and its problems against the operation's request schema.

    An empty body stands for `{}` when the body is optional. Raises `BodyNotJSON` when the body
    is not JSON (or is missing when required).
    """
    request_body = resolve(operation.definition.get("requestBody", {}))
    content = request_body.get("content", {}).get("application/json")
    if content is None:
        return None, []
    if not raw.strip():
        if request_body.get("required"):
            raise BodyNotJSON("The request needs a JSON body.")
        return {}, []
    body = parse_json(raw)
    validator = operation_validator(content["schema"])
    leaves = [
        leaf
        for error in sorted(
            validator.iter_errors(body), key=lambda e: [str(part) for part in e.absolute_path]
        )
        for leaf in _problems_in(error)
    ]
    problems = [
        _problem("body", field, _message(leaf, field))
        for leaf in _readable(leaves)
        for field in [_field(leaf)]
    ]
    return body, problems
