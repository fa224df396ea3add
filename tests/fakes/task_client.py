"""The client side of MCP tasks, for tests: what a task-aware client does, on the SDK's client API.

2026-07-28: `TasksClient` is a `ClientExtension` for `io.modelcontextprotocol/tasks`. Passing it to
`Client(extensions=[...])` opts every request in; its `ResultClaim(result_type="task")` makes
`client.call_tool` resolve a task transparently (poll `tasks/get` until terminal, return the
inlined result). `client.session.call_tool(..., allow_claimed=True)` returns the `CreatedTask`
itself, for tests that drive the task (`get_task`, `cancel_task`, `update_task`).

2025-11-25: the SDK client has no task-augmented `tools/call`, and its session validates every
`tools/call` result as a `CallToolResult` (a `CreateTaskResult` is not one), so `call_as_task`
sends the request through the session's dispatcher (a private attribute) and parses the
`CreateTaskResult` itself. `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` use the
public `session.send_request` with the SDK's task types. `TasksClient` also collects
`notifications/tasks/status` (a `NotificationBinding`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import anyio
from mcp.client import ClaimContext, ClientExtension, NotificationBinding, ResultClaim
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    CancelTaskRequest,
    CancelTaskRequestParams,
    CancelTaskResult,
    CreateTaskResult,
    EmptyResult,
    GetTaskPayloadRequest,
    GetTaskPayloadRequestParams,
    GetTaskRequest,
    GetTaskRequestParams,
    GetTaskResult,
    ListTasksRequest,
    ListTasksResult,
    PaginatedRequestParams,
    Request,
    RequestParams,
    Result,
    Task,
    TaskStatusNotificationParams,
)
from pydantic import Field

EXTENSION_ID = "io.modelcontextprotocol/tasks"
TERMINAL = {"completed", "failed", "cancelled"}


# ---------------------------------------------------------------------- 2026-07-28 shapes


class CreatedTask(Result):
    """`CreateTaskResult` of the tasks extension (`resultType: "task"`)."""

    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None


class DetailedTask(Result):
    """`tasks/get` result: the task with its result (completed) or error (failed) inlined."""

    result_type: str | None = None
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class TaskIdParams(RequestParams):
    task_id: str


class UpdateTaskParams(RequestParams):
    task_id: str
    input_responses: dict[str, Any] = Field(default_factory=dict)


class GetTask(Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskIdParams
    name_param = "taskId"


class CancelTask(Request[TaskIdParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskIdParams
    name_param = "taskId"


class UpdateTask(Request[UpdateTaskParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    params: UpdateTaskParams
    name_param = "taskId"


async def get_task(session: ClientSession, task_id: str) -> DetailedTask:
    return await session.send_request(GetTask(params=TaskIdParams(task_id=task_id)), DetailedTask)


async def cancel_task(session: ClientSession, task_id: str) -> EmptyResult:
    return await session.send_request(CancelTask(params=TaskIdParams(task_id=task_id)), EmptyResult)


async def update_task(session: ClientSession, task_id: str, responses: dict[str, Any]) -> EmptyResult:
    request = UpdateTask(params=UpdateTaskParams(task_id=task_id, input_responses=responses))
    return await session.send_request(request, EmptyResult)


async def poll(
    session: ClientSession, task_id: str, *, interval: float = 0.02, limit: float = 20
) -> DetailedTask:
    """`tasks/get` until the task is terminal; every state seen is kept in `poll.seen`."""
    with anyio.fail_after(limit):
        while True:
            task = await get_task(session, task_id)
            SEEN.append(task)
            if task.status in TERMINAL:
                return task
            await anyio.sleep(interval)


SEEN: list[DetailedTask] = []


class TasksClient(ClientExtension):
    """Opts a client into tasks and resolves task results; collects status notifications."""

    identifier = EXTENSION_ID

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.created: list[CreatedTask] = []
        self.statuses: list[TaskStatusNotificationParams] = []

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve)]

    def notifications(self) -> Sequence[NotificationBinding[Any]]:
        return [
            NotificationBinding(
                method="notifications/tasks/status",
                params_type=TaskStatusNotificationParams,
                handler=self._status,
            )
        ]

    async def _status(self, params: TaskStatusNotificationParams) -> None:
        self.statuses.append(params)

    async def _resolve(self, created: CreatedTask, ctx: ClaimContext) -> CallToolResult:
        self.created.append(created)
        task = await poll(ctx.session, created.task_id, interval=self.interval)
        if task.status == "completed" and task.result is not None:
            return CallToolResult.model_validate(task.result)
        if task.status == "failed" and task.error is not None:
            raise MCPError(
                code=task.error["code"], message=task.error["message"], data=task.error.get("data")
            )
        raise RuntimeError(f"task {task.task_id} ended {task.status}: {task.status_message}")


# ---------------------------------------------------------------------- 2025-11-25


async def call_as_task(
    session: ClientSession, name: str, arguments: dict[str, Any], *, ttl: int | None = None
) -> Task:
    """A task-augmented `tools/call` (`params.task`), answered by a `CreateTaskResult`."""
    params: dict[str, Any] = {
        "name": name,
        "arguments": arguments,
        "task": {} if ttl is None else {"ttl": ttl},
    }
    raw = await session._dispatcher.send_raw_request("tools/call", params, {})
    return CreateTaskResult.model_validate(raw).task


async def legacy_get(session: ClientSession, task_id: str) -> GetTaskResult:
    return await session.send_request(
        GetTaskRequest(params=GetTaskRequestParams(task_id=task_id)), GetTaskResult
    )


async def legacy_result(session: ClientSession, task_id: str) -> CallToolResult:
    request = GetTaskPayloadRequest(params=GetTaskPayloadRequestParams(task_id=task_id))
    return await session.send_request(request, CallToolResult)


async def legacy_list(session: ClientSession, cursor: str | None = None) -> ListTasksResult:
    request = ListTasksRequest(params=PaginatedRequestParams(cursor=cursor))
    return await session.send_request(request, ListTasksResult)


async def legacy_cancel(session: ClientSession, task_id: str) -> CancelTaskResult:
    request = CancelTaskRequest(params=CancelTaskRequestParams(task_id=task_id))
    return await session.send_request(request, CancelTaskResult)


async def legacy_poll(
    session: ClientSession, task_id: str, *, interval: float = 0.02, limit: float = 20
) -> Task:
    with anyio.fail_after(limit):
        while True:
            task = await legacy_get(session, task_id)
            if task.status in TERMINAL:
                return task
            await anyio.sleep(interval)
