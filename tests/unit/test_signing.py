"""pancake_pos.signing: signing, verifying, and what every bad delivery is told."""

from __future__ import annotations

import base64
import json
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from starlette.datastructures import Headers
from werkzeug.datastructures import EnvironHeaders
from werkzeug.datastructures import Headers as WerkzeugHeaders

from pancake_pos.errors import PancakeError, WebhookVerificationError
from pancake_pos.models import WebhookEvent, WebhookEventPayload
from pancake_pos.signing import (
    DEFAULT_TOLERANCE,
    WebhookVerifier,
    build_headers,
    generate_secret,
    sign,
)

# The published Standard Webhooks test vector.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"another key, 32 bytes long......").decode()


def secret_parts(secret: str) -> list[str]:
    """What must never show up in a message: the secret and its base64 part."""
    return [secret, secret.removeprefix("whsec_")]


def payload_body(msg_id: str = MSG_ID, **changes: object) -> bytes:
    payload: dict[str, object] = {
        "id": msg_id,
        "event": "order.created",
        "shop_id": "shop_42",
        "created_at": "2024-04-29T10:15:00Z",
        "data": {"order_id": "123", "total_amount": 1000000},
    }
    payload.update(changes)
    return json.dumps(payload).encode()


def delivery(
    body: bytes | str = BODY,
    *,
    secrets: str | list[str] = SECRET,
    msg_id: str = MSG_ID,
    timestamp: int = TIMESTAMP,
) -> dict[str, str]:
    return build_headers(secrets, msg_id, timestamp, body)


# --- sign, build_headers, generate_secret ------------------------------------------------------


def test_sign_matches_the_published_vector() -> None:
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_sign_takes_bytes_an_aware_datetime_and_a_secret_without_prefix() -> None:
    when = datetime.fromtimestamp(TIMESTAMP, tz=timezone(timedelta(hours=7)))
    bare_secret = SECRET.removeprefix("whsec_")
    assert sign(bare_secret, MSG_ID, when, BODY.encode()) == SIGNATURE


def test_sign_accepts_a_secret_without_base64_padding() -> None:
    padded = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert padded.endswith("=")
    assert sign(padded.rstrip("="), "m", 1, b"x") == sign(padded, "m", 1, b"x")


def test_sign_refuses_a_naive_datetime_naming_it() -> None:
    with pytest.raises(ValueError, match="timestamp is a naive datetime"):
        sign(SECRET, MSG_ID, datetime(2021, 2, 26, 15, 2, 10), BODY)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"timestamp": 1.5}, TypeError, "timestamp must be int"),
        ({"timestamp": True}, TypeError, "timestamp must be int"),
        ({"timestamp": -1}, ValueError, "timestamp must not be before 1970"),
        ({"msg_id": ""}, ValueError, "msg_id must not be empty"),
        ({"msg_id": 7}, TypeError, "msg_id must be a str"),
        ({"body": 7}, TypeError, "body must be bytes or str"),
        ({"body": "\ud800"}, ValueError, "body is a str that cannot be encoded as UTF-8"),
        ({"secret": "whsec_not base64!"}, ValueError, "secret is not valid base64"),
        ({"secret": "whsec_"}, ValueError, "secret is empty"),
        ({"secret": b"whsec_abc"}, TypeError, "secret must be a str"),
    ],
)
def test_sign_names_the_bad_argument(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    arguments: dict[str, object] = {
        "secret": SECRET,
        "msg_id": MSG_ID,
        "timestamp": TIMESTAMP,
        "body": BODY,
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=match) as caught:
        sign(**arguments)  # type: ignore[arg-type]
    assert "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in str(caught.value)


def test_build_headers_has_one_signature_per_secret() -> None:
    headers = build_headers([SECRET, OTHER_SECRET], MSG_ID, TIMESTAMP, BODY)
    assert headers == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": f"{SIGNATURE} {sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)}",
    }


def test_build_headers_takes_an_aware_datetime() -> None:
    headers = build_headers(SECRET, MSG_ID, datetime.fromtimestamp(TIMESTAMP, tz=UTC), BODY)
    assert headers["webhook-timestamp"] == str(TIMESTAMP)
    assert headers["webhook-signature"] == SIGNATURE


