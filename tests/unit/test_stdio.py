"""The pieces of the hardened stdio reader that need no process (the e2e test drives the rest)."""

from __future__ import annotations

import os

import anyio
import pytest
from mcp_types import JSONRPCNotification

from finops_mcp.stdio import _DescriptorLines, _request_with_a_bad_id, top_level_id

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


async def test_stdin_lines_come_whole_decoded_and_a_read_never_blocks_cancellation() -> None:
    read_fd, write_fd = os.pipe()
    lines = _DescriptorLines(read_fd)
    try:
        os.write(write_fd, b'{"a": 1}\r\n{"b": "\xc3\xa9')  # a line, and half of the next one
        assert await lines.readline() == '{"a": 1}\n'
        with anyio.move_on_after(0.2) as waiting:  # nothing more: a cancellable wait, not a hang
            await lines.readline()
        assert waiting.cancelled_caught
        os.write(write_fd, b'\xff"}\n{"c": 3}')  # the rest, an invalid byte, an unterminated last line
        assert await lines.readline() == '{"b": "\u00e9\ufffd"}\n'
        os.close(write_fd)
        assert await lines.readline() == '{"c": 3}'
        assert await lines.readline() == ""  # end of input
    finally:
        lines.stop()
        os.close(read_fd)
