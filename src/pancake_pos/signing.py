"""Sign and verify webhook deliveries the Standard Webhooks way.

Every delivery carries three headers: ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``, one or more space-separated ``v1,<base64 HMAC-SHA256>`` of
``"{webhook-id}.{webhook-timestamp}.{raw body}"`` keyed with the base64-decoded part of the
secret after ``whsec_``. Receivers use :class:`WebhookVerifier`; senders (the sandbox, tests) use
:func:`sign` and :func:`build_headers`.

Example::

    from pancake_pos.signing import WebhookVerifier

    verifier = WebhookVerifier("whsec_...")
    event = verifier.verify(raw_body, request.headers)   # -> WebhookEventPayload
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from datetime import datetime
from secrets import token_bytes
from typing import Any, TypeVar

import cattrs

from pancake_pos._converter import ConversionError, structure
from pancake_pos.errors import WebhookVerificationError
from pancake_pos.events import (
    Event,
    _decode_json_object,
    _event_from_dict,
    _json_kind,
    _problems,
)
from pancake_pos.models import WebhookEventPayload

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "WebhookVerifier",
    "build_headers",
    "generate_secret",
    "sign",
]

SECRET_PREFIX = "whsec_"
"""The prefix of every webhook secret; the rest is the base64 of the signing key."""

DEFAULT_TOLERANCE = 300
"""How far (in seconds, either way) a delivery's timestamp may be from now: 5 minutes."""

_MIN_SECRET_BYTES = 24
_MAX_SECRET_BYTES = 64
_ID_HEADER = "webhook-id"
_TIMESTAMP_HEADER = "webhook-timestamp"
_SIGNATURE_HEADER = "webhook-signature"
_MAX_TIMESTAMP_DIGITS = 18  # far beyond any tolerance; keeps int() on a header bounded

T = TypeVar("T")


# --- signing -----------------------------------------------------------------------------------


def generate_secret(nbytes: int = 32) -> str:
    """Return a new random webhook secret: ``whsec_`` + base64 of ``nbytes`` random bytes.

    ``nbytes`` must be between 24 and 64 (the Standard Webhooks range).

    Example::

        >>> generate_secret().startswith("whsec_")
        True
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int):
        raise TypeError(f"nbytes must be an int, got {type(nbytes).__name__}")
    if not _MIN_SECRET_BYTES <= nbytes <= _MAX_SECRET_BYTES:
        raise ValueError(
            f"nbytes must be between {_MIN_SECRET_BYTES} and {_MAX_SECRET_BYTES}, got {nbytes}"
        )
    return SECRET_PREFIX + _b64encode(token_bytes(nbytes))


def sign(secret: str, msg_id: str, timestamp: int | datetime, body: bytes | str) -> str:
    """Return the ``webhook-signature`` value (``"v1,<base64>"``) of one delivery.

    ``secret`` is ``whsec_<base64>`` (the bare base64 is accepted too); ``timestamp`` is Unix
    seconds or a timezone-aware ``datetime``; ``body`` is the exact bytes sent (a ``str`` is
    encoded as UTF-8). Bad arguments raise ``ValueError`` or ``TypeError`` naming the argument,
    never showing the secret.

    Example::

        >>> sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
        ...      1614265330, '{"test": 2432232314}')
        'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    key = _decode_secret(secret, "secret")
    template = hmac.new(key, digestmod=hashlib.sha256)
    return _sign_with(template, _signed_prefix(msg_id, timestamp), _body_bytes(body))


def build_headers(
    secrets: str | Sequence[str],
    msg_id: str,
    timestamp: int | datetime,
    body: bytes | str,
) -> dict[str, str]:
    """Return the three headers of a signed delivery, one signature per secret.

    Pass several secrets during a rotation; receivers accept the delivery if any matches.

    Example::

        headers = build_headers("whsec_...", "msg_1", int(time.time()), body)
        httpx.post(url, content=body, headers=headers)
    """
    keys = _decode_secrets(secrets, ValueError)
    seconds = _unix_seconds(timestamp, "timestamp")
    prefix = _signed_prefix(msg_id, seconds)
    data = _body_bytes(body)
    signatures = " ".join(
        _sign_with(hmac.new(key, digestmod=hashlib.sha256), prefix, data) for key in keys
    )
    return {_ID_HEADER: msg_id, _TIMESTAMP_HEADER: str(seconds), _SIGNATURE_HEADER: signatures}


