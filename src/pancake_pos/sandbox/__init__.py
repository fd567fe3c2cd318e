"""The local sandbox (extra `sandbox`): the whole webhooks API of the document, served locally.

It stores its state in SQLite, really delivers signed webhooks to the registered URLs through a
bounded queue, and retries failed ones on a schedule. `pancake-pos sandbox` serves one from the
command line; tests and the demo run one in-process with `SandboxServer`.

Example:

    from pancake_pos.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        print(sandbox.base_url, sandbox.api_key, sandbox.shop_id)
        event_id = sandbox.emit("order.created")
"""

from __future__ import annotations

try:
    from ._app import SandboxApp, create_app
    from ._config import DEFAULT_RETRY_SCHEDULE, SandboxConfig, parse_retry_schedule
    from ._faults import FAULT_KINDS
    from ._server import SandboxServer
except ModuleNotFoundError as error:  # installed without the `sandbox` extra
    if (error.name or "").partition(".")[0] not in {"starlette", "uvicorn", "jsonschema"}:
        raise
    raise ModuleNotFoundError(
        f"pancake_pos.sandbox needs the 'sandbox' extra ({error.name} is not installed): "
        "pip install 'pancake-pos[sandbox]'",
        name=error.name,
    ) from error

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "FAULT_KINDS",
    "SandboxApp",
    "SandboxConfig",
    "SandboxServer",
    "create_app",
    "parse_retry_schedule",
]
