"""`pancake-pos webhooks ...`: list, inspect, create, change, test and measure webhooks.

Example:

    $ pancake-pos webhooks create --url https://shop.example.com/hooks --event order.created
    $ pancake-pos webhooks stats wh_2ZbX9kQ1 --from 2024-04-01 --to 2024-04-29
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from .._converter import unstructure
from .._types import NOT_GIVEN, NotGiven
from ..models import HourlyStat, Webhook, WebhookStats
from ._context import cli_state
from ._errors import CommandError, ExitCode
from ._options import FromDay, ToDay, check_day_range, confirm, day, event_names, json_object
from ._output import (
    Output,
    details,
    duration,
    health,
    mask_secret,
    plural,
    show_attempt,
    table,
    text,
    when,
)

__all__ = ["webhooks_app"]

webhooks_app = typer.Typer(
    name="webhooks",
    help="Manage the shop's webhooks: list, get, create, update, delete, enable, disable, "
    "test, rotate-secret, stats.",
    no_args_is_help=True,
)

WebhookId = Annotated[str, typer.Argument(help="The webhook's id (wh_...).", show_default=False)]
Events = Annotated[
    list[str] | None,
    typer.Option(
        "--event",
        "-e",
        help="An event to receive, such as order.created (repeat, or separate with commas).",
        show_default=False,
    ),
]

_STATS_DAYS = 7
_WIDTH_FOR_LAST_TRIGGERED = 110


# -- rendering ----------------------------------------------------------------------------------


def _webhook_details(hook: Webhook, *, secret: str | None) -> Table:
    rows = [
        ("ID", text(hook.id)),
        ("URL", text(hook.url)),
        ("Events", text(", ".join(hook.events))),
        ("Active", text(hook.is_active)),
        ("Description", text(hook.description)),
        ("Health", health(hook.health_status.status, hook.health_status.success_rate)),
        ("Last success", when(hook.health_status.last_success_at)),
        ("Last failure", when(hook.health_status.last_failure_at)),
        ("Failure reason", text(hook.health_status.last_failure_reason)),
        ("Last triggered", when(hook.last_triggered_at)),
        ("Created", when(hook.created_at)),
        ("Updated", when(hook.updated_at)),
    ]
    if secret is not None:
        rows.append(("Secret", text(secret)))
    elif hook.secret_key:
        rows.append(("Secret", mask_secret(hook.secret_key)))
    return details(rows)


def _show_webhook(output: Output, hook: Webhook, *, show_secret: bool) -> None:
    if output.json_mode:
        data = unstructure(hook)
        if not show_secret:
            data.pop("secret_key", None)
        output.json(data)
        return
    output.print(_webhook_details(hook, secret=hook.secret_key if show_secret else None))


# -- commands -----------------------------------------------------------------------------------


@webhooks_app.command("list")
def list_webhooks(ctx: typer.Context) -> None:
    """List the shop's webhooks, newest first, with their health.

    Example:

    ```
    pancake-pos webhooks list
    pancake-pos --json webhooks list | jq -r '.data[].id'
    ```
    """
    state = cli_state(ctx)
    hooks = state.client().webhooks.list()
    if state.json_mode:
        state.output.json(hooks)
        return
    wide = state.output.console.width >= _WIDTH_FOR_LAST_TRIGGERED
    columns = ["ID", "URL", "Events", "Active", "Health"] + (["Last triggered"] if wide else [])
    grid = table(*columns)
    for hook in hooks.data:
        cells = [
            text(hook.id),
            text(hook.url),
            text("\n".join(hook.events)),
            text(hook.is_active),
            health(hook.health_status.status, hook.health_status.success_rate),
            when(hook.last_triggered_at),
        ]
        grid.add_row(*cells[: len(columns)])
    state.output.print(grid)
    state.output.note(plural(len(hooks.data), "webhook"))


@webhooks_app.command("get")
def get_webhook(
    ctx: typer.Context,
    webhook_id: WebhookId,
    show_secret: Annotated[
        bool, typer.Option("--show-secret", help="Show the signing secret in full.")
    ] = False,
) -> None:
    """Show one webhook: URL, events, health and (masked) signing secret.

    Example:

    ```
    pancake-pos webhooks get wh_2ZbX9kQ1
    pancake-pos --json webhooks get wh_2ZbX9kQ1 --show-secret | jq -r .secret_key
    ```
    """
    state = cli_state(ctx)
    hook = state.client().webhooks.get_by_id(webhook_id)
    _show_webhook(state.output, hook, show_secret=show_secret)


@webhooks_app.command("create")
def create_webhook(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="Where deliveries are POSTed (absolute http(s) URL).")],
    events: Events = None,
    description: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    inactive: Annotated[
        bool, typer.Option("--inactive", help="Create it disabled (no deliveries yet).")
    ] = False,
) -> None:
    """Register a webhook and print its signing secret (keep it: receivers verify with it).

    Example:

    ```
    pancake-pos webhooks create --url https://shop.example.com/hooks \\
        --event order.created --event order.status_changed --description "New orders"
    ```
    """
    names = event_names(events)
    if not names:
        raise CommandError("give at least one --event (such as --event order.created)")
    state = cli_state(ctx)
    hook = state.client().webhooks.create(
        url=url, events=names, description=description, is_active=False if inactive else None
    )
    _show_webhook(state.output, hook, show_secret=True)
    if not state.json_mode:
        state.output.note("Keep the secret: receivers verify every delivery's signature with it.")


@webhooks_app.command("update")
def update_webhook(
    ctx: typer.Context,
    webhook_id: WebhookId,
    url: Annotated[str | None, typer.Option(help="The new URL.")] = None,
    events: Events = None,
    description: Annotated[str | None, typer.Option(help="The new description.")] = None,
    clear_description: Annotated[
        bool, typer.Option("--clear-description", help="Remove the description.")
    ] = False,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Enable or disable it.")
    ] = None,
) -> None:
    """Change some fields of a webhook; the others keep their value.

    `--event` replaces the whole list of events.

    Example:

    ```
    pancake-pos webhooks update wh_2ZbX9kQ1 --event order.created --clear-description
    ```
    """
    if description is not None and clear_description:
        raise CommandError("--description and --clear-description cannot be used together")
    names = event_names(events)
    new_url: str | NotGiven = NOT_GIVEN if url is None else url
    new_events: list[str] | NotGiven = names if names else NOT_GIVEN
    new_description: str | NotGiven | None = (
        None if clear_description else NOT_GIVEN if description is None else description
    )
    new_active: bool | NotGiven = NOT_GIVEN if active is None else active
    if all(
        isinstance(value, NotGiven) for value in (new_url, new_events, new_description, new_active)
    ):
        raise CommandError(
            "nothing to change: give --url, --event, --description, --clear-description, "
            "--active or --inactive"
        )
    state = cli_state(ctx)
    hook = state.client().webhooks.update(
        webhook_id,
        url=new_url,
        events=new_events,
        description=new_description,
        is_active=new_active,
    )
    _show_webhook(state.output, hook, show_secret=False)


@webhooks_app.command("delete")
def delete_webhook(
    ctx: typer.Context,
    webhook_id: WebhookId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a webhook, its pending retries and its delivery history.

    Example:

    ```
    pancake-pos webhooks delete wh_2ZbX9kQ1 --yes
    ```
    """
    confirm(f"Delete webhook {webhook_id} and its delivery history?", yes=yes)
    state = cli_state(ctx)
    state.client().webhooks.delete(webhook_id)
    if state.json_mode:
        state.output.json({"id": webhook_id, "deleted": True})
    else:
        state.output.print(Text(f"Deleted webhook {webhook_id}."))


