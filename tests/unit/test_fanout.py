"""Fan-out pool: bounded concurrency, ordering, partial failure, timeouts, cancellation, progress.

Calls are real blocking functions on real threads with short sleeps; every run is bounded by
`asyncio.wait_for` so a regression fails fast instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from finops_mcp.engine.context import BilledCounter, CallContext, Cancelled, CancelToken
from finops_mcp.engine.fanout import CallTimeout, FanOut, Outcome

GUARD = 5.0  # seconds: no test run may take longer than this


class Probe:
    """Counts starts and concurrent executions of calls (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.started: list[Any] = []
        self.saw_cancel: dict[Any, bool] = {}

    def enter(self, item: Any) -> None:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.started.append(item)

    def leave(self) -> None:
        with self.lock:
            self.running -= 1


@pytest.fixture
def pool() -> Iterator[Callable[..., FanOut]]:
    made: list[FanOut] = []

    def make(max_workers: int, timeout: float | None = None) -> FanOut:
        fan = FanOut(max_workers, timeout=timeout)
        made.append(fan)
        return fan

    yield make
    for fan in made:
        fan.shutdown()


async def run(
    fan: FanOut, items: list[Any], fn: Callable[[Any, CallContext], Any], **kw: Any
) -> list[Outcome]:
    return await asyncio.wait_for(fan.run(items, fn, **kw), GUARD)


async def wait_until(cond: Callable[[], bool], timeout: float = 2.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.005)


# ------------------------------------------------------------------------------ concurrency


async def test_concurrency_is_bounded_by_max_workers(pool: Callable[..., FanOut]) -> None:
    probe = Probe()

    def work(item: int, ctx: CallContext) -> int:
        probe.enter(item)
        try:
            time.sleep(0.05)
        finally:
            probe.leave()
        return item * 10

    fan = pool(4)
    t0 = time.monotonic()
    outcomes = await run(fan, list(range(20)), work)
    elapsed = time.monotonic() - t0

    assert probe.peak == 4
    assert len(probe.started) == 20
    assert [o.value for o in outcomes] == [i * 10 for i in range(20)]
    # 20 calls of 50 ms, 4 at a time: five waves.
    assert 0.24 <= elapsed < 0.6, elapsed


async def test_pool_is_shared_by_concurrent_runs(pool: Callable[..., FanOut]) -> None:
    probe = Probe()

    def work(item: int, ctx: CallContext) -> int:
        probe.enter(item)
        try:
            time.sleep(0.03)
        finally:
            probe.leave()
        return item

    fan = pool(3)
    a, b = await asyncio.gather(run(fan, list(range(6)), work), run(fan, list(range(100, 106)), work))
    assert probe.peak == 3
    assert [o.value for o in a] == list(range(6))
    assert [o.value for o in b] == list(range(100, 106))


async def test_calls_never_run_on_the_event_loop_thread(pool: Callable[..., FanOut]) -> None:
    loop_thread = threading.get_ident()
    outcomes = await run(pool(2), [1, 2, 3], lambda item, ctx: threading.get_ident())
    assert all(o.error is None and o.value != loop_thread for o in outcomes)


async def test_empty_input(pool: Callable[..., FanOut]) -> None:
    assert await run(pool(2), [], lambda item, ctx: item) == []


# ------------------------------------------------------------------------------ results


async def test_results_come_back_in_input_order(pool: Callable[..., FanOut]) -> None:
    finished: list[int] = []
    lock = threading.Lock()

    def work(item: int, ctx: CallContext) -> str:
        time.sleep(0.01 * (5 - item))  # later items finish first
        with lock:
            finished.append(item)
        return f"v{item}"

    outcomes = await run(pool(5), [0, 1, 2, 3, 4], work)
    assert finished != [0, 1, 2, 3, 4]  # they really finished out of order
    assert [o.item for o in outcomes] == [0, 1, 2, 3, 4]
    assert [o.value for o in outcomes] == ["v0", "v1", "v2", "v3", "v4"]
    assert all(o.duration > 0 for o in outcomes)


async def test_partial_failure_keeps_the_other_results(pool: Callable[..., FanOut]) -> None:
    def work(item: int, ctx: CallContext) -> int:
        if item % 3 == 0:
            raise ValueError(f"scope {item} failed")
        return item

    outcomes = await run(pool(3), list(range(7)), work)
    for o in outcomes:
        if o.item % 3 == 0:
            assert o.error is not None and o.value is None
            assert isinstance(o.error, ValueError) and str(o.error) == f"scope {o.item} failed"
        else:
            assert o.error is None and o.value == o.item


async def test_make_context_factory_is_used(pool: Callable[..., FanOut]) -> None:
    billed = BilledCounter()
    made: dict[str, CallContext] = {}
    seen: dict[str, CallContext] = {}
    lock = threading.Lock()

    def make(item: str, token: CancelToken) -> CallContext:
        assert isinstance(token, CancelToken) and not token.cancelled
        ctx = CallContext(cancel=token, billed=billed, timeout_seconds=12.0)
        made[item] = ctx
        return ctx

    def work(item: str, ctx: CallContext) -> str:
        with lock:
            seen[item] = ctx
        ctx.count_billed("aws.ce", 2)
        ctx.note(f"note {item}")
        return item

    outcomes = await run(pool(2), ["a", "b", "c"], work, make_context=make)
    assert set(made) == {"a", "b", "c"}
    for o in outcomes:
        assert o.context is made[o.item] is seen[o.item]
        assert o.context.notes == [f"note {o.item}"]
        assert o.context.timeout_seconds == 12.0
    assert billed.snapshot() == {"aws.ce": 6}
    # every call gets its own token
    assert len({id(c.cancel) for c in made.values()}) == 3


async def test_default_context_is_created_per_call(pool: Callable[..., FanOut]) -> None:
    outcomes = await run(pool(2), [1, 2], lambda item, ctx: ctx)
    assert all(isinstance(o.value, CallContext) and o.context is o.value for o in outcomes)
    assert outcomes[0].value is not outcomes[1].value


# ------------------------------------------------------------------------------ timeouts


async def test_call_timeout_cancels_the_call_and_spares_the_others(pool: Callable[..., FanOut]) -> None:
    saw_cancel = threading.Event()

    def work(item: str, ctx: CallContext) -> str:
        if item == "slow":
            if ctx.cancel.wait(3.0):  # a cooperative provider: checks the token while it waits
                saw_cancel.set()
                ctx.raise_if_cancelled()
            return "late"
        time.sleep(0.02)
        return item

    fan = pool(4)
    t0 = time.monotonic()
    outcomes = await run(fan, ["a", "slow", "b", "c"], work, timeout=0.2)
    elapsed = time.monotonic() - t0

    slow = outcomes[1]
    assert isinstance(slow.error, CallTimeout)
    assert isinstance(slow.error, TimeoutError)
    assert slow.value is None
    assert slow.context is not None and slow.context.cancel.cancelled
    assert slow.context.cancel.reason == "timeout"
    assert 0.2 <= slow.duration < 0.6
    assert [o.value for o in outcomes if o is not slow] == ["a", "b", "c"]
    assert elapsed < 0.6, elapsed
    assert saw_cancel.wait(1.0), "the timed-out call never saw its token cancelled"


async def test_constructor_timeout_is_the_default(pool: Callable[..., FanOut]) -> None:
    def work(item: float, ctx: CallContext) -> float:
        ctx.cancel.wait(item)
        return item

    outcomes = await run(pool(2, timeout=0.15), [0.01, 2.0], work)
    assert outcomes[0].value == 0.01
    assert isinstance(outcomes[1].error, CallTimeout)


async def test_queued_calls_do_not_time_out_while_waiting(pool: Callable[..., FanOut]) -> None:
    # One worker, three calls of 0.1 s each, timeout 0.25 s: the third call waits 0.2 s in the
    # queue, then runs for 0.1 s. The timeout counts from the start of the call, so none times out.
    def work(item: int, ctx: CallContext) -> int:
        time.sleep(0.1)
        return item

    t0 = time.monotonic()
    outcomes = await run(pool(1), [1, 2, 3], work, timeout=0.25)
    assert time.monotonic() - t0 >= 0.3
    assert [o.error for o in outcomes] == [None, None, None]
    assert [o.value for o in outcomes] == [1, 2, 3]


async def test_timed_out_call_gives_its_slot_back(pool: Callable[..., FanOut]) -> None:
    # A call that ignores cancellation (stuck in a blocking read) must not hold the only worker:
    # the queued call starts once the stuck one has timed out.
    release = threading.Event()
    probe = Probe()

    def work(item: str, ctx: CallContext) -> str:
        probe.enter(item)
        try:
            if item == "stuck":
                release.wait(3.0)  # does not look at the token
            return item
        finally:
            probe.leave()

    fan = pool(1)
    try:
        t0 = time.monotonic()
        outcomes = await run(fan, ["stuck", "next"], work, timeout=0.1)
        elapsed = time.monotonic() - t0
    finally:
        release.set()
    assert isinstance(outcomes[0].error, CallTimeout)
    assert outcomes[1].value == "next"
    assert elapsed < 1.0, elapsed


async def test_late_result_of_a_timed_out_call_is_ignored(pool: Callable[..., FanOut]) -> None:
    def work(item: str, ctx: CallContext) -> str:
        time.sleep(0.2 if item == "late" else 0.01)
        return item

    fan = pool(2)
    outcomes = await run(fan, ["late", "ok"], work, timeout=0.05)
    await asyncio.sleep(0.25)  # let the late call finish
    assert isinstance(outcomes[0].error, CallTimeout) and outcomes[0].value is None
    # the pool is healthy afterwards
    again = await run(fan, ["x", "y", "z"], lambda item, ctx: item)
    assert [o.value for o in again] == ["x", "y", "z"]


# ------------------------------------------------------------------------------ cancellation


def _blocking_probe(probe: Probe) -> Callable[[int, CallContext], int]:
    def work(item: int, ctx: CallContext) -> int:
        probe.enter(item)
        try:
            cancelled = ctx.cancel.wait(3.0)
            with probe.lock:
                probe.saw_cancel[item] = cancelled
            ctx.raise_if_cancelled()
            return item
        finally:
            probe.leave()

    return work


async def test_cancelling_the_task_stops_the_run(pool: Callable[..., FanOut]) -> None:
    probe = Probe()
    fan = pool(2)
    task = asyncio.create_task(fan.run(list(range(8)), _blocking_probe(probe)))
    await wait_until(lambda: len(probe.started) == 2)

    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, GUARD)
    assert time.monotonic() - t0 < 0.5

    # the two running calls see their token, and the queued ones never start
    await wait_until(lambda: len(probe.saw_cancel) == 2)
    assert probe.saw_cancel == {0: True, 1: True}
    await asyncio.sleep(0.2)
    assert sorted(probe.started) == [0, 1]
    # the pool is free again
    assert [o.value for o in await run(fan, [7, 8], lambda item, ctx: item)] == [7, 8]


