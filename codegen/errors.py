"""The one error the generator raises."""

from __future__ import annotations

__all__ = ["CodegenError"]


class CodegenError(Exception):
    """The API description holds something the generator cannot express as Python.

    The message names where: a JSON pointer into the document, such as
    ``#/components/schemas/Webhook/properties/events/items``.

    Example:
        >>> raise CodegenError("#/components/schemas/A/properties/b: unknown type 'uuid'")
        Traceback (most recent call last):
        ...
        codegen.errors.CodegenError: #/components/schemas/A/properties/b: unknown type 'uuid'
    """
