"""The task runtime both protocol eras share: create, run, observe, cancel, expire.

A task-capable tool hands the runtime a `TaskTool`: its name and a `run(arguments, progress,
cancel)` coroutine that is the same code its synchronous call runs, minus the MCP request. The
runtime runs it as an asyncio task that outlives the `tools/call` request, keeps its live state
(progress as `status_message`) in memory, and writes the record to the store when it is created
and when it ends. Cancellation is real: the call's `CancelToken` is cancelled (queued scope calls
never start, running ones see the token) and its asyncio task is cancelled.

Visibility: `owner_of(ctx)` binds a task to the requestor's authorization context when there is
one (HTTP with OAuth), else to the streamable-HTTP session that created it; over stdio (one client
per server process) and unauthenticated 2026-07-28 HTTP the transport cannot tell clients apart,
and the unguessable task id (256 random bits) is what protects a task.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, CallToolResult, TextContent
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from finops_mcp.engine.context import Cancelled, CancelToken
from finops_mcp.errors import redact
from finops_mcp.tasks.liveness import runner_alive, this_runner
from finops_mcp.tasks.store import TaskRecord, TaskStatus, TaskStore, open_store

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], Awaitable[None]]
ToolRun = Callable[[dict[str, Any], ProgressFn, CancelToken], Awaitable[CallToolResult]]
StopReason = Literal["client", "expired", "shutdown"]
# How long tasks/cancel waits for the work to wind down before answering.
CANCEL_GRACE_SECONDS = 1.0


def _always(_arguments: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class TaskTool:
    """A tool that may run as a task. `server_directed(arguments)`: whether to make a task when
    the decision is the server's (2026-07-28: every opted-in call; 2025-11-25 clients decide)."""

    name: str
    run: ToolRun
    server_directed: Callable[[Mapping[str, Any]], bool] = _always


@dataclass(frozen=True)
class TaskHooks:
    """Era-specific side channels of one task (2025-11-25: status and progress notifications)."""

    on_status: Callable[[TaskRecord], Awaitable[None]] | None = None
    on_progress: Callable[[TaskRecord, int, int, str], Awaitable[None]] | None = None


class TaskError(Exception):
    """A tasks/* request that cannot be served; becomes a JSON-RPC error."""

    code = INVALID_PARAMS

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_mcp(self) -> MCPError:
        return MCPError(code=self.code, message=self.message)


class TaskNotFound(TaskError):
    pass


class TaskFinished(TaskError):
    pass


class BadCursor(TaskError):
    pass


class TaskLimitReached(TaskError):
    code = INVALID_REQUEST


@dataclass(eq=False)
class _Running:
    record: TaskRecord
    hooks: TaskHooks
    token: CancelToken = field(default_factory=CancelToken)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    job: asyncio.Task[None] | None = None
    expiry: asyncio.TimerHandle | None = None
    stop_reason: StopReason | None = None
    started: bool = False  # a task cancelled before its first step would never run its `finally`


def owner_of(ctx: Any) -> str:
    """Who may see a task created by this request (see the module docstring)."""
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.provider import principal_components

    token = get_access_token()
    if token is not None:  # the principal (client, issuer, subject) the SDK binds sessions to
        return "auth:" + json.dumps(principal_components(token))
    if getattr(ctx, "protocol_version", None) not in MODERN_PROTOCOL_VERSIONS:
        headers = getattr(getattr(ctx, "request", None), "headers", None)
        session_id = headers.get("mcp-session-id") if headers is not None else None
        if session_id:
            return f"session:{session_id}"
    return ""


