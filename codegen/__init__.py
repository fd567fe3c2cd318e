"""Generate ``src/pancake_pos/models.py`` (and ``event_data.py``, the events' data models) from
``openapi/pancake-pos-webhooks.yaml``, and the sandbox's JSON copy of the document
(``src/pancake_pos/sandbox/openapi.json``, so that the installed sandbox needs no YAML parser).

Run ``python -m codegen`` from the repository root after changing the API description, and
``python -m codegen --check`` to see whether the committed files are up to date.

Example:
    >>> from pathlib import Path
    >>> source = generate(Path("openapi/pancake-pos-webhooks.yaml"))
    >>> source.splitlines()[0]
    '# Generated from openapi/pancake-pos-webhooks.yaml by python -m codegen; do not edit.'
"""

from __future__ import annotations

import json
from pathlib import Path

from codegen.errors import CodegenError
from codegen.render import render
from codegen.schema import DEFAULT_MODULE, load_spec, module_names, read_models

__all__ = ["CodegenError", "generate", "module_names", "spec_copy"]


def generate(spec_path: Path, module: str = DEFAULT_MODULE) -> str:
    """The formatted source of one generated module (``models`` by default) for ``spec_path``."""
    return render(read_models(spec_path, module))


def spec_copy(spec_path: Path) -> str:
    """The API description at ``spec_path`` as JSON text, for the sandbox to load.

    Example:
        >>> import json
        >>> json.loads(spec_copy(Path("openapi/pancake-pos-webhooks.yaml")))["openapi"]
        '3.1.0'
    """
    return json.dumps(load_spec(spec_path), indent=1, ensure_ascii=False)