def _sign_with(template: hmac.HMAC, prefix: bytes, body: bytes) -> str:
    mac = template.copy()
    mac.update(prefix)
    mac.update(body)
    return "v1," + _b64encode(mac.digest())


def _signed_prefix(msg_id: str, timestamp: int | datetime) -> bytes:
    if not isinstance(msg_id, str):
        raise TypeError(f"msg_id must be a str, got {type(msg_id).__name__}")
    if not msg_id:
        raise ValueError("msg_id must not be empty")
    return f"{msg_id}.{_unix_seconds(timestamp, 'timestamp')}.".encode()


def _unix_seconds(value: int | datetime, name: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name} is a naive datetime; pass an aware one "
                f"(datetime.now(timezone.utc)) or Unix seconds"
            )
        seconds = math.floor(value.timestamp())
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise TypeError(f"{name} must be int Unix seconds or an aware datetime, got {value!r}")
    if seconds < 0:
        raise ValueError(f"{name} must not be before 1970, got {seconds}")
    return seconds


def _body_bytes(body: object) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        try:
            return body.encode()
        except UnicodeEncodeError:
            raise ValueError("body is a str that cannot be encoded as UTF-8") from None
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    raise TypeError(f"body must be bytes or str, got {type(body).__name__}")


# --- secrets -----------------------------------------------------------------------------------


def _decode_secret(secret: object, label: str) -> bytes:
    """The signing key of one secret; errors name ``label`` and never show the secret."""
    if not isinstance(secret, str):
        raise TypeError(f"{label} must be a str, got {type(secret).__name__}")
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    # Like the reference library, accept base64 without its "=" padding.
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{label} is not valid base64") from None
    if not key:
        raise ValueError(f"{label} is empty")
    return key


def _decode_secrets(secrets: object, error: type[Exception]) -> tuple[bytes, ...]:
    if isinstance(secrets, str):
        items: list[tuple[object, str]] = [(secrets, "secret")]
    elif isinstance(secrets, Set):
        raise TypeError(
            "secrets must be a str or a list of str, not a set: give them in order, "
            "the current secret first"
        )
    elif isinstance(secrets, Sequence) and not isinstance(secrets, bytes | bytearray):
        if not secrets:
            raise error("secrets must not be empty")
        items = [(s, f"secret #{n}") for n, s in enumerate(secrets, start=1)]
    else:
        raise TypeError(f"secrets must be a str or a list of str, got {type(secrets).__name__}")
    keys = []
    for secret, label in items:
        try:
            keys.append(_decode_secret(secret, label))
        except TypeError as exc:
            raise TypeError(str(exc)) from None
        except ValueError as exc:
            raise error(str(exc)) from None
    return tuple(keys)


def _verifier_keys(secrets: object) -> tuple[bytes, ...]:
    """The keys of a verifier's secrets; a setup mistake raises ``ValueError`` / ``TypeError``."""
    keys = _decode_secrets(secrets, ValueError)
    for number, key in enumerate(keys, start=1):
        label = "secret" if isinstance(secrets, str) else f"secret #{number}"
        if len(key) < _MIN_SECRET_BYTES:
            raise ValueError(
                f"{label} is {len(key)} bytes long; a webhook secret has {_MIN_SECRET_BYTES} to "
                f"{_MAX_SECRET_BYTES} (copy the whole whsec_... value)"
            )
    return keys


def _checked_tolerance(tolerance: object) -> float | int:
    if tolerance is None:
        raise TypeError(
            "tolerance=None would silently turn off the timestamp (replay) check; "
            "use WebhookVerifier.without_timestamp_check(secrets) to do that on purpose"
        )
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        raise TypeError(
            f"tolerance must be a number of seconds (int or float), got {type(tolerance).__name__}"
        )
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number of seconds >= 0, got {tolerance}")
    return tolerance


def _b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


