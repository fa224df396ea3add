"""Where tasks live: a small async interface, an in-memory store and a factory.

A `TaskRecord` is protocol-neutral: its `status` follows the task state machine (`working`,
`input_required`, `completed`, `failed`, `cancelled`), `result` is the finished call's wire result
(a `CallToolResult` as JSON, `isError` results included) and `error` a JSON-RPC error object. The
era modules (modern.py, legacy.py) turn records into each protocol revision's wire shapes.

`open_store("memory")` costs nothing; `open_store("sqlite:///path")` imports sqlite3 (in
sqlite.py) only then, so a server that never stores tasks durably never loads it.
"""

from __future__ import annotations

import copy
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, Literal

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


@dataclass
class TaskRecord:
    task_id: str
    owner: str  # who may see it: "" when the transport cannot tell clients apart (see runtime.owner_of)
    tool: str
    status: TaskStatus
    created_at: float  # epoch seconds
    updated_at: float
    ttl_ms: int
    poll_interval_ms: int
    status_message: str | None = None
    result: dict[str, Any] | None = None  # the CallToolResult, wire form (camelCase keys)
    error: dict[str, Any] | None = None  # JSON-RPC error object: {code, message, data?}
    runner: str = ""  # the server process running it (liveness.this_runner); "" when unknown

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def expires_at(self) -> float:
        return self.created_at + self.ttl_ms / 1000

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at

    def snapshot(self) -> TaskRecord:
        """A copy callers may keep: the runtime goes on updating the live record."""
        return replace(self, result=copy.deepcopy(self.result), error=copy.deepcopy(self.error))


class TaskStore(ABC):
    """Persistence of task records. Implementations must be safe to call from one event loop;
    blocking implementations do their I/O off the loop."""

    durable: bool = False

    @abstractmethod
    async def put(self, record: TaskRecord) -> None:
        """Insert or replace the record (keyed by task id)."""

    @abstractmethod
    async def get(self, task_id: str) -> TaskRecord | None:
        """The record, expired or not (the caller decides), or None."""

    @abstractmethod
    async def delete(self, task_id: str) -> None: ...

    @abstractmethod
    async def page(self, owner: str, after: tuple[float, str] | None, limit: int) -> list[TaskRecord]:
        """Up to `limit` unexpired records of `owner`, ordered by (created_at, task_id), after `after`."""

    @abstractmethod
    async def unfinished(self, now: float) -> list[TaskRecord]:
        """Every unexpired record, of any owner, still `working` or `input_required`."""

    @abstractmethod
    async def purge(self, now: float) -> int:
        """Delete every record whose time-to-live has run out; how many were deleted."""

    @abstractmethod
    async def close(self) -> None:
        """Release resources; the store may be used again afterwards (it reopens)."""


class MemoryTaskStore(TaskStore):
    """The default: tasks live as long as the server process (and their time-to-live)."""

    def __init__(self) -> None:
        self._records: dict[str, TaskRecord] = {}

    async def put(self, record: TaskRecord) -> None:
        self._records[record.task_id] = record.snapshot()

    async def get(self, task_id: str) -> TaskRecord | None:
        record = self._records.get(task_id)
        return record.snapshot() if record is not None else None

    async def delete(self, task_id: str) -> None:
        self._records.pop(task_id, None)

    async def page(self, owner: str, after: tuple[float, str] | None, limit: int) -> list[TaskRecord]:
        now = time.time()
        mine = sorted(
            (r for r in self._records.values() if r.owner == owner and not r.expired(now)),
            key=lambda r: (r.created_at, r.task_id),
        )
        if after is not None:
            mine = [r for r in mine if (r.created_at, r.task_id) > after]
        return [r.snapshot() for r in mine[:limit]]

    async def unfinished(self, now: float) -> list[TaskRecord]:
        return [r.snapshot() for r in self._records.values() if not r.terminal and not r.expired(now)]

    async def purge(self, now: float) -> int:
        gone = [task_id for task_id, r in self._records.items() if r.expired(now)]
        for task_id in gone:
            del self._records[task_id]
        return len(gone)

    async def close(self) -> None:
        """Nothing to release; the records stay for the next connection of this process."""


def open_store(url: str) -> TaskStore:
    """`memory` or `sqlite:///path/to/tasks.db` (FINOPS_TASK_STORE)."""
    if url == "memory":
        return MemoryTaskStore()
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        from finops_mcp.tasks.sqlite import SQLiteTaskStore

        return SQLiteTaskStore(url[len("sqlite:///") :])
    raise ValueError(f"unknown task store {url!r}: use `memory` or `sqlite:///path/to/tasks.db`")
