"""Retry policy: what is retried, how often, how long it waits, server hints, budget, cancel.

No test sleeps: the policy gets a recording `sleep` and a seeded rng.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext, Cancelled, CancelToken
from finops_mcp.engine.retry import (
    RetryDecision,
    RetryPolicy,
    default_classify,
    parse_retry_after,
    retry_after_from_headers,
)
from finops_mcp.errors import ScopeFailure

NOW = datetime(2026, 11, 3, 12, 0, 0, tzinfo=timezone.utc)


class Flaky:
    """Raises the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Always:
    def __init__(self, error: Callable[[], BaseException]) -> None:
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        raise self.error()


def policy(slept: list[float], **kw: Any) -> RetryPolicy:
    return RetryPolicy(sleep=slept.append, rng=random.Random(7), **kw)


def throttled(after: float | None = None) -> ScopeFailure:
    return ScopeFailure("throttled", "slow down", retryable=True, retry_after=after)


# ------------------------------------------------------------------------------ what is retried


@pytest.mark.parametrize(
    "error",
    [throttled(), TimeoutError("read timed out"), ConnectionError("reset by peer"), ConnectionResetError()],
    ids=["retryable-scope-failure", "timeout", "connection", "connection-reset"],
)
def test_retryable_errors_are_retried(error: BaseException) -> None:
    slept: list[float] = []
    fn = Flaky(error, error)
    assert policy(slept).call(fn) == "ok"
    assert fn.calls == 3
    assert len(slept) == 2


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad"),
        KeyError("x"),
        ScopeFailure("forbidden", "no access"),
        ScopeFailure("throttled", "marked not retryable", retryable=False),
        Cancelled("cancelled"),
    ],
    ids=["value-error", "key-error", "forbidden", "non-retryable-scope-failure", "cancelled"],
)
def test_other_errors_are_raised_at_once(error: BaseException) -> None:
    slept: list[float] = []
    fn = Flaky(error)
    with pytest.raises(type(error)) as info:
        policy(slept).call(fn)
    assert info.value is error
    assert fn.calls == 1
    assert slept == []


def test_default_classify() -> None:
    assert default_classify(throttled(3.0)) == RetryDecision(True, 3.0)
    assert default_classify(ScopeFailure("auth", "expired")) == RetryDecision(False)
    assert default_classify(TimeoutError()).retryable
    assert default_classify(ConnectionError()).retryable
    assert not default_classify(ValueError()).retryable
    assert not default_classify(Cancelled()).retryable


def test_custom_classify_decides_and_gives_hints() -> None:
    class SdkThrottle(Exception):
        pass

    def classify(exc: BaseException) -> RetryDecision:
        return RetryDecision(isinstance(exc, SdkThrottle), 4.0)

    slept: list[float] = []
    fn = Flaky(SdkThrottle(), SdkThrottle())
    assert policy(slept).call(fn, classify=classify) == "ok"
    assert fn.calls == 3 and len(slept) == 2 and all(s >= 4.0 for s in slept)
    # the custom classifier replaces the default: a TimeoutError is now final
    fn = Flaky(TimeoutError())
    with pytest.raises(TimeoutError):
        policy([]).call(fn, classify=classify)
    assert fn.calls == 1


def test_classifier_returning_bool_or_failing() -> None:
    fn = Flaky(ValueError(), ValueError())
    assert policy([]).call(fn, classify=lambda exc: True) == "ok"
    assert fn.calls == 3

    def broken(exc: BaseException) -> RetryDecision:
        raise RuntimeError("classifier bug")

    fn = Flaky(TimeoutError("original"))
    with pytest.raises(TimeoutError, match="original"):  # the real error surfaces, not the bug
        policy([]).call(fn, classify=broken)


def test_success_on_first_attempt_does_not_wait() -> None:
    slept: list[float] = []
    fn = Flaky()
    assert policy(slept).call(fn) == "ok"
    assert fn.calls == 1 and slept == []


# ------------------------------------------------------------------------------ how often


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
def test_stops_after_max_retries_and_reraises_the_last_error(max_retries: int) -> None:
    slept: list[float] = []
    errors = iter(range(100))
    fn = Always(lambda: ScopeFailure("throttled", f"try {next(errors)}", retryable=True))
    with pytest.raises(ScopeFailure) as info:
        policy(slept, max_retries=max_retries, max_total_wait=1e9).call(fn)
    assert fn.calls == max_retries + 1
    assert len(slept) == max_retries
    assert info.value.message == f"try {max_retries}"  # the last error, as is (not a RetryError)


