"""The audit log: record fields, argument digest, outcomes, destinations; never a token or an argument."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from mcp.client import Client
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from finops_mcp.remote.audit import (
    AuditLog,
    AuditMiddleware,
    argument_digest,
    classify,
    open_audit_log,
)
from finops_mcp.server import build_server
from finops_mcp.settings import Settings

TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token-body.signature"


def test_argument_digest_is_canonical() -> None:
    a = argument_digest({"period": "last_month", "group_by": ["service"], "top_n": 5})
    b = argument_digest({"top_n": 5, "group_by": ["service"], "period": "last_month"})
    assert a == b and a.startswith("sha256:") and len(a) == 7 + 64
    assert argument_digest(None) == argument_digest({})
    assert argument_digest({"names": ["Équipe"]}) != argument_digest({"names": ["Equipe"]})
    # an in-process client can pass a lone surrogate (found by tests/e2e/test_fuzz.py)
    assert argument_digest({"names": ["\ud800"]}) != argument_digest({"names": ["\udc00"]})


def text(value: str) -> list[TextContent]:
    return [TextContent(type="text", text=value)]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (CallToolResult(content=text("{}"), structured_content={"errors": []}), ("ok", None)),
        (
            CallToolResult(content=text("{}"), structured_content={"errors": [{"code": "throttled"}]}),
            ("partial", "throttled"),
        ),
        (
            CallToolResult(
                content=text("Every scope failed"),
                structured_content={"errors": [{"code": "auth"}, {"code": "forbidden"}, {"code": "auth"}]},
                is_error=True,
            ),
            ("error", "auth,forbidden"),
        ),
        (
            CallToolResult(content=text("Invalid arguments for get_cost:\n- x"), is_error=True),
            ("invalid_input", "invalid_input"),
        ),
        (
            CallToolResult(
                content=text("Error executing tool get_cost: Invalid arguments for get_cost:"), is_error=True
            ),
            ("invalid_input", "invalid_input"),
        ),
        (
            CallToolResult(content=text("Error executing tool get_cost"), is_error=True),
            ("error", "tool_error"),
        ),
        ({"content": [], "structuredContent": {"errors": [{"code": "timeout"}]}}, ("partial", "timeout")),
        ({"task": {"taskId": "t-1", "status": "working"}}, ("task", None)),
        ({"resultType": "task", "taskId": "t-2"}, ("task", None)),
    ],
)
def test_classify(result: Any, expected: tuple[str, str | None]) -> None:
    assert classify(result) == expected


def test_destinations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for off in ("off", "OFF", "none", "false"):
        assert open_audit_log(off) is None
    log = open_audit_log(None)
    assert log is not None and log.path is None
    log.write({"a": 1})
    assert capsys.readouterr().err == '{"a":1}\n'
    path = tmp_path / "audit.log"
    file_log = open_audit_log(str(path))
    assert file_log is not None
    file_log.write({"a": 1})
    file_log.write({"b": "é"})
    file_log.close()
    assert path.read_text(encoding="utf-8") == '{"a":1}\n{"b":"é"}\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    fallback = open_audit_log(str(tmp_path / "no" / "such" / "dir.log"))
    assert fallback is not None and fallback.path is None
    assert "audit records go to stderr" in capsys.readouterr().err
    with pytest.raises(OSError):
        open_audit_log(str(tmp_path / "no" / "such" / "dir.log"), strict=True)


class Memory(AuditLog):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def write(self, record: Any) -> None:
        self.records.append(dict(record))


def http_request(headers: dict[str, str] | None = None) -> SimpleNamespace:
    token = AccessToken(
        token=TOKEN,
        client_id="ci-job",
        scopes=["finops:read"],
        subject="svc-1",
        claims={"iss": "https://login.example.com"},
    )
    return SimpleNamespace(scope={"user": AuthenticatedUser(token)}, headers=headers or {})


async def test_an_authenticated_call_is_attributed_and_the_token_never_written() -> None:
    log = Memory()
    ticks = iter([10.0, 10.25])
    middleware = AuditMiddleware(log, clock=lambda: next(ticks))
    ctx = SimpleNamespace(
        method="tools/call",
        request_id=7,
        params={"name": "get_cost", "arguments": {"period": "last_month"}},
        request=http_request({"x-correlation-id": "job-42"}),
    )

    async def handler(_ctx: Any) -> CallToolResult:
        return CallToolResult(content=text("{}"), structured_content={"errors": []})

    await middleware(ctx, handler)
    (record,) = log.records
    assert record == {
        "time": record["time"],
        "event": "tool_call",
        "correlation_id": "job-42",
        "request_id": 7,
        "transport": "http",
        "client_id": "ci-job",
        "subject": "svc-1",
        "issuer": "https://login.example.com",
        "scopes": ["finops:read"],
        "tool": "get_cost",
        "arguments_digest": argument_digest({"period": "last_month"}),
        "duration_ms": 250.0,
        "outcome": "ok",
        "error_code": None,
    }
    assert TOKEN not in json.dumps(record) and "last_month" not in json.dumps(record)


async def test_errors_raised_through_the_middleware_are_recorded_and_re_raised() -> None:
    log = Memory()
    ctx = SimpleNamespace(
        method="tools/call",
        request_id=1,
        params={"name": "nope"},
        request=http_request({"x-correlation-id": "bad id with spaces"}),
    )

    async def handler(_ctx: Any) -> None:
        raise MCPError(code=-32602, message="Unknown tool: nope")

    with pytest.raises(MCPError):
        await AuditMiddleware(log)(ctx, handler)
    (record,) = log.records
    assert record["outcome"] == "error" and record["error_code"] == "mcp_-32602"
    assert record["correlation_id"] != "bad id with spaces" and len(record["correlation_id"]) == 32


async def test_other_messages_pass_through_unrecorded() -> None:
    log = Memory()

    async def handler(_ctx: Any) -> str:
        return "listed"

    ctx = SimpleNamespace(method="tools/list", request_id=1, params={}, request=None)
    assert await AuditMiddleware(log)(ctx, handler) == "listed"
    assert log.records == []


async def test_the_stdio_server_audits_to_stderr_without_a_caller(capsys: pytest.CaptureFixture[str]) -> None:
    server = build_server(Settings(_env_file=None, providers=["focus"]))  # type: ignore[call-arg]
    async with Client(server) as client:
        result = await client.call_tool("get_cost", {"period": "fortnight", "token": TOKEN})
    assert result.is_error
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith('{"time"')]
    (record,) = lines
    assert record["transport"] == "stdio" and record["client_id"] is None and record["scopes"] == []
    assert record["outcome"] == "invalid_input" and record["error_code"] == "invalid_input"
    assert record["arguments_digest"] == argument_digest({"period": "fortnight", "token": TOKEN})
    assert TOKEN not in json.dumps(record)


def test_audit_log_off_adds_no_middleware() -> None:
    server = build_server(Settings(_env_file=None, audit_log="off"))  # type: ignore[call-arg]
    assert not any(isinstance(m, AuditMiddleware) for m in server.middleware)
