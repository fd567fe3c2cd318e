"""`path()`: every id in a request path is checked and percent-encoded."""

from __future__ import annotations

import pytest

from pancake_pos._paths import path


def test_ids_are_percent_encoded() -> None:
    assert path("/webhooks/{webhook_id}/stats", webhook_id="wh/1 ?#%") == (
        "/webhooks/wh%2F1%20%3F%23%25/stats"
    )
    assert path("/shops/{shop_id}", shop_id="..") == "/shops/%2E%2E"


@pytest.mark.parametrize(
    ("value", "error"),
    [("", ValueError), ("  ", ValueError), ("x" * 129, ValueError), (7, TypeError)],
)
def test_a_bad_id_is_refused_by_its_name(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="delivery_id"):
        path("/webhook-deliveries/{delivery_id}", delivery_id=value)


def test_the_ids_must_match_the_placeholders() -> None:
    with pytest.raises(TypeError, match="webhook_id"):
        path("/webhooks/{webhook_id}", delivery_id="d")
    with pytest.raises(TypeError):
        path("/webhooks", webhook_id="wh_1")
