"""What the generator knows about the schemas, between the YAML and the Python text.

`codegen.schema` builds these from the API description; `codegen.render` turns them into code.
Every type here is something Python can express, so rendering never fails.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AnyValue",
    "ClassDef",
    "DictOf",
    "EnumDef",
    "EnumRef",
    "FieldDef",
    "ListOf",
    "ModelRef",
    "Models",
    "Nullable",
    "Scalar",
    "TypeExpr",
]


@dataclass(frozen=True)
class Scalar:
    """A plain Python type: ``str``, ``int``, ``float``, ``bool``, ``datetime.datetime``..."""

    python: str


@dataclass(frozen=True)
class ModelRef:
    """One of the generated attrs classes."""

    name: str


@dataclass(frozen=True)
class EnumRef:
    """One of the generated enums; a field of this type also accepts any other ``str``."""

    name: str


@dataclass(frozen=True)
class ListOf:
    """A JSON array."""

    item: TypeExpr


@dataclass(frozen=True)
class DictOf:
    """A JSON object used as a map from string keys to values of one type."""

    value: TypeExpr


@dataclass(frozen=True)
class AnyValue:
    """Any JSON value; only as the values of a free-form object (``additionalProperties: true``)."""


@dataclass(frozen=True)
class Nullable:
    """A value that may be JSON ``null``."""

    inner: TypeExpr


TypeExpr = Scalar | ModelRef | EnumRef | ListOf | DictOf | AnyValue | Nullable


@dataclass(frozen=True)
class FieldDef:
    """One property of an object schema."""

    name: str
    type: TypeExpr
    required: bool
    description: str
    secret: bool = False


@dataclass(frozen=True)
class ClassDef:
    """An object schema, rendered as an attrs class."""

    name: str
    description: str
    fields: tuple[FieldDef, ...]


@dataclass(frozen=True)
class EnumDef:
    """A string enum schema, rendered as an ``enum.StrEnum``; members are (name, value) pairs."""

    name: str
    description: str
    members: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Models:
    """Everything one generated module holds, in the order it is written."""

    title: str
    version: str
    source: str
    definitions: tuple[ClassDef | EnumDef, ...]
    module: str = "models"
