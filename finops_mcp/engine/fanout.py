"""Bounded fan-out of blocking provider calls over a shared thread pool.

One call per (provider, scope[, region]). The pool bounds concurrency across every request the
server is serving; results come back in input order as `Outcome`s, each with a value or the
error that ended it, so one failing scope never sinks the others. A call that runs longer than
its timeout is reported as timed out and its context is cancelled (cooperative: providers check
the token between pages). Cancelling the awaiting coroutine cancels the shared token: calls not
yet started never start; running calls see the token. Blocking work never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from finops_mcp.engine.context import CallContext, Cancelled, CancelToken

K = TypeVar("K")
T = TypeVar("T")
log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], Awaitable[None]]


class CallTimeout(TimeoutError):
    pass


@dataclass
class Outcome(Generic[K, T]):
    item: K
    value: T | None = None
    error: BaseException | None = None
    duration: float = 0.0
    context: CallContext | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FanOut:
    """A thread pool of `max_workers` shared by every fan-out of one server or CLI run."""

    def __init__(self, max_workers: int, timeout: float | None = None) -> None:
        self.max_workers = max_workers
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="finops-fanout")

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

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
        cancel = cancel or CancelToken()
        limit = timeout if timeout is not None else self.timeout
        loop = asyncio.get_running_loop()
        outcomes: list[Outcome[K, T]] = [Outcome(item) for item in items]
        started: dict[int, float] = {}

        def body(index: int, ctx: CallContext) -> T:
            if ctx.cancel.cancelled:  # cancelled while queued: never start
                raise Cancelled(ctx.cancel.reason)
            started[index] = time.monotonic()
            return fn(items[index], ctx)

        futures: dict[asyncio.Future[T], int] = {}
        for index, item in enumerate(items):
            token = CancelToken(parent=cancel)
            ctx = make_context(item, token) if make_context else CallContext(cancel=token)
            outcomes[index].context = ctx
            cf: Future[T] = self._executor.submit(body, index, ctx)
            futures[asyncio.wrap_future(cf, loop=loop)] = index

        done_count, total = 0, len(items)
        pending = set(futures)
        try:
            while pending:
                wait_for = 0.25 if limit is not None else None
                if limit is not None and started:
                    now = time.monotonic()
                    deadlines = [started[futures[f]] + limit - now for f in pending if futures[f] in started]
                    if deadlines:
                        wait_for = max(0.0, min([*deadlines, 0.25]))
                done, pending = await asyncio.wait(pending, timeout=wait_for, return_when=asyncio.FIRST_COMPLETED)
                for fut in done:
                    index = futures[fut]
                    outcome = outcomes[index]
                    outcome.duration = time.monotonic() - started.get(index, time.monotonic())
                    exc = fut.exception()
                    if exc is None:
                        outcome.value = fut.result()
                    else:
                        outcome.error = exc
                    done_count += 1
                    await _report(progress, done_count, total, label(outcome.item))
                if limit is not None:
                    now = time.monotonic()
                    for fut in list(pending):
                        index = futures[fut]
                        if index in started and now - started[index] > limit:
                            pending.discard(fut)
                            fut.add_done_callback(_consume)
                            outcome = outcomes[index]
                            if outcome.context is not None:
                                outcome.context.cancel.cancel("timeout")
                            outcome.duration = now - started[index]
                            outcome.error = CallTimeout(f"no answer within {limit:g} s")
                            done_count += 1
                            await _report(progress, done_count, total, label(outcome.item))
        except BaseException:
            cancel.cancel("cancelled")
            for fut in pending:
                fut.cancel()
            raise
        return outcomes


def _consume(fut: asyncio.Future[object]) -> None:
    """Retrieve a late result of an abandoned call so asyncio does not log it as lost."""
    if not fut.cancelled():
        fut.exception()


async def _report(progress: ProgressFn | None, done: int, total: int, what: str) -> None:
    if progress is None:
        return
    try:
        await progress(done, total, what)
    except Exception:  # progress is best-effort: never let it sink the work
        log.debug("progress callback failed", exc_info=True)
