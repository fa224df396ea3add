"""Bounded answers: audit pages behind opaque cursors, and the size budget of a tool answer.

A model reads every character of a tool answer, twice over (the JSON text and the structured
content), so each answer must fit a budget (`FINOPS_ANSWER_MAX_CHARS`, 60,000 by default).

Audit: the whole result (every finding, highest monthly cost first) is kept in a `ReportStore`
under an id for the cache TTL (at least `MIN_KEEP_SECONDS`, so paging works with the cache off).
A page is a slice of it; the report's `summary` always covers all findings. A cursor names the
report, the offset of the next page and a digest of the arguments that made the report, so it
is opaque, cannot be replayed with other arguments, and stays stable while the report is kept:
paging through it yields every finding exactly once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cachetools import TTLCache
from pydantic import BaseModel

from finops_mcp.errors import InputError
from finops_mcp.models import AuditReport, RunAuditRequest

M = TypeVar("M", bound=BaseModel)

MIN_KEEP_SECONDS = 300.0
REPORT_URI = "finops://reports/{id}"
_PAGE_ARGS = frozenset({"limit", "cursor"})
# Room kept for what the server adds around the JSON (an error summary, a resource link).
_ENVELOPE_CHARS = 1500
PAGE_NOTE_TAIL = "pass cursor=next_cursor for more"  # ends the note a partial page carries


def answer_chars(report: BaseModel) -> int:
    """Characters the report takes in a tool answer: its JSON as text plus as structured content."""
    return 2 * len(json.dumps(report.model_dump(mode="json"), separators=(",", ":")))


def fits(report: BaseModel, max_chars: int | None) -> bool:
    return max_chars is None or answer_chars(report) + _ENVELOPE_CHARS <= max_chars


def args_digest(req: RunAuditRequest) -> str:
    """The arguments a cursor is bound to: everything but the page size and the cursor."""
    data = req.model_dump(mode="json", exclude=set(_PAGE_ARGS), exclude_none=True)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cursor:
    report_id: str
    offset: int
    args: str

    def encode(self) -> str:
        raw = json.dumps([self.report_id, self.offset, self.args], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            report_id, offset, args = json.loads(raw)
            if not (isinstance(report_id, str) and isinstance(offset, int) and isinstance(args, str)):
                raise ValueError
            if offset < 0:
                raise ValueError
        except (ValueError, TypeError):
            raise InputError(
                "cursor", "is not a cursor from this server; pass the `next_cursor` of the previous page"
            ) from None
        return cls(report_id, offset, args)


class ReportStore:
    """Whole audit reports by id, each kept `ttl_seconds`; also the latest id per argument digest."""

    def __init__(
        self, ttl_seconds: float, max_entries: int = 16, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = max(ttl_seconds, MIN_KEEP_SECONDS)
        self._lock = threading.Lock()
        self._reports: TTLCache[str, tuple[str, AuditReport]] = TTLCache(max_entries, self.ttl, timer=timer)
        self._latest: TTLCache[str, str] = TTLCache(max_entries, self.ttl, timer=timer)

    def put(self, digest: str, report: AuditReport) -> str:
        report_id = secrets.token_urlsafe(9)
        with self._lock:
            self._reports[report_id] = (digest, report)
            self._latest[digest] = report_id
        return report_id

    def get(self, report_id: str) -> tuple[str, AuditReport] | None:
        with self._lock:
            return self._reports.get(report_id)

    def latest(self, digest: str) -> tuple[str, AuditReport] | None:
        with self._lock:
            report_id = self._latest.get(digest)
            entry = self._reports.get(report_id) if report_id else None
        return (report_id, entry[1]) if report_id and entry else None


def shrink(make: Callable[[int], M], n: int, max_chars: int | None) -> tuple[int, M]:
    """The largest `k <= n` (at least 1 if n is) whose `make(k)` fits `max_chars`, and that answer."""
    report = make(n)
    while n > 1 and not fits(report, max_chars):
        size = answer_chars(report)
        n = max(1, min(n - 1, int(n * (max_chars or size) / size * 0.9)))
        report = make(n)
    return n, report


def audit_page(
    whole: AuditReport,
    report_id: str,
    digest: str,
    offset: int,
    limit: int,
    max_chars: int | None,
    **meta: Any,
) -> AuditReport:
    """One page of `whole`: up to `limit` findings from `offset`, fewer if the page would not fit
    `max_chars` (then a note says so and `next_cursor` continues where the page ends)."""
    findings = whole.findings

    def page(n: int, more: list[str]) -> AuditReport:
        end = offset + n
        next_cursor = Cursor(report_id, end, digest).encode() if end < len(findings) else None
        return whole.model_copy(
            update={
                "findings": findings[offset:end],
                "next_cursor": next_cursor,
                "report_uri": REPORT_URI.format(id=report_id),
                "meta": whole.meta.model_copy(update={"notes": [*whole.meta.notes, *more], **meta}),
            }
        )

    cut = (
        f"page cut to fit the answer budget of {max_chars or 0:,} characters (FINOPS_ANSWER_MAX_CHARS); "
        "use next_cursor for the rest"
    )
    wanted = max(0, min(limit, len(findings) - offset))
    n, report = shrink(lambda k: page(k, [] if k >= wanted else [cut]), wanted, max_chars)
    if report.next_cursor is not None:
        shown = f"{offset + 1}-{offset + n}" if n else "none"
        report.meta.notes.append(
            f"findings {shown} of {len(findings)} shown (highest monthly cost first); summary covers all; "
            f"{PAGE_NOTE_TAIL}, or read {report.report_uri}"
        )
    return report
