"""Retry policy: retry only throttling, 5xx and timeouts; exponential backoff with full jitter;
honor server hints (`Retry-After` seconds or HTTP-date, and provider-specific throttle headers);
bound the total time spent waiting.

Providers pass a `classify` function turning their SDK's exceptions into a `RetryDecision`;
`retry_after_from_headers` reads the hint from whatever headers the provider names.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import tenacity

from finops_mcp.engine.context import Cancelled, CancelToken
from finops_mcp.errors import ScopeFailure

T = TypeVar("T")


@dataclass(frozen=True)
class RetryDecision:
    retryable: bool
    retry_after: float | None = None  # seconds the server asked us to wait


def default_classify(exc: BaseException) -> RetryDecision:
    """Errors every provider shares; providers extend this for their SDK's exception types."""
    if isinstance(exc, ScopeFailure):
        return RetryDecision(exc.retryable, exc.retry_after)
    if isinstance(exc, TimeoutError | ConnectionError):
        return RetryDecision(True)
    return RetryDecision(False)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN guard


def retry_after_from_headers(
    headers: Mapping[str, Any] | None,
    names: Iterable[str] = ("retry-after",),
    now: datetime | None = None,
) -> float | None:
    """The longest wait any of the named headers asks for (case-insensitive names)."""
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    waits = [w for n in names if (w := parse_retry_after(lowered.get(n.lower()), now)) is not None]
    return max(waits) if waits else None


class RetryPolicy:
    def __init__(
        self,
        *,
        max_retries: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        max_total_wait: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_total_wait = max_total_wait
        self._sleep = sleep
        self._rng = rng or random.Random()

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given 1-based attempt number."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self._rng.uniform(ceiling / 2, ceiling)

    def call(
        self,
        fn: Callable[[], T],
        *,
        classify: Callable[[BaseException], Any] | None = None,
        cancel: CancelToken | None = None,
    ) -> T:
        decide = classify or default_classify
        planned: dict[str, float] = {}

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, Cancelled):
                return False
            decision = decide(exc)
            return isinstance(decision, RetryDecision) and decision.retryable

        def next_wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hint = decide(exc).retry_after if exc is not None else None
            wait = self.backoff(state.attempt_number)
            if hint is not None:
                wait = max(wait, hint)  # never earlier than the server asked
            return wait

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number > self.max_retries:
                return True
            wait = next_wait(state)
            if state.idle_for + wait > self.max_total_wait:
                return True
            planned["wait"] = wait
            return False

        def sleep(seconds: float) -> None:
            if self._sleep is not None:
                self._sleep(seconds)
            elif cancel is not None:
                if cancel.wait(seconds):
                    raise Cancelled(cancel.reason)
            else:
                tenacity.nap.sleep(seconds)
            if cancel is not None:
                cancel.raise_if_cancelled()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(should_retry),
            stop=stop,
            wait=lambda state: planned.get("wait", 0.0),
            sleep=sleep,
            reraise=True,
        )
        return retrying(fn)
