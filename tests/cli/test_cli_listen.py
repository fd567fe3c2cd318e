"""`pancake-pos listen --forward-to`: new events, each once, re-signed with a local secret.

The forwarder core runs in-process against the session's sandbox; the command itself runs as
a subprocess, stopped with SIGINT as Ctrl-C would."""

from __future__ import annotations

import datetime
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pancake_pos._sync import PancakeClient
from pancake_pos.cli._listen import EventForwarder, Forwarded, new_secret
from pancake_pos.models import Webhook
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._receiver import RecordingReceiver
from pancake_pos.signing import WebhookVerifier

Emit = Callable[..., dict[str, Any]]


@pytest.fixture
def local_server() -> Iterator[RecordingReceiver]:
    """The developer's local server that `listen` forwards to."""
    with RecordingReceiver(path="/local") as running:
        yield running


def _wait_until_recorded(client: PancakeClient, webhook: Webhook, count: int) -> None:
    deadline = time.monotonic() + 10
    while client.webhooks.list_deliveries(webhook_id=webhook.id, page_size=1).total != count:
        assert time.monotonic() < deadline, "the sandbox did not record the deliveries"
        time.sleep(0.02)


def _poll_until(forwarder: EventForwarder, count: int) -> list[Forwarded]:
    forwarded: list[Forwarded] = []
    deadline = time.monotonic() + 10
    while len(forwarded) < count:
        assert time.monotonic() < deadline, f"forwarded {forwarded}"
        forwarded += forwarder.poll()
        time.sleep(0.02)
    return forwarded


def test_the_forwarder_sends_each_new_event_once_signed_with_its_secret(
    client: PancakeClient,
    webhook: Webhook,
    receiver: RecordingReceiver,
    local_server: RecordingReceiver,
    emit: Emit,
) -> None:
    old = emit("order.created", {"n": "before"})["id"]
    _wait_until_recorded(client, webhook, 1)
    secret = new_secret()
    local_server.trust(secret)
    with httpx.Client() as http:
        forwarder = EventForwarder(
            client.webhooks,
            forward_to=local_server.url,
            secret=secret,
            http=http,
            webhook_id=webhook.id,
        )
        forwarder.start()
        assert forwarder.poll() == []  # the event from before the start is not forwarded

        receiver.fail_next(1)
        new = [emit("order.created", {"n": n})["id"] for n in range(2)]
        _wait_until_recorded(client, webhook, 3)
        old_attempt = client.webhooks.list_deliveries(webhook_id=webhook.id, page_size=3).data[-1]
        assert old_attempt.payload["id"] == old
        client.webhooks.retry_delivery(old_attempt.id)  # an old event, attempted again

        forwarded = _poll_until(forwarder, 2)
        failed = client.webhooks.iter_deliveries(webhook_id=webhook.id, status="failed")
        (failed_first,) = list(failed)
        client.webhooks.retry_delivery(failed_first.id)  # a new event's second attempt
        _wait_until_recorded(client, webhook, 5)
        assert forwarder.poll() == []  # each event once, whatever its attempts

    assert sorted(f.event_id for f in forwarded) == sorted(new)
    assert all(f.status_code == 200 for f in forwarded)
    received = local_server.received
    assert sorted(d.event_id for d in received) == sorted(new)
    verifier = WebhookVerifier(secret)
    for delivery in received:
        assert delivery.verified
        event = verifier.verify(delivery.body, delivery.headers)
        assert event.id == delivery.headers["webhook-id"]
        assert event.data == {"n": new.index(event.id)}


def test_the_forwarder_does_not_lose_new_events_to_a_clock_ahead_of_the_server(
    client: PancakeClient,
    webhook: Webhook,
    local_server: RecordingReceiver,
    emit: Emit,
) -> None:
    # The API's clock is 3 s behind this machine's (or it stamps whole seconds): an event made
    # just after the listener started carries a time before it. What the history held at the
    # start is what came before; anything else is new.
    old = emit("order.created", {"n": "before"})["id"]
    _wait_until_recorded(client, webhook, 1)

    def ahead() -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=3)

    secret = new_secret()
    local_server.trust(secret)
    with httpx.Client() as http:
        forwarder = EventForwarder(
            client.webhooks,
            forward_to=local_server.url,
            secret=secret,
            http=http,
            webhook_id=webhook.id,
            clock=ahead,
        )
        forwarder.start()
        new = emit("order.created", {"n": "after"})["id"]
        _wait_until_recorded(client, webhook, 2)
        forwarded = _poll_until(forwarder, 1)
        assert forwarder.poll() == []
    assert [f.event_id for f in forwarded] == [new]
    assert old not in [d.event_id for d in local_server.received]


