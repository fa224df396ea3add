"""`get_cost` `explain_change`: the step between gathering the cost lines and building the report.

It asks each scope that answered both periods for one more level of detail, through the
providers' own queries (the cached fan-out in `finops_mcp.jobs`): one `cost_periods` call for a
`PeriodsCost` provider (FOCUS: one scan of both periods), else two cost() calls (this period and
the previous one) with one more `group_by` dimension. The first candidate dimension a scope can
answer is used (`reports.drivers.DEEPER`); a refusal (`invalid_query`, e.g. Cost Explorer's
14-day resource window, a GCP standard export without resources) is cached like an answer and
the next candidate is tried; a scope that can answer none keeps its drivers at the requested
level, with a note. Failures here are notes, never scope errors: the rows already answered.
Then `reports.drivers.explain` ranks the changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from finops_mcp import periods
from finops_mcp.engine.cache import cache_key
from finops_mcp.engine.context import CallContext, CancelToken
from finops_mcp.jobs import Job, Jobs, ProgressFn, Run
from finops_mcp.models import CostReport
from finops_mcp.providers.base import CostQuery, PeriodsCost, Provider, Scope
from finops_mcp.reports import drivers
from finops_mcp.reports.cost import NONE_KEY, CostInputs, ScopedLine


@dataclass(frozen=True)
class Periods:
    """A `cost_periods` request: `query` over each of `spans` (the first is the current period)."""

    query: CostQuery
    spans: tuple[periods.Span, periods.Span]

    @property
    def span(self) -> periods.Span:  # for Job labels
        return self.spans[0]


def _call(job: Job, ctx: CallContext) -> Any:
    if job.kind == "cost-periods":
        provider = cast(PeriodsCost, job.provider)
        return provider.cost_periods(job.scope, job.request.query, job.request.spans, ctx)
    return job.provider.cost(job.scope, job.request, ctx)


async def deeper_levels(
    jobs: Jobs,
    run: Run,
    targets: Sequence[tuple[Provider, Scope]],
    query: CostQuery,
    prev_span: periods.Span,
    cancel: CancelToken,
    progress: ProgressFn | None,
) -> list[drivers.Level]:
    """Both periods' cost one dimension below `query.group_by`, per scope (see the module doc)."""
    candidates = drivers.deeper_candidates(query.group_by)
    if not candidates:
        run.note("explain_change: drivers are at the requested grouping (no deeper level below it)")
        return []
    levels: list[drivers.Level] = []
    pending = list(targets)
    reasons: dict[str, str] = {}
    sub = Run()
    used: dict[str, int] = defaultdict(int)
    asked = 0
    done: set[str] = set()
    for dim in candidates:
        deeper = replace(query, granularity="total", group_by=(*query.group_by, dim))
        asking: list[tuple[Provider, Scope]] = []
        retry: list[tuple[Provider, Scope]] = []
        for p, s in pending:  # a refusal (invalid_query) is remembered like an answer
            refused = jobs.cache.get(cache_key("cost-refused", p.name, s.id, deeper))
            if refused is None:
                asking.append((p, s))
            else:
                reasons[s.id] = refused
                retry.append((p, s))
        work: list[Job] = []
        for p, s in asking:
            if isinstance(p, PeriodsCost):
                work.append(Job("cost-periods", p, s, Periods(deeper, (query.span, prev_span))))
            else:
                work += [Job("cost", p, s, deeper), Job("cost", p, s, replace(deeper, span=prev_span))]
        sub.errors.clear()
        answers = await jobs.cached(sub, work, _call, cancel, progress)
        got: dict[tuple[str, bool], list[ScopedLine]] = {}
        for job, value in answers:
            parts = value if job.kind == "cost-periods" else [value]
            flags = (True, False) if job.kind == "cost-periods" else (job.request.span == query.span,)
            for flag, lines in zip(flags, parts, strict=True):
                got[(job.scope.id, flag)] = [ScopedLine(job.provider.name, job.scope.id, x) for x in lines]
        for p, s in asking:
            if (s.id, True) in got and (s.id, False) in got:
                levels.append(level(deeper.group_by, got[(s.id, True)], got[(s.id, False)]))
                used[dim] += 1
                asked += 1 if isinstance(p, PeriodsCost) else 2
                done.add(s.id)
                continue
            mine = [e for e in sub.errors if e.provider == p.name and e.scope == s.id]
            reasons[s.id] = "; ".join(dict.fromkeys(e.message for e in mine)) or "no answer"
            if mine and all(e.code == "invalid_query" for e in mine):
                jobs.cache.put(cache_key("cost-refused", p.name, s.id, deeper), reasons[s.id])
                retry.append((p, s))
        pending = retry
        if not pending:
            break
    for scope_id, reason in reasons.items():
        if scope_id not in done:
            run.note(f"explain_change: {scope_id} drivers stay at the requested grouping: {reason}")
    _merge(run, sub)
    if used:
        billed = sub.billed.snapshot()
        where = ", ".join(f"{' x '.join((*query.group_by, d))} for {n} scope(s)" for d, n in used.items())
        run.note(
            f"explain_change: {asked} more cost quer{'y' if asked == 1 else 'ies'} ({where})"
            + (f", billed: {', '.join(f'{k} {v}' for k, v in sorted(billed.items()))}" if billed else "")
        )
    return levels


