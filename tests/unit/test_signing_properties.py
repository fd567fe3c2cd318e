"""pancake_pos.signing against the standardwebhooks reference library, and under fuzzing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from pancake_pos.errors import WebhookVerificationError
from pancake_pos.signing import WebhookVerifier, build_headers, generate_secret, sign

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

secrets_ = st.integers(min_value=24, max_value=64).map(generate_secret)
# The reference library splits on "." only after signing, so ids may hold any text; HTTP needs
# no whitespace in a header value's ends, which senders ensure.
msg_ids = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s)
timestamps = st.integers(min_value=0, max_value=2**37)
text_bodies = st.text(max_size=500)


@given(secret=secrets_, msg_id=msg_ids, timestamp=timestamps, body=text_bodies)
def test_what_the_reference_library_signs_we_verify(
    secret: str, msg_id: str, timestamp: int, body: str
) -> None:
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    verifier = WebhookVerifier(secret)
    assert verifier.verify_signature(body, headers, now=timestamp) is None
    assert verifier.verify_signature(body.encode(), headers, now=timestamp) is None
    assert sign(secret, msg_id, timestamp, body) == signature


@given(secret=secrets_, msg_id=msg_ids, body=text_bodies, as_bytes=st.booleans())
def test_what_we_sign_the_reference_library_verifies(
    secret: str, msg_id: str, body: str, as_bytes: bool
) -> None:
    timestamp = int(time.time())  # the reference library checks against the real clock
    headers = build_headers(secret, msg_id, timestamp, body.encode() if as_bytes else body)
    assert Webhook(secret).verify(body.encode(), headers, json_parse=False) is None


@given(old=secrets_, new=secrets_, msg_id=msg_ids, body=text_bodies)
def test_the_reference_library_finds_its_secret_among_our_rotation_signatures(
    old: str, new: str, msg_id: str, body: str
) -> None:
    headers = build_headers([new, old], msg_id, int(time.time()), body)
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers, json_parse=False) is None


@given(msg_id=msg_ids, timestamp=timestamps, body=st.binary(max_size=500), secret=secrets_)
def test_any_bytes_body_signed_by_us_verifies_and_one_flipped_bit_does_not(
    msg_id: str, timestamp: int, body: bytes, secret: str
) -> None:
    headers = build_headers(secret, msg_id, timestamp, body)
    verifier = WebhookVerifier(secret)
    verifier.verify_signature(body, headers, now=timestamp)
    tampered = bytes([body[0] ^ 1]) + body[1:] if body else b"x"
    with pytest.raises(WebhookVerificationError, match=r"^no signature matched"):
        verifier.verify_signature(tampered, headers, now=timestamp)


# --- fuzzing: nothing but WebhookVerificationError, and never the secret ----------------------

header_names = st.sampled_from(
    ["webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE", "content-type"]
) | st.text(max_size=20)
header_values = (
    st.text(max_size=80)
    | st.sampled_from(["v1,", "v1,====", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "0"])
    | st.integers().map(str)
    | st.binary(max_size=20)
    | st.none()
    | st.integers()
)
fuzzed_headers = (
    st.dictionaries(header_names, header_values, max_size=6)
    | st.lists(st.tuples(header_names, header_values), max_size=6)
    | st.none()
    | st.integers()
    | st.text(max_size=10)
)
fuzzed_bodies = st.binary(max_size=200) | st.text(max_size=200) | st.none() | st.integers()


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(body=fuzzed_bodies, headers=fuzzed_headers, now=st.none() | timestamps)
def test_fuzzed_deliveries_raise_only_verification_errors_without_the_secret(
    body: object, headers: object, now: int | None
) -> None:
    verifier = WebhookVerifier([SECRET, generate_secret()])
    for check in (verifier.verify_signature, verifier.verify):
        with pytest.raises(WebhookVerificationError) as caught:
            check(body, headers, now=now)  # type: ignore[arg-type]
        assert "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in str(caught.value)


@given(
    body=st.binary(max_size=200) | st.text(max_size=200),
    signature=st.text(max_size=120),
    # Mostly timestamps within the tolerance, so the signature parsing is reached too.
    timestamp=st.integers(1614265330 - 300, 1614265330 + 300).map(str) | st.text(max_size=20),
)
def test_fuzzed_header_values_next_to_a_real_id_raise_only_verification_errors(
    body: bytes | str, signature: str, timestamp: str
) -> None:
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }
    verifier = WebhookVerifier(SECRET)
    for check in (verifier.verify_signature, verifier.verify):
        with pytest.raises(WebhookVerificationError) as caught:
            check(body, headers, now=1614265330)
        assert "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in str(caught.value)


@given(body=st.binary(max_size=300) | st.text(max_size=300))
def test_correctly_signed_garbage_bodies_raise_only_verification_errors_in_verify(
    body: bytes | str,
) -> None:
    headers = build_headers(SECRET, "msg_1", 1614265330, body)
    verifier = WebhookVerifier(SECRET)
    verifier.verify_signature(body, headers, now=1614265330)
    with pytest.raises(WebhookVerificationError, match=r"^(body is not|payload id does not match)"):
        verifier.verify(body, headers, now=1614265330)
