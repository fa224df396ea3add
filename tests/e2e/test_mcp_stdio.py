"""The installed `finops-mcp` console script over stdio, as Claude Desktop / Kiro launch it."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from mcp import StdioServerParameters
from mcp.client import Client

from tests.e2e.conftest import installed_cli


def params(env: dict[str, str], tmp_path) -> StdioServerParameters:  # type: ignore[no-untyped-def]
    return StdioServerParameters(command=installed_cli(), args=[], env=env, cwd=str(tmp_path))


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_all_three_tools_over_stdio(demo_env: dict[str, str], tmp_path, mode: str) -> None:  # type: ignore[no-untyped-def]
    async with Client(params(demo_env, tmp_path), mode=mode, read_timeout_seconds=120) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"get_cost", "run_finops_audit", "get_budget_status"}
        cost = await client.call_tool("get_cost", {"period": "last_30_days", "group_by": ["account"]})
        assert not cost.is_error and cost.structured_content["total"] > 0
        assert all(isinstance(r["keys"]["account"], str) for r in cost.structured_content["rows"])
        audit = await client.call_tool("run_finops_audit", {"checks": ["focus"]})
        assert not audit.is_error and audit.structured_content["summary"]["findings"] > 0
        budgets = await client.call_tool("get_budget_status", {})
        assert not budgets.is_error and budgets.structured_content["summary"]["total"] >= 4
        bad = await client.call_tool("get_cost", {"granularity": "hourly"})
        assert bad.is_error and "granularity" in bad.content[0].text
        again = await client.call_tool("get_cost", {"period": "last_30_days", "group_by": ["account"]})
        assert again.structured_content["meta"]["cached"] is True


async def test_tools_over_stdio_pass_the_validating_client_with_schemas_on(
    demo_env: dict[str, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    env = {**demo_env, "FINOPS_OUTPUT_SCHEMAS": "true"}
    async with Client(params(env, tmp_path), mode="legacy", read_timeout_seconds=120) as client:
        tools = (await client.list_tools()).tools
        assert all(t.output_schema for t in tools)
        for name, arguments in [
            ("get_cost", {"include_forecast": True}),
            ("run_finops_audit", {"limit": 3}),
            ("get_budget_status", {}),
        ]:
            result = await client.call_tool(name, arguments)  # the client raises on a schema mismatch
            assert not result.is_error and result.structured_content, name


def test_stdout_carries_only_protocol_messages(demo_env: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Raw JSON-RPC over the pipe: every stdout line must be a JSON-RPC message; logs go to stderr."""
    env = {**os.environ, **demo_env, "FINOPS_LOG_LEVEL": "DEBUG"}
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {
                "name": "get_cost",
                "arguments": {"period": "last_7_days"},
                "_meta": {"progressToken": "p1"},
            },
        },
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "get_cost", "arguments": {"nope": 1}},
        },
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "tools/call",
            "params": {"name": "run_finops_audit", "arguments": {}},
        },
    ]
    proc = subprocess.Popen(
        [installed_cli()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        text=True,
    )
    assert proc.stdin and proc.stdout
    for message in messages:
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
    answers: dict[int, dict] = {}
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while len(answers) < 5 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        data = json.loads(line)  # a non-JSON line on stdout fails here
        assert data.get("jsonrpc") == "2.0"
        if "id" in data:
            answers[data["id"]] = data
    proc.terminate()
    _, stderr = proc.communicate(timeout=30)
    assert set(answers) == {1, 2, 3, 4, 5}, (answers.keys(), stderr[-2000:])
    assert answers[3]["result"]["isError"] is False
    assert answers[4]["result"]["isError"] is True and "nope" in answers[4]["result"]["content"][0]["text"]
    assert any(json.loads(x).get("method") == "notifications/progress" for x in lines)
    assert "AKIA" not in stderr


def test_bad_settings_fail_at_start_naming_the_variable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "FINOPS_MAX_WORKERS": "lots"}
    proc = subprocess.run(
        [installed_cli()], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, input=""
    )
    assert proc.returncode == 2
    assert "FINOPS_MAX_WORKERS" in proc.stderr and proc.stdout == ""