# --- verifying ---------------------------------------------------------------------------------


class WebhookVerifier:
    """Checks that deliveries really come from Pancake POS, and parses them.

    ``secrets`` is the webhook's ``whsec_...`` secret, or a list of them during a rotation (a
    delivery signed with any of them is accepted).

    ``tolerance`` is how many seconds (int or float) a delivery's ``webhook-timestamp`` may be
    from now, either way (default 300): older deliveries are refused as possible replays.

    Mistakes in the receiver's own setup are raised here, when the verifier is made, never later
    as a refused delivery: an empty secret, one that is not base64 or decodes to fewer than 24
    bytes, or a non-str secret raise ``ValueError`` / ``TypeError`` naming which one (never
    showing it); so do secrets given as a ``set`` (its order is lost), and a negative, infinite
    or non-numeric ``tolerance``. There is no
    ``tolerance=None``; to skip the check on purpose (say, to re-check a delivery saved long ago)
    use :meth:`without_timestamp_check`, or pass the moment to check against as ``now=``.

    Every bad input raises ``WebhookVerificationError`` whose message names the failed check, and
    nothing else ever escapes ``verify`` or ``verify_signature``.

    Example::

        verifier = WebhookVerifier([new_secret, old_secret])
        event = verifier.verify(await request.body(), request.headers)
        print(event.event, event.data)
    """

    __slots__ = ("_templates", "_tolerance")

    _templates: tuple[hmac.HMAC, ...]
    _tolerance: float | None

    def __init__(
        self, secrets: str | Sequence[str], *, tolerance: float = DEFAULT_TOLERANCE
    ) -> None:
        self._tolerance = _checked_tolerance(tolerance)
        keys = _verifier_keys(secrets)
        # Keyed once here; each verification copies the keyed state instead of re-keying.
        self._templates = tuple(hmac.new(key, digestmod=hashlib.sha256) for key in keys)

    @classmethod
    def without_timestamp_check(cls, secrets: str | Sequence[str]) -> WebhookVerifier:
        """Return a verifier that checks signatures but accepts any timestamp.

        This turns off the protection against replayed deliveries: use it only for deliveries
        you saved yourself, never for what arrives over the network.

        Example::

            verifier = WebhookVerifier.without_timestamp_check(secret)
            verifier.verify(saved_body, saved_headers)
        """
        verifier = cls(secrets)
        verifier._tolerance = None
        return verifier

    @property
    def tolerance(self) -> float | None:
        """The accepted clock difference in seconds; ``None`` when the check is off."""
        return self._tolerance

    def __repr__(self) -> str:
        return f"WebhookVerifier(<{len(self._templates)} secret(s)>, tolerance={self._tolerance})"

    def verify_signature(
        self,
        body: bytes | str,
        headers: Mapping[str, str] | Any,
        *,
        now: int | float | datetime | None = None,
    ) -> None:
        """Check a delivery's headers, timestamp and signature; return ``None`` or raise.

        ``body`` is the raw request body exactly as received (``bytes``, or ``str``, which is
        encoded as UTF-8); ``headers`` is any mapping of the request headers (a ``dict`` in any
        letter case, Starlette's ``request.headers``, Flask's, Django's ``request.headers``...).
        ``now`` (Unix seconds or an aware ``datetime``) replaces the current time.

        Example::

            verifier.verify_signature(raw_body, {"webhook-id": ..., ...})
        """
        self._authenticated(body, headers, now)

    def verify(
        self,
        body: bytes | str,
        headers: Mapping[str, str] | Any,
        *,
        now: int | float | datetime | None = None,
    ) -> WebhookEventPayload:
        """Verify a delivery (as :meth:`verify_signature`) and return its parsed event.

        After the signature, the body must be UTF-8 JSON of a ``WebhookEventPayload`` whose
        ``id`` equals the ``webhook-id`` header.

        Example::

            event = verifier.verify(await request.body(), request.headers)
            if event.event == WebhookEvent.ORDER_CREATED:
                ...
        """
        return self._verified(body, headers, now, _parse_payload)

    def verify_event(
        self,
        body: bytes | str,
        headers: Mapping[str, str] | Any,
        *,
        now: int | float | datetime | None = None,
    ) -> Event:
        """Verify a delivery (as :meth:`verify`) and return its typed event.

        The result is one of :data:`pancake_pos.events.Event`, as
        :func:`pancake_pos.events.parse_event` reads it: ``OrderEvent`` for ``order.*`` and so
        on, ``UnknownEvent`` for a group this SDK has no model for or data that does not fit it.
        A body that is not an event payload raises ``WebhookVerificationError``, like every other
        bad delivery.

        Example::

            match verifier.verify_event(await request.body(), request.headers):
                case OrderEvent(data=order):
                    print(order.id, order.status_name)
        """
        return self._verified(body, headers, now, _event_of)

    def _authenticated(
        self, body: object, headers: object, now: object = None
    ) -> tuple[str, bytes]:
        """The webhook-id and body bytes of an authentic delivery; raises only the one error."""
        try:
            return self._authenticate(body, headers, now)
        except WebhookVerificationError:
            raise
        except Exception as exc:  # the promise: nothing but WebhookVerificationError escapes
            raise _unexpected(exc) from exc

    def _verified(
        self, body: object, headers: object, now: object, read: Callable[[bytes, str], T]
    ) -> T:
        """``read(body_bytes, webhook_id)`` of an authentic delivery; raises only the one error."""
        try:
            msg_id, data = self._authenticate(body, headers, now)
            return read(data, msg_id)
        except WebhookVerificationError:
            raise
        except Exception as exc:  # the promise: nothing but WebhookVerificationError escapes
            raise _unexpected(exc) from exc

    def _authenticate(self, body: object, headers: object, now: object) -> tuple[str, bytes]:
        """Check everything but the payload; return the webhook-id and the body's bytes."""
        msg_id, timestamp, signature_header = _required_headers(headers)
        self._check_timestamp(timestamp, now)
        data = _received_body(body)
        candidates = _v1_signatures(signature_header)
        prefix = f"{msg_id}.{timestamp}.".encode()
        for template in self._templates:
            mac = template.copy()
            mac.update(prefix)
            mac.update(data)
            expected = mac.digest()
            for candidate in candidates:
                if hmac.compare_digest(expected, candidate):
                    return msg_id, data
        raise WebhookVerificationError(
            f"no signature matched: {len(candidates)} v1 signature(s) checked against "
            f"{len(self._templates)} secret(s). Usually the body was parsed and serialized again "
            "instead of passing the raw bytes received, or the secret belongs to another webhook"
        )

    def _check_timestamp(self, timestamp: str, now: object) -> None:
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise WebhookVerificationError(
                "webhook-timestamp header is not an integer number of seconds"
            )
        if self._tolerance is None:
            return
        if now is None:
            current: float = time.time()
        elif isinstance(now, datetime):
            try:
                current = _unix_seconds(now, "now")
            except (TypeError, ValueError) as exc:
                raise WebhookVerificationError(str(exc)) from None
        elif isinstance(now, int | float) and not isinstance(now, bool) and math.isfinite(now):
            current = now
        else:
            raise WebhookVerificationError(f"now must be Unix seconds or a datetime, got {now!r}")
        if len(timestamp) > _MAX_TIMESTAMP_DIGITS:
            raise WebhookVerificationError("webhook-timestamp header is too new")
        age = current - int(timestamp)
        if age > self._tolerance:
            raise WebhookVerificationError(
                f"webhook-timestamp header is too old ({age:.0f} s, tolerance {self._tolerance} s)"
            )
        if -age > self._tolerance:
            raise WebhookVerificationError(
                f"webhook-timestamp header is too new ({-age:.0f} s ahead, "
                f"tolerance {self._tolerance} s)"
            )


