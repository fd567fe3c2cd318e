"""The `pancake_pos` logger: DEBUG request lines, INFO retries, and the PANCAKE_LOG switch."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import respx

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._logging import configure_logging_from_env, logger

BASE_URL = "http://127.0.0.1:8765/api/v1"


@pytest.fixture(autouse=True)
def pristine_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PANCAKE_LOG", raising=False)
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def env_handlers() -> list[logging.Handler]:
    return [handler for handler in logger.handlers if handler.get_name() == "pancake_pos.env"]


async def test_requests_and_responses_are_logged_at_debug(
    client: AsyncPancakeClient, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/webhooks").respond(200, json={"data": []}, headers={"X-Request-Id": "req_9"})

    with caplog.at_level(logging.DEBUG, logger="pancake_pos"):
        await client.webhooks.list()

    lines = [r.getMessage() for r in caplog.records if r.name == "pancake_pos"]
    assert lines == [
        f"Request: GET {BASE_URL}/shops/shop_42/webhooks?api_key=***",
        f"Response: GET {BASE_URL}/shops/shop_42/webhooks?api_key=*** -> 200 (request_id=req_9)",
    ]


async def test_nothing_is_logged_at_the_default_level(
    client: AsyncPancakeClient, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/webhooks").respond(200, json={"data": []})

    with caplog.at_level(logging.WARNING):
        await client.webhooks.list()

    assert [r for r in caplog.records if r.name == "pancake_pos"] == []


def test_pancake_log_unset_adds_no_handler() -> None:
    AsyncPancakeClient("key", "shop")

    assert env_handlers() == []


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), ("INFO", logging.INFO)])
def test_pancake_log_adds_one_stderr_handler(
    monkeypatch: pytest.MonkeyPatch, value: str, level: int
) -> None:
    monkeypatch.setenv("PANCAKE_LOG", value)

    AsyncPancakeClient("key", "shop")
    AsyncPancakeClient("key", "shop")
    configure_logging_from_env()

    assert len(env_handlers()) == 1
    assert logger.level == level


def test_pancake_log_with_another_value_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANCAKE_LOG", "verbose")

    AsyncPancakeClient("key", "shop")

    assert env_handlers() == []


async def test_pancake_log_info_prints_retries_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
    api: respx.MockRouter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PANCAKE_LOG", "info")
    api.get("/webhooks").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "1"}),
            httpx.Response(200, json={"data": []}),
        ]
    )

    async with AsyncPancakeClient("sk_secret_key", "shop_42", base_url=BASE_URL) as client:
        slept: list[float] = []

        async def no_sleep(seconds: float) -> None:
            slept.append(seconds)

        client._transport.sleep = no_sleep
        await client.webhooks.list()

    err = capsys.readouterr().err
    assert "INFO pancake_pos: Retrying GET /api/v1/shops/shop_42/webhooks (attempt 2 of 3)" in err
    assert "Request: GET" not in err
    assert "sk_secret_key" not in err
    assert slept == [1.0]