def test_build_headers_names_the_bad_secret_in_a_list() -> None:
    with pytest.raises(ValueError, match=r"secret #2 is not valid base64"):
        build_headers([SECRET, "whsec_%%%"], MSG_ID, TIMESTAMP, BODY)
    with pytest.raises(ValueError, match="secrets must not be empty"):
        build_headers([], MSG_ID, TIMESTAMP, BODY)


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_generate_secret_is_prefixed_base64_of_nbytes(nbytes: int) -> None:
    secret = generate_secret(nbytes)
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == nbytes
    assert generate_secret(nbytes) != secret


def test_generate_secret_defaults_to_32_bytes_and_makes_usable_secrets() -> None:
    secret = generate_secret()
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    headers = build_headers(secret, MSG_ID, TIMESTAMP, BODY)
    WebhookVerifier(secret).verify_signature(BODY, headers, now=TIMESTAMP)


@pytest.mark.parametrize("nbytes", [0, 23, 65])
def test_generate_secret_refuses_sizes_outside_24_to_64(nbytes: int) -> None:
    with pytest.raises(ValueError, match="nbytes must be between 24 and 64"):
        generate_secret(nbytes)


# --- WebhookVerifier: construction -------------------------------------------------------------


def test_verifier_accepts_the_published_vector() -> None:
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP)}
    headers["webhook-signature"] = SIGNATURE
    assert WebhookVerifier(SECRET).verify_signature(BODY, headers, now=TIMESTAMP) is None


SHORT_SECRET = "whsec_" + base64.b64encode(b"only 23 bytes, too few.").decode()


