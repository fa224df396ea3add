"""A task store in one SQLite file: results outlive a server restart until their time-to-live.

Every statement runs on a worker thread (never on the event loop) over one connection guarded by
a lock; WAL mode lets several server processes share the file. Expired rows are deleted by
`purge` (the runtime calls it as it goes) and ignored by `page`. Each row names the process running
it (`runner`), so a restarted server can fail the tasks of a process that died (runtime.recover).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio

from finops_mcp.tasks.store import TaskRecord, TaskStore

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS finops_tasks (
    task_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    tool TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    ttl_ms INTEGER NOT NULL,
    poll_interval_ms INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    status_message TEXT,
    result TEXT,
    error TEXT,
    runner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS finops_tasks_owner ON finops_tasks (owner, created_at, task_id);
CREATE INDEX IF NOT EXISTS finops_tasks_expiry ON finops_tasks (expires_at);
"""
# The table's columns are TaskRecord's fields, by name; result and error are stored as JSON text.
_FIELDS = tuple(f.name for f in dataclasses.fields(TaskRecord))
_COLUMNS = ", ".join(_FIELDS)
_JSON_FIELDS = ("result", "error")
_UNFINISHED = ("working", "input_required")


def _row(row: tuple[Any, ...]) -> TaskRecord:
    values = dict(zip(_FIELDS, row, strict=True))
    for name in _JSON_FIELDS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return TaskRecord(**values)


def _add_runner_column(db: sqlite3.Connection) -> None:
    """Files written before tasks recorded their runner get the column (another process may race)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(finops_tasks)")}
    if "runner" not in columns:
        try:
            db.execute("ALTER TABLE finops_tasks ADD COLUMN runner TEXT NOT NULL DEFAULT ''")
        except sqlite3.OperationalError:
            if "runner" not in {row[1] for row in db.execute("PRAGMA table_info(finops_tasks)")}:
                raise


class SQLiteTaskStore(TaskStore):
    durable = True

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            _add_runner_column(db)
            self._db = db
        return self._db

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                return fn(self._connect())

        return await anyio.to_thread.run_sync(call)

    async def put(self, record: TaskRecord) -> None:
        values = (
            record.task_id,
            record.owner,
            record.tool,
            record.status,
            record.created_at,
            record.updated_at,
            record.ttl_ms,
            record.poll_interval_ms,
            record.expires_at,
            record.status_message,
            json.dumps(record.result) if record.result is not None else None,
            json.dumps(record.error) if record.error is not None else None,
            record.runner,
        )
        await self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO finops_tasks (task_id, owner, tool, status, created_at, updated_at, "
                "ttl_ms, poll_interval_ms, expires_at, status_message, result, error, runner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        )

    async def get(self, task_id: str) -> TaskRecord | None:
        row = await self._run(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM finops_tasks WHERE task_id = ?", (task_id,)
            ).fetchone()
        )
        return _row(row) if row is not None else None

    async def delete(self, task_id: str) -> None:
        await self._run(lambda db: db.execute("DELETE FROM finops_tasks WHERE task_id = ?", (task_id,)))

    async def page(self, owner: str, after: tuple[float, str] | None, limit: int) -> list[TaskRecord]:
        created, last_id = after if after is not None else (float("-inf"), "")
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM finops_tasks WHERE owner = ? AND expires_at > ? "
                "AND (created_at > ? OR (created_at = ? AND task_id > ?)) "
                "ORDER BY created_at, task_id LIMIT ?",
                (owner, time.time(), created, created, last_id, limit),
            ).fetchall()
        )
        return [_row(r) for r in rows]

    async def unfinished(self, now: float) -> list[TaskRecord]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM finops_tasks WHERE status IN (?, ?) AND expires_at > ?",
                (*_UNFINISHED, now),
            ).fetchall()
        )
        return [_row(r) for r in rows]

    async def purge(self, now: float) -> int:
        return await self._run(
            lambda db: db.execute("DELETE FROM finops_tasks WHERE expires_at <= ?", (now,)).rowcount
        )

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                if self._db is not None:
                    self._db.close()
                    self._db = None

        await anyio.to_thread.run_sync(shut)
