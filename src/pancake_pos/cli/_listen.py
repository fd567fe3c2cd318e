"""`pancake-pos listen --forward-to URL`: the shop's new events, re-signed, to a local server.

The listener only reads the delivery history (the public `list_deliveries` operation), so it
works against the real API as well as the sandbox. Every `interval` seconds it reads the newest
deliveries, newest first, back to a horizon a little before the newest one it saw last time
(an attempt is recorded when it ends, so a slow one can appear after a quicker, later one).
At the start it notes the events the recent history already holds: those came before it.
Every other event (the payload's `id`) is POSTed to the URL once, whichever of its attempts
shows it: the payload as JSON, signed the Standard Webhooks way with a local secret,
`webhook-id` being the event id. The API's clock is trusted no further than that: an event is
new by its id, not by comparing its time with this machine's (which may run ahead of the
server's, or the server may stamp whole seconds); only events whose time is more than the
lookback before the start (a late retry of an old event) are left out by their time.
So the local server verifies it exactly as it would verify a real delivery.

`EventForwarder` is the core (no terminal, no sleeping): `poll()` forwards what is new and
returns what happened; `listen` is the command around it.

Example:

    $ pancake-pos listen --forward-to http://127.0.0.1:8000/webhooks
    Ready. Forwarding new events (all events) to http://127.0.0.1:8000/webhooks every 1s. ...
    Signing secret: whsec_...
    2024-04-29 10:15:01Z  order.created  msg_2ZbX9kQ1...  200  12 ms
"""

from __future__ import annotations

import base64
import collections
import datetime
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated

import attrs
import httpx
import typer
from rich.text import Text

from .. import _validation as check
from .._recovery import event_created_at, event_id_of
from .._version import __version__
from ..errors import (
    APIConnectionError,
    InternalServerError,
    PancakeError,
    RateLimitError,
    WebhookVerificationError,
)
from ..models import WebhookDelivery
from ..signing import WebhookVerifier, sign
from ._context import cli_state
from ._errors import CommandError, describe
from ._options import event_names
from ._output import Output, when

if TYPE_CHECKING:
    from ..resources.webhooks import Webhooks

__all__ = ["EventForwarder", "Forwarded", "listen", "new_secret"]

LOOKBACK = datetime.timedelta(seconds=30)
_REMEMBERED_EVENTS = 100_000
_USER_AGENT = f"pancake-pos-listen/{__version__}"


def new_secret() -> str:
    """A fresh local signing secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@attrs.frozen(kw_only=True)
class Forwarded:
    """One event forwarded, and what the local server answered."""

    at: datetime.datetime
    event: str
    event_id: str
    status_code: int | None
    error: str | None
    milliseconds: float

    @property
    def ok(self) -> bool:
        """Whether the local server answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