def _call_dump(result: CallToolResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _first_text(result: CallToolResult) -> str:
    for block in result.content:
        if isinstance(block, TextContent):
            return redact(block.text.splitlines()[0] if block.text else "", limit=300)
    return ""


def encode_cursor(record: TaskRecord) -> str:
    raw = json.dumps([record.created_at, record.task_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        created, task_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(created), str(task_id)
    except (ValueError, TypeError, binascii.Error):
        raise BadCursor(f"Invalid cursor {cursor[:40]!r}: pass back a nextCursor from tasks/list") from None


class TaskRuntime:
    def __init__(
        self,
        store_url: str,
        tools: Sequence[TaskTool],
        *,
        max_tasks: int,
        ttl_seconds: float,
        poll_interval_seconds: float,
    ) -> None:
        self.store_url = store_url
        self.max_tasks = max_tasks
        self.max_ttl_ms = max(1, int(ttl_seconds * 1000))
        self.poll_interval_ms = max(1, int(poll_interval_seconds * 1000))
        self._tools = {tool.name: tool for tool in tools}
        self._store: TaskStore | None = None
        self._running: dict[str, _Running] = {}

    # ------------------------------------------------------------------ tools and store

    def tool(self, name: str) -> TaskTool | None:
        return self._tools.get(name)

    @property
    def tool_names(self) -> list[str]:
        return list(self._tools)

    @property
    def store(self) -> TaskStore:
        """Opened on first use: building the server never touches the store (or imports sqlite3)."""
        if self._store is None:
            self._store = open_store(self.store_url)
        return self._store

    def ttl_ms(self, requested: int | None) -> int:
        """The client's requested time-to-live (2025-11-25 `task.ttl`), capped by FINOPS_TASK_TTL_SECONDS."""
        if requested is None or requested <= 0:
            return self.max_ttl_ms
        return min(int(requested), self.max_ttl_ms)

    def _not_found(self, task_id: str, expired: bool = False) -> TaskNotFound:
        why = (
            "it has expired (a task and its result are kept for its ttl after creation; "
            f"at most FINOPS_TASK_TTL_SECONDS={self.max_ttl_ms / 1000:g}) and was deleted"
            if expired
            else "no such task on this server for this client (it may have expired and been deleted)"
        )
        return TaskNotFound(f"Failed to retrieve task {task_id[:64]!r}: {why}")

    # ------------------------------------------------------------------ lifecycle

    async def create(
        self,
        owner: str,
        tool_name: str,
        arguments: Mapping[str, Any],
        *,
        ttl_ms: int | None = None,
        hooks: TaskHooks | None = None,
    ) -> TaskRecord:
        """Start a task and return its seed state once `get` would find it (durably stored)."""
        tool = self._tools[tool_name]
        await self._purge()
        if len(self._running) >= self.max_tasks:
            raise TaskLimitReached(
                f"Too many tasks running ({len(self._running)}; FINOPS_MAX_TASKS={self.max_tasks}): "
                "wait for one to finish or cancel one with tasks/cancel, then call the tool again"
            )
        now = time.time()
        record = TaskRecord(
            task_id=secrets.token_urlsafe(32),
            owner=owner,
            tool=tool.name,
            status="working",
            created_at=now,
            updated_at=now,
            ttl_ms=self.ttl_ms(ttl_ms),
            poll_interval_ms=self.poll_interval_ms,
            status_message="Started",
            runner=this_runner(),
        )
        run = _Running(record, hooks or TaskHooks())
        self._running[record.task_id] = run  # holds the slot while the record is written
        try:
            await self.store.put(record)
        except BaseException:
            self._running.pop(record.task_id, None)
            raise
        loop = asyncio.get_running_loop()
        run.job = loop.create_task(self._execute(run, tool, dict(arguments)), name=f"finops-task-{tool.name}")
        run.expiry = loop.call_later(record.ttl_ms / 1000, self._stop, run, "expired")
        log.info("task %s… created for %s", record.task_id[:8], tool.name)
        return record.snapshot()

    async def _execute(self, run: _Running, tool: TaskTool, arguments: dict[str, Any]) -> None:
        record = run.record
        run.started = True

        async def progress(done: int, total: int, what: str) -> None:
            record.status_message = f"{done}/{total} {what}"
            record.updated_at = time.time()
            if run.hooks.on_progress is not None:
                await run.hooks.on_progress(record.snapshot(), done, total, what)

        status: TaskStatus = "failed"
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        try:
            run.token.raise_if_cancelled()
            call = await tool.run(arguments, progress, run.token)
            status, result = "completed", _call_dump(call)
            message = f"Tool error: {_first_text(call)}" if call.is_error else "Completed"
        except ToolError as exc:  # invalid arguments: the same isError result a synchronous call gives
            call = CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
            status, result, message = "completed", _call_dump(call), f"Tool error: {_first_text(call)}"
        except MCPError as exc:
            error, message = exc.error.model_dump(mode="json", exclude_none=True), exc.message
        except (asyncio.CancelledError, Cancelled):
            status, error, message = self._stopped(run)
        except Exception as exc:
            log.warning(
                "task %s… of %s failed: %s",
                record.task_id[:8],
                tool.name,
                type(exc).__name__,
                extra={"code": "internal"},
                exc_info=log.isEnabledFor(logging.DEBUG),  # the traceback only at DEBUG
            )
            message = redact(f"Internal error: {type(exc).__name__}: {exc}", limit=300)
            error = {"code": INTERNAL_ERROR, "message": message}
        await self._finish(run, status, result, error, message)

    def _stopped(self, run: _Running) -> tuple[TaskStatus, dict[str, Any] | None, str]:
        if run.stop_reason == "expired":
            message = f"The task ran past its time-to-live ({run.record.ttl_ms / 1000:g} s) and was stopped"
            return "failed", {"code": INTERNAL_ERROR, "message": message}, message
        if run.stop_reason == "shutdown":
            message = "The server stopped before the task finished: call the tool again"
            return "failed", {"code": INTERNAL_ERROR, "message": message}, message
        return "cancelled", None, "Cancelled"

    async def _finish(
        self,
        run: _Running,
        status: TaskStatus,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
        message: str,
    ) -> None:
        record = run.record
        if run.expiry is not None:
            run.expiry.cancel()
        changed = not record.terminal  # a task cancelled by the client stays cancelled
        if changed:
            record.status, record.result, record.error = status, result, error
            record.status_message = message
            record.updated_at = time.time()
        try:
            await self.store.put(record)
        except Exception:
            log.warning("task %s…: could not store its outcome", record.task_id[:8], exc_info=True)
        finally:
            self._running.pop(record.task_id, None)
            run.done.set()
        log.info("task %s… %s", record.task_id[:8], record.status)
        if changed:
            await self._notify(run)

    async def _notify(self, run: _Running) -> None:
        if run.hooks.on_status is None:
            return
        try:
            await run.hooks.on_status(run.record.snapshot())
        except Exception:  # notifications are advisory
            log.debug("task status notification failed", exc_info=True)

    def _stop(self, run: _Running, reason: StopReason) -> None:
        if run.stop_reason is None:
            run.stop_reason = reason
        run.token.cancel(f"task {reason}")
        if run.job is not None and run.started:
            run.job.cancel()

    # ------------------------------------------------------------------ requests

    async def get(self, owner: str, task_id: str) -> TaskRecord:
        run = self._running.get(task_id)
        record = run.record.snapshot() if run is not None else await self.store.get(task_id)
        if record is None or record.owner != owner:
            raise self._not_found(task_id)
        if run is None and not record.terminal and not runner_alive(record.runner):
            record = await self._fail_orphan(record)
        if record.expired():
            if run is not None:
                self._stop(run, "expired")
            await self.store.delete(task_id)
            raise self._not_found(task_id, expired=True)
        return record

    async def wait(self, owner: str, task_id: str) -> TaskRecord:
        """The task once it is terminal (tasks/result blocks until then)."""
        while True:
            record = await self.get(owner, task_id)
            if record.terminal:
                return record
            run = self._running.get(task_id)
            if run is not None:
                await run.done.wait()
            else:  # running in another live process sharing the store (a dead one's: see get)
                await anyio.sleep(record.poll_interval_ms / 1000)

    async def cancel(self, owner: str, task_id: str) -> TaskRecord:
        """Mark the task cancelled, stop its work, and wait (briefly) for the work to wind down."""
        record = await self.get(owner, task_id)
        if record.terminal:
            raise TaskFinished(f"Cannot cancel task: already in terminal status '{record.status}'")
        run = self._running.get(task_id)
        live = run.record if run is not None else record
        live.status, live.status_message, live.updated_at = (
            "cancelled",
            "Cancelled by the client",
            time.time(),
        )
        await self.store.put(live)
        if run is None:
            return live.snapshot()
        self._stop(run, "client")
        with anyio.move_on_after(CANCEL_GRACE_SECONDS):
            await run.done.wait()
        await self._notify(run)
        return live.snapshot()

    async def page(
        self, owner: str, cursor: str | None, limit: int = 50
    ) -> tuple[list[TaskRecord], str | None]:
        after = decode_cursor(cursor) if cursor else None
        await self._purge()
        records = await self.store.page(owner, after, limit + 1)
        more = len(records) > limit
        records = [
            self._running[r.task_id].record.snapshot() if r.task_id in self._running else r
            for r in records[:limit]
        ]
        return records, encode_cursor(records[-1]) if more else None

    async def recover(self) -> int:
        """Server start: fail the unfinished tasks of server processes that died (kill -9, crash,
        power loss), so that clients asking later get an answer at once; how many were failed."""
        if not self.store.durable:
            return 0  # a memory store's tasks died with their process
        orphans = [
            r
            for r in await self.store.unfinished(time.time())
            if r.task_id not in self._running and not runner_alive(r.runner)
        ]
        for record in orphans:
            await self._fail_orphan(record)
        if orphans:
            log.warning("%d task(s) of a server process that stopped were marked failed", len(orphans))
        return len(orphans)

    async def _fail_orphan(self, record: TaskRecord) -> TaskRecord:
        message = (
            "The server process running this task stopped before it finished (found when a server "
            "restarted on this task store): call the tool again"
        )
        record.status, record.status_message, record.updated_at = "failed", message, time.time()
        record.error = {"code": INTERNAL_ERROR, "message": message}
        await self.store.put(record)
        log.info("task %s… failed: its server process %s is gone", record.task_id[:8], record.runner)
        return record

    async def _purge(self) -> None:
        try:
            await self.store.purge(time.time())
        except Exception:  # never fail a request because the sweep failed
            log.warning("purging expired tasks failed", exc_info=True)

    async def close(self) -> None:
        """Server shutdown: running tasks end `failed` (the server stopped); the store is closed."""
        runs = list(self._running.values())
        for run in runs:
            self._stop(run, "shutdown")
        with anyio.move_on_after(CANCEL_GRACE_SECONDS * 2, shield=True):
            for run in runs:
                await run.done.wait()
        if self._store is not None:
            await self._store.close()