def test_the_forwarder_keeps_to_the_events_asked_for_and_reports_a_server_that_is_down(
    client: PancakeClient, webhook: Webhook, emit: Emit
) -> None:
    with httpx.Client() as http:
        forwarder = EventForwarder(
            client.webhooks,
            forward_to="http://127.0.0.1:9/nobody",
            secret=new_secret(),
            http=http,
            webhook_id=webhook.id,
            events=["order.updated"],
        )
        forwarder.start()
        emit("order.created", {})
        wanted = emit("order.updated", {})["id"]
        _wait_until_recorded(client, webhook, 2)
        (forwarded,) = _poll_until(forwarder, 1)
    assert forwarded.event_id == wanted
    assert forwarded.status_code is None
    assert forwarded.error == "connection refused"


def test_the_forwarder_says_when_no_webhook_can_bring_it_an_event(
    client: PancakeClient, webhook: Webhook
) -> None:
    # listen reads the delivery history: with no active webhook subscribed to what it listens
    # to, nothing ever arrives, and a new user would wait in vain.
    def reason(**options: Any) -> str | None:
        with httpx.Client() as http:
            forwarder = EventForwarder(
                client.webhooks,
                forward_to="http://127.0.0.1:9/local",
                secret=new_secret(),
                http=http,
                **options,
            )
            return forwarder.nothing_to_forward()

    assert reason(webhook_id=webhook.id) is None
    assert reason(webhook_id=webhook.id, events=["order.created"]) is None
    assert reason(webhook_id=webhook.id, events=["customer.created"]) == (
        f"webhook {webhook.id} is not subscribed to customer.created"
    )
    assert reason(webhook_id="wh_nobody") == "there is no webhook wh_nobody"
    client.webhooks.update(webhook.id, is_active=False)
    assert reason(webhook_id=webhook.id) == f"webhook {webhook.id} is disabled"
    others = [hook for hook in client.webhooks.list().data if hook.is_active]
    for hook in others:
        client.webhooks.update(hook.id, is_active=False)
    try:
        assert reason() == "no webhook of the shop is active"
    finally:
        for hook in others:
            client.webhooks.update(hook.id, is_active=True)


def test_the_forwarder_refuses_bad_settings(client: PancakeClient) -> None:
    with httpx.Client() as http:
        with pytest.raises(ValueError, match="forward_to"):
            EventForwarder(
                client.webhooks, forward_to="localhost:8000", secret=new_secret(), http=http
            )
        with pytest.raises(ValueError, match="secret is not a usable webhook secret") as refused:
            EventForwarder(client.webhooks, forward_to="http://127.0.0.1:1/", secret="x", http=http)
        assert "#1" not in str(refused.value)  # one secret, not the first of a list


def test_listen_forwards_only_what_comes_after_it_started_and_exits_0_on_ctrl_c(
    sandbox: SandboxServer,
    client: PancakeClient,
    webhook: Webhook,
    local_server: RecordingReceiver,
    emit: Emit,
) -> None:
    emit("order.created", {"n": "before"})
    _wait_until_recorded(client, webhook, 1)
    env = {
        **os.environ,
        "PANCAKE_API_KEY": sandbox.api_key,
        "PANCAKE_SHOP_ID": sandbox.shop_id,
        "PANCAKE_BASE_URL": sandbox.base_url,
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "pancake_pos", "--max-retries", "0", "listen"]
    command += ["--forward-to", local_server.url]
    command += ["--webhook-id", webhook.id, "--interval", "0.1"]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as listener:
        watchdog = threading.Timer(
            30, listener.kill
        )  # a stuck listener fails the test, never hangs it
        watchdog.start()
        try:
            assert listener.stdout is not None
            first = listener.stdout.readline()
            assert first.startswith("Signing secret: whsec_"), first
            local_server.trust(first.split()[-1])
            history = f"/api/v1/shops/{sandbox.shop_id}/webhook-deliveries"
            sandbox.inject_fault("503", count=1, method="GET", path=history)  # a passing outage
            new = [emit("order.created", {"n": n})["id"] for n in range(2)]
            lines = [listener.stdout.readline() for _ in new]
            listener.send_signal(signal.SIGINT)
            out, err = listener.communicate(timeout=10)
        finally:
            watchdog.cancel()
            if listener.poll() is None:
                listener.kill()
    assert listener.returncode == 0, err
    assert sorted(line.split()[3] for line in lines) == sorted(new)
    for line in lines:  # time, event, id, the local answer's status and time
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  order\.created  msg_\S+  200  [\d,]+ ms\n", line
        ), line
    assert "Stopped after forwarding 2 events." in err
    assert "warning: 503 " in err  # reported, and the listener went on
    assert sandbox.api_key not in out + err
    received = local_server.received
    assert sorted(d.event_id for d in received) == sorted(new)
    assert all(d.verified for d in received)
