"""What one upstream call runs with: cancellation, a deadline, the billed-request counter, retries.

Providers receive a `CallContext` for every scope call and should check `raise_if_cancelled()`
between pages or list calls (cooperative cancellation), count every request that costs money
with `count_billed`, and wrap upstream calls with `retry` so throttling is handled the same
way everywhere.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from finops_mcp.engine.retry import RetryPolicy

T = TypeVar("T")


class Cancelled(Exception):
    """The work was cancelled (by the client, or because its time ran out)."""


class CancelToken:
    """A thread-safe flag; a child token is cancelled when its parent is."""

    def __init__(self, parent: CancelToken | None = None) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._parent = parent
        self.reason = "cancelled"

    def cancel(self, reason: str = "cancelled") -> None:
        """Set the flag. The first reason given is kept (a later cancel does not rewrite it)."""
        with self._lock:
            if not self._event.is_set():
                self.reason = reason
                self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self._parent is not None and self._parent.cancelled)

    def raise_if_cancelled(self) -> None:
        """Raise `Cancelled` with the reason of the nearest cancelled token in the chain."""
        token: CancelToken | None = self
        while token is not None:
            if token._event.is_set():
                raise Cancelled(token.reason)
            token = token._parent

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on cancellation. True if cancelled."""
        end = time.monotonic() + seconds
        while not self.cancelled:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self._event.wait(min(left, 0.05))
        return True


class BilledCounter:
    """Counts upstream requests that are billed (e.g. every Cost Explorer page), by API name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, api: str, n: int = 1) -> None:
        with self._lock:
            self._counts[api] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def human_bytes(n: int) -> str:
    """A byte count as people read it (`12.34 MiB`), for the scanned-bytes notes."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


@dataclass
class CallContext:
    """Passed to each provider call; one per (provider, scope[, region]) unit of work."""

    cancel: CancelToken = field(default_factory=CancelToken)
    billed: BilledCounter = field(default_factory=BilledCounter)
    scanned: BilledCounter = field(default_factory=BilledCounter)  # bytes scanned by billed queries
    retry_policy: RetryPolicy | None = None
    timeout_seconds: float | None = None
    notes: list[str] = field(default_factory=list)

    def raise_if_cancelled(self) -> None:
        self.cancel.raise_if_cancelled()

    def count_billed(self, api: str, n: int = 1) -> None:
        self.billed.add(api, n)

    def count_scanned(self, api: str, n_bytes: int) -> None:
        """Bytes an upstream query scanned (BigQuery bills by bytes), reported in meta.bytes_scanned."""
        self.scanned.add(api, n_bytes)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def retry(self, fn: Callable[[], T], *, classify: Callable[[BaseException], object] | None = None) -> T:
        """Run `fn` under the retry policy (if any), stopping early when cancelled."""
        self.raise_if_cancelled()
        if self.retry_policy is None:
            return fn()
        return self.retry_policy.call(fn, classify=classify, cancel=self.cancel)
