"""Generate ``src/pancake_pos/models.py`` from ``openapi/pancake-pos-webhooks.yaml``.

Run ``python -m codegen`` from the repository root after changing the API description, and
``python -m codegen --check`` to see whether the committed models are up to date.

Example:
    >>> from pathlib import Path
    >>> source = generate(Path("openapi/pancake-pos-webhooks.yaml"))
    >>> source.splitlines()[0]
    '# Generated from openapi/pancake-pos-webhooks.yaml by python -m codegen; do not edit.'
"""

from __future__ import annotations

from pathlib import Path

from codegen.errors import CodegenError
from codegen.render import render
from codegen.schema import read_models

__all__ = ["CodegenError", "generate"]


def generate(spec_path: Path) -> str:
    """The formatted source of the models module for the API description at ``spec_path``."""
    return render(read_models(spec_path))