async def test_cancelling_the_token_stops_the_run(pool: Callable[..., FanOut]) -> None:
    probe = Probe()
    token = CancelToken()
    fan = pool(2)
    task = asyncio.create_task(fan.run(list(range(8)), _blocking_probe(probe), cancel=token))
    await wait_until(lambda: len(probe.started) == 2)

    t0 = time.monotonic()
    token.cancel("client cancelled")
    with pytest.raises(Cancelled, match="client cancelled"):
        await asyncio.wait_for(task, GUARD)
    assert time.monotonic() - t0 < 0.5

    await wait_until(lambda: len(probe.saw_cancel) == 2)
    assert probe.saw_cancel == {0: True, 1: True}
    await asyncio.sleep(0.2)
    assert sorted(probe.started) == [0, 1]


async def test_already_cancelled_token_starts_nothing(pool: Callable[..., FanOut]) -> None:
    probe = Probe()
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        await run(pool(2), [1, 2, 3], _blocking_probe(probe), cancel=token)
    await asyncio.sleep(0.05)
    assert probe.started == []


async def test_cancelling_the_task_leaves_the_callers_token_alone(pool: Callable[..., FanOut]) -> None:
    probe = Probe()
    token = CancelToken()
    task = asyncio.create_task(pool(1).run([1, 2], _blocking_probe(probe), cancel=token))
    await wait_until(lambda: len(probe.started) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, GUARD)
    await wait_until(lambda: len(probe.saw_cancel) == 1)
    assert probe.saw_cancel == {1: True}
    assert not token.cancelled


