"""The application layer: one request in, one report out, for the MCP tools and the CLI alike.

It picks providers and scopes, fans the per-scope calls out on the engine's pool, serves
repeated questions from the cache, turns failures into per-scope errors, and assembles the
reports (period comparison, top-N folding, currencies, budget status, audit summary). Providers
only answer "what is the cost / budgets / findings of this one scope".
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import anyio

from finops_mcp import coverage, paging, periods
from finops_mcp import providers as registry
from finops_mcp.engine.cache import ResultCache, cache_key
from finops_mcp.engine.context import BilledCounter, CallContext, Cancelled, CancelToken
from finops_mcp.engine.fanout import CallTimeout, FanOut, Outcome
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.errors import InputError, ScopeFailure, redact
from finops_mcp.models import (
    AuditReport,
    AuditSummary,
    BudgetReport,
    BudgetStatus,
    BudgetSummary,
    CheckTotal,
    CostForecast,
    CostReport,
    CostRow,
    CurrencyTotal,
    DateRange,
    ErrorCode,
    Finding,
    GetBudgetStatusRequest,
    GetCostRequest,
    Meta,
    RunAuditRequest,
    ScopeError,
    budget_state,
)
from finops_mcp.providers.base import (
    AuditResult,
    AuditUnit,
    BudgetLine,
    Check,
    CostLine,
    CostQuery,
    Filters,
    ForecastLine,
    Provider,
    Scope,
    SpanAware,
)
from finops_mcp.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
ProgressFn = Callable[[int, int, str], Awaitable[None]]
NONE_KEY = "(none)"
OTHER_KEY = "(other)"


@dataclass
class _Run:
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


def all_failed(report: CostReport | AuditReport | BudgetReport) -> bool:
    """True when no scope answered: the tool result is then an error (isError)."""
    if not report.errors:
        return False
    if isinstance(report, AuditReport):  # a scope may fail in one region and answer in another
        return not report.checks_run
    failed = {(e.provider, e.scope) for e in report.errors}
    return len(failed) >= max(report.meta.scopes_queried, 1)


class FinOpsService:
    def __init__(
        self,
        settings: Settings,
        *,
        today: Callable[[], date] = periods.utc_today,
        providers: dict[str, Provider] | None = None,
        demo: bool = False,
    ) -> None:
        self.settings = settings
        self.today = today
        self.demo = demo
        self.fanout = FanOut(settings.max_workers, timeout=settings.scope_timeout_seconds)
        self.cache = ResultCache(settings.cache_ttl_seconds, settings.cache_max_entries)
        self.retry_policy = RetryPolicy(
            max_retries=settings.max_retries, max_total_wait=settings.retry_max_wait_seconds
        )
        self.reports = paging.ReportStore(settings.cache_ttl_seconds)
        self._providers: dict[str, Provider] = dict(providers or {})
        self._injected = providers is not None

    # ------------------------------------------------------------------ providers and scopes

    def enabled_providers(self) -> list[str]:
        """FINOPS_PROVIDERS if set, else every implemented provider whose configuration is found."""
        if self._injected:
            return list(self._providers)
        if self.settings.providers:
            return list(self.settings.providers)
        return [p for p in registry.detected(self.settings) if p in registry.IMPLEMENTED]

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            self._providers[name] = registry.load(name, self.settings)
        return self._providers[name]

    def close(self) -> None:
        for provider in self._providers.values():
            try:
                provider.close()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.debug("closing %s failed", provider, exc_info=True)
        self.fanout.shutdown()

    def _context(self, run: _Run) -> Callable[[Any, CancelToken], CallContext]:
        def make(_item: Any, token: CancelToken) -> CallContext:
            return CallContext(
                cancel=token,
                billed=run.billed,
                scanned=run.scanned,
                retry_policy=self.retry_policy,
                timeout_seconds=self.settings.request_timeout_seconds,
            )

        return make

    async def _scopes(
        self,
        run: _Run,
        providers: Sequence[str] | None,
        scopes: Sequence[str] | None,
        cancel: CancelToken,
    ) -> list[tuple[Provider, Scope]]:
        enabled = self.enabled_providers()
        wanted = list(providers) if providers else enabled
        usable: list[str] = []
        for name in wanted:
            if name not in enabled:
                run.error(name, name, "not_configured", _not_configured_message(name))
            elif not self._injected and name not in registry.IMPLEMENTED:
                run.error(
                    name,
                    name,
                    "not_configured",
                    f"the {name} provider is not available in this version of finops-mcp; "
                    f"available: {', '.join(registry.IMPLEMENTED)}",
                )
            else:
                usable.append(name)
        if not usable and not run.errors:
            run.error(
                "*",
                "*",
                "not_configured",
                "no provider is configured: set FINOPS_FOCUS_PATHS to your FOCUS exports "
                "(or run `finops-mcp demo`); see docs/configuration.md",
            )

        def discover(name: str, ctx: CallContext) -> Sequence[Scope]:
            found = list(self.provider(name).scopes(ctx))
            self.cache.put(cache_key("scopes", name, "*", {}), found)
            return found

        pairs: list[tuple[Provider, Scope]] = []
        known_scopes = {name: self.cache.get(cache_key("scopes", name, "*", {})) for name in usable}
        for name, cached in known_scopes.items():
            pairs.extend((self.provider(name), scope) for scope in cached or ())
        to_discover = [name for name, cached in known_scopes.items() if cached is None]
        outcomes = await self.fanout.run(
            to_discover, discover, make_context=self._context(run), cancel=cancel
        )
        for outcome in outcomes:
            if outcome.error is not None:
                self._record_error(run, outcome.item, outcome.item, outcome.error)
                continue
            for scope in outcome.value or ():
                pairs.append((self.provider(outcome.item), scope))
        if scopes:
            known = {s.id for _, s in pairs}
            for wanted_scope in scopes:
                if wanted_scope not in known:
                    prov = wanted_scope.split(":", 1)[0].replace("-mg", "").replace("-project", "")
                    run.error(
                        prov,
                        wanted_scope,
                        "not_found",
                        f"scope {wanted_scope} is not among the configured scopes "
                        f"({', '.join(sorted(known)) or 'none'}); see the finops://providers resource",
                    )
            pairs = [(p, s) for p, s in pairs if s.id in scopes]
        run.scopes.update(f"{p.name}|{s.id}" for p, s in pairs)
        run.scopes.update(run.failed_scopes)
        return pairs

    def _record_error(self, run: _Run, provider: str, scope: str, exc: BaseException) -> None:
        code, message, retryable = self._describe_error(provider, exc)
        run.error(provider, scope, code, message, retryable)

    def _describe_error(self, provider: str, exc: BaseException) -> tuple[ErrorCode, str, bool]:
        if isinstance(exc, ScopeFailure):
            return exc.code, redact(exc.message), exc.retryable
        if isinstance(exc, CallTimeout):
            return "timeout", f"{exc}; raise FINOPS_SCOPE_TIMEOUT_SECONDS or narrow the request", True
        if isinstance(exc, Cancelled):
            return "cancelled", "cancelled before it finished", True
        if isinstance(exc, InputError):
            return "invalid_query", redact(str(exc)), False
        mapped = None
        if provider in self._providers:
            try:
                mapped = self._providers[provider].classify_error(exc)
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

    async def _fan(
        self,
        run: _Run,
        items: Sequence[T],
        fn: Callable[[T, CallContext], Any],
        cancel: CancelToken,
        progress: ProgressFn | None,
        label: Callable[[T], str] = str,
    ) -> list[Outcome[T, Any]]:
        return await self.fanout.run(
            items, fn, make_context=self._context(run), cancel=cancel, progress=progress, label=label
        )

    # ------------------------------------------------------------------ get_cost

    def span_of(self, req: GetCostRequest, today: date | None = None) -> tuple[str | None, periods.Span]:
        """The request's period name (None for explicit dates) and the span it covers."""
        period = req.period or (None if req.start_date else "month_to_date")
        return period, periods.resolve(period, req.start_date, req.end_date, today or self.today())

    async def get_cost(
        self,
        req: GetCostRequest,
        *,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        max_chars: int | None = None,
    ) -> CostReport:
        """The cost report; an answer over `max_chars` is refused (InputError naming the fix)."""
        run, cancel = _Run(), cancel or CancelToken()
        today = self.today()
        period, span = self.span_of(req, today)
        prev_span = periods.previous(span, period) if req.compare_previous else None
        query = CostQuery(
            span, req.granularity, tuple(req.group_by), req.cost_type, Filters.from_model(req.filters)
        )
        targets = await self._scopes(run, req.providers, req.scopes, cancel)
        run.metric = f"{req.cost_type} cost"
        run.credits = coverage.credits_text((p.name for p, _ in targets), req.cost_type)
        no_previous = await self._span_notes(run, targets, span, prev_span, cancel)

        jobs: list[Job] = []
        for prov, scope in targets:
            jobs.append(Job("cost", prov, scope, query))
            if prev_span is not None and scope.id not in no_previous:
                jobs.append(Job("cost", prov, scope, replace(query, span=prev_span)))
            if req.include_forecast:
                month = periods.Span(periods.month_start(today), today)
                jobs.append(Job("forecast", prov, scope, replace(query, span=month, granularity="total")))

        def compute(job: Job, ctx: CallContext) -> Any:
            if job.kind == "forecast":
                return job.provider.forecast(job.scope, job.request, ctx)
            return job.provider.cost(job.scope, job.request, ctx)

        answers = await self._cached_jobs(
            run, jobs, compute, cancel, progress, soft_kinds=frozenset({"forecast"})
        )
        current: list[tuple[Provider, Scope, CostLine]] = []
        previous: list[tuple[Provider, Scope, CostLine]] = []
        forecasts: list[ForecastLine] = []
        for job, value in answers:
            if job.kind == "forecast":
                if value is not None:
                    forecasts.append(value)
            else:
                target = current if job.request.span == span else previous
                target.extend((job.provider, job.scope, line) for line in value)

        answered = [(j.provider, j.scope) for j, _ in answers if j.kind == "cost" and j.request == query]
        await self._filter_notes(run, query, current, answered, cancel)
        has_previous = prev_span is not None and any(s.id not in no_previous for _, s in targets)
        if forecasts:  # a run rate rests on the month's days up to yesterday, or the data's last day
            last = today - timedelta(days=1)
            known = [d.end for d in run.spans.values() if d is not None]
            through = min(last, max(known)) if known else last
            days = coverage.forecast_days(periods.month_start(today), through)
            run.note(coverage.thin_forecast_note("the forecast", days))
        report = self._cost_report(
            req, run, span, prev_span, current, previous, forecasts, set(no_previous), has_previous
        )
        if not paging.fits(report, max_chars):
            raise InputError(
                "top_n",
                f"the answer would take {paging.answer_chars(report):,} characters "
                f"({len(report.rows)} rows), "
                f"over the answer budget of {max_chars:,} (FINOPS_ANSWER_MAX_CHARS): lower top_n "
                f"(now {req.top_n}), use granularity 'monthly' or 'total', fewer group_by dimensions, "
                "or a shorter period",
            )
        return report

    async def _span_notes(
        self,
        run: _Run,
        targets: Sequence[tuple[Provider, Scope]],
        span: periods.Span,
        prev_span: periods.Span | None,
        cancel: CancelToken,
    ) -> dict[str, date]:
        """Note where `span` (and `prev_span`) fall outside a scope's data. Returns the scopes whose
        data starts after the previous period (their previous cost is unknown), with that start."""
        spans = await self._data_spans(run, targets, cancel)
        no_previous: dict[str, date] = {}
        for _prov, scope in targets:
            data = spans.get(scope.id)
            if data is None:
                continue
            run.note(coverage.outside_note(scope.id, data, span))
            if prev_span is not None and coverage.previous_unknown(data, prev_span):
                no_previous[scope.id] = data.start
            elif prev_span is not None:
                run.note(coverage.outside_note(scope.id, data, prev_span, "the previous period"))
        if prev_span is not None and no_previous:
            run.note(coverage.previous_note(no_previous, prev_span))
        return no_previous

    async def _data_spans(
        self, run: _Run, targets: Sequence[tuple[Provider, Scope]], cancel: CancelToken
    ) -> dict[str, periods.Span | None]:
        """The days each scope's data holds, for providers that know (`SpanAware`); kept in `run`."""

        def compute(job: Job, ctx: CallContext) -> periods.Span | None:
            try:
                return job.provider.data_span(job.scope, ctx)  # type: ignore[attr-defined]
            except Cancelled:
                raise
            except Exception:  # the scope's own call reports the failure
                return None

        jobs = [Job("span", p, s, None) for p, s in targets if isinstance(p, SpanAware)]
        counted = run.lookups, run.hits  # a side question: `meta.cached` speaks of the answer itself
        answers = await self._cached_jobs(run, jobs, compute, cancel, None)
        run.lookups, run.hits = counted
        run.spans.update({job.scope.id: value for job, value in answers})
        return run.spans

    async def _filter_notes(
        self,
        run: _Run,
        query: CostQuery,
        current: Sequence[tuple[Provider, Scope, CostLine]],
        answered: Sequence[tuple[Provider, Scope]],
        cancel: CancelToken,
    ) -> None:
        """Name each filter value that matched nothing, with close matches from the data. A value is
        known to have matched nothing when the answer is empty, or when its dimension is grouped by
        and no row carries it; the data's values come from one unfiltered query per dimension."""
        missing: list[tuple[coverage.FilterDim, list[str]]] = []
        for dim in coverage.filter_dims(query.filters):
            if dim.dimension in query.group_by:
                seen = {dict(line.keys).get(dim.dimension) for _, _, line in current}
            elif not current:
                seen = set()
            else:
                continue
            values = [v for v in dim.values if v and v not in seen]
            if values:
                missing.append((dim, values))
        if not missing or not answered:
            return

        def compute(job: Job, ctx: CallContext) -> list[CostLine]:
            return job.provider.cost(job.scope, job.request, ctx)

        jobs = [
            Job("values", prov, scope, CostQuery(query.span, "total", (dim.dimension,), query.cost_type))
            for dim, _ in missing
            for prov, scope in answered
        ]
        answers = await self._cached_jobs(run, jobs, compute, cancel, None, soft_kinds=frozenset({"values"}))
        scope_ids = sorted({s.id for _, s in answered})
        where = ", ".join(scope_ids) if len(scope_ids) <= 3 else f"{len(scope_ids)} scopes"
        for dim, values in missing:
            known = {
                dict(line.keys).get(dim.dimension, "")
                for job, lines in answers
                if job.request.group_by == (dim.dimension,)
                for line in lines
            }
            for value in values:
                run.note(coverage.unmatched_note(dim, value, known, query.span, where))

    async def _cached_jobs(
        self,
        run: _Run,
        jobs: Sequence[Job],
        compute: Callable[[Job, CallContext], Any],
        cancel: CancelToken,
        progress: ProgressFn | None,
        *,
        soft_kinds: frozenset[str] = frozenset(),
    ) -> list[tuple[Job, Any]]:
        """Answer jobs from the cache where possible and fan out the rest. Successful answers are
        cached with their notes; failures become per-scope errors (or notes, for `soft_kinds`)."""
        results: list[tuple[Job, Any]] = []
        misses: list[Job] = []

        def key(job: Job) -> str:
            # a provider may fingerprint its data (FOCUS: the files' stats): a change is a new key
            version = getattr(job.provider, "data_version", None)
            request = (job.request, version(job.scope)) if callable(version) else job.request
            return cache_key(job.kind, job.provider.name, job.scope.id, request)

        keys = {id(job): key(job) for job in jobs}
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

        outcomes = await self._fan(run, misses, call, cancel, progress, label=str)
        for outcome in outcomes:
            job = outcome.item
            for note in outcome.context.notes if outcome.context else ():
                run.note(note)
            if outcome.error is None:
                results.append((job, outcome.value))
            elif job.kind in soft_kinds and not isinstance(outcome.error, Cancelled | CallTimeout):
                reason = self._describe_error(job.provider.name, outcome.error)[1]
                run.note(f"{job.kind} for {job.scope.id} unavailable: {reason}")
            else:
                self._record_error(run, job.provider.name, job.scope.id, outcome.error)
        return results

    def _cost_report(
        self,
        req: GetCostRequest,
        run: _Run,
        span: periods.Span,
        prev_span: periods.Span | None,
        current: list[tuple[Provider, Scope, CostLine]],
        previous: list[tuple[Provider, Scope, CostLine]],
        forecasts: list[ForecastLine],
        no_previous: set[str] | None = None,
        has_previous: bool = True,
    ) -> CostReport:
        """`no_previous`: scopes whose previous cost is unknown (null); `has_previous`: some scope's
        previous cost is known (else previous_total is null too)."""
        dims = tuple(req.group_by)
        no_previous = no_previous or set()
        compared = prev_span is not None and req.granularity == "total"

        def group(lines: Iterable[tuple[Provider, Scope, CostLine]]) -> dict[tuple[Any, ...], Decimal]:
            out: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
            for prov, scope, line in lines:
                keys = dict(line.keys)
                values = tuple(keys.get(d) or NONE_KEY for d in dims)
                out[(prov.name, scope.id, line.currency, line.period_start, values)] += line.cost
            return out

        cur = group(current)
        prev_by_series: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
        for (p, s, c, _start, values), cost in group(previous).items():
            prev_by_series[(p, s, c, values)] += cost

        # Rank series (provider, scope, currency, keys) by total cost; fold the rest into "other".
        series_total: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
        for (p, s, c, _start, values), cost in cur.items():
            series_total[(p, s, c, values)] += cost
        ranked = sorted(series_total, key=lambda k: (-abs(series_total[k]), k))
        keep = set(ranked[: req.top_n])
        folded = [k for k in ranked[req.top_n :]]

        rows: list[CostRow] = []
        other: dict[tuple[Any, ...], dict[str, Any]] = {}
        for (p, s, c, start, values), cost in cur.items():
            if (p, s, c, values) in keep:
                prev_cost = prev_by_series.get((p, s, c, values)) if compared else None
                if compared and prev_cost is None and s not in no_previous:
                    prev_cost = Decimal(0)
                rows.append(
                    CostRow(
                        provider=p,
                        scope=s,
                        period_start=start,
                        keys=dict(zip(dims, values, strict=True)),
                        cost=cost,
                        previous_cost=prev_cost,
                        change_pct=_pct(cost, prev_cost),
                        currency=c,
                    )
                )
            else:
                slot = other.setdefault((c, start), {"cost": Decimal(0), "prev": Decimal(0), "ps": set()})
                slot["cost"] += cost
                slot["ps"].add((p, s))
        if folded and compared:
            for p, s, c, values in folded:
                if (c, None) in other:
                    other[(c, None)]["prev"] += prev_by_series.get((p, s, c, values), Decimal(0))
        for (c, start), slot in other.items():
            provs = {p for p, _ in slot["ps"]}
            scopes = {s for _, s in slot["ps"]}
            known = compared and any(s not in no_previous for _, s in slot["ps"])
            prev_cost = slot["prev"] if known else None
            rows.append(
                CostRow(
                    provider=provs.pop() if len(provs) == 1 else "*",
                    scope=scopes.pop() if len(scopes) == 1 else "*",
                    period_start=start,
                    keys={d: OTHER_KEY for d in dims},
                    cost=slot["cost"],
                    previous_cost=prev_cost,
                    change_pct=_pct(slot["cost"], prev_cost),
                    currency=c,
                )
            )
        if folded:
            run.note(f"{len(folded)} smaller series folded into the '{OTHER_KEY}' row(s) (top_n={req.top_n})")
        rows.sort(key=lambda r: (r.period_start or date.min, r.keys == {d: OTHER_KEY for d in dims}, -r.cost))

        totals: dict[str, Decimal] = defaultdict(Decimal)
        for (_p, _s, c, _start, _v), cost in cur.items():
            totals[c] += cost
        prev_totals: dict[str, Decimal] = defaultdict(Decimal)
        for (_p, _s, c, _v), cost in prev_by_series.items():
            prev_totals[c] += cost
        currencies = sorted(
            set(totals) | set(prev_totals), key=lambda c: (-abs(totals.get(c, Decimal(0))), c)
        )
        primary = currencies[0] if currencies else "USD"
        total = totals.get(primary, Decimal(0))
        with_previous = prev_span is not None and has_previous
        prev_total = prev_totals.get(primary, Decimal(0)) if with_previous else None
        others = [
            CurrencyTotal(
                currency=c,
                total=totals.get(c, Decimal(0)),
                previous_total=prev_totals.get(c, Decimal(0)) if with_previous else None,
            )
            for c in currencies[1:]
        ]
        if others:
            run.note("costs in several currencies: `total` is in " + primary + "; see other_currencies")

        forecast = None
        in_primary = [f for f in forecasts if f.currency == primary]
        if in_primary:
            forecast = CostForecast(
                period=DateRange(start=in_primary[0].span.start, end=in_primary[0].span.end),
                amount=sum((f.amount for f in in_primary), Decimal(0)),
                currency=primary,
                method=",".join(sorted({f.method for f in in_primary})),
            )
        elif req.include_forecast:
            run.note("no forecast could be computed for the requested scopes")

        return CostReport(
            period=DateRange(start=span.start, end=span.end),
            previous_period=DateRange(start=prev_span.start, end=prev_span.end) if prev_span else None,
            granularity=req.granularity,
            group_by=list(dims),
            cost_type=req.cost_type,
            currency=primary,
            total=total,
            previous_total=prev_total,
            change_pct=_pct(total, prev_total),
            other_currencies=others,
            forecast=forecast,
            rows=rows,
            errors=run.errors,
            meta=run.meta(demo=self.demo or None),
        )

    # ------------------------------------------------------------------ get_budget_status

    async def get_budget_status(
        self,
        req: GetBudgetStatusRequest,
        *,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        max_chars: int | None = None,
    ) -> BudgetReport:
        """Budgets, most urgent first; past `max_chars` the least urgent are left out (noted)."""
        run, cancel = _Run(), cancel or CancelToken()
        today = self.today()
        targets = await self._scopes(run, req.providers, req.scopes, cancel)
        await self._data_spans(run, targets, cancel)
        run.metric, run.credits = "budget actual and forecast", "as each budget's own definition counts them"

        jobs = [Job("budgets", prov, scope, today) for prov, scope in targets]

        def compute(job: Job, ctx: CallContext) -> tuple[BudgetLine, ...]:
            return tuple(job.provider.budgets(job.scope, job.request, ctx))

        answers = await self._cached_jobs(run, jobs, compute, cancel, progress)
        budgets: list[BudgetStatus] = []
        wanted = set(req.names or ())
        for job, lines in answers:
            for line in lines:
                if wanted and line.name not in wanted:
                    continue
                budgets.append(_budget_status(job.provider.name, job.scope.id, line))
        if wanted:
            missing = wanted - {b.name for b in budgets}
            if missing:
                run.note(f"no budget named {', '.join(sorted(missing))} in the queried scopes")
        young = {
            b.name: coverage.forecast_days(b.period_start, min(today - timedelta(days=1), b.period_end))
            for b in budgets
            if b.forecast is not None
        }
        thin = [name for name, days in sorted(young.items()) if days < coverage.MIN_FORECAST_DAYS]
        if thin:
            what = f"the forecast of {', '.join(thin[:5])}" + (
                f" and {len(thin) - 5} more" if len(thin) > 5 else ""
            )
            run.note(coverage.thin_forecast_note(what, min(young[n] for n in thin)))
        order = {"exceeded": 0, "forecast_exceeded": 1, "warning": 2, "ok": 3}
        budgets.sort(key=lambda b: (order[b.status], -(b.percent_used or 0), b.name))
        summary = BudgetSummary(
            total=len(budgets),
            exceeded=sum(b.status == "exceeded" for b in budgets),
            forecast_exceeded=sum(b.status == "forecast_exceeded" for b in budgets),
            warning=sum(b.status == "warning" for b in budgets),
            ok=sum(b.status == "ok" for b in budgets),
        )
        meta = run.meta(demo=self.demo or None)

        def first(n: int) -> BudgetReport:
            notes = meta.notes
            if n < len(budgets):
                notes = [
                    *notes,
                    f"{len(budgets) - n} less urgent budgets left out to fit the answer budget "
                    f"(FINOPS_ANSWER_MAX_CHARS); summary counts all; narrow with names or scopes",
                ]
            return BudgetReport(
                budgets=budgets[:n],
                summary=summary,
                errors=run.errors,
                meta=meta.model_copy(update={"notes": notes}),
            )

        return paging.shrink(first, len(budgets), max_chars)[1]

    # ------------------------------------------------------------------ run_finops_audit

    def check_catalog(self, providers: Sequence[str] | None = None) -> list[Check[Any]]:
        """Every check of the implemented providers (or of the given ones), sorted by id."""
        names = providers or (list(self._providers) if self._injected else list(registry.IMPLEMENTED))
        checks: list[Check[Any]] = []
        for name in names:
            if name in self._providers or name in registry.IMPLEMENTED:
                checks.extend(self.provider(name).checks())
        return sorted(checks, key=lambda c: c.id)

    def select_checks(
        self, selectors: Sequence[str] | None, providers: Sequence[str] | None
    ) -> list[Check[Any]]:
        catalog = self.check_catalog()
        if selectors:
            unknown = [s for s in selectors if not any(_matches(c.id, s) for c in catalog)]
            if unknown:
                raise InputError(
                    "checks",
                    f"unknown check id or prefix {', '.join(map(repr, unknown))}; known checks: "
                    f"{', '.join(c.id for c in catalog)} (prefixes like 'focus' or 'aws.ebs' work too)",
                )
            catalog = [c for c in catalog if any(_matches(c.id, s) for s in selectors)]
        if providers:
            catalog = [c for c in catalog if c.provider in providers]
        return catalog

    async def run_audit(
        self,
        req: RunAuditRequest,
        *,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        max_chars: int | None = None,
    ) -> AuditReport:
        """One page of the audit (`req.limit` findings from `req.cursor`), fitting `max_chars`.
        The whole result is kept in `self.reports` for the pages that follow (see paging)."""
        digest = paging.args_digest(req)
        offset, found = 0, None
        if req.cursor:
            cursor = paging.Cursor.decode(req.cursor)
            if cursor.args != digest:
                raise InputError(
                    "cursor",
                    "belongs to a call with other arguments: repeat that call's arguments and change only "
                    "`cursor` (and `limit`)",
                )
            stored = self.reports.get(cursor.report_id)
            if stored is None:
                raise InputError(
                    "cursor",
                    f"has expired (results are kept {self.reports.ttl:.0f} s); call again without `cursor`",
                )
            offset, found = cursor.offset, (cursor.report_id, stored[1])
        elif self.cache.enabled:
            found = self.reports.latest(digest)
        if found is None:
            whole = await self._audit(req, progress, cancel or CancelToken())
            found = (self.reports.put(digest, whole), whole)
            cached = whole.meta.cached
        else:
            cached = True
        report_id, whole = found
        return paging.audit_page(whole, report_id, digest, offset, req.limit, max_chars, cached=cached)

    def stored_report(self, report_id: str) -> AuditReport | None:
        """Every finding of a kept audit result (the finops://reports/{id} resource)."""
        stored = self.reports.get(report_id)
        if stored is None:
            return None
        return stored[1].model_copy(update={"report_uri": paging.REPORT_URI.format(id=report_id)})

    async def _audit(
        self, req: RunAuditRequest, progress: ProgressFn | None, cancel: CancelToken
    ) -> AuditReport:
        run = _Run()
        selected = self.select_checks(req.checks, req.providers)
        targets = await self._scopes(run, req.providers, req.scopes, cancel)
        by_provider: dict[str, list[Check[Any]]] = defaultdict(list)
        for check in selected:
            by_provider[check.provider].append(check)
        targets = [(p, s) for p, s in targets if by_provider.get(p.name)]
        await self._data_spans(run, targets, cancel)
        run.metric = "estimated monthly cost per finding (how: each finding's cost_basis)"
        run.credits = "findings are priced before credits"

        def units(target: tuple[Provider, Scope], ctx: CallContext) -> list[AuditUnit]:
            prov, scope = target
            return prov.audit_units(scope, req.regions, ctx)

        unit_outcomes = await self._fan(
            run, targets, units, cancel, None, label=lambda t: f"regions {t[1].id}"
        )
        work: list[tuple[Provider, AuditUnit]] = []
        for outcome in unit_outcomes:
            prov, scope = outcome.item
            if outcome.error is not None:
                self._record_error(run, prov.name, scope.id, outcome.error)
                continue
            work.extend((prov, unit) for unit in outcome.value or ())

        def audit(item: tuple[Provider, AuditUnit], ctx: CallContext) -> AuditResult:
            prov, unit = item
            return prov.audit(unit, by_provider[prov.name], ctx)

        audits = await self._fan(run, work, audit, cancel, progress, label=lambda w: f"audit {w[1]}")
        findings: list[Finding] = []
        checks_run: set[str] = set()
        regions: set[str] = set()
        for done in audits:
            prov, unit = done.item
            for note in done.context.notes if done.context else ():
                run.note(note)
            if done.error is not None or done.value is None:
                code, message, retryable = self._describe_error(
                    prov.name, done.error or RuntimeError("no answer")
                )
                where = f" in {unit.region}" if unit.region else ""
                run.error(prov.name, unit.scope.id, code, message + where, retryable)
                continue
            result: AuditResult = done.value
            checks_run.update(result.checks_run)
            regions.update(result.regions)
            findings.extend(f for f in result.findings if f.estimated_monthly_cost >= req.min_monthly_cost)

        findings.sort(key=lambda f: (-f.estimated_monthly_cost, f.check, f.resource_id))
        currency = _primary_currency(findings)
        by_check: dict[str, CheckTotal] = {}
        categories = {c.id: c.category for c in selected}
        for check_id in sorted(checks_run):
            mine = [f for f in findings if f.check == check_id and f.currency == currency]
            by_check[check_id] = CheckTotal(
                count=sum(f.check == check_id for f in findings),
                estimated_monthly_cost=sum((f.estimated_monthly_cost for f in mine), Decimal(0)),
                category=categories.get(check_id, "waste"),
            )
        waste = sum(
            (f.estimated_monthly_cost for f in findings if f.category == "waste" and f.currency == currency),
            Decimal(0),
        )
        summary = AuditSummary(
            findings=len(findings),
            estimated_monthly_waste=waste,
            currency=currency,
            by_check=by_check,
            scopes_scanned=len({u.scope.id for _, u in work}),
            regions_scanned=len(regions),
        )
        return AuditReport(
            findings=findings,
            summary=summary,
            checks_run=sorted(checks_run),
            errors=run.errors,
            meta=run.meta(demo=self.demo or None),
        )

    # ------------------------------------------------------------------ resources

    async def providers_info(self) -> dict[str, Any]:
        run, cancel = _Run(), CancelToken()
        pairs = await self._scopes(run, None, None, cancel)
        info: dict[str, Any] = {"enabled": self.enabled_providers(), "providers": {}}
        for name in self.enabled_providers():
            entry: dict[str, Any] = {"scopes": [s.id for p, s in pairs if p.name == name]}
            if name in self._providers:
                try:  # describe() may read files: never on the event loop
                    entry["config"] = await anyio.to_thread.run_sync(self._providers[name].describe)
                except Exception as exc:
                    entry["config_error"] = redact(str(exc))
            info["providers"][name] = entry
        info["available_in_this_version"] = (
            list(self._providers) if self._injected else list(registry.IMPLEMENTED)
        )
        info["errors"] = [e.model_dump(mode="json") for e in run.errors]
        return info


