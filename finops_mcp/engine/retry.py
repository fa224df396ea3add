"""Retry policy: retry only throttling, 5xx and timeouts; exponential backoff with jitter;
honor server hints (`Retry-After` seconds or HTTP-date, and provider-specific throttle headers);
bound the total time spent waiting.

Each provider translates its SDK's exceptions ONCE, in one table (`ErrorMap`, as httpx's
`map_httpcore_exceptions` does): an exception becomes a `Translated` (the per-scope error code,
whether trying again may help, the server's wait hint), and both the retry policy
(`ErrorMap.retry_decision`) and the per-scope error (`ErrorMap.classify`) read that one answer.
`retry_after_from_headers` reads the hint from whatever headers the provider names.

The rules, per failed attempt n (1-based):
- not retryable (per `classify`), or `Cancelled`: re-raise at once;
- n > max_retries: re-raise (so at most 1 + max_retries attempts);
- wait = backoff(n), a random value in [c/2, c] with c = min(max_delay, base_delay * 2**(n-1)),
  raised to the server's hint if it asked for longer (never retry earlier than asked);
- if the waits so far plus this wait exceed max_total_wait: re-raise the last error now;
- the wait wakes early on cancellation and then raises `Cancelled`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import tenacity

from finops_mcp.engine.context import Cancelled, CancelToken
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import ErrorCode

T = TypeVar("T")


@dataclass(frozen=True)
class RetryDecision:
    retryable: bool
    retry_after: float | None = None  # seconds the server asked us to wait


@dataclass(frozen=True)
class Translated:
    """What one exception means, decided once: the per-scope error code, whether trying again
    later may help, and how long the server asked to wait (seconds; only for retryable ones)."""

    code: ErrorCode
    retryable: bool
    retry_after: float | None = None


TypeTable = Sequence[tuple[tuple[type[BaseException], ...], ErrorCode, bool]]


def by_type(exc: BaseException, table: TypeTable) -> Translated | None:
    """The first row of `table` whose exception types `exc` is an instance of."""
    for types, code, retryable in table:
        if isinstance(exc, types):
            return Translated(code, retryable)
    return None


class ErrorMap:
    """One provider's exception translation, feeding both the retry policy and the per-scope
    error. `translate` is the provider's table; `ScopeFailure` and `Cancelled` are answered here."""

    def __init__(self, translate: Callable[[BaseException], Translated | None]) -> None:
        self._translate = translate

    def __call__(self, exc: BaseException) -> Translated | None:
        if isinstance(exc, ScopeFailure):
            return Translated(exc.code, exc.retryable, exc.retry_after)
        if isinstance(exc, Cancelled):
            return Translated("cancelled", False)
        found = self._translate(exc)
        if found is not None and not found.retryable and found.retry_after is not None:
            return Translated(found.code, False)
        return found

    def classify(self, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        """(code, retryable) for the per-scope error; None: not this provider's exception."""
        found = self(exc)
        return None if found is None else (found.code, found.retryable)

    def retry_decision(self, exc: BaseException) -> RetryDecision:
        """For `ctx.retry(..., classify=...)`; exceptions the table does not know get the
        engine's defaults."""
        found = self(exc)
        if found is None or isinstance(exc, ScopeFailure | Cancelled):
            return default_classify(exc)
        return RetryDecision(found.retryable, found.retry_after)


def default_classify(exc: BaseException) -> RetryDecision:
    """Errors every provider shares; providers extend this for their SDK's exception types."""
    if isinstance(exc, Cancelled):
        return RetryDecision(False)
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
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf: unreadable
        return None
    return max(0.0, seconds)


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


def _as_decision(classify: Callable[[BaseException], Any], exc: BaseException) -> RetryDecision:
    """What `classify` says about `exc`; a bool means retryable or not; anything else (or a
    classifier that fails) means not retryable, so the original error surfaces."""
    if isinstance(exc, Cancelled):
        return RetryDecision(False)
    try:
        decision = classify(exc)
    except Exception:
        return RetryDecision(False)
    if isinstance(decision, RetryDecision):
        return decision
    if isinstance(decision, bool):
        return RetryDecision(decision)
    return RetryDecision(False)


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
        self.max_retries = max(0, max_retries)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_total_wait = max_total_wait
        self._sleep = sleep
        self._rng = rng or random.Random()

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for the given 1-based attempt number: a random value
        between half and all of min(max_delay, base_delay * 2**(attempt-1))."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self._rng.uniform(ceiling / 2, ceiling)

    def call(
        self,
        fn: Callable[[], T],
        *,
        classify: Callable[[BaseException], Any] | None = None,
        cancel: CancelToken | None = None,
    ) -> T:
        """Run `fn`, retrying per the module rules; the last error is re-raised as is."""
        decide = classify or default_classify
        # One plan per failed attempt: the wait before the next attempt, or None to stop. tenacity
        # asks `wait` and `stop` separately (and in an order that changed between versions), so
        # both read the same memoized plan.
        plans: dict[int, float | None] = {}
        waited = [0.0]

        def plan(state: tenacity.RetryCallState) -> float | None:
            attempt = state.attempt_number
            if attempt in plans:
                return plans[attempt]
            wait: float | None = None
            exc = state.outcome.exception() if state.outcome is not None else None
            if attempt <= self.max_retries and exc is not None:
                hint = _as_decision(decide, exc).retry_after
                wait = self.backoff(attempt)
                if hint is not None:
                    wait = max(wait, hint)  # never earlier than the server asked
                if waited[0] + wait > self.max_total_wait:
                    wait = None  # out of waiting budget: give up now with the last error
                else:
                    waited[0] += wait
            plans[attempt] = wait
            return wait

        def should_retry(exc: BaseException) -> bool:
            return _as_decision(decide, exc).retryable

        def before(_state: tenacity.RetryCallState) -> None:
            if cancel is not None:
                cancel.raise_if_cancelled()

        def sleep(seconds: float) -> None:
            if cancel is not None:
                cancel.raise_if_cancelled()
            if self._sleep is not None:
                self._sleep(seconds)
            elif cancel is not None:
                cancel.wait(seconds)
            else:
                time.sleep(seconds)
            if cancel is not None:
                cancel.raise_if_cancelled()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(should_retry),
            stop=lambda state: plan(state) is None,
            wait=lambda state: plan(state) or 0.0,
            before=before,
            sleep=sleep,
            reraise=True,
        )
        return retrying(fn)
