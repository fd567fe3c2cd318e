"""The other contenders, generated at bench time from our OpenAPI document (never committed).

* the async client `openapi-python-client` generates (`openapi-python-client generate --meta
  none`), imported as the package `pancake_generated_client`;
* pydantic v2 models from `datamodel-code-generator`, imported as `pancake_pydantic_models`.

Both are written into a temporary folder put on `sys.path` for the run. A generator that is not
installed or fails is recorded (its error text) and the parts carry on without it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType

__all__ = ["DOCUMENT", "Generated", "generate"]

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi" / "pancake-pos-webhooks.yaml"
CLIENT_PACKAGE = "pancake_generated_client"
PYDANTIC_MODULE = "pancake_pydantic_models"
_TIMEOUT = 300


@dataclass
class Generated:
    """The generated code (modules), or why each is missing (`*_error`)."""

    folder: Path | None = None
    client: ModuleType | None = None
    """`pancake_generated_client` (its `api`, `models` and `Client` are imported lazily)."""
    client_error: str | None = None
    pydantic: ModuleType | None = None
    pydantic_error: str | None = None
    warnings: list[str] = field(default_factory=list)
    _directory: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        """Forget the generated modules and remove the folder."""
        for name in list(sys.modules):
            if name == PYDANTIC_MODULE or name.split(".")[0] == CLIENT_PACKAGE:
                del sys.modules[name]
        if self.folder is not None and str(self.folder) in sys.path:
            sys.path.remove(str(self.folder))
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def __enter__(self) -> Generated:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _tool(name: str) -> str | None:
    """The console script `name`, next to this interpreter first, then on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def _environment() -> dict[str, str]:
    # The generators call `ruff` (openapi-python-client) or black/isort: find this venv's.
    environment = dict(os.environ)
    environment["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), environment.get("PATH", "")]
    )
    return environment


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env=_environment(),
        check=False,
    )


def _output_text(result: subprocess.CompletedProcess[str]) -> str:
    text = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part.strip())
    return " ".join(text.split())[:1_500]


def _generate_client(folder: Path, generated: Generated) -> None:
    tool = _tool("openapi-python-client")
    if tool is None:
        generated.client_error = "openapi-python-client is not installed"
        return
    output = folder / CLIENT_PACKAGE
    command = [tool, "generate", "--path", str(DOCUMENT), "--output-path", str(output)]
    result = _run([*command, "--meta", "none"])
    if result.returncode != 0 or not (output / "__init__.py").exists():
        generated.client_error = (
            f"openapi-python-client generate exited {result.returncode}: {_output_text(result)}"
        )
        return
    if "Warning" in result.stdout or "Warning" in result.stderr:
        generated.warnings.append(f"openapi-python-client: {_output_text(result)}")
    try:
        generated.client = importlib.import_module(CLIENT_PACKAGE)
    except Exception as error:
        generated.client_error = f"the generated client does not import: {error!r}"


def _generate_pydantic(folder: Path, generated: Generated) -> None:
    tool = _tool("datamodel-codegen")
    if tool is None:
        generated.pydantic_error = "datamodel-code-generator is not installed"
        return
    output = folder / f"{PYDANTIC_MODULE}.py"
    command = [
        tool,
        "--input",
        str(DOCUMENT),
        "--input-file-type",
        "openapi",
        "--output-model-type",
        "pydantic_v2.BaseModel",
        "--output",
        str(output),
    ]
    result = _run(command)
    if result.returncode != 0 or not output.exists():
        generated.pydantic_error = (
            f"datamodel-codegen exited {result.returncode}: {_output_text(result)}"
        )
        return
    try:
        generated.pydantic = importlib.import_module(PYDANTIC_MODULE)
    except Exception as error:
        generated.pydantic_error = f"the generated pydantic models do not import: {error!r}"


def generate(*, client: bool = True, pydantic: bool = True) -> Generated:
    """Generate both contenders into a new temporary folder and import them."""
    directory = tempfile.TemporaryDirectory(prefix="pancake-bench-")
    folder = Path(directory.name)
    generated = Generated(folder=folder, _directory=directory)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    for wanted, make, attribute in (
        (client, _generate_client, "client_error"),
        (pydantic, _generate_pydantic, "pydantic_error"),
    ):
        if not wanted:
            setattr(generated, attribute, "not asked for")
            continue
        try:
            make(folder, generated)
        except Exception as error:  # a broken generator must not stop the other parts
            setattr(generated, attribute, f"{type(error).__name__}: {error}")
    return generated
