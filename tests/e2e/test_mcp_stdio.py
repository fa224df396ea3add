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
from tests.e2e.rawstdio import RawServer


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


DEEP = "[" * 10_000 + "]" * 10_000
# (raw line, id of the answer, JSON-RPC error code): JSON-RPC 2.0 section 5 wants every one answered.
MALFORMED = [
    ("{not json", None, -32700),
    ('{"jsonrpc": "2.0", "id": 11, "method": "tools/list"', None, -32700),  # cut short
    ("", None, -32700),
    ('{"jsonrpc": "2.0", "id": 12}', 12, -32600),  # no method
    ('{"jsonrpc": "2.0", "id": "s-13", "params": {}}', "s-13", -32600),
    ('{"jsonrpc": "1.0", "id": 14, "method": "tools/list"}', 14, -32600),
    ('{"jsonrpc": "2.0", "id": 15, "method": 7}', 15, -32600),
    ('{"jsonrpc": "2.0", "id": 16, "method": "tools/list", "params": [1]}', 16, -32600),
    ("[1, 2]", None, -32600),  # a batch
    ("42", None, -32600),
    ("{}", None, -32600),
    (
        '{"jsonrpc": "2.0", "id": 17, "method": "tools/call", "params": {"name": "get_cost", '
        f'"arguments": {{"filters": {DEEP}}}}}}}',
        17,
        -32600,
    ),
    (
        '{"jsonrpc": "2.0", "id": 18, "method": "tools/call", "params": {"name": "get_budget_status", '
        '"arguments": {"names": ["\\ud800"]}}}',
        18,
        -32602,
    ),
    ('{"jsonrpc": "2.0", "id": 19, "method": "no/such/method"}', 19, -32601),
    ('{"jsonrpc": "2.0", "id": 1.5, "method": "tools/list"}', None, -32600),  # MCP ids: str or int
    ('{"jsonrpc": "2.0", "id": true, "method": "tools/list"}', None, -32600),
]


def test_every_malformed_line_is_answered_and_the_server_keeps_serving(
    demo_env: dict[str, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    server = RawServer({**os.environ, **demo_env}, tmp_path)
    server.write(*(line for line, _, _ in MALFORMED))
    big = {"names": [f"budget-{i}" for i in range(100_000)]}  # far past maxItems: refused at once
    server.send(
        {
            "jsonrpc": "2.0",
            "id": 90,
            "method": "tools/call",
            "params": {"name": "get_budget_status", "arguments": big},
        },
        {
            "jsonrpc": "2.0",
            "id": 91,
            "method": "tools/call",
            "params": {"name": "get_budget_status", "arguments": {}},
        },
    )
    server.read(1 + len(MALFORMED) + 2)
    if os.path.exists("/proc/self/fd"):  # fd 0 diverted while serving: a child never reads the protocol
        assert os.readlink(f"/proc/{server.proc.pid}/fd/0") == os.devnull
    stderr = server.stop()
    answers = [*server.answers.values(), *server.unanswered_ids]
    errors = sorted(
        ((a["id"] if a["id"] is not None else "", a["error"]["code"]) for a in answers if "error" in a),
        key=str,
    )
    expected = sorted(((i if i is not None else "", c) for _, i, c in MALFORMED), key=str)
    assert errors == expected, stderr[-3000:]
    by_id = {a["id"]: a for a in answers if a["id"] is not None}
    assert by_id[90]["result"]["isError"] is True and "names" in by_id[90]["result"]["content"][0]["text"]
    assert by_id[91]["result"]["isError"] is False  # still serving
    assert "ud800" in by_id[18]["error"]["message"] and "names[0]" in by_id[18]["error"]["message"]
    # one stderr line per refused message, naming its code and correlation id
    refused = [x for x in stderr.splitlines() if "finops_mcp.stdio" in x]
    assert len(refused) == sum(1 for _, _, c in MALFORMED if c != -32601)
    for answer in answers:
        if "error" in answer and answer["error"]["code"] != -32601:
            cid = answer["error"]["data"]["correlation_id"]
            assert any(f"code={answer['error']['code']} cid={cid}" in x for x in refused)
    assert "Traceback" not in stderr


@pytest.mark.parametrize("level", ["WARNING", "DEBUG"])
def test_an_error_is_one_stderr_line_with_its_code_and_correlation_id(
    demo_env: dict[str, str], tmp_path, level: str
) -> None:  # type: ignore[no-untyped-def]
    """A handler that raises (the SDK logs it with its traceback): one line, the trace only at DEBUG."""
    env = {**os.environ, **demo_env, "FINOPS_LOG_LEVEL": level}
    server = RawServer(env, tmp_path)
    # wait for the answer before closing stdin: an EOF right behind the request may end the server
    # before it answers, which is not what this test is about
    answer = server.call("prompts/get", {"name": "no-such-prompt"}, timeout=60)
    assert "error" in answer
    _, stderr = server.proc.communicate(timeout=60)  # closes stdin: the client leaves
    proc = subprocess.CompletedProcess(server.proc.args, server.proc.returncode, "", stderr)
    failed = [x for x in proc.stderr.splitlines() if "handler for 'prompts/get' raised" in x]
    assert len(failed) == 1, proc.stderr[-2000:]
    assert failed[0].startswith("ERROR mcp.shared.jsonrpc_dispatcher code=ValueError cid=")
    assert failed[0].endswith("(ValueError: Unknown prompt: no-such-prompt)") or level == "DEBUG"
    assert ("Traceback (most recent call last):" in stderr) is (level == "DEBUG")


def test_requests_read_before_the_end_of_stdin_are_all_answered(demo_env: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`printf ... | finops-mcp-server`: stdin ends right behind the requests; each still gets its
    answer (the SDK alone cancels in-flight requests at EOF), then the server exits."""
    init = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "prompts/get", "params": {"name": "no-such-prompt"}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_cost", "arguments": {}}},
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "run_finops_audit", "arguments": {}},
        },
    ]
    proc = subprocess.run(
        [installed_cli()],
        input="".join(json.dumps(m) + "\n" for m in lines),
        env={**os.environ, **demo_env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    answers = {m["id"]: m for m in map(json.loads, proc.stdout.splitlines()) if "id" in m}
    assert sorted(answers) == [1, 2, 3, 4], proc.stderr[-2000:]
    assert "error" in answers[2]
    assert answers[3]["result"]["isError"] is False and answers[4]["result"]["isError"] is False
    assert proc.returncode == 0