def _set_active(ctx: typer.Context, webhook_id: str, is_active: bool) -> None:
    state = cli_state(ctx)
    hook = state.client().webhooks.set_active(webhook_id, is_active)
    if state.json_mode:
        _show_webhook(state.output, hook, show_secret=False)
    else:
        state.output.print(
            Text(f"Webhook {hook.id} is {'enabled' if hook.is_active else 'disabled'}.")
        )


@webhooks_app.command("enable")
def enable_webhook(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Enable a webhook: deliveries (and its pending retries) resume.

    Example:

    ```
    pancake-pos webhooks enable wh_2ZbX9kQ1
    ```
    """
    _set_active(ctx, webhook_id, True)


@webhooks_app.command("disable")
def disable_webhook(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Disable a webhook: no deliveries until it is enabled again.

    Example:

    ```
    pancake-pos webhooks disable wh_2ZbX9kQ1
    ```
    """
    _set_active(ctx, webhook_id, False)


def _payload(data: str | None, data_file: Path | None) -> dict[str, Any] | None:
    if data is not None and data_file is not None:
        raise CommandError("--data and --data-file cannot be used together")
    if data_file is not None:
        try:
            data = data_file.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read --data-file: {error.strerror or error}") from None
    if data is None:
        return None
    return json_object(data, "the test data")


@webhooks_app.command("test")
def send_test_delivery(
    ctx: typer.Context,
    webhook_id: WebhookId,
    event: Annotated[
        str | None,
        typer.Option(help="The event to send (default: the webhook's first event)."),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="The event's data, a JSON object (default: a sample).")
    ] = None,
    data_file: Annotated[
        Path | None, typer.Option(help="Read the event's data from this JSON file.")
    ] = None,
) -> None:
    """Deliver one test event now and report what the receiver answered (exit 1 if it failed).

    Example:

    ```
    pancake-pos webhooks test wh_2ZbX9kQ1 --event order.created --data '{"order_id": "t-1"}'
    ```
    """
    payload = _payload(data, data_file)
    state = cli_state(ctx)
    webhooks = state.client().webhooks
    if event is None:
        subscribed = webhooks.get_by_id(webhook_id).events
        if not subscribed:
            raise CommandError("the webhook has no events: pass --event")
        event = subscribed[0]
    result = webhooks.test(webhook_id, event, payload)
    if not show_attempt(state.output, result, "Test delivery"):
        raise typer.Exit(ExitCode.DELIVERY_FAILED)


