"""Turn `codegen.ir` definitions into the text of ``models.py``, formatted by ``ruff format``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

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

__all__ = ["find_ruff", "format_python", "render", "render_type"]

REPO_ROOT = Path(__file__).resolve().parent.parent
LINE_LENGTH = 100
INDENT = "    "
QUOTES = '"""'

MASK_SECRET = '''
def _mask_secret(value: str | None) -> str:
    """Show at most the first 9 characters of a secret (fewer for a short one) in a repr."""
    if value is None:
        return "None"
    return repr(value[: min(9, len(value) // 3)] + "…")
'''

MODULE_DOC = '''"""The {title} models (API version {version}).

One attrs class per object schema of the API description, one ``enum.StrEnum`` per enum; fields
are named exactly as the JSON keys. Fields typed by an enum also accept any other string, so an
event name this version of the SDK does not know yet is kept as a plain ``str``. Optional fields
default to ``None``. Build them with keywords; turn JSON into them with
``pancake_pos._converter.structure``.

Example:
    >>> from pancake_pos.models import SetActiveRequest, WebhookEvent
    >>> SetActiveRequest(is_active=False)
    SetActiveRequest(is_active=False)
    >>> WebhookEvent("order.created") is WebhookEvent.ORDER_CREATED
    True
"""'''

EVENT_DATA_DOC = '''"""What the events of the {title} carry in ``data`` (API version {version}).

One attrs class per event group's data (``Order``, ``Customer``, ``InventoryChange``, ``Product``,
``Transaction``, ``LoyaltyPointsChange``) and the classes and enums they use. Every field is
optional and defaults to ``None``; fields typed by an enum also accept any other string. Values
keep their JSON types: nothing is coerced. ``pancake_pos.events.parse_event`` builds them.

Example:
    >>> from pancake_pos.event_data import Order, OrderItem
    >>> Order(id=1024, items=[OrderItem(product_id="prd_1", quantity=2)]).items[0].quantity
    2
"""'''

MODULE_DOCS = {"models": MODULE_DOC, "event_data": EVENT_DATA_DOC}


def render(models: Models) -> str:
    """The formatted source of the module holding every definition of ``models``."""
    return format_python(render_unformatted(models))


def render_unformatted(models: Models) -> str:
    """The module's source before ``ruff format``."""
    definitions = models.definitions
    body = "\n\n".join(
        _render_enum(d) if isinstance(d, EnumDef) else _render_class(d) for d in definitions
    )
    names = sorted(d.name for d in definitions)
    header = [
        f"# Generated from {models.source} by python -m codegen; do not edit.",
        MODULE_DOCS.get(models.module, MODULE_DOC).format(
            title=models.title, version=models.version
        ),
        "",
        "from __future__ import annotations",
        "",
        *_imports(models, body),
        "",
        f"__all__ = [{', '.join(repr(name) for name in names)}]",
    ]
    if any(field.secret for d in definitions if isinstance(d, ClassDef) for field in d.fields):
        header.append(MASK_SECRET)
    return "\n".join(header) + "\n\n" + body + "\n"


def render_type(type_: TypeExpr) -> str:
    """The annotation for a type, such as ``list[WebhookEvent | str]``."""
    match type_:
        case Scalar(python):
            return python
        case ModelRef(name):
            return name
        case EnumRef(name):
            return f"{name} | str"
        case ListOf(item):
            return f"list[{render_type(item)}]"
        case DictOf(value):
            return f"dict[str, {render_type(value)}]"
        case AnyValue():
            return "Any"
        case Nullable(inner):
            return f"{render_type(inner)} | None"
    raise AssertionError(type_)  # pragma: no cover


def format_python(source: str) -> str:
    """Format ``source`` with ``ruff format``, with this repository's settings."""
    ruff = find_ruff()
    result = subprocess.run(
        [ruff, "format", "--stdin-filename", str(REPO_ROOT / "models.py"), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise CodegenError(f"ruff format failed on the generated code: {result.stderr.strip()}")
    return result.stdout


def find_ruff() -> str:
    """The ruff executable: the one beside this Python (a venv, a nox session), else on PATH."""
    beside_python = Path(sys.executable).parent / "ruff"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("ruff")
    if found is None:
        raise CodegenError(
            "ruff is needed to format the generated code; install it (pip install ruff)"
        )
    return found


def _imports(models: Models, body: str) -> list[str]:
    lines = []
    if "datetime." in body:
        lines.append("import datetime")
    if any(isinstance(d, EnumDef) for d in models.definitions):
        lines.append("import enum")
    if "Any]" in body:
        lines.append("from typing import Any")
    lines.extend(["", "import attrs"])
    return lines


def _render_enum(enum: EnumDef) -> str:
    lines = [f"class {enum.name}(enum.StrEnum):", _docstring(enum.description or enum.name), ""]
    lines += [f"{INDENT}{member} = {value!r}" for member, value in enum.members]
    return "\n".join(lines) + "\n"


def _render_class(cls: ClassDef) -> str:
    attributes = [_attribute_doc(field) for field in cls.fields]
    doc = cls.description or cls.name
    if attributes:
        doc += "\n\nAttributes:\n" + "\n".join(attributes)
    lines = ["@attrs.define(kw_only=True, slots=True)", f"class {cls.name}:", _docstring(doc), ""]
    if cls.name.startswith("Test"):
        # pytest would try to collect the class from any test module that imports it.
        lines += [f"{INDENT}__test__ = False", ""]
    lines += [_field_line(field) for field in cls.fields] or [f"{INDENT}pass"]
    return "\n".join(lines) + "\n"


def _field_line(field: FieldDef) -> str:
    type_ = field.type
    if not field.required and not isinstance(type_, Nullable):
        type_ = Nullable(type_)
    annotation = render_type(type_)
    if field.secret:
        default = "" if field.required else "default=None, "
        return f"{INDENT}{field.name}: {annotation} = attrs.field({default}repr=_mask_secret)"
    if field.required:
        return f"{INDENT}{field.name}: {annotation}"
    return f"{INDENT}{field.name}: {annotation} = None"


def _attribute_doc(field: FieldDef) -> str:
    text = field.description or "(no description)"
    wrapped = textwrap.fill(
        f"{field.name}: {_flatten(text)}",
        width=LINE_LENGTH - 2 * len(INDENT),
        subsequent_indent=INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return textwrap.indent(wrapped, INDENT)


def _docstring(text: str) -> str:
    """A docstring at class level: paragraphs wrapped to the line length, escaped."""
    paragraphs = []
    for paragraph in _escape(text).split("\n\n"):
        if paragraph.startswith("Attributes:\n"):
            paragraphs.append(paragraph)
            continue
        paragraphs.append(
            textwrap.fill(
                _flatten(paragraph),
                width=LINE_LENGTH - len(INDENT) - len(QUOTES) * 2,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    body = textwrap.indent("\n\n".join(paragraphs), INDENT).lstrip()
    closing = f"\n{INDENT}" if "\n" in body else ""
    return f'{INDENT}"""{body}{closing}"""'


def _flatten(text: str) -> str:
    return " ".join(text.split())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
