"""Small wire helpers both eras share."""

from __future__ import annotations

from datetime import datetime, timezone

from mcp_types import RequestParams


class TaskIdParams(RequestParams):
    """Params of tasks/get, tasks/result, tasks/cancel: `{"taskId": ...}`."""

    task_id: str


def iso(epoch: float) -> str:
    """ISO 8601 UTC timestamp with milliseconds, e.g. 2026-11-21T10:30:00.123Z."""
    return (
        datetime.fromtimestamp(epoch, tz=timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
