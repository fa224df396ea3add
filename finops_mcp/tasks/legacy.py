"""2025-11-25: task-augmented requests on the wire (the handshake era).

The server declares `capabilities.tasks` (list, cancel, requests.tools.call) in its `initialize`
result and `execution.taskSupport: "optional"` on its task-capable tools; a `tools/call` carrying
`params.task` (`{ttl}`) is answered at once with a `CreateTaskResult` (`{task}`). `tasks/get`,
`tasks/result` (blocks until the task is terminal, then returns exactly what the call would have
returned), `tasks/list` and `tasks/cancel` follow, with `notifications/tasks/status` on status
changes and `notifications/progress` on the original request's progress token. Per this revision a
tool result with `isError: true` makes the task `failed` (`tasks/result` still returns that result).

Two things the SDK's handler layer cannot carry at this revision are done in a server middleware
(`MCPServer(middleware=...)`): the `tools/call` result sieve validates every result against
`CallToolResult`, which a `CreateTaskResult` is not, so the interceptor hands the task to the
middleware in an exception and the middleware answers with it; and `initialize` / `tools/list`
results are built without the `tasks` capability and `execution` field, so the middleware adds them.
This module only translates: the runtime does the work.
"""

from __future__ import annotations

from typing import Any, cast

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    CallToolRequestParams,
    PaginatedRequestParams,
    TaskStatusNotification,
    TaskStatusNotificationParams,
)

from finops_mcp.tasks import wire
from finops_mcp.tasks.runtime import TaskError, TaskHooks, owner_of
from finops_mcp.tasks.store import TaskRecord
from finops_mcp.tasks.wire import TaskEra

VERSION = "2025-11-25"
VERSIONS = frozenset({VERSION})
RELATED_TASK = "io.modelcontextprotocol/related-task"
CAPABILITY: dict[str, Any] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}


class TaskCreated(Exception):  # a signal, not an error
    """Carries a `CreateTaskResult` from the tools/call interceptor to the middleware."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("task created")
        self.result = result


def status_of(record: TaskRecord) -> str:
    """At 2025-11-25 a tool call whose result has `isError: true` is a failed task."""
    if record.status == "completed" and record.result is not None and record.result.get("isError"):
        return "failed"
    return record.status


def task_view(record: TaskRecord) -> dict[str, Any]:
    return wire.task_view(record, status=status_of(record), ttl="ttl", poll_interval="pollInterval")


class LegacyTasks(TaskEra):
    async def intercept(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.protocol_version not in VERSIONS or params.task is None:
            return await call_next(ctx)  # no task asked for (or not at this revision): a normal call
        tool = self.runtime.tool(params.name)
        if tool is None:
            raise MCPError(
                code=METHOD_NOT_FOUND,
                message=f"Tool {params.name!r} does not run as a task (execution.taskSupport is forbidden): "
                "call it without `task`",
            )
        try:
            record = await self.runtime.create(
                owner_of(ctx),
                tool.name,
                params.arguments or {},
                ttl_ms=params.task.ttl,
                hooks=self._hooks(ctx),
            )
        except TaskError as exc:
            raise exc.to_mcp() from None
        raise TaskCreated({"task": task_view(record)})

    @staticmethod
    def _hooks(ctx: ServerRequestContext[Any, Any]) -> TaskHooks:
        session = ctx.session  # its standalone channel outlives the tools/call request
        token = (ctx.meta or {}).get("progressToken")
        if not isinstance(token, str | int):
            token = None

        async def on_status(record: TaskRecord) -> None:
            params = TaskStatusNotificationParams.model_validate(task_view(record))
            # TaskStatusNotification is outside the SDK's ServerNotification union (types-only).
            await session.send_notification(cast(Any, TaskStatusNotification(params=params)))

        async def on_progress(record: TaskRecord, done: int, total: int, what: str) -> None:
            if token is not None:
                await session.send_progress_notification(token, done, total, f"{done}/{total} {what}")

        return TaskHooks(on_status=on_status, on_progress=on_progress)

    async def get(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> dict[str, Any]:
        return task_view(await self.runtime.get(owner_of(ctx), task_id))

    async def result(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> dict[str, Any]:
        record = await self.runtime.wait(owner_of(ctx), task_id)
        related = {RELATED_TASK: {"taskId": record.task_id}}
        if record.status == "completed" and record.result is not None:
            result = {k: v for k, v in record.result.items() if k != "resultType"}  # 2026-07-28 only
            return {**result, "_meta": {**result.get("_meta", {}), **related}}
        if record.status == "failed" and record.error is not None:
            error = record.error
            raise MCPError(code=error["code"], message=error["message"], data=error.get("data"))
        raise MCPError(
            code=INVALID_REQUEST,
            message=f"Task {task_id[:64]!r} was cancelled before it finished: it has no result",
        )

    async def list(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams
    ) -> dict[str, Any]:
        records, cursor = await self.runtime.page(owner_of(ctx), params.cursor)
        listed: dict[str, Any] = {"tasks": [task_view(r) for r in records]}
        if cursor is not None:
            listed["nextCursor"] = cursor
        return listed

    async def cancel(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> dict[str, Any]:
        return task_view(await self.runtime.cancel(owner_of(ctx), task_id))

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call":
            try:
                return await call_next(ctx)
            except TaskCreated as created:
                return created.result
        result = await call_next(ctx)
        if not isinstance(result, dict):
            return result
        if ctx.method == "initialize" and result.get("protocolVersion") in VERSIONS:
            result["capabilities"] = {**result.get("capabilities", {}), "tasks": CAPABILITY}
        elif ctx.method == "tools/list" and ctx.protocol_version in VERSIONS:
            for tool in result.get("tools", ()):
                if tool.get("name") in self.runtime.tool_names:
                    tool["execution"] = {**tool.get("execution", {}), "taskSupport": "optional"}
        return result
