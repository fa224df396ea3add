"""MCP tasks over stdio with the installed `finops-mcp`, both eras, and a restart on the SQLite store."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters
from mcp.client import Client
from mcp_types import CallToolResult

from tests.e2e.conftest import installed_cli
from tests.e2e.rawstdio import RawServer, hanging_aws
from tests.fakes import task_client as tc

AUDIT = {"checks": ["focus"], "min_monthly_cost": 5}


def comparable(report: dict[str, Any] | None) -> dict[str, Any]:
    assert report is not None
    data = copy.deepcopy(report)
    data["meta"].pop("duration_ms")
    # a second answer comes from the kept result: same findings, its own id, `cached` true
    data["meta"].pop("cached")
    data.pop("report_uri", None)
    data.pop("next_cursor", None)
    return data


def params(env: dict[str, str], tmp_path: Path) -> StdioServerParameters:
    return StdioServerParameters(command=installed_cli(), args=[], env=env, cwd=str(tmp_path))


async def test_audit_tasks_over_stdio_in_both_eras_and_across_a_restart(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    """A 2025-11-25 process answers synchronously and as a task; after a restart on the same store,
    a 2026-07-28 process still serves that task's result, and runs its own task."""
    env = demo_env | {
        "FINOPS_TASK_STORE": f"sqlite:///{tmp_path}/tasks.db",
        "FINOPS_TASK_POLL_INTERVAL_SECONDS": "0.05",
    }
    async with Client(params(env, tmp_path), mode="legacy", read_timeout_seconds=60) as c:
        sync = await c.call_tool("run_finops_audit", AUDIT)  # no `task`: answered synchronously
        expected = comparable(sync.structured_content)
        task = await tc.call_as_task(c.session, "run_finops_audit", AUDIT, ttl=60_000)
        assert (await tc.legacy_poll(c.session, task.task_id)).status == "completed"
        result = await tc.legacy_result(c.session, task.task_id)
    assert not sync.is_error and not result.is_error
    assert comparable(result.structured_content) == expected
    ext = tc.TasksClient()
    async with Client(params(env, tmp_path), mode="auto", extensions=[ext], read_timeout_seconds=60) as c:
        again = await tc.get_task(c.session, task.task_id)  # made by the previous process
        assert again.status == "completed"
        assert comparable(again.result["structuredContent"]) == expected
        created = await c.session.call_tool("run_finops_audit", AUDIT, allow_claimed=True)
        assert isinstance(created, tc.CreatedTask) and created.poll_interval_ms == 50
        detailed = await tc.poll(c.session, created.task_id)
        resolved = await c.call_tool("run_finops_audit", AUDIT)  # the claim resolves it transparently
    assert detailed.status == "completed"
    assert comparable(CallToolResult.model_validate(detailed.result).structured_content) == expected
    assert comparable(resolved.structured_content) == expected and len(ext.created) == 1


def test_after_kill_9_a_restarted_server_fails_the_dead_servers_task_at_once(tmp_path: Path) -> None:
    with hanging_aws(tmp_path) as env:  # AWS answers nothing: the audit task stays `working`
        got, result = _killed_and_restarted(env, tmp_path)
    assert got["status"] == "failed" and "restarted" in got["statusMessage"]
    assert result["error"]["code"] == -32603 and "stopped before it finished" in result["error"]["message"]


def _killed_and_restarted(env: dict[str, str], tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    first = RawServer(env, tmp_path)
    try:
        created = first.call(
            "tools/call", {"name": "run_finops_audit", "arguments": {}, "task": {"ttl": 600_000}}
        )
        task_id = created["result"]["task"]["taskId"]
        assert first.call("tasks/get", {"taskId": task_id})["result"]["status"] == "working"
    finally:
        first.kill()  # SIGKILL: no shutdown code runs, the row stays `working`
    second = RawServer(env, tmp_path)
    try:
        started = time.monotonic()
        got = second.call("tasks/get", {"taskId": task_id}, timeout=5)["result"]
        result = second.call("tasks/result", {"taskId": task_id}, timeout=5)
        assert time.monotonic() - started < 5  # answered at once, not at the end of the TTL
    finally:
        second.stop()
    return got, result