def _unexpected(exc: Exception) -> WebhookVerificationError:
    return WebhookVerificationError(f"could not verify the delivery ({type(exc).__name__})")


def _received_body(body: object) -> bytes:
    """:func:`_body_bytes`, its errors told as a refused delivery."""
    if isinstance(body, bytes):
        return body
    try:
        return _body_bytes(body)
    except ValueError:
        raise WebhookVerificationError("body is not valid UTF-8") from None
    except TypeError as exc:
        raise WebhookVerificationError(str(exc)) from None


def _required_headers(headers: object) -> tuple[str, str, str]:
    """The webhook-id, webhook-timestamp and webhook-signature values, looked up ignoring case."""
    get = getattr(headers, "get", None)
    if callable(get):
        # dicts with lower-case keys, and the case-insensitive mappings of web frameworks
        values = [get(_ID_HEADER), get(_TIMESTAMP_HEADER), get(_SIGNATURE_HEADER)]
    else:
        values = [None, None, None]
    if None in values:
        values = _scan_headers(headers, values)
    names = (_ID_HEADER, _TIMESTAMP_HEADER, _SIGNATURE_HEADER)
    texts = [_header_text(name, value) for name, value in zip(names, values, strict=True)]
    missing = [name for name, text in zip(names, texts, strict=True) if not text]
    if missing:
        raise WebhookVerificationError(f"missing or empty header(s): {', '.join(missing)}")
    return texts[0], texts[1], texts[2]


