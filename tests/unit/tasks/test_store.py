"""Both task stores behave the same; the SQLite one keeps records across instances (restarts)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from finops_mcp.tasks.store import MemoryTaskStore, TaskRecord, TaskStore, open_store


def record(task_id: str, owner: str = "", created: float | None = None, ttl_ms: int = 60_000) -> TaskRecord:
    now = time.time() if created is None else created
    return TaskRecord(task_id, owner, "run_finops_audit", "working", now, now, ttl_ms, 1000, "Started")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TaskStore:
    return MemoryTaskStore() if request.param == "memory" else open_store(f"sqlite:///{tmp_path}/t/tasks.db")


async def test_put_get_replace_delete(store: TaskStore) -> None:
    rec = record("t1", owner="session:x")
    await store.put(rec)
    rec.status, rec.result = "completed", {"content": [{"type": "text", "text": "ok"}], "isError": False}
    rec.status_message = "Completed"
    await store.put(rec)
    got = await store.get("t1")
    assert got == rec and got is not rec
    got.result["content"].clear()  # a copy: the store's record is untouched
    assert (await store.get("t1")).result["content"]
    await store.delete("t1")
    assert await store.get("t1") is None
    await store.close()


async def test_page_is_per_owner_ordered_and_resumable(store: TaskStore) -> None:
    base = time.time()
    for i in range(5):
        await store.put(record(f"a{i}", owner="A", created=base + i))
    await store.put(record("b0", owner="B", created=base))
    first = await store.page("A", None, 3)
    assert [r.task_id for r in first] == ["a0", "a1", "a2"]
    rest = await store.page("A", (first[-1].created_at, first[-1].task_id), 10)
    assert [r.task_id for r in rest] == ["a3", "a4"]
    assert [r.task_id for r in await store.page("B", None, 10)] == ["b0"]
    assert await store.page("nobody", None, 10) == []
    await store.close()


async def test_purge_deletes_expired_records_only(store: TaskStore) -> None:
    old = record("old", created=time.time() - 10, ttl_ms=1000)
    await store.put(old)
    await store.put(record("new"))
    assert [r.task_id for r in await store.page("", None, 10)] == ["new"]  # expired rows are not listed
    assert await store.purge(time.time()) == 1
    assert await store.get("old") is None and await store.get("new") is not None
    await store.close()


async def test_sqlite_records_survive_a_new_store_instance(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/tasks.db"
    first = open_store(url)
    rec = record("t1")
    rec.status, rec.error = "failed", {"code": -32603, "message": "boom"}
    await first.put(rec)
    await first.close()
    second = open_store(url)
    assert second.durable and await second.get("t1") == rec
    await second.close()


def test_unknown_store_url_is_refused() -> None:
    with pytest.raises(ValueError, match="sqlite:///"):
        open_store("postgres://x")


def test_memory_store_does_not_import_sqlite() -> None:
    import subprocess

    code = (
        "import sys; from finops_mcp.tasks.store import open_store; open_store('memory'); "
        "import finops_mcp.server; print('sqlite3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_unfinished_lists_working_tasks_of_every_owner(store: TaskStore) -> None:
    done = record("done", owner="A")
    done.status = "completed"
    for rec in (
        record("w1", owner="A"),
        record("w2", owner="B"),
        done,
        record("old", created=time.time() - 10, ttl_ms=1),
    ):
        rec.runner = "host:1:boot:2"
        await store.put(rec)
    unfinished = sorted(await store.unfinished(time.time()), key=lambda r: r.task_id)
    assert [(r.task_id, r.runner) for r in unfinished] == [("w1", "host:1:boot:2"), ("w2", "host:1:boot:2")]
    await store.close()


async def test_a_task_file_without_the_runner_column_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "tasks.db"
    with sqlite3.connect(path) as db:  # the table as the previous release created it
        db.execute(
            "CREATE TABLE finops_tasks (task_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
            "tool TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, "
            "updated_at REAL NOT NULL, ttl_ms INTEGER NOT NULL, poll_interval_ms INTEGER NOT NULL, "
            "expires_at REAL NOT NULL, status_message TEXT, result TEXT, error TEXT)"
        )
        now = time.time()
        db.execute(
            "INSERT INTO finops_tasks VALUES ('old', '', 'run_finops_audit', 'working', ?, ?, "
            "60000, 1000, ?, 'Started', NULL, NULL)",
            (now, now, now + 60),
        )
    store = open_store(f"sqlite:///{path}")
    assert (await store.get("old")).runner == ""  # type: ignore[union-attr]
    await store.put(record("new"))
    assert {r.task_id for r in await store.unfinished(time.time())} == {"old", "new"}
    await store.close()
