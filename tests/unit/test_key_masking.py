"""The API key is masked where it appears as a value, never by blanking its letters in words.

A short key (a typo, a placeholder such as `e`) must not turn "Missing or invalid api_key." into
"Missing or invalid api_k***y.", nor break the JSON body of an error so it can no longer be read.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest
from loopback import LoopbackServer, Respond

from pancake_pos._client import AsyncPancakeClient
from pancake_pos.errors import APIConnectionError, APIStatusError, AuthenticationError

if TYPE_CHECKING:
    from conftest import Payloads


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _refused_with(body: object) -> APIStatusError:
    """The error a client with the key `e` gets when the server answers 401 with `body`."""
    async with (
        LoopbackServer([Respond.json(401, body)]) as server,
        AsyncPancakeClient("e", "shop", base_url=server.base_url, max_retries=0) as client,
    ):
        with pytest.raises(AuthenticationError) as caught:
            await client.webhooks.list()
    return caught.value


async def test_a_one_letter_key_leaves_the_words_of_a_401_alone(payloads: Payloads) -> None:
    body = payloads.error("unauthorized", "Missing or invalid api_key.", {})
    error = await _refused_with(body)
    assert error.message == "Missing or invalid api_key."
    assert error.code == "unauthorized"
    assert error.body == body
    assert "***" not in str(error)
    assert "api_key=***" in str(error.request.url)


async def test_a_key_echoed_as_a_value_is_still_masked(payloads: Payloads) -> None:
    error = await _refused_with(
        payloads.error("unauthorized", "The key e is not valid (e).", {"key": "e"})
    )
    assert error.message == "The key *** is not valid (***)."
    assert error.details == {"key": "***"}


async def test_a_one_letter_key_leaves_a_connection_error_readable() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    async with AsyncPancakeClient("e", "shop", base_url=url, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.webhooks.list()

    error = caught.value
    assert "***" not in str(error)
    assert error.__cause__ is not None
    assert "***" not in str(error.__cause__)
    assert "api_key=***" in str(error.request.url)
