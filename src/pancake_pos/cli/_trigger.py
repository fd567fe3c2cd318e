"""`pancake-pos trigger EVENT`: fire an event now and see where it went.

Against the sandbox it emits the event with the sandbox's emit endpoint
(`POST /shops/{shop_id}/sandbox/events`), which delivers it to every active webhook subscribed
to it. The real API has no such endpoint: it answers 404 there, and the event is then sent to
`--webhook-id` as a test delivery (`webhooks.test`). So the same command works against both;
the endpoint is asked first because a sandbox can run on any host, not only on loopback.

Example:

    $ pancake-pos trigger order.created --data '{"id": 1001, "status_name": "new"}'
    Emitted order.created msg_2ZbX9kQ1... to 1 webhook: wh_7Hq3mN0p
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import attrs
import typer
from rich.text import Text

from .. import _validation as check
from ..errors import NotFoundError
from ..models import WebhookTestResult
from ._context import CliState, cli_state
from ._errors import CommandError, ExitCode
from ._options import json_object
from ._output import plural, show_attempt

__all__ = ["EmitAnswer", "emit_event", "parse_data", "trigger"]

_EMIT_PATH = "/sandbox/events"


@attrs.define(kw_only=True)
class EmitAnswer:
    """The sandbox's answer to an emitted event."""

    id: str
    event: str = ""
    webhook_ids: list[str] = attrs.field(factory=list)


def parse_data(value: str | None) -> dict[str, Any] | None:
    """`--data`: a JSON object, or `@path` to a file holding one."""
    if value is None:
        return None
    where = "--data"
    if value.startswith("@"):
        path = Path(value[1:])
        where = f"--data file {path}"
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read {where}: {error.strerror or error}") from None
    return json_object(value, where)


def emit_event(state: CliState, event: str, data: dict[str, Any] | None) -> EmitAnswer | str:
    """Emit through the sandbox's endpoint; the API's 404 message when it has no such endpoint."""
    client = state.client()
    transport = client._async_client._transport
    body: dict[str, Any] = {"event": event}
    if data is not None:
        body["data"] = data
    try:
        return client._run(transport.request, "POST", _EMIT_PATH, json=body, cast_to=EmitAnswer)
    except NotFoundError as error:
        return error.message


def trigger(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(help="The event, such as order.created.")],
    data: Annotated[
        str | None,
        typer.Option(
            help="The event's data: a JSON object, or @file.json (default: a sample).",
            show_default=False,
        ),
    ] = None,
    webhook_id: Annotated[
        str | None,
        typer.Option(
            "--webhook-id",
            help="Against the real API: the webhook to send it to (as a test delivery).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Fire an event now: emitted by the sandbox, or sent to --webhook-id by the real API.

    Prints the event id and where it went. Against the sandbox the event goes to every
    active webhook subscribed to it, with automatic retries; against the real API (which
    has no emit endpoint) it is sent to --webhook-id as a test delivery. Exit 1 when that
    test delivery failed.

    Example:

    ```
    pancake-pos trigger order.created
    pancake-pos trigger order.status_changed --data @order.json --webhook-id wh_2ZbX9kQ1
    ```
    """
    try:
        name = check.event_name(event, "EVENT")
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None
    payload = parse_data(data)
    state = cli_state(ctx)
    emitted = emit_event(state, name, payload)
    if isinstance(emitted, EmitAnswer):
        _show_emitted(state, name, emitted, webhook_id)
        return
    if webhook_id is None:
        raise CommandError(
            f"the API has no sandbox emit endpoint here (404: {emitted}); against the real "
            "API pass --webhook-id to send the event to that webhook as a test delivery"
        )
    webhooks = state.client().webhooks
    result = webhooks.test(webhook_id, name, payload)
    event_id = str(webhooks.get_delivery_by_id(result.delivery_id).payload.get("id", ""))
    if not _show_tested(state, name, event_id, webhook_id, result):
        raise typer.Exit(ExitCode.DELIVERY_FAILED)


def _show_emitted(state: CliState, event: str, emitted: EmitAnswer, webhook_id: str | None) -> None:
    output = state.output
    if output.json_mode:
        output.json(
            {
                "event_id": emitted.id,
                "event": emitted.event or event,
                "sent_by": "sandbox",
                "webhook_ids": emitted.webhook_ids,
            }
        )
    else:
        where = plural(len(emitted.webhook_ids), "webhook")
        if emitted.webhook_ids:
            where += ": " + ", ".join(emitted.webhook_ids)
        output.print(Text(f"Emitted {emitted.event or event} {emitted.id} to {where}"))
    if not emitted.webhook_ids:
        output.note(f"No active webhook is subscribed to {event}.")
    elif webhook_id is not None and webhook_id not in emitted.webhook_ids:
        output.note(f"Webhook {webhook_id} is not active or not subscribed to {event}.")


def _show_tested(
    state: CliState, event: str, event_id: str, webhook_id: str, result: WebhookTestResult
) -> bool:
    return show_attempt(
        state.output,
        result,
        "Sent",
        head=f"Sent {event} {event_id} to webhook {webhook_id} "
        f"(test delivery {result.delivery_id})",
        as_json={
            "event_id": event_id,
            "event": event,
            "sent_by": "test",
            "webhook_id": webhook_id,
            "delivery_id": result.delivery_id,
            "status": str(result.status),
            "status_code": None if result.response is None else result.response.status_code,
            "failure_reason": result.failure_reason,
        },
    )