# ------------------------------------------------------------------------------ progress


async def test_progress_is_reported_once_per_item(pool: Callable[..., FanOut]) -> None:
    calls: list[tuple[int, int, str]] = []

    async def progress(done: int, total: int, label: str) -> None:
        calls.append((done, total, label))

    def work(item: int, ctx: CallContext) -> int:
        if item == 2:
            raise RuntimeError("boom")
        time.sleep(0.01)
        return item

    outcomes = await run(pool(2), [1, 2, 3, 4], work, progress=progress, label=lambda item: f"scope-{item}")
    assert [c[0] for c in calls] == [1, 2, 3, 4]
    assert {c[1] for c in calls} == {4}
    assert sorted(c[2] for c in calls) == ["scope-1", "scope-2", "scope-3", "scope-4"]
    assert isinstance(outcomes[1].error, RuntimeError)


async def test_progress_counts_timeouts(pool: Callable[..., FanOut]) -> None:
    calls: list[tuple[int, int, str]] = []

    async def progress(done: int, total: int, label: str) -> None:
        calls.append((done, total, label))

    def work(item: str, ctx: CallContext) -> str:
        ctx.cancel.wait(2.0 if item == "slow" else 0.0)
        return item

    await run(pool(2), ["slow", "fast"], work, progress=progress, timeout=0.1)
    assert calls == [(1, 2, "fast"), (2, 2, "slow")]