@pytest.mark.parametrize(
    ("secrets", "error", "message"),
    [
        (
            [SECRET, "whsec_MfKQ9r8GKYqrTw!!PD8ILPZIo2LaLaSw"],
            ValueError,
            "secret #2 is not valid base64",
        ),
        ("whsec_MfKQ9r8GKYqrTw!!PD8ILPZIo2LaLaSw", ValueError, "secret is not valid base64"),
        ("whsec_", ValueError, "secret is empty"),
        ("", ValueError, "secret is empty"),
        ([], ValueError, "secrets must not be empty"),
        ([SECRET, 42], TypeError, "secret #2 must be a str"),
        (SHORT_SECRET, ValueError, "secret is 23 bytes long; a webhook secret has 24 to 64"),
        ([SECRET, SHORT_SECRET], ValueError, "secret #2 is 23 bytes long"),
        ({SECRET}, TypeError, "secrets must be a str or a list of str, not a set"),
        (frozenset({SECRET}), TypeError, "not a set"),
        (b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", TypeError, "secrets must be a str or a list"),
        (None, TypeError, "secrets must be a str or a list"),
    ],
)
def test_verifier_refuses_a_bad_secret_when_made_without_showing_it(
    secrets: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        WebhookVerifier(secrets)  # type: ignore[arg-type]
    # A setup mistake is the receiver's own, never a forged delivery.
    assert not isinstance(caught.value, WebhookVerificationError)
    shown = "".join(traceback.format_exception(caught.value))  # chained exceptions included
    assert "MfKQ9r8GKYqrTw" not in shown
    assert "MfKQ9r8GKYqrTw" not in repr(caught.value)
    assert SHORT_SECRET.removeprefix("whsec_") not in shown


def test_verifier_setup_errors_come_from_without_timestamp_check_too() -> None:
    with pytest.raises(ValueError, match="secret is 23 bytes long"):
        WebhookVerifier.without_timestamp_check(SHORT_SECRET)
    with pytest.raises(TypeError, match="not a set"):
        WebhookVerifier.without_timestamp_check({SECRET})  # type: ignore[arg-type]


def test_verifier_accepts_a_tuple_and_a_64_byte_secret() -> None:
    longest = "whsec_" + base64.b64encode(b"k" * 64).decode()
    headers = delivery(secrets=longest)
    WebhookVerifier((SECRET, longest)).verify_signature(BODY, headers, now=TIMESTAMP)


def test_verifier_repr_does_not_show_secrets() -> None:
    verifier = WebhookVerifier([SECRET, OTHER_SECRET], tolerance=60)
    assert repr(verifier) == "WebhookVerifier(<2 secret(s)>, tolerance=60)"
    for part in secret_parts(SECRET) + secret_parts(OTHER_SECRET):
        assert part not in repr(verifier)


def test_webhook_verification_error_is_a_pancake_error() -> None:
    assert issubclass(WebhookVerificationError, PancakeError)


# --- tolerance ---------------------------------------------------------------------------------


def test_tolerance_none_is_refused_and_points_at_the_escape_hatch() -> None:
    with pytest.raises(TypeError, match=r"WebhookVerifier\.without_timestamp_check"):
        WebhookVerifier(SECRET, tolerance=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("tolerance", ["300", True, b"1", [300]])
def test_tolerance_must_be_a_number(tolerance: object) -> None:
    with pytest.raises(TypeError, match="tolerance must be a number of seconds"):
        WebhookVerifier(SECRET, tolerance=tolerance)  # type: ignore[arg-type]


@pytest.mark.parametrize("tolerance", [-1, -0.5, float("nan"), float("inf")])
def test_tolerance_must_be_finite_and_not_negative(tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance must be a finite number of seconds >= 0"):
        WebhookVerifier(SECRET, tolerance=tolerance)


def test_a_float_tolerance_is_seconds() -> None:
    verifier = WebhookVerifier(SECRET, tolerance=1.5)
    assert verifier.tolerance == 1.5
    headers = delivery()
    verifier.verify_signature(BODY, headers, now=TIMESTAMP + 1.5)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify_signature(BODY, headers, now=TIMESTAMP + 1.6)


def test_without_timestamp_check_accepts_any_timestamp_but_still_checks_signatures() -> None:
    verifier = WebhookVerifier.without_timestamp_check(SECRET)
    assert verifier.tolerance is None
    headers = delivery(timestamp=TIMESTAMP)
    verifier.verify_signature(BODY, headers)  # 2021: years old, yet accepted
    with pytest.raises(WebhookVerificationError, match="no signature matched"):
        verifier.verify_signature(BODY + " ", headers)
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp header is not an int"):
        verifier.verify_signature(BODY, {**headers, "webhook-timestamp": "soon"})


def test_default_tolerance_is_five_minutes() -> None:
    assert DEFAULT_TOLERANCE == 300
    assert WebhookVerifier(SECRET).tolerance == 300


@pytest.mark.parametrize("tolerance", [0, 1, 300, 86_400])
def test_timestamp_exactly_at_the_limit_is_accepted_either_way(tolerance: int) -> None:
    verifier = WebhookVerifier(SECRET, tolerance=tolerance)
    headers = delivery()
    verifier.verify_signature(BODY, headers, now=TIMESTAMP + tolerance)  # as old as allowed
    verifier.verify_signature(BODY, headers, now=TIMESTAMP - tolerance)  # as new as allowed


@pytest.mark.parametrize("tolerance", [0, 1, 300, 86_400])
def test_timestamp_one_second_past_the_limit_is_refused_either_way(tolerance: int) -> None:
    verifier = WebhookVerifier(SECRET, tolerance=tolerance)
    headers = delivery()
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp header is too old"):
        verifier.verify_signature(BODY, headers, now=TIMESTAMP + tolerance + 1)
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp header is too new"):
        verifier.verify_signature(BODY, headers, now=TIMESTAMP - tolerance - 1)


def test_now_may_be_an_aware_datetime_but_not_a_naive_one() -> None:
    verifier = WebhookVerifier(SECRET)
    headers = delivery()
    verifier.verify_signature(BODY, headers, now=datetime.fromtimestamp(TIMESTAMP + 300, tz=UTC))
    with pytest.raises(WebhookVerificationError, match="now is a naive datetime"):
        verifier.verify_signature(BODY, headers, now=datetime(2021, 2, 26))
    for bad_now in ("1614265330", float("nan"), float("inf"), True):
        with pytest.raises(WebhookVerificationError, match="now must be Unix seconds"):
            verifier.verify_signature(BODY, headers, now=bad_now)  # type: ignore[arg-type]


def test_without_now_the_real_clock_is_used() -> None:
    verifier = WebhookVerifier(SECRET)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify_signature(BODY, delivery())  # signed in 2021
    fresh = int(datetime.now(UTC).timestamp())
    verifier.verify_signature(BODY, delivery(timestamp=fresh))


# --- signatures and rotation -------------------------------------------------------------------


def test_any_of_several_signatures_may_match_and_other_versions_are_ignored() -> None:
    verifier = WebhookVerifier(SECRET)
    other = sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    good = SIGNATURE.removeprefix("v1,")
    for header in [
        f"{other} {SIGNATURE}",
        f"v2,{good} {SIGNATURE}",
        f"v1a,{good} garbage {SIGNATURE}",
        f"  {SIGNATURE}  ",
        f"v1,!!!not-base64 {SIGNATURE}",
    ]:
        headers = {**delivery(), "webhook-signature": header}
        assert verifier.verify_signature(BODY, headers, now=TIMESTAMP) is None


def test_signature_of_another_version_does_not_count() -> None:
    headers = {**delivery(), "webhook-signature": "v2," + SIGNATURE.removeprefix("v1,")}
    with pytest.raises(WebhookVerificationError, match=r"has no well-formed v1 signature$"):
        WebhookVerifier(SECRET).verify_signature(BODY, headers, now=TIMESTAMP)


def test_rotation_signed_with_old_and_new_verifies_with_either() -> None:
    old, new = SECRET, OTHER_SECRET
    headers = delivery(secrets=[new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secrets in (old, new, [old], [new, old], [old, new]):
        WebhookVerifier(secrets).verify_signature(BODY, headers, now=TIMESTAMP)


def test_rotation_a_verifier_with_old_and_new_accepts_a_delivery_signed_with_either() -> None:
    verifier = WebhookVerifier([OTHER_SECRET, SECRET])
    for secret in (SECRET, OTHER_SECRET):
        verifier.verify_signature(BODY, delivery(secrets=secret), now=TIMESTAMP)


def test_rotation_signed_with_neither_fails() -> None:
    headers = delivery(secrets=[SECRET, OTHER_SECRET])
    verifier = WebhookVerifier([generate_secret(), generate_secret()])
    with pytest.raises(WebhookVerificationError) as caught:
        verifier.verify_signature(BODY, headers, now=TIMESTAMP)
    assert str(caught.value) == (
        "no signature matched: 2 v1 signature(s) checked against 2 secret(s). Usually the body "
        "was parsed and serialized again instead of passing the raw bytes received, or the "
        "secret belongs to another webhook"
    )


def test_tampering_with_any_signed_part_fails() -> None:
    verifier = WebhookVerifier(SECRET)
    headers = delivery()
    tampered = [
        (BODY.replace("2432232314", "2432232315"), headers),
        (BODY, {**headers, "webhook-id": MSG_ID + "x"}),
        (BODY, {**headers, "webhook-timestamp": str(TIMESTAMP + 1)}),
    ]
    for body, bad_headers in tampered:
        with pytest.raises(WebhookVerificationError, match="no signature matched"):
            verifier.verify_signature(body, bad_headers, now=TIMESTAMP)


# --- every bad input names its check, never the secret -----------------------------------------

GOOD = delivery()

BAD_DELIVERIES: list[tuple[str, object, object, str]] = [
    # (case, body, headers, message it must contain)
    ("no headers", BODY, {}, "missing or empty header(s): webhook-id, webhook-timestamp, "),
    ("headers None", BODY, None, "no headers given"),
    ("headers not a mapping", BODY, 42, "headers must be a mapping or pairs"),
    ("headers a str", BODY, "webhook-id: x", "headers must be a mapping or pairs"),
    ("headers bad pairs", BODY, [("webhook-id",)], "headers must be (name, value) pairs"),
    (
        "missing id",
        BODY,
        {k: v for k, v in GOOD.items() if k != "webhook-id"},
        "missing or empty header(s): webhook-id",
    ),
    ("empty id", BODY, {**GOOD, "webhook-id": ""}, "missing or empty header(s): webhook-id"),
    (
        "missing timestamp",
        BODY,
        {k: v for k, v in GOOD.items() if k != "webhook-timestamp"},
        "missing or empty header(s): webhook-timestamp",
    ),
    (
        "missing signature",
        BODY,
        {k: v for k, v in GOOD.items() if k != "webhook-signature"},
        "missing or empty header(s): webhook-signature",
    ),
    ("header not text", BODY, {**GOOD, "webhook-id": 5}, "webhook-id header is not text (int)"),
    (
        "timestamp float",
        BODY,
        {**GOOD, "webhook-timestamp": "1614265330.0"},
        "webhook-timestamp header is not an integer",
    ),
    (
        "timestamp negative",
        BODY,
        {**GOOD, "webhook-timestamp": "-1614265330"},
        "webhook-timestamp header is not an integer",
    ),
    (
        "timestamp unicode digits",
        BODY,
        {**GOOD, "webhook-timestamp": "١٦١٤٢٦٥٣٣٠"},
        "webhook-timestamp header is not an integer",
    ),
    (
        "timestamp huge",
        BODY,
        {**GOOD, "webhook-timestamp": "9" * 5000},
        "webhook-timestamp header is too new",
    ),
    (
        "signature without comma",
        BODY,
        {**GOOD, "webhook-signature": "v1" + SIGNATURE[3:]},
        "webhook-signature header has no well-formed v1 signature (1 malformed token(s) ignored)",
    ),
    (
        "signature bad base64",
        BODY,
        {**GOOD, "webhook-signature": "v1,****"},
        "webhook-signature header has no well-formed v1 signature (1 malformed token(s) ignored)",
    ),
    (
        "signature blank",
        BODY,
        {**GOOD, "webhook-signature": "   "},
        "webhook-signature header has no well-formed v1 signature",
    ),
    (
        "wrong secret",
        BODY,
        delivery(secrets=OTHER_SECRET),
        "no signature matched: 1 v1 signature(s) checked against 1 secret(s)",
    ),
    ("tampered body", BODY + " ", GOOD, "no signature matched"),
    ("body not bytes", 12345, GOOD, "body must be bytes or str, got int"),
    ("body str with surrogate", "\udcff", GOOD, "body is not valid UTF-8"),
]


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        pytest.param(body, headers, message, id=case)
        for case, body, headers, message in BAD_DELIVERIES
    ],
)
def test_each_bad_delivery_names_its_check_and_not_the_secret(
    body: object, headers: object, message: str
) -> None:
    verifier = WebhookVerifier(SECRET)
    for check in (verifier.verify_signature, verifier.verify):
        with pytest.raises(WebhookVerificationError) as caught:
            check(body, headers, now=TIMESTAMP)  # type: ignore[arg-type]
        assert message in str(caught.value)
        for text in (str(caught.value), repr(caught.value)):
            for part in secret_parts(SECRET):
                assert part not in text


def signed(body: bytes | str, msg_id: str = MSG_ID) -> tuple[bytes | str, dict[str, str]]:
    return body, delivery(body, msg_id=msg_id)


BAD_PAYLOADS: list[tuple[str, tuple[bytes | str, dict[str, str]], str]] = [
    ("not utf-8", signed(b'{"id": "\xff"}'), "body is not valid UTF-8"),
    ("not json", signed(b"id=msg_1&event=order.created"), "body is not valid JSON"),
    ("empty", signed(b""), "body is not valid JSON"),
    ("utf-16 json", signed('{"id": "x"}'.encode("utf-16")), "body is not valid UTF-8"),
    (
        "json array",
        signed(b"[1, 2]"),
        "body is not a valid event payload: expected a JSON object, got an array",
    ),
    ("json null", signed(b"null"), "expected a JSON object, got null"),
    ("json number", signed(b"12"), "expected a JSON object, got a number"),
    (
        "missing field",
        signed(b'{"id": "%s"}' % MSG_ID.encode()),
        "body is not a valid event payload",
    ),
    (
        "bad created_at",
        signed(payload_body(created_at="yesterday")),
        "body is not a valid event payload",
    ),
    (
        "id mismatch",
        signed(payload_body(msg_id="msg_other"), msg_id=MSG_ID),
        "payload id does not match the webhook-id header",
    ),
    ("deep json", signed("[" * 100_000 + "]" * 100_000), "body is not valid JSON"),
]


@pytest.mark.parametrize(
    ("signed_delivery", "message"),
    [pytest.param(d, message, id=case) for case, d, message in BAD_PAYLOADS],
)
def test_verify_refuses_a_correctly_signed_body_that_is_not_a_payload(
    signed_delivery: tuple[bytes | str, dict[str, str]], message: str
) -> None:
    body, headers = signed_delivery
    verifier = WebhookVerifier(SECRET)
    with pytest.raises(WebhookVerificationError) as caught:
        verifier.verify(body, headers, now=TIMESTAMP)
    assert message in str(caught.value)
    for part in secret_parts(SECRET):
        assert part not in str(caught.value)


def test_missing_payload_field_is_named() -> None:
    body = json.loads(payload_body())
    del body["shop_id"]
    raw, headers = signed(json.dumps(body))
    with pytest.raises(WebhookVerificationError, match=r"shop_id"):
        WebhookVerifier(SECRET).verify(raw, headers, now=TIMESTAMP)


def test_verify_signature_checks_only_the_signature_not_the_payload() -> None:
    body, headers = signed(b"\xff\xfe not json")
    assert WebhookVerifier(SECRET).verify_signature(body, headers, now=TIMESTAMP) is None


def test_signature_is_checked_before_the_payload_is_parsed() -> None:
    headers = delivery(b"not json", secrets=OTHER_SECRET)
    with pytest.raises(WebhookVerificationError, match="no signature matched"):
        WebhookVerifier(SECRET).verify(b"not json", headers, now=TIMESTAMP)


# --- verify returns the event ------------------------------------------------------------------


@pytest.mark.parametrize("as_text", [False, True])
def test_verify_returns_the_parsed_event(as_text: bool) -> None:
    raw = payload_body()
    body: bytes | str = raw.decode() if as_text else raw
    event = WebhookVerifier(SECRET).verify(body, delivery(body), now=TIMESTAMP)
    assert isinstance(event, WebhookEventPayload)
    assert event.id == MSG_ID
    assert event.event == WebhookEvent.ORDER_CREATED
    assert event.shop_id == "shop_42"
    assert event.created_at == datetime(2024, 4, 29, 10, 15, tzinfo=UTC)
    assert event.data == {"order_id": "123", "total_amount": 1000000}


def test_verify_keeps_an_unknown_event_name_and_ignores_unknown_fields() -> None:
    raw = payload_body(event="order.refunded", trace="abc")
    event = WebhookVerifier(SECRET).verify(raw, delivery(raw), now=TIMESTAMP)
    assert event.event == "order.refunded"


def test_verify_takes_bytearray_and_memoryview_bodies() -> None:
    raw = payload_body()
    verifier = WebhookVerifier(SECRET)
    for body in (bytearray(raw), memoryview(raw)):
        assert verifier.verify(body, delivery(raw), now=TIMESTAMP).id == MSG_ID  # type: ignore[arg-type]


# --- header lookup over any mapping ------------------------------------------------------------


class DjangoLikeHeaders:
    """Like Django's ``request.headers``: a case-insensitive mapping with Title-Case keys."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = {name.title(): value for name, value in headers.items()}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.title(), default)

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self._headers.items())


class ItemsOnly:
    """An object with ``items()`` and nothing else."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers.items())


def werkzeug_environ_headers(headers: dict[str, str]) -> EnvironHeaders:
    environ = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return EnvironHeaders(environ)


MIXED_CASE = {
    "webhook-id": "Webhook-Id",
    "webhook-timestamp": "WEBHOOK-TIMESTAMP",
    "webhook-signature": "webhook-Signature",
}

HEADER_CONTAINERS = {
    "dict lower": lambda h: dict(h),
    "dict mixed case": lambda h: {
        "Content-Type": "application/json",
        **{MIXED_CASE[name]: value for name, value in h.items()},
    },
    "starlette Headers": lambda h: Headers(headers=h),
    "starlette raw": lambda h: Headers(
        raw=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in h.items()]
    ),
    "werkzeug EnvironHeaders": werkzeug_environ_headers,
    "werkzeug Headers": lambda h: WerkzeugHeaders(list(h.items())),
    "django-like": DjangoLikeHeaders,
    "items only": ItemsOnly,
    "list of pairs": lambda h: [(k.upper(), v) for k, v in h.items()],
    "asgi raw pairs": lambda h: [(k.encode(), v.encode()) for k, v in h.items()],
}


@pytest.mark.parametrize("make", HEADER_CONTAINERS.values(), ids=HEADER_CONTAINERS.keys())
def test_headers_are_found_in_any_letter_case_and_any_mapping(make: object) -> None:
    headers = make(delivery(payload_body()))  # type: ignore[operator]
    verifier = WebhookVerifier(SECRET)
    verifier.verify_signature(payload_body(), headers, now=TIMESTAMP)
    assert verifier.verify(payload_body(), headers, now=TIMESTAMP).id == MSG_ID


@pytest.mark.parametrize("make", HEADER_CONTAINERS.values(), ids=HEADER_CONTAINERS.keys())
def test_a_missing_header_is_reported_for_any_mapping(make: object) -> None:
    good = delivery()
    headers = make({k: v for k, v in good.items() if k != "webhook-signature"})  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError, match=r"header\(s\): webhook-signature$"):
        WebhookVerifier(SECRET).verify_signature(BODY, headers, now=TIMESTAMP)


def test_a_mapping_whose_get_breaks_still_only_raises_verification_errors() -> None:
    class Broken:
        def get(self, name: str) -> str:
            raise RuntimeError("boom")

    with pytest.raises(WebhookVerificationError, match=r"could not verify .*RuntimeError"):
        WebhookVerifier(SECRET).verify(BODY, Broken(), now=TIMESTAMP)
