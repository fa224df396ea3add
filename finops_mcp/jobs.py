"""One request's bookkeeping (`Run`), its cacheable provider calls (`Job`) and the cached fan-out
that runs them: answers from the cache where it can, the rest on the engine's pool, every
failure turned into a per-scope error (or a note, for side questions)."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from finops_mcp import coverage, periods
from finops_mcp.engine.cache import ResultCache, cache_key
from finops_mcp.engine.context import BilledCounter, CallContext, Cancelled, CancelToken
from finops_mcp.engine.fanout import CallTimeout, FanOut, Outcome
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.errors import InputError, ScopeFailure, redact
from finops_mcp.models import ErrorCode, Meta, ScopeError
from finops_mcp.providers.base import Provider, Scope

log = logging.getLogger(__name__)
T = TypeVar("T")
ProgressFn = Callable[[int, int, str], Awaitable[None]]
Classifier = Callable[[str, BaseException], "tuple[ErrorCode, bool] | None"]


@dataclass
class Run:
    """Bookkeeping of one request: errors, notes, billed requests, cache hits."""

    started: float = field(default_factory=time.perf_counter)
    errors: list[ScopeError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    billed: BilledCounter = field(default_factory=BilledCounter)
    scanned: BilledCounter = field(default_factory=BilledCounter)
    lookups: int = 0
    hits: int = 0
    scopes: set[str] = field(default_factory=set)
    failed_scopes: set[str] = field(default_factory=set)
    metric: str | None = None  # what the amounts are (meta.basis); None: no basis
    credits: str = ""
    spans: dict[str, periods.Span | None] = field(default_factory=dict)

    def note(self, text: str | None) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def error(
        self, provider: str, scope: str, code: ErrorCode, message: str, retryable: bool = False
    ) -> None:
        entry = ScopeError(provider=provider, scope=scope, code=code, message=message, retryable=retryable)
        if entry not in self.errors:
            self.errors.append(entry)
        self.failed_scopes.add(f"{provider}|{scope}")

    def meta(self, **extra: Any) -> Meta:
        return Meta(
            cached=self.lookups > 0 and self.hits == self.lookups,
            billed_requests=self.billed.snapshot(),
            bytes_scanned=self.scanned.snapshot(),
            duration_ms=int((time.perf_counter() - self.started) * 1000),
            scopes_queried=len(self.scopes),
            notes=list(self.notes),
            basis=(
                coverage.basis(self.metric, self.credits, self.spans, self.billed.snapshot())
                if self.metric
                else None
            ),
            **extra,
        )


@dataclass(frozen=True)
class Job:
    """One cacheable provider call: what (`kind`), where (provider, scope) and the request."""

    kind: str
    provider: Provider
    scope: Scope
    request: Any

    def __str__(self) -> str:
        span = getattr(self.request, "span", None)
        return f"{self.kind} {self.scope.id}" + (f" {span.start}..{span.end}" if span else "")

    def key(self) -> str:
        """The cache key. A provider may fingerprint its data (FOCUS: the files' stats,
        `data_version(scope)`): a change is a new key."""
        version = getattr(self.provider, "data_version", None)
        request = (self.request, version(self.scope)) if callable(version) else self.request
        return cache_key(self.kind, self.provider.name, self.scope.id, request)


def describe_error(provider: str, exc: BaseException, classify: Classifier) -> tuple[ErrorCode, str, bool]:
    """(code, redacted message, retryable) of a failed provider call. `classify` is the provider's
    own table (None: not one of its SDK's errors)."""
    if isinstance(exc, ScopeFailure):
        return exc.code, redact(exc.message), exc.retryable
    if isinstance(exc, CallTimeout):
        return "timeout", f"{exc}; raise FINOPS_SCOPE_TIMEOUT_SECONDS or narrow the request", True
    if isinstance(exc, Cancelled):
        return "cancelled", "cancelled before it finished", True
    if isinstance(exc, InputError):
        return "invalid_query", redact(str(exc)), False
    try:
        mapped = classify(provider, exc)
    except Exception:  # pragma: no cover - a classifier must never sink a report
        mapped = None
    if mapped is not None:
        code, retryable = mapped
        return code, redact(f"{type(exc).__name__}: {exc}"), retryable
    message = redact(f"{type(exc).__name__}: {exc}")
    # The message is redacted; the traceback is logged as locations only (no text, no source).
    log.warning("unexpected error from %s: %s", provider, message, extra={"code": "upstream"})
    frames = traceback.extract_tb(exc.__traceback__)
    log.debug("where: %s", " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(frames)))
    return "upstream", message, isinstance(exc, TimeoutError | ConnectionError)


@dataclass
class Jobs:
    """The cached fan-out: the engine's pool, the result cache and the retry policy, shared by
    every request of one service."""

    fanout: FanOut
    cache: ResultCache
    retry_policy: RetryPolicy
    request_timeout: float | None
    classify: Classifier

    def context(self, run: Run) -> Callable[[Any, CancelToken], CallContext]:
        def make(_item: Any, token: CancelToken) -> CallContext:
            return CallContext(
                cancel=token,
                billed=run.billed,
                scanned=run.scanned,
                retry_policy=self.retry_policy,
                timeout_seconds=self.request_timeout,
            )

        return make

    def describe(self, provider: str, exc: BaseException) -> tuple[ErrorCode, str, bool]:
        return describe_error(provider, exc, self.classify)

    def record(self, run: Run, provider: str, scope: str, exc: BaseException) -> None:
        code, message, retryable = self.describe(provider, exc)
        run.error(provider, scope, code, message, retryable)

    async def fan(
        self,
        run: Run,
        items: Sequence[T],
        fn: Callable[[T, CallContext], Any],
        cancel: CancelToken,
        progress: ProgressFn | None = None,
        label: Callable[[T], str] = str,
    ) -> list[Outcome[T, Any]]:
        return await self.fanout.run(
            items, fn, make_context=self.context(run), cancel=cancel, progress=progress, label=label
        )

    async def cached(
        self,
        run: Run,
        jobs: Sequence[Job],
        compute: Callable[[Job, CallContext], Any],
        cancel: CancelToken,
        progress: ProgressFn | None = None,
        *,
        soft_kinds: frozenset[str] = frozenset(),
    ) -> list[tuple[Job, Any]]:
        """Answer jobs from the cache where possible and fan out the rest. Successful answers are
        cached with their notes; failures become per-scope errors (or notes, for `soft_kinds`)."""
        results: list[tuple[Job, Any]] = []
        misses: list[Job] = []
        keys = {id(job): job.key() for job in jobs}
        for job in jobs:
            run.lookups += 1
            hit = self.cache.get(keys[id(job)])
            if hit is None:
                misses.append(job)
                continue
            run.hits += 1
            value, notes = hit
            for note in notes:
                run.note(note)
            results.append((job, value))

        def call(job: Job, ctx: CallContext) -> Any:
            value = compute(job, ctx)
            self.cache.put(keys[id(job)], (value, tuple(ctx.notes)))
            return value

        outcomes = await self.fan(run, misses, call, cancel, progress, label=str)
        for outcome in outcomes:
            job = outcome.item
            for note in outcome.context.notes if outcome.context else ():
                run.note(note)
            if outcome.error is None:
                results.append((job, outcome.value))
            elif job.kind in soft_kinds and not isinstance(outcome.error, Cancelled | CallTimeout):
                reason = self.describe(job.provider.name, outcome.error)[1]
                run.note(f"{job.kind} for {job.scope.id} unavailable: {reason}")
            else:
                self.record(run, job.provider.name, job.scope.id, outcome.error)
        return results
