"""What both eras share: the interface each era's wire translation implements, small helpers."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mcp_types import RequestParams

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp_types import CallToolRequestParams

    from finops_mcp.tasks.runtime import TaskRuntime
    from finops_mcp.tasks.store import TaskRecord


class TaskIdParams(RequestParams):
    """Params of tasks/get, tasks/result, tasks/cancel: `{"taskId": ...}`."""

    task_id: str


def task_view(record: TaskRecord, *, status: str, ttl: str, poll_interval: str) -> dict[str, Any]:
    """A task as both eras show it; they differ in the status rule and two key names."""
    view: dict[str, Any] = {
        "taskId": record.task_id,
        "status": status,
        "createdAt": iso(record.created_at),
        "lastUpdatedAt": iso(record.updated_at),
        ttl: record.ttl_ms,
        poll_interval: record.poll_interval_ms,
    }
    if record.status_message:
        view["statusMessage"] = record.status_message
    return view


def iso(epoch: float) -> str:
    """ISO 8601 UTC timestamp with milliseconds, e.g. 2026-11-21T10:30:00.123Z."""
    return (
        datetime.fromtimestamp(epoch, tz=timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


class TaskEra:
    """One protocol era's tasks wire over the shared runtime: what the extension dispatches to."""

    def __init__(self, runtime: TaskRuntime) -> None:
        self.runtime = runtime

    async def intercept(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """A tools/call: answered with a task when the client asked for one, else passed on."""
        raise NotImplementedError

    async def get(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> dict[str, Any]:
        raise NotImplementedError

    async def cancel(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> dict[str, Any]:
        raise NotImplementedError
