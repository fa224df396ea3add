"""Bounded fan-out of blocking provider calls over a shared pool of worker threads.

One call per (provider, scope[, region]). The pool bounds concurrency across every request the
server is serving; results come back in input order as `Outcome`s, each with a value or the
error that ended it, so one failing scope never sinks the others.

Timeouts: a call that runs longer than its timeout (counted from the moment it starts, not from
when it was queued) is reported as `CallTimeout` and its context's token is cancelled
(cooperative: providers check the token between pages). Python cannot stop a thread, so the
timed-out call is abandoned: its slot goes back to the pool at once so queued calls are not held
up by it, and its thread (a daemon, so it never blocks interpreter exit) finishes on its own; its
late result is dropped.

Cancellation: cancelling the awaiting coroutine, or the `cancel` token passed to `run`, cancels
every call's token: calls not yet started never start; running calls see the token. The coroutine
then raises at once: `asyncio.CancelledError` when the task was cancelled, `Cancelled` when the
token was (a run whose token is cancelled before it returns always raises, even if every call
happened to finish). Blocking work never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from finops_mcp.engine.context import CallContext, Cancelled, CancelToken

K = TypeVar("K")
T = TypeVar("T")
log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], Awaitable[None]]

# How often a run looks at a caller's cancel token (a plain thread-safe flag, it cannot wake us).
_TOKEN_POLL_SECONDS = 0.05


class CallTimeout(TimeoutError):
    pass


@dataclass
class Outcome(Generic[K, T]):
    item: K
    value: T | None = None
    error: BaseException | None = None
    duration: float = 0.0
    context: CallContext | None = None


class _Job:
    """One call in the pool. `state`: queued -> running -> done; or queued -> dropped (never
    runs); or running -> released (abandoned by its run; the slot was handed on) -> done."""

    __slots__ = ("drop", "run", "state")

    def __init__(self, run: Callable[[], None], drop: Callable[[], None]) -> None:
        self.run = run
        self.drop = drop
        self.state = "queued"


class _Pool:
    """At most `size` jobs hold a slot at once; the rest wait in FIFO order. A worker thread that
    finishes a job takes the next queued one; idle workers exit (threads are cheap next to a
    cloud API call, and daemon threads never keep a stuck call alive at interpreter exit)."""

    def __init__(self, size: int, name: str) -> None:
        if size < 1:
            raise ValueError("max_workers must be at least 1")
        self.size = size
        self._name = name
        self._lock = threading.Lock()
        self._queue: deque[_Job] = deque()
        self._active = 0
        self._closed = False
        self._ids = itertools.count(1)

    def submit(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the fan-out pool is shut down")
            if self._active >= self.size:
                self._queue.append(job)
                return
            self._active += 1
            job.state = "running"
        self._spawn(job)

    def release(self, job: _Job) -> None:
        """Give a running job's slot back now (its run gave up on it); the thread carries on."""
        with self._lock:
            if job.state != "running":
                return
            job.state = "released"
            nxt = self._take_next()
        if nxt is not None:
            self._spawn(nxt)

    def discard(self, jobs: Iterable[_Job]) -> None:
        """Queued jobs among `jobs` never start (they are skipped when their turn comes)."""
        with self._lock:
            for job in jobs:
                if job.state == "queued":
                    job.state = "dropped"

    def shutdown(self) -> list[_Job]:
        """Refuse new jobs and drop the queued ones; running jobs finish on their own."""
        with self._lock:
            self._closed = True
            dropped = [job for job in self._queue if job.state == "queued"]
            for job in dropped:
                job.state = "dropped"
            self._queue.clear()
        return dropped

    def _take_next(self) -> _Job | None:
        """Hand the caller's slot to the next queued job, or free it. Call with the lock held."""
        while self._queue:
            job = self._queue.popleft()
            if job.state == "queued":
                job.state = "running"
                return job
        self._active -= 1
        return None

    def _spawn(self, job: _Job) -> None:
        name = f"{self._name}-{next(self._ids)}"
        threading.Thread(target=self._work, args=(job,), name=name, daemon=True).start()

    def _work(self, job: _Job | None) -> None:
        while job is not None:
            try:
                job.run()
            except BaseException:  # pragma: no cover - job.run reports its own errors
                log.exception("fan-out job failed")
            with self._lock:
                if job.state == "released":  # abandoned: the slot already went to another job
                    job.state = "done"
                    return
                job.state = "done"
                job = self._take_next()