def _matches(check_id: str, selector: str) -> bool:
    return check_id == selector or check_id.startswith(selector + ".")


def _pct(value: Decimal, base: Decimal | None) -> float | None:
    if base is None or base == 0:
        return None
    return float((value - base) / abs(base) * 100)


def _primary_currency(findings: Sequence[Finding]) -> str:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for f in findings:
        totals[f.currency] += f.estimated_monthly_cost
    return max(totals, key=lambda c: (totals[c], c)) if totals else "USD"


def _budget_status(provider: str, scope: str, line: BudgetLine) -> BudgetStatus:
    limit = line.limit if line.limit is not None and line.limit > 0 else None
    return BudgetStatus(
        provider=provider,
        scope=scope,
        name=line.name,
        period=line.period,
        period_start=line.span.start,
        period_end=line.span.end,
        limit=line.limit,
        actual=line.actual,
        forecast=line.forecast,
        currency=line.currency,
        percent_used=float(line.actual / limit * 100) if limit else None,
        forecast_percent=float(line.forecast / limit * 100) if limit and line.forecast is not None else None,
        status=budget_state(limit, line.actual, line.forecast, list(line.thresholds)),
        thresholds=list(line.thresholds),
    )


def _not_configured_message(name: str) -> str:
    hint = registry.not_configured_hint(name)
    return f"the {name} provider is not configured: {hint}, or list it in FINOPS_PROVIDERS"
