"""2026-07-28: the tasks extension `io.modelcontextprotocol/tasks` on the wire.

A client opts in per request by listing the extension in
`_meta["io.modelcontextprotocol/clientCapabilities"].extensions`; the server then decides per call
whether to answer `tools/call` with a task (`resultType: "task"`). `tasks/get` inlines the result
once completed (progress travels as `statusMessage`), `tasks/update` acknowledges (these tools never
ask for input), `tasks/cancel` acknowledges with an empty result. Per the extension, a tool result
with `isError: true` is `completed` (the error is in `result`); `failed` carries a JSON-RPC `error`.
This module only translates: the runtime does the work.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import require_client_extension
from mcp_types import CallToolRequestParams, RequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from finops_mcp.tasks import wire
from finops_mcp.tasks.runtime import TaskError, TaskFinished, owner_of
from finops_mcp.tasks.store import TaskRecord
from finops_mcp.tasks.wire import TaskEra

EXTENSION_ID = "io.modelcontextprotocol/tasks"
VERSIONS = frozenset(MODERN_PROTOCOL_VERSIONS)


class UpdateTaskParams(RequestParams):
    task_id: str
    input_responses: dict[str, Any] = Field(default_factory=dict)


def is_modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version in VERSIONS


def opted_in(ctx: ServerRequestContext[Any, Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    return bool(capabilities and capabilities.extensions and EXTENSION_ID in capabilities.extensions)


def task_view(record: TaskRecord) -> dict[str, Any]:
    return wire.task_view(record, status=record.status, ttl="ttlMs", poll_interval="pollIntervalMs")


def detailed_view(record: TaskRecord) -> dict[str, Any]:
    """A `DetailedTask`: the final result inlined when completed, the error when failed."""
    view = task_view(record)
    if record.status == "completed" and record.result is not None:
        view["result"] = record.result
    elif record.status == "failed":
        view["error"] = record.error or {"code": -32603, "message": record.status_message or "failed"}
    return view


class ModernTasks(TaskEra):
    async def intercept(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        tool = self.runtime.tool(params.name)
        arguments = params.arguments or {}
        if tool is None or not opted_in(ctx) or not tool.server_directed(arguments):
            return await call_next(ctx)
        try:
            record = await self.runtime.create(owner_of(ctx), tool.name, arguments)
        except TaskError as exc:
            raise exc.to_mcp() from None
        return {"resultType": "task", **task_view(record)}

    async def get(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> dict[str, Any]:
        require_client_extension(ctx, EXTENSION_ID)
        record = await self.runtime.get(owner_of(ctx), task_id)
        return {"resultType": "complete", **detailed_view(record)}

    async def cancel(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> dict[str, Any]:
        require_client_extension(ctx, EXTENSION_ID)
        with contextlib.suppress(TaskFinished):  # advisory here: a finished task stays as it ended
            await self.runtime.cancel(owner_of(ctx), task_id)
        return {"resultType": "complete"}

    async def update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        require_client_extension(ctx, EXTENSION_ID)
        # No task of this server ever asks for input, so no inputResponses key is outstanding:
        # per the extension they are ignored; the task must exist.
        await self.runtime.get(owner_of(ctx), params.task_id)
        return {"resultType": "complete"}
