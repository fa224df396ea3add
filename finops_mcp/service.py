"""The application layer: one request in, one report out, for the MCP tools and the CLI alike.

The facade over three concepts, each its own module: which scopes a request covers
(`finops_mcp.scopes`), the cached fan-out that runs the per-scope calls and turns failures into
per-scope errors (`finops_mcp.jobs`), and the pure report builders (`finops_mcp.reports.cost`,
`.budgets`, `.audit`). Each tool method here gathers the providers' answers as plain data, adds
the data-coverage notes, and hands them to its builder. Providers only answer "what is the cost /
budgets / findings of this one scope".
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import anyio

from finops_mcp import coverage, explain, paging, periods, scopes
from finops_mcp import providers as _registry
from finops_mcp.engine.cache import ResultCache
from finops_mcp.engine.context import CallContext, Cancelled, CancelToken
from finops_mcp.engine.fanout import FanOut
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.errors import InputError, redact
from finops_mcp.jobs import Job, Jobs, ProgressFn, Run
from finops_mcp.models import (
    AuditReport,
    BudgetReport,
    CostReport,
    ErrorCode,
    GetBudgetStatusRequest,
    GetCostRequest,
    RunAuditRequest,
)
from finops_mcp.providers import base
from finops_mcp.providers.base import Check, Provider, Scope
from finops_mcp.reports.audit import audit_report
from finops_mcp.reports.budgets import ScopedBudget, budget_report
from finops_mcp.reports.cost import NONE_KEY, OTHER_KEY, CostInputs, ScopedLine, cost_report
from finops_mcp.settings import Settings

log = logging.getLogger(__name__)
_Run = Run  # the name earlier versions used
__all__ = ["NONE_KEY", "OTHER_KEY", "FinOpsService", "Job", "ProgressFn", "Run", "all_failed"]


def all_failed(report: CostReport | AuditReport | BudgetReport) -> bool:
    """True when no scope answered: the tool result is then an error (isError)."""
    if not report.errors:
        return False
    if isinstance(report, AuditReport):  # a scope may fail in one region and answer in another
        return not report.checks_run
    failed = {(e.provider, e.scope) for e in report.errors}
    return len(failed) >= max(report.meta.scopes_queried, 1)


class FinOpsService:
    """`registry`: the providers it may use (default: this version's clouds). `providers`: a
    shorthand for `registry=Registry.of(providers)` (those instances, always enabled)."""

    def __init__(
        self,
        settings: Settings,
        *,
        today: Callable[[], date] = periods.utc_today,
        providers: dict[str, Provider] | None = None,
        registry: _registry.Registry | None = None,
        demo: bool = False,
    ) -> None:
        self.settings = settings
        self.today = today
        self.demo = demo
        self.registry = registry or (
            _registry.Registry.of(providers) if providers is not None else _registry.DEFAULT
        )
        self.fanout = FanOut(settings.max_workers, timeout=settings.scope_timeout_seconds)
        self.cache = ResultCache(settings.cache_ttl_seconds, settings.cache_max_entries)
        self.retry_policy = RetryPolicy(
            max_retries=settings.max_retries, max_total_wait=settings.retry_max_wait_seconds
        )
        self.jobs = Jobs(
            self.fanout, self.cache, self.retry_policy, settings.request_timeout_seconds, self._classify
        )
        self.reports = paging.ReportStore(settings.cache_ttl_seconds)
        given = {e.id: e.instance for e in self.registry.entries if e.instance is not None}
        self._providers: dict[str, Provider] = given  # loaded (or given) so far

    # ------------------------------------------------------------------ providers and scopes

    def enabled_providers(self) -> list[str]:
        """FINOPS_PROVIDERS if set, else every implemented provider whose configuration is found."""
        return self.registry.enabled(self.settings)

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            self._providers[name] = self.registry.load(name, self.settings)
        return self._providers[name]

    def close(self) -> None:
        for provider in self._providers.values():
            try:
                provider.close()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.debug("closing %s failed", provider, exc_info=True)
        self.fanout.shutdown()

    def _classify(self, provider: str, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        loaded = self._providers.get(provider)
        return loaded.classify_error(exc) if loaded is not None else None

    async def _scopes(
        self, run: Run, providers: Sequence[str] | None, wanted: Sequence[str] | None, cancel: CancelToken
    ) -> list[tuple[Provider, Scope]]:
        usable = scopes.usable_providers(run, self.registry, self.settings, providers)
        return await scopes.resolve(run, self.jobs, self.registry, usable, self.provider, wanted, cancel)

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
        """The cost report; an answer over `max_chars` is refused (InputError naming the fix).

        Steps: the jobs (current, previous, forecast per scope) through the cached fan-out; the
        lines sorted into current / previous / forecasts; coverage notes; the pure builder."""
        run, cancel = Run(), cancel or CancelToken()
        today = self.today()
        period, span = self.span_of(req, today)
        prev_span = periods.previous(span, period) if req.compare_previous else None
        query = base.CostQuery(
            span,
            req.granularity,
            tuple(req.group_by),
            req.cost_type,
            base.Filters.from_model(req.filters),
            quantity=req.explain_change,
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

        answers = await self.jobs.cached(
            run, jobs, compute, cancel, progress, soft_kinds=frozenset({"forecast"})
        )
        data = CostInputs(span, prev_span, no_previous=frozenset(no_previous))
        current: list[ScopedLine] = []
        previous: list[ScopedLine] = []
        forecasts: list[base.ForecastLine] = []
        for job, value in answers:
            if job.kind == "forecast":
                if value is not None:
                    forecasts.append(value)
            else:
                target = current if job.request.span == span else previous
                target.extend(ScopedLine(job.provider.name, job.scope.id, line) for line in value)
        data.current, data.previous, data.forecasts = current, previous, forecasts

        answered = [(j.provider, j.scope) for j, _ in answers if j.kind == "cost" and j.request == query]
        await self._filter_notes(run, query, current, answered, cancel)
        data.has_previous = prev_span is not None and any(s.id not in no_previous for _, s in targets)
        if forecasts:  # a run rate rests on the month's days up to yesterday, or the data's last day
            last = today - timedelta(days=1)
            known = [d.end for d in run.spans.values() if d is not None]
            through = min(last, max(known)) if known else last
            days = coverage.forecast_days(periods.month_start(today), through)
            run.note(coverage.thin_forecast_note("the forecast", days))
        explain_change = req.explain_change and prev_span is not None and data.has_previous
        deeper = []
        if explain_change and prev_span is not None:
            both = explain.scopes_to_explain(answers, query, prev_span, data)
            deeper = await explain.deeper_levels(self.jobs, run, both, query, prev_span, cancel, progress)
        report = cost_report(req, data, errors=run.errors, meta=run.meta(demo=self.demo or None))
        if explain_change:
            explain.attach(report, query, data, deeper)
        elif req.explain_change:
            report.meta.notes.append("explain_change: no scope has a known previous cost, so no drivers")
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
        run: Run,
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
        self, run: Run, targets: Sequence[tuple[Provider, Scope]], cancel: CancelToken
    ) -> dict[str, periods.Span | None]:
        """The days each scope's data holds, for providers that know (`SpanAware`); kept in `run`."""

        def compute(job: Job, ctx: CallContext) -> periods.Span | None:
            try:
                return job.provider.data_span(job.scope, ctx)  # type: ignore[attr-defined]
            except Cancelled:
                raise
            except Exception:  # the scope's own call reports the failure
                return None

        jobs = [Job("span", p, s, None) for p, s in targets if isinstance(p, base.SpanAware)]
        counted = run.lookups, run.hits  # a side question: `meta.cached` speaks of the answer itself
        answers = await self.jobs.cached(run, jobs, compute, cancel, None)
        run.lookups, run.hits = counted
        run.spans.update({job.scope.id: value for job, value in answers})
        return run.spans

    async def _filter_notes(
        self,
        run: Run,
        query: base.CostQuery,
        current: Sequence[ScopedLine],
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

        def compute(job: Job, ctx: CallContext) -> list[base.CostLine]:
            return job.provider.cost(job.scope, job.request, ctx)

        jobs = [
            Job("values", prov, scope, base.CostQuery(query.span, "total", (dim.dimension,), query.cost_type))
            for dim, _ in missing
            for prov, scope in answered
        ]
        answers = await self.jobs.cached(run, jobs, compute, cancel, None, soft_kinds=frozenset({"values"}))
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
        run, cancel = Run(), cancel or CancelToken()
        today = self.today()
        targets = await self._scopes(run, req.providers, req.scopes, cancel)
        await self._data_spans(run, targets, cancel)
        run.metric, run.credits = "budget actual and forecast", "as each budget's own definition counts them"

        jobs = [Job("budgets", prov, scope, today) for prov, scope in targets]

        def compute(job: Job, ctx: CallContext) -> tuple[base.BudgetLine, ...]:
            return tuple(job.provider.budgets(job.scope, job.request, ctx))

        answers = await self.jobs.cached(run, jobs, compute, cancel, progress)
        lines = [
            ScopedBudget(job.provider.name, job.scope.id, line) for job, found in answers for line in found
        ]
        meta = run.meta(demo=self.demo or None)
        return budget_report(lines, today, req.names, errors=run.errors, meta=meta, max_chars=max_chars)

    # ------------------------------------------------------------------ run_finops_audit

    def check_catalog(self, providers: Sequence[str] | None = None) -> list[Check[Any]]:
        """Every check of the registry's providers (or of the given ones), sorted by id."""
        names = providers or self.registry.implemented
        checks: list[Check[Any]] = []
        for name in names:
            if name in self.registry.implemented:
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
        run = Run()
        selected = self.select_checks(req.checks, req.providers)
        targets = await self._scopes(run, req.providers, req.scopes, cancel)
        by_provider: dict[str, list[Check[Any]]] = defaultdict(list)
        for check in selected:
            by_provider[check.provider].append(check)
        targets = [(p, s) for p, s in targets if by_provider.get(p.name)]
        await self._data_spans(run, targets, cancel)
        run.metric = "estimated monthly cost per finding (how: each finding's cost_basis)"
        run.credits = "findings are priced before credits"

        def units(target: tuple[Provider, Scope], ctx: CallContext) -> list[base.AuditUnit]:
            prov, scope = target
            return prov.audit_units(scope, req.regions, ctx)

        unit_outcomes = await self.jobs.fan(
            run, targets, units, cancel, None, label=lambda t: f"regions {t[1].id}"
        )
        work: list[tuple[Provider, base.AuditUnit]] = []
        for outcome in unit_outcomes:
            prov, scope = outcome.item
            if outcome.error is not None:
                self.jobs.record(run, prov.name, scope.id, outcome.error)
                continue
            work.extend((prov, unit) for unit in outcome.value or ())

        def audit(item: tuple[Provider, base.AuditUnit], ctx: CallContext) -> base.AuditResult:
            prov, unit = item
            return prov.audit(unit, by_provider[prov.name], ctx)

        audits = await self.jobs.fan(run, work, audit, cancel, progress, label=lambda w: f"audit {w[1]}")
        results: list[base.AuditResult] = []
        for done in audits:
            prov, unit = done.item
            for note in done.context.notes if done.context else ():
                run.note(note)
            if done.error is not None or done.value is None:
                code, message, retryable = self.jobs.describe(
                    prov.name, done.error or RuntimeError("no answer")
                )
                where = f" in {unit.region}" if unit.region else ""
                run.error(prov.name, unit.scope.id, code, message + where, retryable)
                continue
            results.append(done.value)
        return audit_report(
            results,
            {c.id: c.category for c in selected},
            min_monthly_cost=req.min_monthly_cost,
            scopes_scanned=len({u.scope.id for _, u in work}),
            errors=run.errors,
            meta=run.meta(demo=self.demo or None),
        )

    # ------------------------------------------------------------------ resources

    async def providers_info(self) -> dict[str, Any]:
        run, cancel = Run(), CancelToken()
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
        info["available_in_this_version"] = self.registry.implemented
        info["errors"] = [e.model_dump(mode="json") for e in run.errors]
        return info


def _matches(check_id: str, selector: str) -> bool:
    return check_id == selector or check_id.startswith(selector + ".")
