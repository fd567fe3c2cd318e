"""AsyncPancakeClient: configuration, environment fallback, with_options, lifecycle."""

from __future__ import annotations

import platform

import httpx
import pytest
import respx

from pancake_pos._client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, AsyncPancakeClient
from pancake_pos._version import __version__
from pancake_pos.errors import PancakeError
from pancake_pos.resources.webhooks import AsyncWebhooks


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PANCAKE_API_KEY", "PANCAKE_SHOP_ID", "PANCAKE_BASE_URL", "PANCAKE_LOG"):
        monkeypatch.delenv(name, raising=False)


async def test_arguments_win_and_defaults_apply() -> None:
    async with AsyncPancakeClient("key", "shop_1") as client:
        assert client.shop_id == "shop_1"
        assert client.base_url == DEFAULT_BASE_URL == "https://pos.pages.fm/api/v1"
        assert client.timeout == DEFAULT_TIMEOUT == httpx.Timeout(30.0, connect=5.0)
        assert client.max_retries == 2
        assert isinstance(client.webhooks, AsyncWebhooks)
        assert client.webhooks is client.webhooks


async def test_environment_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANCAKE_API_KEY", "env-key")
    monkeypatch.setenv("PANCAKE_SHOP_ID", "env-shop")
    monkeypatch.setenv("PANCAKE_BASE_URL", "http://127.0.0.1:8765/api/v1/")

    async with AsyncPancakeClient() as from_env, AsyncPancakeClient("k", "s") as given:
        assert from_env.shop_id == "env-shop"
        assert from_env._transport.api_key == "env-key"
        assert from_env.base_url == "http://127.0.0.1:8765/api/v1"
        assert given.shop_id == "s"
        assert given._transport.api_key == "k"


def test_a_missing_key_names_the_argument_and_the_variable() -> None:
    with pytest.raises(PancakeError) as caught:
        AsyncPancakeClient(shop_id="shop_1")

    assert "api_key" in str(caught.value)
    assert "PANCAKE_API_KEY" in str(caught.value)


def test_a_missing_shop_names_the_argument_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PANCAKE_API_KEY", "env-key")
    monkeypatch.setenv("PANCAKE_SHOP_ID", "")

    with pytest.raises(PancakeError) as caught:
        AsyncPancakeClient()

    assert "shop_id" in str(caught.value)
    assert "PANCAKE_SHOP_ID" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": 1.5}, TypeError, "max_retries"),
        ({"max_retries": True}, TypeError, "max_retries"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -5.0}, ValueError, "timeout"),
        ({"timeout": float("inf")}, ValueError, "timeout"),
        ({"timeout": "30"}, TypeError, "timeout"),
        ({"base_url": "pos.pages.fm/api/v1"}, ValueError, "base_url"),
        ({"base_url": "ftp://pos.pages.fm"}, ValueError, "base_url"),
        ({"base_url": "https://pos.pages.fm/api/v1?api_key=x"}, ValueError, "base_url"),
        ({"default_headers": {"X-Team": 7}}, TypeError, "default_headers"),
        ({"http_client": "http://127.0.0.1"}, TypeError, "http_client"),
    ],
)
def test_bad_options_are_refused(
    options: dict[str, object], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        AsyncPancakeClient("key", "shop", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "headers",
    [{"X-Team": "a\r\nX-Injected: 1"}, {"X-Team": "équipe"}, {"X Team": "a"}, {"": "a"}],
)
async def test_default_headers_that_cannot_be_sent_are_refused_up_front(
    headers: dict[str, str],
) -> None:
    # Otherwise a line break surfaced on every call as a retried "Connection error", and a
    # non-ASCII value as a bare UnicodeEncodeError.
    with pytest.raises(ValueError, match="default_headers"):
        AsyncPancakeClient("key", "shop", default_headers=headers)
    async with AsyncPancakeClient("key", "shop") as client:
        with pytest.raises(ValueError, match="default_headers"):
            client.with_options(default_headers=headers)


async def test_timeout_as_seconds() -> None:
    async with AsyncPancakeClient("key", "shop", timeout=12) as client:
        assert client.timeout == httpx.Timeout(12.0)


async def test_repr_never_shows_the_key() -> None:
    async with AsyncPancakeClient("sk_live_very_secret", "shop_1") as client:
        text = repr(client)

    assert "sk_live_very_secret" not in text
    assert "api_key='***'" in text
    assert "shop_1" in text


async def test_user_agent_and_default_headers(api: respx.MockRouter) -> None:
    route = api.get("/webhooks").respond(200, json={"data": []})
    client = AsyncPancakeClient(
        "key",
        "shop_42",
        base_url="http://127.0.0.1:8765/api/v1",
        default_headers={"X-Team": "payments", "user-agent": "my-app/2"},
    )
    async with client:
        await client.webhooks.list()
        await client.with_options(default_headers={"X-Trace": "t1"}).webhooks.list()

    first, second = (call.request.headers for call in route.calls)
    assert first["x-team"] == "payments"
    assert first.get_list("user-agent") == ["my-app/2"]
    assert "x-trace" not in first
    assert second["x-trace"] == "t1"
    assert second["x-team"] == "payments"


async def test_the_default_user_agent(api: respx.MockRouter) -> None:
    route = api.get("/webhooks").respond(200, json={"data": []})

    async with AsyncPancakeClient("key", "shop_42", base_url="http://127.0.0.1:8765/api/v1") as c:
        await c.webhooks.list()

    assert route.calls.last.request.headers["user-agent"] == (
        f"pancake-pos/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
    )


async def test_with_options_changes_settings_and_shares_the_pool() -> None:
    async with AsyncPancakeClient("key", "shop") as client:
        copy = client.with_options(timeout=90, max_retries=5)

        assert copy.timeout == httpx.Timeout(90.0)
        assert copy.max_retries == 5
        assert client.timeout == DEFAULT_TIMEOUT
        assert client.max_retries == 2
        assert copy.http_client is client.http_client
        assert copy.webhooks is not client.webhooks
        assert copy.with_options().max_retries == 5


async def test_with_options_in_a_loop_opens_no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[httpx.AsyncClient] = []
    original_init = httpx.AsyncClient.__init__

    def counting_init(self: httpx.AsyncClient, *args: object, **kwargs: object) -> None:
        created.append(self)
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting_init)

    async with AsyncPancakeClient("key", "shop") as client:
        copies = [client.with_options(timeout=float(n + 1), max_retries=n % 4) for n in range(1000)]

        assert len(created) == 1
        assert {id(copy.http_client) for copy in copies} == {id(client.http_client)}


