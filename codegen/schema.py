"""Read the API description and turn its ``components/schemas`` into `codegen.ir` definitions.

The rules, in short (the README's "Changing the API description" has the long form):

* An object schema (``type: object`` with ``properties``, or an ``allOf`` of such schemas and
  ``$ref`` s to them) becomes a class; a string schema with an ``enum`` becomes an enum.
  Other named schemas (a plain ``string``, an ``array``...) are used inline where referenced.
* ``string`` is ``str`` (``date-time`` is ``datetime.datetime``, ``date`` is ``datetime.date``, a
  few informative formats such as ``uri`` stay ``str``), ``integer`` is ``int``, ``number`` is
  ``float``, ``boolean`` is ``bool``, ``array`` is ``list[...]``. An object without properties is a
  ``dict[str, T]`` for ``additionalProperties: {T}`` and ``dict[str, Any]`` for
  ``additionalProperties: true``.
* ``type: [T, 'null']`` and a ``oneOf``/``anyOf`` of a schema and ``{type: 'null'}`` are nullable.
* A property typed by an enum also accepts other strings (``WebhookEvent | str``). An enum written
  inline on a property uses the one named enum whose values include all of its values; when there is
  no such enum (or more than one), it gets an enum of its own named ``<Schema><Property>``.
* A schema with ``x-python-module: event_data`` goes to that generated module
  (``pancake_pos/event_data.py``) instead of ``models``; the schemas of one module refer only
  to each other, and an inline enum is matched only against the named enums of its module.
* Anything else (a dangling or non-local ``$ref``, any other ``oneOf``/``anyOf``, an unknown type or
  format, an inline object with properties, a schema without a type) is refused with a
  `CodegenError` naming the place, never guessed at.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from codegen.errors import CodegenError
from codegen.ir import (
    AnyValue,
    ClassDef,
    DictOf,
    EnumDef,
    EnumRef,
    FieldDef,
    ListOf,
    ModelRef,
    Models,
    Nullable,
    Scalar,
    TypeExpr,
)

__all__ = [
    "DEFAULT_MODULE",
    "MODULE_KEY",
    "build_models",
    "load_spec",
    "module_names",
    "read_models",
]

SCHEMAS_POINTER = "#/components/schemas/"

# A schema's ``x-python-module`` names the generated module it goes to (default ``models``); the
# schemas of one module may refer only to each other.
MODULE_KEY = "x-python-module"
DEFAULT_MODULE = "models"

STRING_FORMATS: Mapping[str | None, str] = {
    None: "str",
    "date-time": "datetime.datetime",
    "date": "datetime.date",
    # Formats that only describe the text; the value stays a str.
    "uri": "str",
    "uri-reference": "str",
    "iri": "str",
    "email": "str",
    "idn-email": "str",
    "hostname": "str",
    "idn-hostname": "str",
    "ipv4": "str",
    "ipv6": "str",
    "uuid": "str",
    "password": "str",
    "byte": "str",
}
INTEGER_FORMATS = frozenset({None, "int32", "int64"})
NUMBER_FORMATS = frozenset({None, "float", "double"})

# Names the generated module itself uses at the top level; a field or class named like one of
# them would shadow it when annotations are resolved.
RESERVED_NAMES = frozenset({"Any", "attrs", "datetime", "enum", "_mask_secret"})

SECRET_FIELD = re.compile(r"(^|_)(secret|secret_key|api_key|password|token)$")


def load_spec(path: Path) -> dict[str, Any]:
    """Read an OpenAPI document (YAML or JSON) into plain Python data."""
    try:
        with path.open(encoding="utf-8") as file:
            # libyaml's safe loader when PyYAML was built with it: the same data, ~8x faster.
            spec = yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise CodegenError(f"{path}: cannot read the API description: {exc}") from exc
    if not isinstance(spec, dict):
        raise CodegenError(f"{path}: the API description is not a mapping")
    return spec


def read_models(path: Path, module: str = DEFAULT_MODULE) -> Models:
    """Load the document at ``path`` and build the models of one generated module.

    Example:
        >>> models = read_models(Path("openapi/pancake-pos-webhooks.yaml"))
        >>> models.definitions[0].name
        'WebhookEvent'
    """
    return build_models(load_spec(path), source=f"{path.parent.name}/{path.name}", module=module)


def build_models(spec: Mapping[str, Any], *, source: str, module: str = DEFAULT_MODULE) -> Models:
    """Build the class and enum definitions of the named schemas of ``spec`` in ``module``."""
    return _Builder(spec, module).build(source)


def module_names(spec: Mapping[str, Any]) -> list[str]:
    """The generated modules the schemas of ``spec`` go to, ``models`` first."""
    components = spec.get("components") or {}
    schemas = components.get("schemas") if isinstance(components, Mapping) else None
    names = {DEFAULT_MODULE}
    if isinstance(schemas, Mapping):
        names |= {_module_of(schema) for schema in schemas.values()}
    return sorted(names, key=lambda name: (name != DEFAULT_MODULE, name))


def _module_of(schema: object) -> str:
    module = schema.get(MODULE_KEY, DEFAULT_MODULE) if isinstance(schema, Mapping) else None
    return module if isinstance(module, str) else DEFAULT_MODULE


class _Builder:
    """Walks ``components/schemas`` once, in document order."""

    def __init__(self, spec: Mapping[str, Any], module: str = DEFAULT_MODULE) -> None:
        self.spec = spec
        self.module = module
        components = spec.get("components") or {}
        schemas = components.get("schemas") if isinstance(components, Mapping) else None
        if not isinstance(schemas, Mapping):
            raise CodegenError("#/components/schemas: missing or not a mapping")
        self.schemas: Mapping[str, Any] = schemas
        self.named_enums = {
            name: tuple(schema["enum"])
            for name, schema in schemas.items()
            if isinstance(schema, Mapping)
            and self._is_enum(schema)
            and _module_of(schema) == module
        }
        self.inline_enums: list[EnumDef] = []
        self.alias_stack: list[str] = []

    def build(self, source: str) -> Models:
        info = self.spec.get("info") or {}
        definitions: list[ClassDef | EnumDef] = []
        for name, schema in self.schemas.items():
            where = SCHEMAS_POINTER + str(name)
            _check_identifier(str(name), where, "schema name")
            if not isinstance(schema, Mapping):
                raise CodegenError(f"{where}: not a mapping")
            if _module_of(schema) != self.module:
                continue
            if self._is_enum(schema):
                definitions.append(self._enum(name, schema, where))
            elif self._is_object(schema):
                self.inline_enums = []
                definitions.append(self._class(name, schema, where))
                definitions.extend(self.inline_enums)
            else:
                # Used inline where referenced; checked here even if nothing references it.
                self._type(schema, where, owner=name)
        _check_unique([d.name for d in definitions])
        return Models(
            title=str(info.get("title", "")),
            version=str(info.get("version", "")),
            source=source,
            definitions=tuple(definitions),
            module=self.module,
        )

    # -- what a schema is ------------------------------------------------------------------

    @staticmethod
    def _is_enum(schema: Mapping[str, Any]) -> bool:
        return "enum" in schema and schema.get("type") == "string"

    def _is_object(self, schema: Mapping[str, Any]) -> bool:
        if "allOf" in schema and "type" not in schema:
            return True
        return schema.get("type") == "object" and "properties" in schema

    def _resolve(self, ref: object, where: str) -> tuple[str, Mapping[str, Any]]:
        if not isinstance(ref, str) or not ref.startswith(SCHEMAS_POINTER):
            raise CodegenError(f"{where}: unsupported $ref {ref!r} (only {SCHEMAS_POINTER}...)")
        name = ref.removeprefix(SCHEMAS_POINTER)
        target = self.schemas.get(name)
        if not isinstance(target, Mapping):
            raise CodegenError(f"{where}: dangling $ref {ref!r}")
        return name, target

    # -- enums -----------------------------------------------------------------------------

    def _enum(self, name: str, schema: Mapping[str, Any], where: str) -> EnumDef:
        values = schema["enum"]
        if not isinstance(values, list) or not values:
            raise CodegenError(f"{where}/enum: must be a non-empty list")
        members: list[tuple[str, str]] = []
        for value in values:
            if not isinstance(value, str):
                raise CodegenError(f"{where}/enum: value {value!r} is not a string")
            member = re.sub(r"\W", "_", value).upper()
            if not member.isidentifier() or keyword.iskeyword(member):
                raise CodegenError(f"{where}/enum: {value!r} makes no Python name")
            members.append((member, value))
        _check_unique([member for member, _ in members], where=f"{where}/enum")
        return EnumDef(name=name, description=_text(schema), members=tuple(members))

    # -- classes ---------------------------------------------------------------------------

    def _class(self, name: str, schema: Mapping[str, Any], where: str) -> ClassDef:
        if schema.get("additionalProperties", False) is not False:
            raise CodegenError(
                f"{where}/additionalProperties: a class cannot also hold arbitrary keys; "
                "leave it out or set it to false"
            )
        properties, required = self._merged_properties(schema, where, seen=(name,))
        for field_name in required:
            if field_name not in properties:
                raise CodegenError(f"{where}/required: {field_name!r} is not a property")
        fields = []
        for field_name, (prop, prop_where) in properties.items():
            _check_identifier(field_name, prop_where, "property name")
            fields.append(self._field(name, field_name, prop, prop_where, field_name in required))
        return ClassDef(name=name, description=_text(schema), fields=tuple(fields))

    def _merged_properties(
        self, schema: Mapping[str, Any], where: str, seen: tuple[str, ...]
    ) -> tuple[dict[str, tuple[Mapping[str, Any], str]], set[str]]:
        """The properties (with where each is defined) and required names, ``allOf`` merged."""
        properties: dict[str, tuple[Mapping[str, Any], str]] = {}
        required: set[str] = set()
        parts = schema.get("allOf", [])
        if not isinstance(parts, list):
            raise CodegenError(f"{where}/allOf: must be a list")
        for index, part in enumerate(parts):
            part_where = f"{where}/allOf/{index}"
            if not isinstance(part, Mapping):
                raise CodegenError(f"{part_where}: not a mapping")
            if "$ref" in part:
                ref_name, part = self._resolve(part["$ref"], part_where)
                if ref_name in seen:
                    raise CodegenError(f"{part_where}: allOf cycle through {ref_name!r}")
                part_where = SCHEMAS_POINTER + ref_name
                seen = (*seen, ref_name)
            if not self._is_object(part):
                raise CodegenError(f"{part_where}: allOf parts must be object schemas")
            part_properties, part_required = self._merged_properties(part, part_where, seen)
            for prop_name, (prop, prop_where) in part_properties.items():
                if prop_name in properties and properties[prop_name][0] != prop:
                    raise CodegenError(f"{prop_where}: conflicts with an earlier allOf part")
                properties[prop_name] = (prop, prop_where)
            required |= part_required
        own = schema.get("properties", {})
        if not isinstance(own, Mapping):
            raise CodegenError(f"{where}/properties: not a mapping")
        for prop_name, prop in own.items():
            prop_where = f"{where}/properties/{prop_name}"
            if not isinstance(prop, Mapping):
                raise CodegenError(f"{prop_where}: not a mapping")
            properties[str(prop_name)] = (prop, prop_where)
        own_required = schema.get("required", [])
        if not isinstance(own_required, list):
            raise CodegenError(f"{where}/required: must be a list")
        required |= {str(r) for r in own_required}
        return properties, required

    def _field(
        self,
        class_name: str,
        name: str,
        prop: Mapping[str, Any],
        where: str,
        required: bool,
    ) -> FieldDef:
        type_ = self._type(prop, where, owner=class_name + _pascal(name))
        description = _text(prop) or self._referenced_text(prop, where)
        if "enum" in prop and isinstance(prop["enum"], list):
            values = ", ".join(f"`{value}`" for value in prop["enum"])
            description = _join(description, f"One of {values}.")
        if "default" in prop:
            default = _json_literal(prop["default"])
            description = _join(description, f"The server's default: `{default}`.")
        return FieldDef(
            name=name,
            type=type_,
            required=required,
            description=description,
            secret=bool(SECRET_FIELD.search(name)),
        )

    def _referenced_text(self, prop: Mapping[str, Any], where: str) -> str:
        if "$ref" in prop:
            return _text(self._resolve(prop["$ref"], where)[1])
        return ""

    # -- types -----------------------------------------------------------------------------

    def _type(self, schema: Mapping[str, Any], where: str, *, owner: str) -> TypeExpr:
        """The Python type of a property (or array item, or map value) schema."""
        if "$ref" in schema:
            return self._ref_type(schema["$ref"], where)
        for keyword_ in ("oneOf", "anyOf"):
            if keyword_ in schema:
                return self._nullable_union(schema[keyword_], f"{where}/{keyword_}", owner)
        if "allOf" in schema:
            parts = schema["allOf"]
            if isinstance(parts, list) and len(parts) == 1 and isinstance(parts[0], Mapping):
                return self._type(parts[0], f"{where}/allOf/0", owner=owner)
            raise CodegenError(f"{where}/allOf: on a property, only a single schema is supported")
        if "not" in schema:
            raise CodegenError(f"{where}: 'not' is not supported")
        if "nullable" in schema:
            raise CodegenError(f"{where}: 'nullable' is OpenAPI 3.0; write type: [T, 'null']")
        type_ = schema.get("type")
        if type_ is None and "const" in schema:
            type_ = _const_type(schema["const"], where)
        if isinstance(type_, list):
            return self._type_list(type_, schema, where, owner)
        if type_ is None:
            raise CodegenError(f"{where}: no type (say which, or additionalProperties: true)")
        if "enum" in schema:
            return self._inline_enum(schema, where, owner)
        return self._simple_type(str(type_), schema, where, owner)

    def _type_list(
        self, types: list[Any], schema: Mapping[str, Any], where: str, owner: str
    ) -> TypeExpr:
        others = [t for t in types if t != "null"]
        if len(types) != 2 or len(others) != 1:
            raise CodegenError(f"{where}/type: only [T, 'null'] is supported, not {types!r}")
        inner = {**schema, "type": others[0]}
        if isinstance(inner.get("enum"), list):
            inner["enum"] = [value for value in inner["enum"] if value is not None]
        return Nullable(self._type(inner, where, owner=owner))

    def _nullable_union(self, options: object, where: str, owner: str) -> TypeExpr:
        if not isinstance(options, list) or len(options) != 2:
            raise CodegenError(f"{where}: only the nullable idiom [schema, {{type: 'null'}}] works")
        others = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
        if len(others) != 1 or not isinstance(others[0], Mapping):
            raise CodegenError(f"{where}: only the nullable idiom [schema, {{type: 'null'}}] works")
        index = options.index(others[0])
        inner = self._type(others[0], f"{where}/{index}", owner=owner)
        return inner if isinstance(inner, Nullable) else Nullable(inner)

    def _ref_type(self, ref: object, where: str) -> TypeExpr:
        name, target = self._resolve(ref, where)
        if _module_of(target) != self.module:
            raise CodegenError(
                f"{where}: refers to {name!r}, which goes to the generated module "
                f"{_module_of(target)!r}, not {self.module!r}"
            )
        if self._is_enum(target):
            return EnumRef(name)
        if self._is_object(target):
            return ModelRef(name)
        if name in self.alias_stack:
            raise CodegenError(f"{where}: $ref cycle through {name!r}")
        self.alias_stack.append(name)
        try:
            return self._type(target, SCHEMAS_POINTER + name, owner=name)
        finally:
            self.alias_stack.pop()

    def _simple_type(
        self, type_: str, schema: Mapping[str, Any], where: str, owner: str
    ) -> TypeExpr:
        format_ = schema.get("format")
        if type_ == "string":
            if format_ not in STRING_FORMATS:
                raise CodegenError(f"{where}/format: unknown string format {format_!r}")
            return Scalar(STRING_FORMATS[format_])
        if type_ == "integer":
            if format_ not in INTEGER_FORMATS:
                raise CodegenError(f"{where}/format: unknown integer format {format_!r}")
            return Scalar("int")
        if type_ == "number":
            if format_ not in NUMBER_FORMATS:
                raise CodegenError(f"{where}/format: unknown number format {format_!r}")
            return Scalar("float")
        if type_ == "boolean":
            return Scalar("bool")
        if type_ == "array":
            items = schema.get("items")
            if not isinstance(items, Mapping):
                raise CodegenError(f"{where}/items: an array needs an items schema")
            return ListOf(self._type(items, f"{where}/items", owner=owner + "Item"))
        if type_ == "object":
            return self._map_type(schema, where, owner)
        raise CodegenError(f"{where}/type: unknown type {type_!r}")

    def _map_type(self, schema: Mapping[str, Any], where: str, owner: str) -> TypeExpr:
        if "properties" in schema:
            raise CodegenError(
                f"{where}: an inline object with properties has no class name; "
                "move it to components/schemas and $ref it"
            )
        values = schema.get("additionalProperties")
        if values is True:
            return DictOf(AnyValue())
        if isinstance(values, Mapping):
            return DictOf(self._type(values, f"{where}/additionalProperties", owner=owner))
        raise CodegenError(
            f"{where}: an object without properties needs additionalProperties "
            "(true for free-form, or the schema of its values)"
        )

    def _inline_enum(self, schema: Mapping[str, Any], where: str, owner: str) -> TypeExpr:
        if schema.get("type") != "string":
            raise CodegenError(f"{where}/enum: only string enums are supported")
        values = schema["enum"]
        if not isinstance(values, list) or not values:
            raise CodegenError(f"{where}/enum: must be a non-empty list")
        covering = [name for name, named in self.named_enums.items() if set(values) <= set(named)]
        if len(covering) == 1:
            return EnumRef(covering[0])
        _check_identifier(owner, where, "generated enum name")
        self.inline_enums.append(self._enum(owner, schema, where))
        return EnumRef(owner)


# -- small helpers -------------------------------------------------------------------------


def _text(schema: Mapping[str, Any]) -> str:
    description = schema.get("description", "")
    return description.strip() if isinstance(description, str) else ""


def _join(first: str, second: str) -> str:
    return f"{first} {second}" if first else second


def _json_literal(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def _const_type(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    raise CodegenError(f"{where}/const: unsupported constant {value!r}")


def _pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _check_identifier(name: str, where: str, what: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or name in RESERVED_NAMES:
        raise CodegenError(f"{where}: {what} {name!r} is not usable as a Python name")


def _check_unique(names: list[str], where: str = "#/components/schemas") -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CodegenError(f"{where}: names defined twice: {', '.join(duplicates)}")
