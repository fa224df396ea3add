"""MCP tasks through real `mcp.client.Client`s, in-process, in both protocol eras.

"auto" = 2026-07-28 (the `io.modelcontextprotocol/tasks` extension, opted in by the client-side
`TasksClient` extension); "legacy" = 2025-11-25 (task-augmented `tools/call`). The audits run on
the FakeProvider, whose latency and failures make timing and cancellation deterministic.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from finops_mcp.providers import Registry
from finops_mcp.server import build_server
from finops_mcp.service import FinOpsService
from finops_mcp.settings import Settings, load_settings
from tests.fakes import task_client as tc
from tests.fakes.provider import FakeProvider

MODES = ["legacy", "auto"]
AUDIT = {"min_monthly_cost": 1}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in list(os.environ):
        if key.startswith("FINOPS_"):
            monkeypatch.delenv(key)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"max_workers": 2, "task_poll_interval_seconds": 0.02, "log_level": "WARNING"}
    return load_settings(**(base | overrides))


@asynccontextmanager
async def connect(
    mode: str, provider: FakeProvider, *, opt_in: bool = True, **overrides: Any
) -> AsyncIterator[tuple[Client, tc.TasksClient]]:
    """A fresh server (and service) over the provider; the client opts in to tasks unless told not to."""
    config = settings(**overrides)
    service = FinOpsService(config, registry=Registry.of({"fake": provider}))
    ext = tc.TasksClient()
    client = Client(build_server(config, service=service), mode=mode, extensions=[ext] if opt_in else None)
    async with client:
        yield client, ext


def comparable(report: dict[str, Any] | None) -> dict[str, Any]:
    assert report is not None
    data = copy.deepcopy(report)
    data["meta"].pop("duration_ms")
    # a second answer comes from the kept result: same findings, its own id, `cached` true
    data["meta"].pop("cached")
    data.pop("report_uri", None)
    data.pop("next_cursor", None)
    return data


async def synchronous(tool: str, arguments: dict[str, Any], provider: FakeProvider) -> CallToolResult:
    async with connect("legacy", provider, opt_in=False) as (client, _):
        return await client.call_tool(tool, arguments)


async def create(mode: str, client: Client, arguments: dict[str, Any] = AUDIT, **kw: Any) -> str:
    """Start an audit task; its id."""
    if mode == "legacy":
        task = await tc.call_as_task(client.session, "run_finops_audit", arguments, **kw)
        assert task.status == "working" and task.ttl and task.poll_interval == 20
        return task.task_id
    created = await client.session.call_tool("run_finops_audit", arguments, allow_claimed=True)
    assert isinstance(created, tc.CreatedTask), created
    assert created.status == "working" and created.ttl_ms and created.poll_interval_ms == 20
    return created.task_id


async def status(mode: str, client: Client, task_id: str) -> tuple[str, str | None]:
    if mode == "legacy":
        task = await tc.legacy_get(client.session, task_id)
        return task.status, task.status_message
    detailed = await tc.get_task(client.session, task_id)
    return detailed.status, detailed.status_message


async def until(predicate: Callable[[], bool], limit: float = 5.0) -> None:
    with anyio.fail_after(limit):
        while not predicate():
            await anyio.sleep(0.01)


def fanout_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("finops-fanout")]


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_task_result_equals_the_synchronous_result(mode: str) -> None:
    expected = await synchronous("run_finops_audit", AUDIT, FakeProvider())
    async with connect(mode, FakeProvider(latency=0.05)) as (client, ext):
        task_id = await create(mode, client)
        if mode == "legacy":
            result = await tc.legacy_result(client.session, task_id)  # blocks until the task is done
            done = await tc.legacy_get(client.session, task_id)
            assert done.status == "completed" and done.status_message == "Completed"
            assert result.meta == {"io.modelcontextprotocol/related-task": {"taskId": task_id}}
            listed = await tc.legacy_list(client.session)
            assert [t.task_id for t in listed.tasks] == [task_id] and listed.tasks[0].status == "completed"
            await until(lambda: bool(ext.statuses))
            assert [(s.task_id, s.status) for s in ext.statuses] == [(task_id, "completed")]
        else:
            tc.SEEN.clear()
            detailed = await tc.poll(client.session, task_id)
            assert detailed.status == "completed" and detailed.error is None
            messages = [t.status_message for t in tc.SEEN if t.status == "working"]
            assert any(re.fullmatch(r"\d/4 audit focus:\w/r\d", m or "") for m in messages), messages
            result = CallToolResult.model_validate(detailed.result)
            # the extension's claim resolves a task transparently: call_tool returns the final result
            resolved = await client.call_tool("run_finops_audit", AUDIT)
            assert len(ext.created) == 1 and comparable(resolved.structured_content) == comparable(
                expected.structured_content
            )
    assert not result.is_error and not expected.is_error
    assert comparable(result.structured_content) == comparable(expected.structured_content)
    assert json.loads(result.content[0].text) == result.structured_content


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_that_does_not_opt_in_gets_a_normal_result_with_progress(mode: str) -> None:
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with connect(mode, FakeProvider(), opt_in=False) as (client, _):
        result = await client.call_tool("run_finops_audit", AUDIT, progress_callback=on_progress)
        tools = {t.name: t for t in (await client.list_tools()).tools}
        capabilities = client.server_capabilities
    assert isinstance(result, CallToolResult) and not result.is_error
    assert result.structured_content and result.structured_content["summary"]["findings"] == 12
    assert progress and progress[-1] == 4
    if mode == "legacy":
        assert capabilities.tasks is not None and capabilities.tasks.requests.tools.call is not None
        assert capabilities.tasks.list is not None and capabilities.tasks.cancel is not None
        support = {name: t.execution.task_support if t.execution else None for name, t in tools.items()}
        assert support == {"run_finops_audit": "optional", "get_cost": "optional", "get_budget_status": None}
    else:
        assert capabilities.extensions == {"io.modelcontextprotocol/tasks": {}}


@pytest.mark.parametrize("mode", MODES)
async def test_cancel_mid_run_stops_the_work(mode: str) -> None:
    fake = FakeProvider(latency=0.5)  # 2 scopes x 2 regions, 2 at a time: 2 run, 2 wait
    audits = lambda: [c for c in fake.calls if c[0] == "audit"]  # noqa: E731
    async with connect(mode, fake) as (client, ext):
        task_id = await create(mode, client)
        await until(lambda: len(audits()) == 2)
        started = time.monotonic()
        if mode == "legacy":
            answer = await tc.legacy_cancel(client.session, task_id)
            assert answer.status == "cancelled"  # transitioned before the answer
        else:
            await tc.cancel_task(client.session, task_id)
        while (await status(mode, client, task_id))[0] != "cancelled":
            await anyio.sleep(0.01)
        assert time.monotonic() - started < 1.0
        await until(lambda: not fanout_threads(), limit=1.0)  # the running scope calls ended too
        await anyio.sleep(0.6)  # longer than a call: the queued scopes never started
        assert len(audits()) == 2
        assert await status(mode, client, task_id) == ("cancelled", "Cancelled by the client")
        if mode == "legacy":
            with pytest.raises(MCPError, match="cancelled"):
                await tc.legacy_result(client.session, task_id)
            with pytest.raises(MCPError, match="terminal status 'cancelled'") as err:
                await tc.legacy_cancel(client.session, task_id)
            assert err.value.code == -32602
            await until(lambda: bool(ext.statuses))
            assert ext.statuses[-1].status == "cancelled"
        else:
            await tc.cancel_task(client.session, task_id)  # cancelling again: acknowledged, no change


@pytest.mark.parametrize("mode", MODES)
async def test_expired_tasks_are_purged_and_reported_not_found(mode: str) -> None:
    async with connect(mode, FakeProvider(), task_ttl_seconds=0.4 if mode == "auto" else 60) as (client, _):
        task_id = await create(mode, client, **({"ttl": 400} if mode == "legacy" else {}))
        while (await status(mode, client, task_id))[0] == "working":
            await anyio.sleep(0.02)
        await anyio.sleep(0.45)
        with pytest.raises(MCPError, match="expired") as err:
            await status(mode, client, task_id)
        assert err.value.code == -32602
        with pytest.raises(MCPError, match="no such task"):
            if mode == "legacy":
                await tc.legacy_result(client.session, task_id)
            else:
                await tc.get_task(client.session, task_id)


class BrokenProvider(FakeProvider):
    def checks(self) -> list[Any]:
        raise RuntimeError("the check catalog is broken")


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_audit(mode: str) -> None:
    every_scope_fails = FakeProvider(fail={"a": ("auth", False), "b": ("forbidden", False)})
    async with connect(mode, every_scope_fails) as (client, _):
        task_id = await create(mode, client)
        if mode == "legacy":  # 2025-11-25: a result with isError makes the task failed
            task = await tc.legacy_poll(client.session, task_id)
            assert task.status == "failed" and task.status_message.startswith(
                "Tool error: Every scope failed"
            )
            result = await tc.legacy_result(client.session, task_id)
        else:  # 2026-07-28: `failed` is for JSON-RPC errors only; a tool error is a completed call
            detailed = await tc.poll(client.session, task_id)
            assert detailed.status == "completed" and detailed.status_message.startswith("Tool error:")
            result = CallToolResult.model_validate(detailed.result)
    assert result.is_error
    assert {(e["scope"], e["code"]) for e in result.structured_content["errors"]} == {
        ("focus:a", "auth"),
        ("focus:b", "forbidden"),
    }
    async with connect(mode, BrokenProvider()) as (client, _):
        task_id = await create(mode, client)
        if mode == "legacy":
            assert (await tc.legacy_poll(client.session, task_id)).status == "failed"
            with pytest.raises(MCPError, match="RuntimeError: the check catalog is broken") as err:
                await tc.legacy_result(client.session, task_id)
            assert err.value.code == -32603
        else:
            detailed = await tc.poll(client.session, task_id)
            assert detailed.status == "failed" and detailed.error["code"] == -32603
            assert "check catalog is broken" in detailed.error["message"]


@pytest.mark.parametrize("mode", MODES)
async def test_results_survive_a_restart_with_the_sqlite_store(mode: str, tmp_path: Path) -> None:
    store = {"task_store": f"sqlite:///{tmp_path}/state/tasks.db"}
    async with connect(mode, FakeProvider(latency=0.2), **store) as (client, _):
        done_id = await create(mode, client)
        while (await status(mode, client, done_id))[0] == "working":
            await anyio.sleep(0.02)
        running_id = await create(mode, client, {"checks": ["fake.disk"]})
        before = await (
            tc.legacy_result(client.session, done_id)
            if mode == "legacy"
            else tc.get_task(client.session, done_id)
        )
    # the server stopped (its lifespan ended) with one task still running: a new server, same file
    async with connect(mode, FakeProvider(), **store) as (client, _):
        after = await (
            tc.legacy_result(client.session, done_id)
            if mode == "legacy"
            else tc.get_task(client.session, done_id)
        )
        stopped, message = await status(mode, client, running_id)
        if mode == "legacy":
            listed = {t.task_id: t.status for t in (await tc.legacy_list(client.session)).tasks}
            assert listed == {done_id: "completed", running_id: "failed"}
    assert after == before
    assert stopped == "failed" and message and "server stopped" in message


async def test_running_tasks_are_capped_and_errors_are_clear() -> None:
    async with connect("auto", FakeProvider(latency=0.3), max_tasks=1) as (client, _):
        task_id = await create("auto", client)
        with pytest.raises(MCPError, match="FINOPS_MAX_TASKS=1") as err:
            await create("auto", client)
        assert err.value.code == -32600
        await tc.update_task(client.session, task_id, {"unknown": {"action": "accept"}})  # ignored, acked
        await tc.cancel_task(client.session, task_id)
        with pytest.raises(MCPError, match="no such task") as err:
            await tc.get_task(client.session, "not-a-task")
        assert err.value.code == -32602
        with pytest.raises(MCPError):  # tasks/result and tasks/list belong to 2025-11-25
            await tc.legacy_list(client.session)
    async with connect("auto", FakeProvider(), opt_in=False) as (client, _):
        with pytest.raises(MCPError) as err:  # tasks/* need the client to declare the extension
            await tc.get_task(client.session, task_id)
        assert err.value.code == -32021


async def test_legacy_refuses_tasks_for_tools_that_do_not_support_them() -> None:
    async with connect("legacy", FakeProvider()) as (client, _):
        with pytest.raises(MCPError, match="taskSupport") as err:
            await tc.call_as_task(client.session, "get_budget_status", {})
        assert err.value.code == -32601
        with pytest.raises(MCPError):  # tasks/update belongs to 2026-07-28
            await tc.update_task(client.session, "x", {})
        ok = await client.call_tool("get_budget_status", {})  # and the server keeps answering
        assert not ok.is_error


async def test_get_cost_is_a_task_only_over_long_ranges() -> None:
    async with connect("auto", FakeProvider()) as (client, _):
        short = await client.session.call_tool("get_cost", {"period": "last_7_days"}, allow_claimed=True)
        assert isinstance(short, CallToolResult) and not short.is_error
        arguments = {"start_date": "2026-01-01", "end_date": "2026-09-30", "group_by": ["service"]}
        long = await client.session.call_tool("get_cost", arguments, allow_claimed=True)
        assert isinstance(long, tc.CreatedTask)
        detailed = await tc.poll(client.session, long.task_id)
    expected = await synchronous("get_cost", arguments, FakeProvider())
    assert detailed.status == "completed"
    assert comparable(detailed.result["structuredContent"]) == comparable(expected.structured_content)


@contextmanager
def serve_http(app: Any) -> Iterator[str]:
    """`app` on 127.0.0.1 (uvicorn in a daemon thread); its MCP endpoint URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the HTTP server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_over_http_a_task_is_visible_only_to_the_session_that_made_it() -> None:
    config = settings()
    server = build_server(
        config, service=FinOpsService(config, registry=Registry.of({"fake": FakeProvider()}))
    )
    with serve_http(server.streamable_http_app()) as url:
        async with Client(url, mode="legacy") as a, Client(url, mode="legacy") as b:
            task = await tc.call_as_task(a.session, "run_finops_audit", AUDIT)
            assert (await tc.legacy_poll(a.session, task.task_id)).status == "completed"
            for call in (tc.legacy_get, tc.legacy_result, tc.legacy_cancel):
                with pytest.raises(MCPError, match="no such task"):
                    await call(b.session, task.task_id)
            assert (await tc.legacy_list(b.session)).tasks == []
            assert [t.task_id for t in (await tc.legacy_list(a.session)).tasks] == [task.task_id]
        ext = tc.TasksClient()
        async with Client(url, mode="auto", extensions=[ext]) as modern:  # stateless: the id is the key
            result = await modern.call_tool("run_finops_audit", AUDIT)
    assert not result.is_error and len(ext.created) == 1