async def test_closing_a_copy_leaves_the_shared_pool_open() -> None:
    client = AsyncPancakeClient("key", "shop")
    async with client.with_options(max_retries=0) as copy:
        assert copy.http_client is client.http_client

    assert not client.http_client.is_closed
    await client.close()
    assert client.http_client.is_closed
    assert client.is_closed


async def test_close_twice_is_harmless() -> None:
    client = AsyncPancakeClient("key", "shop")
    await client.close()
    await client.close()

    assert client.http_client.is_closed


async def test_an_injected_http_client_is_never_closed(api: respx.MockRouter) -> None:
    api.get("/webhooks").respond(200, json={"data": []})
    async with httpx.AsyncClient(headers={"X-Injected": "yes"}) as mine:
        async with AsyncPancakeClient(
            "key", "shop_42", base_url="http://127.0.0.1:8765/api/v1", http_client=mine
        ) as client:
            assert client.http_client is mine
            await client.webhooks.list()
        await client.close()

        assert not mine.is_closed
        assert api.calls.last.request.headers["x-injected"] == "yes"
        assert api.calls.last.request.headers["user-agent"].startswith("pancake-pos/")


async def test_the_pool_gate_follows_the_injected_pool_size() -> None:
    limits = httpx.Limits(max_connections=7)
    async with httpx.AsyncClient(limits=limits) as mine:
        client = AsyncPancakeClient("key", "shop", http_client=mine)

        assert client._transport.pool._gate.value == 7


async def test_a_call_on_a_closed_client_raises_a_clear_error() -> None:
    client = AsyncPancakeClient("sk_test_closed", "shop_1", base_url="http://127.0.0.1:9/api/v1")
    await client.close()
    assert client.is_closed
    with pytest.raises(PancakeError, match="closed"):
        await client.webhooks.list()


async def test_a_call_after_closing_a_client_with_an_injected_pool_raises_and_leaves_it_open() -> (
    None
):
    async with httpx.AsyncClient() as mine:
        client = AsyncPancakeClient(
            "sk_test_closed", "shop_1", base_url="http://127.0.0.1:9/api/v1", http_client=mine
        )
        await client.close()
        assert client.is_closed
        assert not mine.is_closed
        with pytest.raises(PancakeError, match="closed"):
            await client.webhooks.get_by_id("wh_1")


async def test_a_call_through_an_injected_pool_its_owner_closed_raises_a_clear_error() -> None:
    mine = httpx.AsyncClient()
    await mine.aclose()
    client = AsyncPancakeClient(
        "sk_test_closed", "shop_1", base_url="http://127.0.0.1:9/api/v1", http_client=mine
    )
    with pytest.raises(PancakeError, match="closed") as caught:
        await client.webhooks.list()
    assert not isinstance(caught.value, RuntimeError)


def test_the_sync_client_is_loaded_on_first_use_and_listed() -> None:
    import subprocess
    import sys

    script = (
        "import sys, pancake_pos\n"
        "assert 'pancake_pos._sync' not in sys.modules, 'the sync facade was imported eagerly'\n"
        "assert 'PancakeClient' in dir(pancake_pos)\n"
        "from pancake_pos import PancakeClient\n"
        "assert PancakeClient.__module__ == 'pancake_pos._sync'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