class FanOut:
    """A pool of `max_workers` worker slots shared by every fan-out of one server or CLI run."""

    def __init__(self, max_workers: int, timeout: float | None = None) -> None:
        self.max_workers = max_workers
        self.timeout = timeout
        self._pool = _Pool(max_workers, "finops-fanout")

    def shutdown(self) -> None:
        """Refuse new runs; calls still queued end with `Cancelled`; running calls finish."""
        for job in self._pool.shutdown():
            job.drop()

    async def run(
        self,
        items: Sequence[K],
        fn: Callable[[K, CallContext], T],
        *,
        make_context: Callable[[K, CancelToken], CallContext] | None = None,
        cancel: CancelToken | None = None,
        timeout: float | None = None,
        progress: ProgressFn | None = None,
        label: Callable[[K], str] = str,
    ) -> list[Outcome[K, T]]:
        """Run `fn(item, ctx)` for every item on the pool; one `Outcome` per item, input order.

        `timeout` (default: the pool's) bounds each call from its start. `progress(done, total,
        label)` is awaited once per finished item (best effort: its errors are logged and
        ignored). `make_context(item, token)` builds each call's context around its own token.
        """
        if cancel is not None:
            cancel.raise_if_cancelled()
        if not items:
            return []
        limit = timeout if timeout is not None else self.timeout
        loop = asyncio.get_running_loop()
        run_token = CancelToken(parent=cancel)  # ours to cancel; the caller's token stays theirs
        tokens = [CancelToken(parent=run_token) for _ in items]
        contexts = [
            make_context(item, token) if make_context else CallContext(cancel=token)
            for item, token in zip(items, tokens, strict=True)
        ]
        outcomes: list[Outcome[K, T]] = [
            Outcome(item, context=ctx) for item, ctx in zip(items, contexts, strict=True)
        ]

        # Loop-side state: only touched on the event loop thread (workers post to it).
        started: dict[int, float] = {}
        finished: deque[tuple[int, Any, BaseException | None, float]] = deque()
        wake = asyncio.Event()

        def on_start(index: int, at: float) -> None:
            started[index] = at
            wake.set()

        def on_done(index: int, value: Any, error: BaseException | None, duration: float) -> None:
            finished.append((index, value, error, duration))
            wake.set()

        def post(callback: Callable[..., None], *args: Any) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed: nobody waits for this any more
                loop.call_soon_threadsafe(callback, *args)

        def make_job(index: int) -> _Job:
            ctx, token = contexts[index], tokens[index]
            caller = contextvars.copy_context()  # the request's context vars (its log correlation id)

            def call() -> None:  # runs on a worker thread
                for flag in (token, ctx.cancel):
                    if flag.cancelled:  # cancelled while queued: never start
                        post(on_done, index, None, Cancelled(_reason(flag)), 0.0)
                        return
                begin = time.monotonic()
                post(on_start, index, begin)
                value: Any = None
                error: BaseException | None = None
                try:
                    value = caller.run(fn, items[index], ctx)
                except BaseException as exc:
                    error = exc
                post(on_done, index, value, error, time.monotonic() - begin)

            def drop() -> None:
                post(on_done, index, None, Cancelled("the fan-out pool was shut down"), 0.0)

            return _Job(call, drop)

        jobs = [make_job(index) for index in range(len(items))]
        pending = set(range(len(items)))
        done_count, total = 0, len(items)

        async def report(index: int) -> None:
            nonlocal done_count
            done_count += 1
            await _report(progress, done_count, total, label, outcomes[index].item)

        try:
            for job in jobs:
                self._pool.submit(job)
            while pending:
                wake.clear()
                if cancel is not None and cancel.cancelled:
                    raise Cancelled(_reason(cancel))
                while finished:
                    index, value, error, duration = finished.popleft()
                    if index not in pending:  # a late answer of a call that already timed out
                        continue
                    pending.discard(index)
                    outcome = outcomes[index]
                    outcome.value, outcome.error, outcome.duration = value, error, duration
                    await report(index)
                now = time.monotonic()
                if limit is not None:
                    for index in sorted(i for i in pending if i in started and now - started[i] >= limit):
                        pending.discard(index)
                        tokens[index].cancel("timeout")
                        contexts[index].cancel.cancel("timeout")  # the same token, unless replaced
                        self._pool.release(jobs[index])
                        outcome = outcomes[index]
                        outcome.duration = now - started[index]
                        outcome.error = CallTimeout(f"no answer within {limit:g} s")
                        await report(index)
                if not pending:
                    break
                if wake.is_set():  # something arrived while we were reporting progress
                    continue
                delay: float | None = _TOKEN_POLL_SECONDS if cancel is not None else None
                if limit is not None:
                    now = time.monotonic()
                    for index in pending:
                        if index in started:
                            left = max(0.0, started[index] + limit - now)
                            delay = left if delay is None else min(delay, left)
                await _wait(loop, wake, delay)
            if cancel is not None and cancel.cancelled:
                raise Cancelled(_reason(cancel))
        except BaseException:
            run_token.cancel("cancelled")
            self._pool.discard(jobs)
            raise
        return outcomes


def _reason(token: CancelToken) -> str:
    try:
        token.raise_if_cancelled()
    except Cancelled as exc:
        return str(exc)
    return "cancelled"


async def _wait(loop: asyncio.AbstractEventLoop, wake: asyncio.Event, delay: float | None) -> None:
    """Until `wake` is set, or `delay` seconds at most."""
    if delay is None:
        await wake.wait()
        return
    handle = loop.call_later(delay, wake.set)
    try:
        await wake.wait()
    finally:
        handle.cancel()


async def _report(
    progress: ProgressFn | None, done: int, total: int, label: Callable[[K], str], item: K
) -> None:
    if progress is None:
        return
    try:
        await progress(done, total, label(item))
    except Exception:  # progress is best-effort: never let it sink the work
        log.debug("progress callback failed", exc_info=True)
