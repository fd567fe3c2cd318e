"""Request paths: every id is checked and percent-encoded as one path segment.

>>> path("/webhooks/{webhook_id}/stats", webhook_id="wh 1")
'/webhooks/wh%201/stats'
"""

from __future__ import annotations

import re
from urllib.parse import quote

from . import _validation as check

__all__ = ["path", "path_segment"]

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def path_segment(value: str) -> str:
    """Percent-encode `value` as one path segment (`/`, `?`, `#`, `%` and spaces included).

    The dot segments `.` and `..` are encoded too: left as they are, the URL parser would resolve
    them, and `/webhooks/..` would name the shop itself.

    >>> path_segment("wh/1 ?")
    'wh%2F1%20%3F'
    >>> path_segment("..")
    '%2E%2E'
    """
    encoded = quote(value, safe="")
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    return encoded


def path(template: str, /, **ids: object) -> str:
    """`template` with each `{name}` replaced by `ids[name]`, checked as an id (a non-empty
    `str` within the length limit; `ValueError` or `TypeError` naming it otherwise) and
    percent-encoded.

    >>> path("/shops/{shop_id}", shop_id="a/b")
    '/shops/a%2Fb'
    """
    names = _PLACEHOLDER.findall(template)
    if sorted(names) != sorted(ids):
        raise TypeError(f"path {template!r} takes {names}, got {sorted(ids)}")
    return _PLACEHOLDER.sub(
        lambda match: path_segment(check.identifier(ids[match[1]], match[1])), template
    )