@webhooks_app.command("rotate-secret")
def rotate_secret(ctx: typer.Context, webhook_id: WebhookId) -> None:
    """Issue a new signing secret and print it.

    For a grace period deliveries are signed with both the new and the previous secret, so
    receivers can switch over without losing any.

    Example:

    ```
    pancake-pos webhooks rotate-secret wh_2ZbX9kQ1
    ```
    """
    state = cli_state(ctx)
    rotated = state.client().webhooks.rotate_secret(webhook_id)
    if state.json_mode:
        state.output.json(rotated)
        return
    state.output.print(
        details([("Webhook", text(webhook_id)), ("New secret", text(rotated.secret_key))])
    )
    state.output.note(
        "Deliveries carry signatures with both the new and the previous secret for a while: "
        "give the new one to your receivers now."
    )


# -- stats --------------------------------------------------------------------------------------


def _success_rate(stats: WebhookStats) -> str:
    if not stats.total_deliveries:
        return "-"
    return f"{100 * stats.success_count / stats.total_deliveries:.1f}%"


def _bar(hour: HourlyStat, largest: int, width: int) -> Text:
    """`█` for deliveries that succeeded and `░` for failed ones, scaled to `largest`."""
    cells = max(1, round(hour.total / largest * width)) if hour.total else 0
    failed = min(cells, max(1, round(hour.failed / hour.total * cells))) if hour.failed else 0
    bar = Text("█" * (cells - failed), style="green")
    bar.append("░" * failed, style="red")
    return bar


def _hourly_chart(hours: list[HourlyStat], width: int) -> Text:
    busy = [hour for hour in hours if hour.total]
    chart = Text()
    if not busy:
        chart.append("No deliveries in this period.", style="dim")
        return chart
    largest = max(hour.total for hour in busy)
    counts = [
        f"{hour.total}" + (f" ({hour.failed} failed)" if hour.failed else "") for hour in busy
    ]
    label_width = len("2024-04-29 10:00Z")
    count_width = max(len(count) for count in counts)
    bar_width = max(10, width - label_width - count_width - 4)
    chart.append("Deliveries per hour (UTC): █ succeeded, ░ failed\n", style="bold")
    for hour, count in zip(busy, counts, strict=True):
        label = hour.hour.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:00Z")
        chart.append(f"{label} ")
        chart.append_text(_bar(hour, largest, bar_width))
        chart.append(f" {count}\n")
    chart.rstrip()
    return chart


@webhooks_app.command("stats")
def webhook_stats(
    ctx: typer.Context,
    webhook_id: WebhookId,
    from_day: FromDay = None,
    to_day: ToDay = None,
) -> None:
    """Delivery statistics over whole UTC days: totals, success rate, durations, events, hours.

    Without --from/--to: the last 7 days, today included.

    Example:

    ```
    pancake-pos webhooks stats wh_2ZbX9kQ1 --from 2024-04-01 --to 2024-04-29
    ```
    """
    last = day(to_day) or datetime.datetime.now(datetime.UTC).date()
    first = day(from_day) or last - datetime.timedelta(days=_STATS_DAYS - 1)
    check_day_range(first, last)
    state = cli_state(ctx)
    stats = state.client().webhooks.get_stats(webhook_id, from_date=first, to_date=last)
    if state.json_mode:
        state.output.json(stats)
        return
    summary = details(
        [
            ("Deliveries", text(stats.total_deliveries)),
            ("Succeeded", text(stats.success_count, "green")),
            ("Failed", text(stats.failure_count, "red" if stats.failure_count else "")),
            ("Success rate", text(_success_rate(stats))),
            ("Average duration", duration(stats.average_duration_ms)),
        ]
    )
    events = table("Event", "Deliveries")
    for name, count in sorted(stats.event_counts.items(), key=lambda item: (-item[1], item[0])):
        events.add_row(text(name), text(count))
    output = state.output
    output.print(Text(f"Webhook {webhook_id}, {first} to {last} (UTC days)", style="bold"))
    output.print(summary)
    if stats.event_counts:
        output.print(events)
    output.print(Text())
    output.print(_hourly_chart(stats.hourly_stats, output.console.width))