def test_succeeds_on_the_last_allowed_attempt() -> None:
    fn = Flaky(*[TimeoutError() for _ in range(5)])
    assert policy([], max_retries=5, max_total_wait=1e9).call(fn) == "ok"
    assert fn.calls == 6


# ------------------------------------------------------------------------------ how long


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    p = RetryPolicy(base_delay=0.5, max_delay=20.0, rng=random.Random(1))
    for attempt in range(1, 10):
        ceiling = min(20.0, 0.5 * 2 ** (attempt - 1))
        samples = [p.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), attempt
        assert max(samples) - min(samples) > ceiling / 4  # it really is jittered
    lows = [min(p.backoff(a) for _ in range(50)) for a in range(1, 7)]
    assert lows == sorted(set(lows))  # strictly grows attempt over attempt


def test_waits_between_attempts_follow_the_backoff() -> None:
    slept: list[float] = []
    fn = Flaky(*[TimeoutError() for _ in range(4)])
    policy(slept, base_delay=1.0, max_delay=100.0, max_total_wait=1e9).call(fn)
    assert len(slept) == 4
    for attempt, wait in enumerate(slept, start=1):
        ceiling = 2.0 ** (attempt - 1)
        assert ceiling / 2 <= wait <= ceiling, (attempt, wait)


def test_same_seed_same_waits() -> None:
    runs = []
    for _ in range(2):
        slept: list[float] = []
        policy(slept).call(Flaky(TimeoutError(), TimeoutError(), TimeoutError()))
        runs.append(slept)
    assert runs[0] == runs[1]


def test_server_hint_is_honoured_from_the_first_retry() -> None:
    slept: list[float] = []
    fn = Flaky(throttled(7.0), throttled(7.0), throttled(0.01))
    assert policy(slept, base_delay=0.5, max_total_wait=100).call(fn) == "ok"
    assert slept[0] == 7.0 and slept[1] == 7.0
    assert 1.0 <= slept[2] <= 2.0  # attempt 3: backoff in [1, 2]; a small hint never shortens it


def test_wait_is_never_shorter_than_the_hint() -> None:
    for hint in (0.0, 0.3, 1.0, 2.5, 9.0, 30.0):
        slept: list[float] = []
        fn = Flaky(*[throttled(hint) for _ in range(4)])
        policy(slept, max_delay=4.0, max_total_wait=1e9).call(fn)
        assert len(slept) == 4
        assert all(s >= hint for s in slept), (hint, slept)


def test_total_wait_is_bounded() -> None:
    slept: list[float] = []
    fn = Always(TimeoutError)
    with pytest.raises(TimeoutError):
        policy(slept, max_retries=50, base_delay=1.0, max_delay=8.0, max_total_wait=20.0).call(fn)
    assert sum(slept) <= 20.0
    assert fn.calls == len(slept) + 1
    assert fn.calls < 51  # the budget, not max_retries, ended it


def test_hint_beyond_the_budget_stops_at_once() -> None:
    slept: list[float] = []
    last = throttled(120.0)
    fn = Flaky(last, throttled())
    with pytest.raises(ScopeFailure) as info:
        policy(slept, max_total_wait=60.0).call(fn)
    assert info.value is last
    assert fn.calls == 1 and slept == []


def test_hint_beyond_the_remaining_budget_stops() -> None:
    slept: list[float] = []
    last = throttled(30.0)
    fn = Flaky(throttled(25.0), last, throttled())
    with pytest.raises(ScopeFailure) as info:
        policy(slept, max_total_wait=50.0).call(fn)
    assert info.value is last
    assert slept == [25.0]
    assert fn.calls == 2


def test_zero_budget_means_no_waiting_retries() -> None:
    slept: list[float] = []
    fn = Always(TimeoutError)
    with pytest.raises(TimeoutError):
        policy(slept, max_total_wait=0.0).call(fn)
    assert fn.calls == 1 and slept == []


# ------------------------------------------------------------------------------ cancellation


def test_cancel_during_the_wait_stops_retrying() -> None:
    token = CancelToken()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        token.cancel("client cancelled")

    fn = Always(TimeoutError)
    p = RetryPolicy(sleep=sleep, rng=random.Random(1))
    with pytest.raises(Cancelled, match="client cancelled"):
        p.call(fn, cancel=token)
    assert fn.calls == 1 and len(slept) == 1


def test_cancelled_token_prevents_the_first_attempt() -> None:
    token = CancelToken()
    token.cancel("stop")
    fn = Always(TimeoutError)
    with pytest.raises(Cancelled, match="stop"):
        RetryPolicy(sleep=lambda s: None).call(fn, cancel=token)
    assert fn.calls == 0