class EventForwarder:
    """Polls the delivery history and forwards each new event once to `forward_to`.

    Example:

    ```
    forwarder = EventForwarder(client.webhooks, forward_to=url, secret=secret, http=http)
    forwarder.start()
    while True:
        for forwarded in forwarder.poll():
            print(forwarded.event_id, forwarded.status_code)
        time.sleep(1)
    ```
    """

    def __init__(
        self,
        webhooks: Webhooks,
        *,
        forward_to: str,
        secret: str,
        http: httpx.Client,
        webhook_id: str | None = None,
        events: Iterable[str] = (),
        lookback: datetime.timedelta = LOOKBACK,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._webhooks = webhooks
        self.forward_to = check.http_url(forward_to, "forward_to")
        try:
            WebhookVerifier(secret)  # a secret receivers could not verify with is refused now
        except (TypeError, ValueError, WebhookVerificationError) as error:
            raise ValueError(f"secret is not a usable webhook secret: {error}") from None
        self._secret = secret
        self._http = http
        self.webhook_id = None if webhook_id is None else check.identifier(webhook_id, "webhook_id")
        self.events = frozenset(check.event_name(name, "events") for name in events)
        self._lookback = lookback
        self._clock = clock
        self._forwarded: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.started_at: datetime.datetime | None = None
        self._horizon: datetime.datetime | None = None

    def __repr__(self) -> str:
        return f"EventForwarder(forward_to={self.forward_to!r}, webhook_id={self.webhook_id!r})"

    def start(self) -> None:
        """From now on: the events the recent history holds now are never forwarded."""
        self.started_at = self._clock()
        self._horizon = self.started_at - self._lookback
        newest: datetime.datetime | None = None
        for delivery in self._recent(self._horizon):
            newest = newest or delivery.created_at
            self._remember(event_id_of(delivery))
        if newest is not None:
            self._horizon = max(self._horizon, newest - self._lookback)

    def nothing_to_forward(self) -> str | None:
        """Why no event can reach the listener (no active webhook gets what it listens to).

        The history only holds what was delivered to the shop's webhooks, so with none active
        and subscribed to the events listened to, nothing ever arrives. ``None`` when one is.
        """
        hooks = self._webhooks.list().data
        if self.webhook_id is not None:
            hooks = [hook for hook in hooks if hook.id == self.webhook_id]
            if not hooks:
                return f"there is no webhook {self.webhook_id}"
        active = [hook for hook in hooks if hook.is_active]
        if not active:
            whose = f"webhook {self.webhook_id}" if self.webhook_id else "no webhook of the shop"
            return f"{whose} is {'disabled' if self.webhook_id else 'active'}"
        if self.events and not any(
            self.events.intersection(str(name) for name in hook.events) for hook in active
        ):
            whose = f"webhook {self.webhook_id}" if self.webhook_id else "no active webhook"
            verb = "is not" if self.webhook_id else "is"
            return f"{whose} {verb} subscribed to {', '.join(sorted(self.events))}"
        return None

    def poll(self) -> list[Forwarded]:
        """Forward the events that are new since the last poll, oldest first."""
        if self.started_at is None or self._horizon is None:
            raise RuntimeError("call start() before poll()")
        oldest = self.started_at - self._lookback
        fresh: dict[str, WebhookDelivery] = {}
        newest: datetime.datetime | None = None
        for delivery in self._recent(self._horizon):
            newest = newest or delivery.created_at
            event_id = event_id_of(delivery)
            if event_id in self._forwarded or (self.events and delivery.event not in self.events):
                continue
            if event_created_at(delivery) < oldest:
                continue  # a late retry of an event from long before the listener started
            fresh[event_id] = delivery  # newest first: an earlier attempt replaces it
        if newest is not None:
            self._horizon = max(self._horizon, newest - self._lookback)
        ordered = sorted(fresh.items(), key=lambda item: event_created_at(item[1]))
        return [self._forward(event_id, delivery) for event_id, delivery in ordered]

    def _recent(self, horizon: datetime.datetime) -> Iterator[WebhookDelivery]:
        """The deliveries created at or after `horizon`, newest first."""
        walk = self._webhooks.iter_deliveries(
            webhook_id=self.webhook_id,
            event=next(iter(self.events)) if len(self.events) == 1 else None,
            from_date=horizon.astimezone(datetime.UTC).date(),
        )
        try:
            for delivery in walk:
                if delivery.created_at < horizon:
                    return
                yield delivery
        finally:
            walk.close()

    def _remember(self, event_id: str) -> None:
        self._forwarded[event_id] = None
        if len(self._forwarded) > _REMEMBERED_EVENTS:
            self._forwarded.popitem(last=False)

    def _forward(self, event_id: str, delivery: WebhookDelivery) -> Forwarded:
        self._remember(event_id)
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        now = self._clock()
        headers = {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(self._secret, event_id, int(now.timestamp()), body),
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
        }
        status_code: int | None = None
        error: str | None = None
        began = time.perf_counter()
        try:
            answer = self._http.post(self.forward_to, content=body, headers=headers)
            status_code = answer.status_code
        except httpx.HTTPError as exc:
            error = _why(exc)
        return Forwarded(
            at=now,
            event=str(delivery.event),
            event_id=event_id,
            status_code=status_code,
            error=error,
            milliseconds=(time.perf_counter() - began) * 1000,
        )


def _why(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        return "connection refused" if "refused" in str(error).lower() else "could not connect"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _show(output: Output, forwarded: Forwarded) -> None:
    if output.json_mode:
        output.json_lines(
            [
                {
                    "at": forwarded.at.isoformat(),
                    "event": forwarded.event,
                    "event_id": forwarded.event_id,
                    "status_code": forwarded.status_code,
                    "error": forwarded.error,
                    "milliseconds": round(forwarded.milliseconds, 1),
                }
            ]
        )
        return
    line = when(forwarded.at)
    line.append(f"  {forwarded.event}  {forwarded.event_id}  ")
    if forwarded.status_code is not None:
        line.append(str(forwarded.status_code), style="green" if forwarded.ok else "red")
    else:
        line.append(f"failed: {forwarded.error}", style="red")
    line.append(f"  {forwarded.milliseconds:,.0f} ms")
    output.print(line)


def listen(
    ctx: typer.Context,
    forward_to: Annotated[
        str,
        typer.Option(
            "--forward-to", help="The local URL each new event is POSTed to.", show_default=False
        ),
    ],
    webhook_id: Annotated[
        str | None,
        typer.Option(
            "--webhook-id", help="Only the events sent to this webhook.", show_default=False
        ),
    ] = None,
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            "-e",
            help="Only these events (repeat, or separate with commas).",
            show_default=False,
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between two reads of the history.")
    ] = 1.0,
    secret: Annotated[
        str | None,
        typer.Option(
            help="The whsec_ secret to sign with (a new one is made and printed when left out).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Forward each new event, signed with a local secret, to a server on this machine.

    Reads the delivery history every --interval seconds and POSTs each event created since
    it started, once, to --forward-to: the payload as JSON with Standard Webhooks headers
    (webhook-id is the event id), signed with the secret it prints at start. Verify with
    that secret in your local server. One line per event: time, event, id, the local
    answer's status and time. Works against the sandbox and the real API. Ctrl-C stops it.

    Example:

    ```
    pancake-pos listen --forward-to http://127.0.0.1:8000/webhooks --events order.created
    ```
    """
    state = cli_state(ctx)
    signing_secret = secret or new_secret()
    state.hide(signing_secret)
    with httpx.Client(timeout=10.0, trust_env=False) as http:
        try:
            forwarder = EventForwarder(
                state.client().webhooks,
                forward_to=forward_to,
                secret=signing_secret,
                http=http,
                webhook_id=webhook_id,
                events=event_names(events),
            )
        except (TypeError, ValueError, WebhookVerificationError) as error:
            raise CommandError(_option_names(str(error))) from None
        _run(state.output, forwarder, signing_secret, interval)


def _option_names(message: str) -> str:
    """An argument check's message, naming the command line's options."""
    for argument, option in (("forward_to", "--forward-to"), ("webhook_id", "--webhook-id")):
        message = message.replace(argument, option)
    return message


def _warn_when_nothing_can_arrive(output: Output, forwarder: EventForwarder) -> None:
    try:
        reason = forwarder.nothing_to_forward()
    except PancakeError:  # only advice: the polling says what is wrong with the API
        return
    if reason is not None:
        events = " ".join(f"--event {name}" for name in sorted(forwarder.events))
        output.note(
            f"warning: {reason}, so no event will arrive: listen forwards what the shop's "
            "webhooks are sent. Create or enable one (any URL will do): pancake-pos webhooks "
            f"create --url http://127.0.0.1:9/ {events or '--event order.created'}"
        )


def _run(output: Output, forwarder: EventForwarder, secret: str, interval: float) -> None:
    stop = threading.Event()
    count = 0
    try:
        forwarder.start()
        what = ", ".join(sorted(forwarder.events)) or "all events"
        whose = f" of webhook {forwarder.webhook_id}" if forwarder.webhook_id else ""
        output.note(
            f"Ready. Forwarding new events ({what}){whose} to {forwarder.forward_to} "
            f"every {interval:g}s. Press Ctrl-C to stop."
        )
        if output.json_mode:
            output.json_lines([{"secret": secret}])
        else:
            output.print(Text(f"Signing secret: {secret}"))
        _warn_when_nothing_can_arrive(output, forwarder)
        while not stop.is_set():
            try:
                for forwarded in forwarder.poll():
                    count += 1
                    _show(output, forwarded)
            except (APIConnectionError, RateLimitError, InternalServerError) as error:
                # A passing outage (the SDK's own retries are spent): go on polling.
                output.note(f"warning: {describe(error)[1]}; polling again in {interval:g}s")
            stop.wait(interval)
    except KeyboardInterrupt:
        output.note(f"Stopped after forwarding {count} event{'s' if count != 1 else ''}.")
