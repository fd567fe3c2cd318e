"""Answers are parsed with orjson when it is installed, else with the standard library; both
behave the same for the SDK: the same models, and the same error class for a bad answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson  # the speedups extra: part of the dev install, so both parsers are tested
import pytest
import respx

from pancake_pos import _json, _transport
from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import APIResponseValidationError, NotFoundError
from pancake_pos.models import ClearHistoryResult

if TYPE_CHECKING:
    from conftest import Payloads

BACKENDS: dict[str, Callable[[bytes | str], Any]] = {"json": json.loads, "orjson": orjson.loads}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(_transport, "json_loads", BACKENDS[request.param])
    return str(request.param)


def test_orjson_is_chosen_when_installed() -> None:
    assert _json.BACKEND == "orjson"
    assert _json.loads is orjson.loads


@pytest.mark.parametrize("name", sorted(BACKENDS))
@pytest.mark.parametrize(
    "body",
    [b'{"id": "wh_1", "url": ', b"\xff\xfe\x00garbage", b"[" * 100_000, b"", b"NaN-ish"],
)
def test_both_parsers_refuse_bad_text_with_a_decode_error(name: str, body: bytes) -> None:
    with pytest.raises(_json.DECODE_ERRORS):
        BACKENDS[name](body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "wh_1", "url": ',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        b'{"deleted_count": "3"}',
        b"[1, 2]",
    ],
)
async def test_a_bad_answer_is_a_validation_error_with_either_parser(
    backend: str, client: AsyncPancakeClient, api: respx.MockRouter, body: bytes
) -> None:
    api.post("/webhooks/wh_1/clear-history").respond(
        200, content=body, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(APIResponseValidationError) as caught:
        await client.webhooks.clear_delivery_history("wh_1")
    assert caught.value.body == body, backend


async def test_a_good_answer_and_an_error_envelope_read_the_same_with_either_parser(
    backend: str, client: AsyncPancakeClient, api: respx.MockRouter, payloads: Payloads
) -> None:
    api.post("/webhooks/wh_1/clear-history").respond(200, json={"deleted_count": 3})
    api.get("/webhooks/wh_2").respond(404, json=payloads.error("not_found", "No webhook wh_2."))

    assert await client.webhooks.clear_delivery_history("wh_1") == ClearHistoryResult(
        deleted_count=3
    )
    with pytest.raises(NotFoundError) as caught:
        await client.webhooks.get_by_id("wh_2")
    assert (caught.value.code, caught.value.message) == ("not_found", "No webhook wh_2."), backend
