"""`SandboxServer.emit`, the sample data, the body limit, repeated rotations, and a `db` file
that remembers its shop and key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.sandbox import SandboxServer
from pancake_pos.sandbox._pipeline import BODY_LIMIT
from pancake_pos.sandbox._receiver import RecordingReceiver
from pancake_pos.sandbox._samples import SAMPLE_GROUPS, sample_data
from pancake_pos.signing import WebhookVerifier

# The JSON types of the Pancake POS objects, field by field (every field optional).
STR, NUM, BOOL, LIST, OBJ = str, (int, float), bool, list, dict
ADDRESS = {
    **dict.fromkeys(("id", "country_code", "province_id", "district_id", "commune_id"), STR),
    **dict.fromkeys(("address", "full_name", "phone_number"), STR),
}
VARIATION = {
    "id": STR, "fields": LIST, "images": LIST, "last_imported_price": NUM, "retail_price": NUM,
    "price_at_counter": NUM, "weight": NUM, "barcode": STR, "custom_id": STR, "is_hidden": BOOL,
    "stock": NUM, "sku": STR, "wholesale_price": NUM,
}  # fmt: skip
PRODUCT = {
    "id": STR, "name": STR, "category_ids": LIST, "note_product": STR, "weight": NUM,
    "custom_id": STR, "is_published": BOOL, "variations": LIST, "stock": NUM,
    "description": STR, "images": LIST, "tags": LIST, "measure_unit": STR,
    "wholesale_price": NUM, "retail_price": NUM, "warranty_info": STR, "specifications": LIST,
}  # fmt: skip
ITEM = {
    "product_id": STR, "variation_id": STR, "quantity": NUM, "is_wholesale": BOOL,
    "discount_each_product": NUM, "is_discount_percent": BOOL, "is_bonus_product": BOOL,
    "components": LIST,
}  # fmt: skip
TYPES: dict[str, dict[str, Any]] = {
    "order": {
        "id": NUM, "shop_id": NUM, "status": NUM, "status_name": STR, "sub_status": NUM,
        "items": LIST, "shipping_address": OBJ, "shipping_fee": NUM, "total_discount": NUM,
        "note": STR, "warehouse_id": STR, "inserted_at": STR, "updated_at": STR, "partner": OBJ,
        "bill_full_name": STR, "bill_phone_number": STR, "is_free_shipping": BOOL,
        "customer_pay_fee": BOOL,
    },
    "customer": {
        "id": STR, "name": STR, "phone_numbers": LIST, "emails": LIST, "date_of_birth": STR,
        "gender": STR, "reward_point": NUM, "tags": LIST, "shop_customer_addresses": LIST,
    },
    "inventory": {
        "product_id": STR, "variation_id": STR, "warehouse_id": STR, "stock": NUM,
        "product": OBJ,
    },
    "product": PRODUCT,
    "transaction": {
        "id": STR, "order_id": STR, "gateway_code": STR, "amount": NUM, "currency": STR,
        "status": STR, "method": STR, "gateway_reference": STR, "gateway_response": OBJ,
        "error": OBJ, "refund_status": STR, "refunded_amount": NUM, "created_at": STR,
        "updated_at": STR, "completed_at": STR,
    },
    "loyalty": {
        "id": STR, "customer_id": STR, "type": STR, "points": NUM, "order_id": STR,
        "reason": STR, "expiry_date": STR, "created_at": STR, "created_by": OBJ,
    },
}  # fmt: skip


def _fits(value: dict[str, Any], types: dict[str, Any], where: str) -> list[str]:
    problems = [f"{where}.{name}: unknown field" for name in value if name not in types]
    for name, kind in types.items():
        if name in value:
            item = value[name]
            if not isinstance(item, kind) or (kind is NUM and isinstance(item, bool)):
                problems.append(f"{where}.{name}: {type(item).__name__}")
    return problems


@pytest.mark.parametrize(
    "group", ["order", "customer", "inventory", "product", "transaction", "loyalty"]
)
def test_each_sample_has_the_fields_and_json_types_of_its_object(group: str) -> None:
    data = sample_data(f"{group}.created")
    problems = _fits(data, TYPES[group], group)
    if group == "order":
        problems += _fits(data["shipping_address"], ADDRESS, "order.shipping_address")
        problems += [p for item in data["items"] for p in _fits(item, ITEM, "order.items[]")]
    if group in ("product", "inventory"):
        product = data if group == "product" else data["product"]
        problems += _fits(product, PRODUCT, "product")
        problems += [p for v in product["variations"] for p in _fits(v, VARIATION, "variation")]
    assert problems == []
    assert json.loads(json.dumps(data)) == data
    assert len(data) >= 4


def test_every_group_has_a_sample_and_an_unknown_group_gets_an_empty_object() -> None:
    assert set(SAMPLE_GROUPS) == set(TYPES)
    assert sample_data("billing.updated") == {}
    first = sample_data("order.created")
    first["items"].clear()
    assert sample_data("order.created")["items"] != []  # each call gets its own copy


async def test_emit_returns_the_event_id_and_delivers_it_with_sample_data(
    sandbox: SandboxServer, client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["customer.updated"])
    assert webhook.secret_key is not None
    receiver.trust(webhook.secret_key)
    sampled = sandbox.emit("customer.updated")
    given = sandbox.emit("customer.updated", {"id": "cus_1", "name": "Tran Thi B"})
    received = {d.event_id: d.payload for d in receiver.wait_for(2)}
    assert received[sampled] is not None
    assert received[sampled]["data"] == sample_data("customer.updated")
    assert received[given] is not None
    assert received[given]["data"] == {"id": "cus_1", "name": "Tran Thi B"}
    assert received[given]["event"] == "customer.updated"


@pytest.mark.parametrize(
    ("event", "data", "named"),
    [
        ("order", None, "event"),
        ("order.created", [1, 2], "data"),
        ("order.created", {"total": float("nan")}, "data"),  # not JSON: no receiver could read it
        ("order.created", {"when": object()}, "data"),
        ("order.created", {"name": "\ud800"}, "data"),
    ],
)
def test_emit_refuses_a_bad_event_or_data_naming_it(
    sandbox: SandboxServer, event: str, data: Any, named: str
) -> None:
    with pytest.raises(ValueError, match=f"^{named}: "):
        sandbox.emit(event, data)


def test_emit_says_an_unknown_event_in_a_line_as_the_endpoint_does(
    sandbox: SandboxServer,
) -> None:
    with pytest.raises(ValueError) as caught:
        sandbox.emit("order.refunded")
    assert str(caught.value) == "event: 'order.refunded' is not a known event"


def test_emit_needs_a_running_sandbox() -> None:
    sandbox = SandboxServer()
    with pytest.raises(RuntimeError, match="not running"):
        sandbox.emit("order.created")
    with sandbox:
        assert sandbox.emit("order.created").startswith("msg_")
    with pytest.raises(RuntimeError, match="not running"):
        sandbox.emit("order.created")


async def test_a_body_over_the_limit_is_413_and_one_at_the_limit_is_read(
    raw: httpx.AsyncClient,
) -> None:
    padding = "x" * BODY_LIMIT
    too_large = await raw.post(
        "/sandbox/events", json={"event": "order.created", "data": {"pad": padding}}
    )
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> Any:  # no Content-Length: the limit holds while reading
        for _ in range(3):
            yield b" " * (BODY_LIMIT // 2)
        yield b'{"event": "order.created"}'

    streamed = await raw.post("/sandbox/events", content=chunks())
    assert streamed.status_code == 413
    fits = json.dumps({"event": "order.created", "data": {"pad": "x" * (BODY_LIMIT - 100)}})
    assert (await raw.post("/sandbox/events", content=fits)).status_code == 202


async def test_a_second_rotation_keeps_every_secret_still_in_its_grace_period(
    client: AsyncPancakeClient, receiver: RecordingReceiver
) -> None:
    webhook = await client.webhooks.create(url=receiver.url, events=["order.created"])
    assert webhook.secret_key is not None
    second = await client.webhooks.rotate_secret(webhook.id)
    third = await client.webhooks.rotate_secret(webhook.id)
    receiver.trust(third.secret_key)
    await client.webhooks.test(webhook.id, "order.created")
    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 3
    for secret in (webhook.secret_key, second.secret_key, third.secret_key):
        WebhookVerifier(secret).verify_signature(received.body, received.headers)


async def test_a_db_file_remembers_its_shop_and_key_and_webhooks(
    tmp_path: Path, make_client: Callable[..., AsyncPancakeClient]
) -> None:
    db = tmp_path / "sandbox.db"
    with SandboxServer(db=db) as first:
        created = await make_client(first).webhooks.create(
            url="http://127.0.0.1:9/hook", events=["order.created"]
        )
    with SandboxServer(db=db) as again:
        assert (again.shop_id, again.api_key) == (first.shop_id, first.api_key)
        assert [hook.id for hook in (await make_client(again).webhooks.list()).data] == [created.id]
    with SandboxServer("sk_sandbox_given", "shop_given", db=db) as given:
        assert (given.shop_id, given.api_key) == ("shop_given", "sk_sandbox_given")
    assert SandboxServer(db=db).shop_id == "shop_given"  # what was given is remembered