def test_cancelled_parent_token_skips_the_real_wait() -> None:
    # No injected sleep: the policy would wait ~30 s on the token; cancelled, it must not wait.
    parent = CancelToken()
    child = CancelToken(parent=parent)
    calls = 0

    def fn() -> str:
        nonlocal calls
        calls += 1
        parent.cancel("timeout")
        raise TimeoutError

    t0 = time.monotonic()
    with pytest.raises(Cancelled, match="timeout"):
        RetryPolicy(base_delay=30.0, max_delay=30.0, rng=random.Random(1)).call(fn, cancel=child)
    assert time.monotonic() - t0 < 1.0
    assert calls == 1


def test_call_context_uses_its_policy_and_token() -> None:
    slept: list[float] = []
    ctx = CallContext(retry_policy=policy(slept))
    fn = Flaky(TimeoutError())
    assert ctx.retry(fn) == "ok"
    assert fn.calls == 2 and len(slept) == 1
    # without a policy: one attempt
    fn = Flaky(TimeoutError())
    with pytest.raises(TimeoutError):
        CallContext().retry(fn)
    assert fn.calls == 1


# ------------------------------------------------------------------------------ Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 12 ", 12.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("", None),
        ("   ", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_http_date() -> None:
    later = NOW + timedelta(seconds=90)
    assert parse_retry_after(format_datetime(later, usegmt=True), now=NOW) == 90.0
    assert parse_retry_after("Tue, 03 Nov 2026 12:02:00 GMT", now=NOW) == 120.0
    assert parse_retry_after("Tue, 03 Nov 2026 11:59:00 GMT", now=NOW) == 0.0  # in the past
    assert parse_retry_after("Tue, 03 Nov 2026 12:00:30 -0000", now=NOW) == 30.0  # naive -> UTC
    assert parse_retry_after("Tue, 99 Foo 2026 12:00:30 GMT", now=NOW) is None


def test_retry_after_from_headers_case_insensitive_and_max() -> None:
    headers = {
        "Retry-After": "3",
        "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "10",
        "X-MS-RateLimit-Microsoft.CostManagement-Tenant-Retry-After": "25",
        "x-unrelated": "999",
    }
    names = (
        "retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
    )
    assert retry_after_from_headers(headers, names, now=NOW) == 25.0
    assert retry_after_from_headers({"RETRY-AFTER": "4"}, now=NOW) == 4.0
    assert retry_after_from_headers({"retry-after": "Tue, 03 Nov 2026 12:01:00 GMT"}, now=NOW) == 60.0
    assert (
        retry_after_from_headers({"retry-after": "junk", "x-b": "2"}, ("Retry-After", "X-B"), now=NOW) == 2.0
    )
    assert retry_after_from_headers({}, names) is None
    assert retry_after_from_headers(None, names) is None
    assert retry_after_from_headers({"x-unrelated": "9"}, names) is None


def test_header_hint_drives_the_wait() -> None:
    slept: list[float] = []

    class Throttled(Exception):
        def __init__(self, headers: dict[str, str]) -> None:
            super().__init__("429")
            self.headers = headers

    def classify(exc: BaseException) -> RetryDecision:
        if isinstance(exc, Throttled):
            return RetryDecision(True, retry_after_from_headers(exc.headers, ("retry-after", "x-wait")))
        return RetryDecision(False)

    fn = Flaky(Throttled({"Retry-After": "2", "X-Wait": "11"}))
    assert policy(slept).call(fn, classify=classify) == "ok"
    assert slept == [11.0]


def test_one_error_map_feeds_the_retry_policy_and_the_scope_error() -> None:
    from finops_mcp.engine.retry import ErrorMap, Translated, by_type

    class Slow(Exception):
        pass

    class Refused(Exception):
        pass

    def translate(exc: BaseException) -> Translated | None:
        if isinstance(exc, Slow):
            return Translated("throttled", True, 4.0)
        found = by_type(exc, (((Refused,), "forbidden", False),))
        return None if found is None else Translated(found.code, found.retryable, 9.0)

    errors = ErrorMap(translate)
    assert errors.classify(Slow()) == ("throttled", True)
    assert errors.retry_decision(Slow()) == RetryDecision(True, 4.0)
    assert errors.classify(Refused()) == ("forbidden", False)
    assert errors.retry_decision(Refused()) == RetryDecision(False)  # no wait for what is not retried
    assert errors.classify(ScopeFailure("auth", "expired")) == ("auth", False)
    assert errors.classify(Cancelled()) == ("cancelled", False)
    assert errors.classify(ValueError()) is None
    assert errors.retry_decision(TimeoutError()).retryable  # unknown: the engine's defaults
    assert not errors.retry_decision(Cancelled()).retryable
