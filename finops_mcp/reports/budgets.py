"""The budget report from plain data: each budget's status, most urgent first, thin-forecast notes,
the summary, and leaving the least urgent out past the answer budget. Pure: no provider calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

from finops_mcp import coverage, paging
from finops_mcp.models import BudgetReport, BudgetStatus, BudgetSummary, Meta, ScopeError, budget_state
from finops_mcp.providers.base import BudgetLine
from finops_mcp.reports.cost import with_notes

URGENCY = {"exceeded": 0, "forecast_exceeded": 1, "warning": 2, "ok": 3}


class ScopedBudget(NamedTuple):
    """A provider's budget line with the provider and scope it came from."""

    provider: str
    scope: str
    line: BudgetLine


def budget_status(provider: str, scope: str, line: BudgetLine) -> BudgetStatus:
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


def budget_report(
    lines: Sequence[ScopedBudget],
    today: date,
    names: Sequence[str] | None = None,
    *,
    errors: Sequence[ScopeError] = (),
    meta: Meta | None = None,
    max_chars: int | None = None,
) -> BudgetReport:
    """Budgets (only those in `names`, when given), most urgent first; past `max_chars` the least
    urgent are left out (noted; the summary counts all)."""
    notes: list[str] = []
    wanted = set(names or ())
    budgets = [budget_status(*b) for b in lines if not wanted or b.line.name in wanted]
    if wanted:
        missing = wanted - {b.name for b in budgets}
        if missing:
            notes.append(f"no budget named {', '.join(sorted(missing))} in the queried scopes")
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
        notes.append(coverage.thin_forecast_note(what, min(young[n] for n in thin)) or "")
    budgets.sort(key=lambda b: (URGENCY[b.status], -(b.percent_used or 0), b.name))
    summary = BudgetSummary(
        total=len(budgets),
        exceeded=sum(b.status == "exceeded" for b in budgets),
        forecast_exceeded=sum(b.status == "forecast_exceeded" for b in budgets),
        warning=sum(b.status == "warning" for b in budgets),
        ok=sum(b.status == "ok" for b in budgets),
    )
    full = with_notes(meta or Meta(), notes)

    def first(n: int) -> BudgetReport:
        cut = []
        if n < len(budgets):
            cut = [
                f"{len(budgets) - n} less urgent budgets left out to fit the answer budget "
                f"(FINOPS_ANSWER_MAX_CHARS); summary counts all; narrow with names or scopes"
            ]
        return BudgetReport(
            budgets=budgets[:n], summary=summary, errors=list(errors), meta=with_notes(full, cut)
        )

    return paging.shrink(first, len(budgets), max_chars)[1]
