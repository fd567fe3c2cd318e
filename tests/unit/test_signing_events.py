"""WebhookVerifier.verify_event: verify, then parse into a typed event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pancake_pos.errors import WebhookVerificationError
from pancake_pos.events import CustomerEvent, OrderEvent, UnknownEvent
from pancake_pos.signing import WebhookVerifier, build_headers, generate_secret

SECRET = generate_secret()
NOW = 1_714_385_700


def signed(body: bytes, msg_id: str = "msg_1") -> dict[str, str]:
    return build_headers(SECRET, msg_id, NOW, body)


def body_of(**changes: Any) -> bytes:
    payload: dict[str, Any] = {
        "id": "msg_1",
        "event": "order.created",
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {"id": 1024, "status_name": "new", "bill_phone_number": "0901"},
    }
    payload.update(changes)
    return json.dumps(payload).encode()


def test_verify_event_returns_the_typed_event() -> None:
    body = body_of()
    event = WebhookVerifier(SECRET).verify_event(body, signed(body), now=NOW)
    assert isinstance(event, OrderEvent)
    assert (event.id, event.data.id, event.data.status_name) == ("msg_1", 1024, "new")
    assert event.raw == json.loads(body)


def test_verify_event_keeps_data_that_does_not_fit_as_an_unknown_event() -> None:
    body = body_of(event="customer.created", data={"phone_numbers": "0901"})
    event = WebhookVerifier(SECRET).verify_event(body, signed(body), now=NOW)
    assert isinstance(event, UnknownEvent)
    assert event.problem is not None
    assert "$.data.phone_numbers" in event.problem
    good = body_of(event="customer.created", data={"phone_numbers": ["0901"]})
    assert isinstance(
        WebhookVerifier(SECRET).verify_event(good, signed(good), now=NOW), CustomerEvent
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not valid JSON"),
        (b"\xff\xfe", "body is not valid UTF-8"),
        (b"[]", "body is not a valid event payload: expected a JSON object, got an array"),
        (b'{"id": "msg_1"}', "body is not a valid event payload: required field missing"),
        (body_of(data="text"), "body is not a valid event payload"),
        (body_of(id="msg_2"), "payload id does not match the webhook-id header"),
    ],
)
def test_a_signed_body_that_is_not_a_payload_is_a_verification_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=message):
        WebhookVerifier(SECRET).verify_event(body, signed(body), now=NOW)


def test_verify_event_checks_the_signature_first() -> None:
    body = body_of()
    headers = build_headers(generate_secret(), "msg_1", NOW, body)
    with pytest.raises(WebhookVerificationError, match="no signature matched"):
        WebhookVerifier(SECRET).verify_event(body, headers, now=NOW)
    with pytest.raises(WebhookVerificationError, match="too old"):
        WebhookVerifier(SECRET).verify_event(body, signed(body), now=NOW + 301)


def test_the_no_match_message_names_the_usual_causes() -> None:
    body = body_of()
    reserialized = json.dumps(json.loads(body), indent=2).encode()
    with pytest.raises(WebhookVerificationError) as caught:
        WebhookVerifier(SECRET).verify_event(reserialized, signed(body), now=NOW)
    message = str(caught.value)
    assert "parsed and serialized again instead of passing the raw bytes" in message
    assert "the secret belongs to another webhook" in message
    assert SECRET.removeprefix("whsec_") not in message
