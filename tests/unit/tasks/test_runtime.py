"""The shared task runtime with toy tools: lifecycle, cancellation, expiry, limits, visibility."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, TextContent

from finops_mcp.engine.context import Cancelled, CancelToken
from finops_mcp.tasks.runtime import (
    BadCursor,
    TaskFinished,
    TaskHooks,
    TaskLimitReached,
    TaskNotFound,
    TaskRuntime,
    TaskTool,
    owner_of,
)
from finops_mcp.tasks.store import TaskRecord

STEPS: list[str] = []


async def slow(arguments: dict[str, Any], progress: Any, cancel: CancelToken) -> CallToolResult:
    """Reports progress, checks its token between steps (as the fan-out does)."""
    for step in range(arguments.get("steps", 3)):
        await anyio.sleep(arguments.get("delay", 0.01))
        cancel.raise_if_cancelled()
        STEPS.append(f"{arguments.get('tag', '')}{step}")
        await progress(step + 1, arguments.get("steps", 3), f"step {step}")
    if arguments.get("fail") == "tool":
        raise ToolError("Invalid arguments for slow:\n- x: bad")
    if arguments.get("fail") == "mcp":
        raise MCPError(code=-32000, message="upstream went away", data={"scope": "a"})
    if arguments.get("fail") == "crash":
        raise RuntimeError("token=abcdefghijklmnopqrstuvwxyz0123456789 broke")
    is_error = arguments.get("fail") == "result"
    return CallToolResult(
        content=[TextContent(type="text", text="Every scope failed" if is_error else "ok")],
        structured_content={"n": arguments.get("steps", 3)},
        is_error=is_error,
    )


def runtime(tmp_path: Path | None = None, **kw: Any) -> TaskRuntime:
    options: dict[str, Any] = {"max_tasks": 4, "ttl_seconds": 60, "poll_interval_seconds": 0.05} | kw
    url = f"sqlite:///{tmp_path}/tasks.db" if tmp_path else "memory"
    return TaskRuntime(url, [TaskTool("slow", slow)], **options)


async def test_create_then_wait_gives_the_result_and_progress_as_status_message() -> None:
    rt = runtime()
    created = await rt.create("", "slow", {"steps": 3, "delay": 0.05})
    assert created.status == "working" and len(created.task_id) >= 40
    await anyio.sleep(0.08)
    assert (await rt.get("", created.task_id)).status_message == "1/3 step 0"
    done = await rt.wait("", created.task_id)
    assert done.status == "completed" and done.status_message == "Completed"
    assert done.result == {
        "content": [{"type": "text", "text": "ok"}],
        "structuredContent": {"n": 3},
        "isError": False,
        "resultType": "complete",
    }
    assert done.updated_at >= done.created_at and done.ttl_ms == 60_000 and done.poll_interval_ms == 50
    await rt.close()


@pytest.mark.parametrize(
    ("fail", "status", "code"),
    [
        ("result", "completed", None),
        ("tool", "completed", None),
        ("mcp", "failed", -32000),
        ("crash", "failed", INTERNAL_ERROR),
    ],
)
async def test_how_a_call_ends(fail: str, status: str, code: int | None) -> None:
    rt = runtime()
    done = await rt.wait("", (await rt.create("", "slow", {"steps": 1, "fail": fail})).task_id)
    assert done.status == status
    if code is None:  # a tool-level error is a completed call whose result says isError
        assert done.result is not None and done.result["isError"] is True and done.error is None
        assert done.status_message and done.status_message.startswith("Tool error: ")
    else:
        assert done.error is not None and done.error["code"] == code and done.result is None
    if fail == "crash":
        assert "abcdefghijklmnopqrstuvwxyz" not in done.error["message"]  # redacted
    await rt.close()


async def test_cancel_stops_the_work_and_stays_cancelled() -> None:
    STEPS.clear()
    seen: list[str] = []

    async def on_status(record: TaskRecord) -> None:
        seen.append(record.status)

    rt = runtime()
    created = await rt.create(
        "", "slow", {"steps": 50, "delay": 0.02, "tag": "c"}, hooks=TaskHooks(on_status=on_status)
    )
    await anyio.sleep(0.05)
    started = time.monotonic()
    cancelled = await rt.cancel("", created.task_id)
    assert time.monotonic() - started < 1.0
    assert cancelled.status == "cancelled"
    steps = len(STEPS)
    await anyio.sleep(0.1)
    assert len(STEPS) == steps < 50  # nothing ran after the cancel
    assert (await rt.get("", created.task_id)).status == "cancelled"
    assert seen == ["cancelled"]
    with pytest.raises(TaskFinished, match="terminal status 'cancelled'"):
        await rt.cancel("", created.task_id)
    await rt.close()


async def test_a_task_is_invisible_to_other_owners() -> None:
    rt = runtime()
    created = await rt.create("session:A", "slow", {"steps": 1})
    for call in (rt.get, rt.wait, rt.cancel):
        with pytest.raises(TaskNotFound, match="no such task"):
            await call("session:B", created.task_id)
    assert (await rt.page("session:B", None))[0] == []
    assert [r.task_id for r in (await rt.page("session:A", None))[0]] == [created.task_id]
    await rt.close()


async def test_expired_tasks_are_purged_with_a_clear_error() -> None:
    rt = runtime(ttl_seconds=0.2)
    created = await rt.create("", "slow", {"steps": 1})
    assert (await rt.wait("", created.task_id)).status == "completed"
    await anyio.sleep(0.25)
    with pytest.raises(TaskNotFound, match="expired") as err:
        await rt.get("", created.task_id)
    assert err.value.code == INVALID_PARAMS
    with pytest.raises(TaskNotFound, match="no such task"):  # purged: gone for good
        await rt.get("", created.task_id)


async def test_a_task_still_running_at_its_ttl_is_stopped() -> None:
    STEPS.clear()
    rt = runtime()
    created = await rt.create("", "slow", {"steps": 100, "delay": 0.02, "tag": "x"}, ttl_ms=150)
    await anyio.sleep(0.1)
    assert (await rt.get("", created.task_id)).status == "working"
    await anyio.sleep(0.15)
    steps = len(STEPS)
    await anyio.sleep(0.1)
    assert len(STEPS) == steps < 100
    with pytest.raises(TaskNotFound, match="expired"):
        await rt.get("", created.task_id)


async def test_requested_ttl_is_capped() -> None:
    rt = runtime(ttl_seconds=10)
    assert rt.ttl_ms(None) == rt.ttl_ms(0) == rt.ttl_ms(99_000_000) == 10_000
    assert rt.ttl_ms(500) == 500


async def test_running_tasks_are_capped() -> None:
    rt = runtime(max_tasks=2)
    ids = [(await rt.create("", "slow", {"steps": 20, "delay": 0.02})).task_id for _ in range(2)]
    with pytest.raises(TaskLimitReached, match="FINOPS_MAX_TASKS=2"):
        await rt.create("", "slow", {})
    await rt.cancel("", ids[0])
    assert (await rt.create("", "slow", {"steps": 1})).status == "working"  # a slot came free
    await rt.close()


async def test_list_pages_with_an_opaque_cursor() -> None:
    rt = runtime(max_tasks=10)
    ids = [(await rt.create("", "slow", {"steps": 1})).task_id for _ in range(5)]
    first, cursor = await rt.page("", None, limit=2)
    second, cursor2 = await rt.page("", cursor, limit=2)
    third, cursor3 = await rt.page("", cursor2, limit=2)
    assert [r.task_id for r in first + second + third] == ids and cursor3 is None
    with pytest.raises(BadCursor):
        await rt.page("", "not-a-cursor!")
    await rt.close()


async def test_shutdown_fails_running_tasks_and_sqlite_keeps_everything(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    done = await rt.wait("", (await rt.create("", "slow", {"steps": 1})).task_id)
    running = await rt.create("", "slow", {"steps": 100, "delay": 0.02})
    await rt.close()
    again = runtime(tmp_path)  # a restarted server
    assert await again.get("", done.task_id) == done
    stopped = await again.wait("", running.task_id)
    assert stopped.status == "failed" and "server stopped" in stopped.error["message"]
    await again.close()


async def test_token_cancellation_alone_ends_cancelled() -> None:
    async def obeys_token(arguments: dict[str, Any], progress: Any, cancel: CancelToken) -> CallToolResult:
        while True:
            await anyio.sleep(0.01)
            if cancel.cancelled:
                raise Cancelled("cancelled")

    rt = TaskRuntime(
        "memory", [TaskTool("t", obeys_token)], max_tasks=1, ttl_seconds=5, poll_interval_seconds=1
    )
    created = await rt.create("", "t", {})
    assert (await rt.cancel("", created.task_id)).status == "cancelled"
    await rt.close()


class _Ctx:
    def __init__(self, version: str, headers: Mapping[str, str] | None = None) -> None:
        self.protocol_version = version
        self.request = type("Req", (), {"headers": headers})() if headers is not None else None


def test_owner_is_the_auth_principal_else_the_http_session_else_shared() -> None:
    from mcp.server.auth.middleware.auth_context import auth_context_var
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken

    assert owner_of(_Ctx("2025-11-25")) == ""  # stdio / in-process: one client, nothing to tell apart
    assert owner_of(_Ctx("2025-11-25", {"mcp-session-id": "s1"})) == "session:s1"
    assert owner_of(_Ctx("2026-07-28", {"mcp-session-id": "s1"})) == ""  # no sessions at 2026-07-28
    user = AuthenticatedUser(AccessToken(token="t", client_id="c1", scopes=[], subject="alice"))
    reset = auth_context_var.set(user)
    try:
        owner = owner_of(_Ctx("2026-07-28"))
        assert owner.startswith("auth:") and "c1" in owner and "alice" in owner
        assert owner_of(_Ctx("2025-11-25", {"mcp-session-id": "s1"})) == owner
    finally:
        auth_context_var.reset(reset)


async def test_tasks_of_a_dead_server_process_are_failed_at_start_and_on_sight(tmp_path: Path) -> None:
    import subprocess
    import sys

    from finops_mcp.tasks.liveness import this_runner

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a server process that has exited (kill -9 or crash: same thing for its tasks)
    host, _, boot, _ = this_runner().split(":")
    dead_runner = f"{host}:{gone.pid}:{boot}:1"
    rt = runtime(tmp_path)
    now = time.time()
    for task_id, runner in (("orphan-1", dead_runner), ("orphan-2", dead_runner), ("live", this_runner())):
        await rt.store.put(
            TaskRecord(task_id, "", "slow", "working", now, now, 60_000, 50, "Started", runner=runner)
        )
    assert await rt.recover() == 2
    failed = await rt.get("", "orphan-1")
    assert failed.status == "failed" and "stopped before it finished" in failed.error["message"]  # type: ignore[index]
    assert "restarted" in failed.status_message  # type: ignore[operator]
    assert (await rt.get("", "live")).status == "working"  # this process: not touched
    # one that dies while this server runs is failed when a client asks (tasks/result answers at once)
    await rt.store.put(
        TaskRecord("orphan-3", "", "slow", "working", now, now, 60_000, 50, "Started", runner=dead_runner)
    )
    with anyio.fail_after(2):
        assert (await rt.wait("", "orphan-3")).status == "failed"
    assert (await rt.store.get("orphan-3")).status == "failed"  # type: ignore[union-attr]
    assert await runtime().recover() == 0  # a memory store has nothing to recover
    await rt.close()