def _merge(run: Run, sub: Run) -> None:
    """The side run's cache use, notes and billed work into the request's (its errors are notes)."""
    run.lookups += sub.lookups
    run.hits += sub.hits
    for note in sub.notes:
        run.note(note)
    for api, n in sub.billed.snapshot().items():
        run.billed.add(api, n)
    for api, n in sub.scanned.snapshot().items():
        run.scanned.add(api, n)


def scopes_to_explain(
    answers: Sequence[tuple[Job, Any]], query: CostQuery, prev_span: periods.Span, data: CostInputs
) -> list[tuple[Provider, Scope]]:
    """The scopes whose rows answered for both periods with a known previous cost."""
    kinds = [(j, j.request.span) for j, _ in answers if j.kind == "cost"]
    now = {(j.provider.name, j.scope.id) for j, span in kinds if span == query.span and j.request == query}
    before = {(j.provider.name, j.scope.id) for j, span in kinds if span == prev_span}
    found: dict[tuple[str, str], tuple[Provider, Scope]] = {}
    for job, _span in kinds:
        key = (job.provider.name, job.scope.id)
        if key in now and key in before and job.scope.id not in data.no_previous:
            found.setdefault(key, (job.provider, job.scope))
    return list(found.values())


def attach(report: CostReport, query: CostQuery, data: CostInputs, deeper: list[drivers.Level]) -> None:
    """`drivers` from both periods' lines (scopes whose previous cost is unknown left out)."""
    mine = [x for x in data.current if x.scope not in data.no_previous]
    explained = drivers.explain(level(query.group_by, mine, data.previous), deeper, currency=report.currency)
    report.drivers = explained.drivers
    report.drivers_explained_pct = explained.explained_pct
    if report.other_currencies:
        report.meta.notes.append(f"drivers cover {report.currency} only, like `total`")
    if data.no_previous:
        report.meta.notes.append(
            f"drivers leave out {', '.join(sorted(data.no_previous))}: its previous cost is unknown"
        )


def level(
    dims: Sequence[str], current: Iterable[ScopedLine], previous: Iterable[ScopedLine]
) -> drivers.Level:
    """Cost lines as a drivers Level (keys as the report shows them, buckets summed)."""

    def items(lines: Iterable[ScopedLine]) -> Iterable[tuple[str, str, str, tuple[str, ...], drivers.Usage]]:
        for provider, scope, line in lines:
            keys = dict(line.keys)
            values = tuple(keys.get(d) or NONE_KEY for d in dims)
            unit = line.unit if line.quantity is not None else None
            yield provider, scope, line.currency, values, drivers.Usage(line.cost, line.quantity, unit)

    return drivers.level_of(dims, items(current), items(previous))
