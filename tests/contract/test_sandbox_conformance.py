"""The sandbox answers what the document says, down to the edge cases: every operation routed,
the key checked first, each invalid parameter or body listed in a 422, the envelope and
`X-Request-Id` on every answer (405 and unknown paths included), and the rules the document
states in prose (health thresholds, stats buckets, ordering, clearing, idempotency)."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._config import to_micros
from pancake_pos.sandbox._render import delivery_page, health_json, stats_json
from pancake_pos.sandbox._spec import load_spec, response_validator
from pancake_pos.sandbox._store import DeliveryFilters, DeliveryRecord, Store

OPERATIONS = [
    (method.upper(), template, definition["operationId"])
    for template, item in load_spec()["paths"].items()
    for method, definition in item.items()
    if method in ("get", "put", "post", "delete")
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(retry_schedule=(), loopback_only=True) as server:
        yield server


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    def check(response: httpx.Response) -> None:
        response.read()
        assert response.headers.get("x-request-id", "").startswith("req_")
        if response.url.path.startswith("/api/v1/shops/"):
            validator = response_validator(
                response.request.method, response.url.path, response.status_code
            )
            if validator is None:
                assert response.content == b""
            else:
                validator.validate(response.json())

    with httpx.Client(
        base_url=f"{sandbox.base_url}/shops/{sandbox.shop_id}",
        params={"api_key": sandbox.api_key},
        event_hooks={"response": [check]},
    ) as client:
        yield client


def errors_of(response: httpx.Response) -> list[dict[str, str]]:
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "validation_error"
    errors: list[dict[str, str]] = body["error"]["details"]["errors"]
    return errors


def fields(response: httpx.Response) -> set[tuple[str, str]]:
    return {(error["location"], error["field"]) for error in errors_of(response)}


@pytest.fixture
def webhook_id(http: httpx.Client) -> str:
    created = http.post(
        "/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["order.created"]}
    )
    assert created.status_code == 201
    return str(created.json()["id"])


@pytest.mark.parametrize(("method", "template", "operation_id"), OPERATIONS)
def test_every_operation_is_served_and_checks_the_key_first(
    sandbox: SandboxServer, method: str, template: str, operation_id: str
) -> None:
    path = template.format(shop_id="shop_unknown", webhook_id="wh_x", delivery_id="dlv_x")
    answer = httpx.request(method, f"{sandbox.base_url}{path}", params={"api_key": "wrong"})
    assert answer.status_code == 401, operation_id  # before the unknown shop's 404
    assert answer.json()["error"]["code"] == "unauthorized"
    assert "x-request-id" in answer.headers
    validator = response_validator(method, f"/api/v1{path}", 401)
    assert validator is not None
    validator.validate(answer.json())


def test_unknown_shop_webhook_and_delivery_are_404(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    other_shop = httpx.get(
        f"{sandbox.base_url}/shops/shop_other/webhooks", params={"api_key": sandbox.api_key}
    )
    assert other_shop.status_code == 404
    assert other_shop.json()["error"]["details"] == {"shop_id": "shop_other"}
    assert http.get("/webhooks/wh_nope").json()["error"]["details"] == {"webhook_id": "wh_nope"}
    assert http.put("/webhooks/wh_nope/set-active", json={"is_active": True}).status_code == 404
    assert http.get("/webhook-deliveries/dlv_nope").status_code == 404
    assert http.post("/webhook-deliveries/dlv_nope/retry").status_code == 404


def test_wrong_method_and_unknown_path_answer_the_envelope(sandbox: SandboxServer) -> None:
    wrong = httpx.patch(f"{sandbox.base_url}/shops/{sandbox.shop_id}/webhooks")
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].split(", ")) >= {"GET", "POST"}
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert "x-request-id" in wrong.headers
    nowhere = httpx.get(f"{sandbox.url}/api/v2/anything")
    assert nowhere.status_code == 404
    assert nowhere.json()["success"] is False
    assert "x-request-id" in nowhere.headers


def test_query_parameters_are_validated(http: httpx.Client) -> None:
    answer = http.get(
        "/webhook-deliveries",
        params={
            "page_size": "101",
            "page_number": "0",
            "status": "pending",
            "event": "order.refunded",
            "from_date": "2024-02-30",
            "to_date": "2024-4-1",
            "webhook_id": "w" * 129,
        },
    )
    assert answer.status_code == 422
    assert fields(answer) == {
        ("query", name)
        for name in ("page_size", "page_number", "status", "event", "from_date", "to_date")
    } | {("query", "webhook_id")}
    not_a_number = http.get("/webhook-deliveries", params={"page_size": "ten"})
    assert errors_of(not_a_number) == [
        {"location": "query", "field": "page_size", "message": "must be an integer"}
    ]
    for size in ("1", "100"):
        assert http.get("/webhook-deliveries", params={"page_size": size}).status_code == 200


def test_stats_need_both_dates_and_a_reversed_range_is_empty(
    http: httpx.Client, webhook_id: str
) -> None:
    missing = http.get(f"/webhooks/{webhook_id}/stats", params={"to_date": "2024-04-29"})
    assert errors_of(missing) == [
        {"location": "query", "field": "from_date", "message": "is required"}
    ]
    assert http.post(f"/webhooks/{webhook_id}/test", json={"event": "order.created"}).is_success
    today = datetime.datetime.now(datetime.UTC).date()
    around = {"from_date": str(today + datetime.timedelta(days=1)), "to_date": str(today)}
    backwards = http.get(f"/webhooks/{webhook_id}/stats", params=around)
    assert backwards.status_code == 200, backwards.text
    assert backwards.json()["total_deliveries"] == 0  # a reversed range holds nothing
    listing = http.get("/webhook-deliveries", params=around)
    assert (listing.status_code, listing.json()["data"]) == (200, [])
    same_day = http.get(
        f"/webhooks/{webhook_id}/stats", params={"from_date": "2024-04-29", "to_date": "2024-04-29"}
    )
    assert same_day.json() == {
        "total_deliveries": 0,
        "success_count": 0,
        "failure_count": 0,
        "average_duration_ms": 0,
        "event_counts": {},
        "hourly_stats": [],
    }


def test_path_and_header_parameters_are_validated(http: httpx.Client) -> None:
    too_long = http.get(f"/webhooks/{'w' * 129}")
    assert fields(too_long) == {("path", "webhook_id")}
    key = http.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/", "events": ["order.created"]},
        headers={"Idempotency-Key": "k" * 256},
    )
    assert fields(key) == {("header", "Idempotency-Key")}


def test_bodies_are_validated_field_by_field(http: httpx.Client, webhook_id: str) -> None:
    answer = http.post(
        "/webhooks",
        json={"url": "ftp://x", "events": ["order.created", "order.created"], "extra": 1},
    )
    assert fields(answer) == {("body", "url"), ("body", "events"), ("body", "extra")}
    missing = http.post("/webhooks", json={"description": "d" * 501})
    assert fields(missing) == {("body", "url"), ("body", "events"), ("body", "description")}
    bad_event = http.post(f"/webhooks/{webhook_id}/test", json={"event": "order"})
    assert fields(bad_event) == {("body", "event")}
    update = http.put(f"/webhooks/{webhook_id}", json={"is_active": "yes"})
    assert fields(update) == {("body", "is_active")}
    clear = http.post(f"/webhooks/{webhook_id}/clear-history", json={"before_date": "2024-02-30"})
    assert fields(clear) == {("body", "before_date")}


def test_a_body_that_is_not_json_is_400(http: httpx.Client, webhook_id: str) -> None:
    for content in (b"{not json", b"\xff\xfe", b""):
        answer = http.post("/webhooks", content=content)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "bad_request"
    assert http.put(f"/webhooks/{webhook_id}/set-active", content=b"[").status_code == 400


def test_status_codes_of_the_document(http: httpx.Client, webhook_id: str) -> None:
    assert http.post(f"/webhooks/{webhook_id}/clear-history").json() == {"deleted_count": 0}
    emitted = http.post("/sandbox/events", json={"event": "inventory.updated"})
    assert emitted.status_code == 202
    assert emitted.json()["id"].startswith("msg_")
    tested = http.post(f"/webhooks/{webhook_id}/test", json={"event": "order.created"})
    assert tested.status_code == 200
    assert tested.json()["delivery_id"].startswith("dlv_")
    deleted = http.delete(f"/webhooks/{webhook_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = http.get("/webhook-deliveries", params={"webhook_id": webhook_id})
    assert gone.json()["total"] == 0  # the history goes with the webhook


def test_secrets_show_on_create_and_get_only(http: httpx.Client, webhook_id: str) -> None:
    assert "secret_key" in http.get(f"/webhooks/{webhook_id}").json()
    assert all("secret_key" not in hook for hook in http.get("/webhooks").json()["data"])
    rotated = http.post(f"/webhooks/{webhook_id}/rotate-secret").json()["secret_key"]
    assert rotated.startswith("whsec_")
    assert http.get(f"/webhooks/{webhook_id}").json()["secret_key"] == rotated


def test_idempotency_replays_the_first_answer_and_refuses_any_other_request(
    http: httpx.Client, webhook_id: str
) -> None:
    headers = {"Idempotency-Key": "same-key"}
    first = http.post(f"/webhooks/{webhook_id}/rotate-secret", headers=headers)
    again = http.post(f"/webhooks/{webhook_id}/rotate-secret", headers=headers)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert http.get(f"/webhooks/{webhook_id}").json()["secret_key"] == first.json()["secret_key"]
    elsewhere = http.post(f"/webhooks/{webhook_id}/clear-history", headers=headers)
    assert elsewhere.status_code == 409  # the same key with a different request (another path)
    assert elsewhere.json()["error"]["code"] == "idempotency_conflict"
    other = {"Idempotency-Key": "other-key"}
    emitted = http.post("/sandbox/events", json={"event": "order.created"}, headers=other)
    assert emitted.status_code == 202
    conflict = http.post("/sandbox/events", json={"event": "order.updated"}, headers=other)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.parametrize("kind", ["429", "503"])
def test_faults_answer_with_retry_after(
    sandbox: SandboxServer, http: httpx.Client, kind: str
) -> None:
    sandbox.inject_fault(kind, retry_after=2)
    answer = http.get("/webhooks")
    assert answer.status_code == int(kind)
    assert answer.headers["retry-after"] == "2"


def _delivery(number: int, status: str, created_at: int, event: str = "order.created") -> Any:
    return DeliveryRecord(
        id=f"dlv_{number:04d}",
        shop_id="shop_1",
        webhook_id="wh_1",
        event=event,
        event_id=f"msg_{number}",
        payload={},
        response=None,
        status=status,
        failure_reason=None if status == "success" else "HTTP 500 from receiver",
        created_at=created_at,
        duration_ms=number,
        attempt=1,
        next_attempt_at=None,
        is_test=False,
    )


@pytest.mark.parametrize(
    ("failures", "state", "rate"),
    [
        (0, "healthy", 100.0),
        (5, "healthy", 95.0),
        (6, "warning", 94.0),
        (20, "warning", 80.0),
        (21, "error", 79.0),
    ],
)
def test_health_thresholds_over_the_last_100(failures: int, state: str, rate: float) -> None:
    store = Store(None)
    try:
        for number in range(100):  # older than the last 100: they do not count
            store.save_delivery(_delivery(number, "failed", created_at=number))
        for number in range(100, 200):
            status = "failed" if number < 100 + failures else "success"
            store.save_delivery(_delivery(number, status, created_at=number))
        health = health_json(store.health_facts("wh_1"))
    finally:
        store.close()
    assert health["status"] == state
    assert health["success_rate"] == rate


def test_health_without_deliveries_is_healthy_100() -> None:
    store = Store(None)
    try:
        health = health_json(store.health_facts("wh_1"))
        assert health == {"status": "healthy", "success_rate": 100.0}
    finally:
        store.close()


def test_stats_buckets_by_hour_and_range_is_inclusive() -> None:
    day = datetime.datetime(2024, 4, 29, tzinfo=datetime.UTC)
    at = [
        day - datetime.timedelta(microseconds=1),  # the day before
        day,
        day + datetime.timedelta(minutes=59),
        day + datetime.timedelta(hours=10, minutes=15),
        day + datetime.timedelta(hours=23, minutes=59, seconds=59),
        day + datetime.timedelta(days=1),  # the day after
    ]
    store = Store(None)
    try:
        for number, moment in enumerate(at):
            status = "failed" if number == 2 else "success"
            event = "customer.created" if number == 3 else "order.created"
            store.save_delivery(_delivery(number, status, to_micros(moment), event))
        stats = stats_json(
            store.completed_between(
                "wh_1",
                since=to_micros(day),
                until=to_micros(day + datetime.timedelta(days=1)),
            )
        )
    finally:
        store.close()
    assert stats["total_deliveries"] == 4
    assert (stats["success_count"], stats["failure_count"]) == (3, 1)
    assert stats["average_duration_ms"] == 2.5
    assert stats["event_counts"] == {"order.created": 3, "customer.created": 1}
    assert stats["hourly_stats"] == [
        {"hour": "2024-04-29T00:00:00Z", "total": 2, "success": 1, "failed": 1},
        {"hour": "2024-04-29T10:00:00Z", "total": 1, "success": 1, "failed": 0},
        {"hour": "2024-04-29T23:00:00Z", "total": 1, "success": 1, "failed": 0},
    ]


def test_listing_is_newest_first_by_created_at_then_id() -> None:
    store = Store(None)
    try:
        for number, created_at in enumerate([5, 7, 7, 3]):
            store.save_delivery(_delivery(number, "success", created_at))
        store.save_delivery(
            DeliveryRecord(**{**_delivery(9, "pending", 8).__dict__, "next_attempt_at": 9})
        )
        first, total = store.list_deliveries(
            "shop_1", DeliveryFilters(), page_size=3, page_number=1
        )
        second, _ = store.list_deliveries("shop_1", DeliveryFilters(), page_size=3, page_number=2)
        page = delivery_page(first, total=total, page_size=3, page_number=1)
        last = delivery_page(second, total=total, page_size=3, page_number=2)
    finally:
        store.close()
    assert [delivery["id"] for delivery in page["data"]] == ["dlv_0002", "dlv_0001", "dlv_0000"]
    assert [delivery["id"] for delivery in last["data"]] == ["dlv_0003"]  # pending not listed
    assert (page["total"], page["total_pages"]) == (4, 2)
    assert json.loads(json.dumps(page)) == page


def test_a_page_far_past_the_end_is_an_empty_page(http: httpx.Client) -> None:
    """The document: a page number past the last page answers an empty `data` (any number the
    `page_number` schema allows, even one whose offset SQLite cannot hold)."""
    for number in ("2", "999999999999999999"):
        answer = http.get("/webhook-deliveries", params={"page_number": number, "page_size": "100"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == []
        assert answer.json()["page_number"] == int(number)


@pytest.mark.parametrize(
    "content",
    [
        b'{"event": "order.created", "payload": {"x": NaN}}',
        b'{"event": "order.created", "payload": {"x": -Infinity}}',
        b'{"event": "order.created", "payload": {"x": 1e400}}',
        b'{"event": "order.created", "payload": {"x": "\\ud800"}}',
        b'{"event": "order.created", "payload": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
    ],
    ids=["nan", "infinity", "overflowing-number", "lone-surrogate", "deeply-nested"],
)
@pytest.mark.parametrize("idempotency_key", [None, "k-strict-json"])
def test_a_body_the_sandbox_could_not_send_back_is_400(
    http: httpx.Client, webhook_id: str, content: bytes, idempotency_key: str | None
) -> None:
    """Numbers JSON has no spelling for, strings UTF-8 cannot carry, nesting deeper than the
    parser goes: refused as 400 up front, not a 500 now or on every later listing."""
    # A key belongs to the shop: each request gets its own.
    key = None if idempotency_key is None else f"{idempotency_key}-{uuid.uuid4()}"
    headers = {} if key is None else {"Idempotency-Key": key}
    answer = http.post(f"/webhooks/{webhook_id}/test", content=content, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "bad_request"
    listed = http.get("/webhook-deliveries", params={"webhook_id": webhook_id})
    assert listed.status_code == 200
    assert listed.json()["total"] == 0
    described = http.post(
        "/webhooks",
        content=b'{"url": "http://127.0.0.1:9/", "events": ["order.created"], '
        b'"description": "\\udfff"}',
    )
    assert described.status_code == 400
    paired = http.post(
        f"/webhooks/{webhook_id}/test",
        content=b'{"event": "order.created", "payload": {"x": "\\ud83d\\ude00", "n": 1.5e3}}',
    )
    assert paired.status_code == 200  # a surrogate pair is a real character
    delivery = http.get(f"/webhook-deliveries/{paired.json()['delivery_id']}").json()
    assert delivery["payload"]["data"] == {"x": "\U0001f600", "n": 1500.0}