async def test_failing_progress_callback_does_not_break_the_run(pool: Callable[..., FanOut]) -> None:
    attempts = 0

    async def progress(done: int, total: int, label: str) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("client went away")

    def bad_label(item: int) -> str:
        raise KeyError(item)

    outcomes = await run(pool(2), [1, 2, 3], lambda item, ctx: item, progress=progress)
    assert [o.value for o in outcomes] == [1, 2, 3]
    assert attempts == 3
    outcomes = await run(pool(2), [1, 2], lambda item, ctx: item, progress=progress, label=bad_label)
    assert [o.value for o in outcomes] == [1, 2]


# ------------------------------------------------------------------------------ shutdown


async def test_shutdown_fails_queued_calls_instead_of_hanging(pool: Callable[..., FanOut]) -> None:
    release = threading.Event()
    started = threading.Event()

    def work(item: int, ctx: CallContext) -> int:
        if item == 0:
            started.set()
            release.wait(2.0)
        return item

    fan = pool(1)
    task = asyncio.create_task(fan.run([0, 1, 2], work))
    await wait_until(started.is_set)
    fan.shutdown()
    release.set()
    outcomes = await asyncio.wait_for(task, GUARD)
    assert outcomes[0].value == 0
    assert all(isinstance(o.error, Cancelled) for o in outcomes[1:])
    with pytest.raises(RuntimeError):
        await fan.run([1], lambda item, ctx: item)


# ------------------------------------------------------------------------------ CancelToken / CallContext


def test_child_token_follows_its_parent_and_keeps_the_first_reason() -> None:
    parent = CancelToken()
    child = CancelToken(parent=parent)
    grandchild = CancelToken(parent=child)
    assert not grandchild.cancelled
    parent.cancel("client cancelled")
    assert child.cancelled and grandchild.cancelled
    with pytest.raises(Cancelled, match="client cancelled"):
        grandchild.raise_if_cancelled()
    other = CancelToken()
    other.cancel("timeout")
    other.cancel("cancelled")
    assert other.reason == "timeout"
    with pytest.raises(Cancelled, match="timeout"):
        other.raise_if_cancelled()


def test_token_wait_returns_early_on_cancel() -> None:
    parent = CancelToken()
    child = CancelToken(parent=parent)
    assert child.wait(0.01) is False
    threading.Timer(0.05, parent.cancel).start()
    t0 = time.monotonic()
    assert child.wait(2.0) is True
    assert time.monotonic() - t0 < 0.5


def test_call_context_helpers() -> None:
    ctx = CallContext()
    ctx.note("a")
    ctx.note("a")
    ctx.count_billed("aws.ce")
    ctx.count_billed("aws.ce", 2)
    assert ctx.notes == ["a"]
    assert ctx.billed.snapshot() == {"aws.ce": 3}
    assert ctx.retry(lambda: 5) == 5
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        ctx.retry(lambda: 5)
