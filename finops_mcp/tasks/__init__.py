"""Long tool calls as MCP tasks, in both protocol eras, on the SDK's public extension points.

`TaskSupport(settings, tools)` gives the server two things to install:
- `extension`: an `mcp.server.extension.Extension` (`io.modelcontextprotocol/tasks`) serving
  `tasks/get` and `tasks/cancel` (both eras), `tasks/update` (2026-07-28), `tasks/result` and
  `tasks/list` (2025-11-25), and intercepting `tools/call` to answer with a task when the client
  opted in (2026-07-28: per-request extension capability; 2025-11-25: `params.task`);
- `middleware`: what the 2025-11-25 wire needs beyond the handler layer (see legacy.py).
Both eras share one runtime and store (runtime.py, store.py); modern.py and legacy.py only
translate wire formats. Clients that do not opt in get the tools' ordinary synchronous answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp_types import CallToolRequestParams, PaginatedRequestParams

from finops_mcp.errors import redact
from finops_mcp.tasks import legacy, modern
from finops_mcp.tasks.runtime import TaskError, TaskRuntime, TaskTool
from finops_mcp.tasks.wire import TaskEra, TaskIdParams

if TYPE_CHECKING:
    from finops_mcp.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["TaskSupport", "TaskTool", "TasksExtension"]


class TasksExtension(Extension):
    identifier = modern.EXTENSION_ID

    def __init__(self, runtime: TaskRuntime) -> None:
        self.runtime = runtime
        self.modern = modern.ModernTasks(runtime)
        self.legacy = legacy.LegacyTasks(runtime)

    def methods(self) -> Sequence[MethodBinding]:
        both = modern.VERSIONS | legacy.VERSIONS
        return (
            MethodBinding("tasks/get", TaskIdParams, self._get, protocol_versions=both),
            MethodBinding("tasks/cancel", TaskIdParams, self._cancel, protocol_versions=both),
            MethodBinding(
                "tasks/update", modern.UpdateTaskParams, self._update, protocol_versions=modern.VERSIONS
            ),
            MethodBinding("tasks/result", TaskIdParams, self._result, protocol_versions=legacy.VERSIONS),
            MethodBinding(
                "tasks/list", PaginatedRequestParams, self._list, protocol_versions=legacy.VERSIONS
            ),
        )

    def _era(self, ctx: ServerRequestContext[Any, Any]) -> TaskEra:
        return self.modern if modern.is_modern(ctx) else self.legacy

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        return await self._era(ctx).intercept(params, ctx, call_next)

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> HandlerResult:
        return await _mcp_errors(self._era(ctx).get(ctx, params.task_id))

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> HandlerResult:
        return await _mcp_errors(self._era(ctx).cancel(ctx, params.task_id))

    async def _update(
        self, ctx: ServerRequestContext[Any, Any], params: modern.UpdateTaskParams
    ) -> HandlerResult:
        return await _mcp_errors(self.modern.update(ctx, params))

    async def _result(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> HandlerResult:
        return await _mcp_errors(self.legacy.result(ctx, params.task_id))

    async def _list(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams
    ) -> HandlerResult:
        return await _mcp_errors(self.legacy.list(ctx, params))


async def _mcp_errors(answer: Awaitable[HandlerResult]) -> HandlerResult:
    """A task method's answer; a TaskError (unknown id, not the owner...) as the MCP error it names."""
    try:
        return await answer
    except TaskError as exc:
        raise exc.to_mcp() from None


class TaskSupport:
    """The tasks runtime of one server, built from settings (nothing is opened until first use)."""

    def __init__(self, settings: Settings, tools: Sequence[TaskTool]) -> None:
        self.runtime = TaskRuntime(
            settings.task_store,
            tools,
            max_tasks=settings.max_tasks,
            ttl_seconds=settings.task_ttl_seconds,
            poll_interval_seconds=settings.task_poll_interval_seconds,
        )
        self.extension = TasksExtension(self.runtime)
        self.middleware = self.extension.legacy.middleware

    async def start(self) -> None:
        """Server start: with a durable store, fail the tasks a dead server process left behind."""
        if self.runtime.store_url != "memory":
            try:
                await self.runtime.recover()
            except Exception as exc:  # the server starts anyway; tasks/get checks each task again
                log.warning("could not check the task store for orphaned tasks: %s", redact(str(exc)))

    async def close(self) -> None:
        await self.runtime.close()
