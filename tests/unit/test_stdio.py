"""The pieces of the hardened stdio reader that need no process (the e2e test drives the rest)."""

from __future__ import annotations

import pytest
from mcp_types import JSONRPCNotification

from finops_mcp.stdio import _request_with_a_bad_id, top_level_id

DEEP = "[" * 5_000 + "]" * 5_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"jsonrpc": "2.0", "id": 7, "params": ' + DEEP + "}", 7),
        ('{"params": {"id": 1, "x": ' + DEEP + '}, "id": "outer"}', "outer"),  # a nested id is not it
        ('{"params": ["id", "id"], "method": "x"}', None),  # "id" as a value, not a key
        ('{"method": "x", "note": "say \\"id\\": 3"}', None),  # inside a string
        ('{"id": true, "x": ' + DEEP + "}", None),  # not a usable id
        ('{"id": 1.5}', None),
        ("[1, 2]", None),
    ],
)
def test_the_top_level_id_whatever_the_depth(text: str, expected: object) -> None:
    assert top_level_id(text) == expected


def test_only_the_line_of_that_notification_with_an_id_is_refused() -> None:
    note = JSONRPCNotification(jsonrpc="2.0", method="notifications/initialized")
    refused = _request_with_a_bad_id(
        '{"jsonrpc": "2.0", "id": 2.5, "method": "notifications/initialized"}', note
    )
    assert refused is not None and refused.id is None and refused.error.code == -32600
    assert (
        _request_with_a_bad_id('{"jsonrpc": "2.0", "id": 3, "method": "tools/list"}', note) is None
    )  # another line
    assert (
        _request_with_a_bad_id('{"jsonrpc": "2.0", "id": null, "method": "notifications/initialized"}', note)
        is None
    )