def _scan_headers(headers: object, found: list[object]) -> list[object]:
    if headers is None:
        raise WebhookVerificationError("no headers given")
    items_of = getattr(headers, "items", None)
    items = items_of() if callable(items_of) else headers
    if not isinstance(items, Iterable) or isinstance(items, str | bytes):
        raise WebhookVerificationError(
            f"headers must be a mapping or pairs of (name, value), got {type(headers).__name__}"
        )
    wanted = {_ID_HEADER: 0, _TIMESTAMP_HEADER: 1, _SIGNATURE_HEADER: 2}
    values = list(found)
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise WebhookVerificationError("headers must be (name, value) pairs") from None
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if not isinstance(name, str):
            continue
        index = wanted.get(name.lower())
        if index is not None and values[index] is None:
            values[index] = value
    return values


def _header_text(name: str, value: object) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise WebhookVerificationError(f"{name} header is not text ({type(value).__name__})")


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded v1 signatures in the header; other versions and malformed tokens are skipped."""
    signatures = []
    malformed = 0
    for token in header.split():
        version, comma, encoded = token.partition(",")
        if not comma:
            malformed += 1
            continue
        if version != "v1":
            continue
        try:
            signatures.append(binascii.a2b_base64(encoded, strict_mode=True))
        except (binascii.Error, ValueError):
            malformed += 1
    if not signatures:
        detail = f" ({malformed} malformed token(s) ignored)" if malformed else ""
        raise WebhookVerificationError(
            f"webhook-signature header has no well-formed v1 signature{detail}"
        )
    return signatures


def _parse_payload(body: bytes, msg_id: str) -> WebhookEventPayload:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookVerificationError("body is not valid UTF-8") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise WebhookVerificationError("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise WebhookVerificationError(
            f"body is not a valid event payload: expected a JSON object, got {_json_kind(data)}"
        )
    try:
        payload = structure(data, WebhookEventPayload)
    except Exception as exc:
        raise WebhookVerificationError(
            f"body is not a valid event payload: {_describe_structure_error(exc)}"
        ) from None
    if payload.id != msg_id:
        raise WebhookVerificationError("payload id does not match the webhook-id header")
    return payload


def _event_of(body: bytes, msg_id: str) -> Event:
    """The typed event of an authentic body, whose id must be the ``webhook-id``."""
    try:
        event = _event_from_dict(_decode_json_object(body))
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("the body"):  # not UTF-8, not JSON
            raise WebhookVerificationError(reason.removeprefix("the ")) from None
        reason = reason.removeprefix("not a webhook event payload: ")
        raise WebhookVerificationError(f"body is not a valid event payload: {reason}") from None
    if event.id != msg_id:
        raise WebhookVerificationError("payload id does not match the webhook-id header")
    return event


def _describe_structure_error(exc: Exception) -> str:
    if isinstance(exc, ConversionError):
        return _problems(exc.problems)
    if isinstance(exc, cattrs.BaseValidationError):
        return _problems(cattrs.transform_error(exc, path="$"))
    return type(exc).__name__
