"""The pure report builders (cost, budgets, audit) and the shared audit runner, on plain data:
no provider, no cache, no fan-out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finops_mcp.engine.context import CallContext, Cancelled, CancelToken
from finops_mcp.models import GetCostRequest, Meta
from finops_mcp.periods import Span
from finops_mcp.providers.base import AuditResult, BudgetLine, Check, CostLine, ForecastLine, run_checks
from finops_mcp.reports.audit import audit_report
from finops_mcp.reports.budgets import ScopedBudget, budget_report
from finops_mcp.reports.cost import OTHER_KEY, CostInputs, ScopedLine, SeriesKey, cost_report, series

MAY = Span(date(2026, 5, 1), date(2026, 5, 31))
APRIL = Span(date(2026, 4, 1), date(2026, 4, 30))


def line(scope: str, service: str, cost: str, currency: str = "USD", provider: str = "p") -> ScopedLine:
    return ScopedLine(provider, scope, CostLine((("service", service),), Decimal(cost), currency))


def test_series_are_named_keys() -> None:
    got = series([line("a", "ec2", "1"), line("a", "ec2", "2"), line("b", "s3", "4")], ("service",))
    assert got == {
        (SeriesKey("p", "a", "USD", ("ec2",)), None): Decimal(3),
        (SeriesKey("p", "b", "USD", ("s3",)), None): Decimal(4),
    }
    key = next(iter(got))[0]
    assert (key.provider, key.scope, key.currency, key.values) == ("p", "a", "USD", ("ec2",))


def test_cost_report_ranks_folds_and_compares() -> None:
    req = GetCostRequest(group_by=["service"], top_n=2, granularity="total")
    data = CostInputs(
        MAY,
        APRIL,
        current=[line("a", "ec2", "50"), line("a", "s3", "30"), line("a", "rds", "5"), line("a", "sqs", "1")],
        previous=[line("a", "ec2", "25"), line("a", "rds", "4")],
    )
    report = cost_report(req, data, meta=Meta(notes=["before"]))
    assert [(r.keys["service"], r.cost, r.previous_cost) for r in report.rows] == [
        ("ec2", Decimal(50), Decimal(25)),
        ("s3", Decimal(30), Decimal(0)),  # compared, no previous line: 0, not unknown
        (OTHER_KEY, Decimal(6), Decimal(4)),
    ]
    assert report.rows[0].change_pct == 100.0
    assert (report.total, report.previous_total, report.currency) == (Decimal(86), Decimal(29), "USD")
    assert report.meta.notes[0] == "before" and "2 smaller series folded" in report.meta.notes[1]


def test_cost_report_unknown_previous_currencies_and_forecast() -> None:
    req = GetCostRequest(group_by=["service"], granularity="total", include_forecast=True)
    data = CostInputs(
        MAY,
        APRIL,
        current=[line("a", "ec2", "10"), line("b", "vm", "40", "EUR")],
        forecasts=[
            ForecastLine(MAY, Decimal(90), "EUR", "run_rate"),
            ForecastLine(MAY, Decimal(5), "USD", "x"),
        ],
        no_previous=frozenset({"b"}),
        has_previous=False,
    )
    report = cost_report(req, data)
    assert report.currency == "EUR" and report.total == Decimal(40)
    assert report.previous_total is None  # no scope's previous cost is known
    assert [r.previous_cost for r in report.rows] == [None, Decimal(0)]  # b unknown, a known zero
    assert [(c.currency, c.total) for c in report.other_currencies] == [("USD", Decimal(10))]
    assert report.forecast is not None and report.forecast.amount == Decimal(90)
    assert any("several currencies" in n for n in report.meta.notes)


def test_cost_report_without_forecast_says_so() -> None:
    report = cost_report(GetCostRequest(include_forecast=True), CostInputs(MAY))
    assert report.forecast is None and report.rows == [] and report.total == 0
    assert report.meta.notes == ["no forecast could be computed for the requested scopes"]


def budget(name: str, limit: str | None, actual: str, forecast: str | None = None) -> ScopedBudget:
    lim = Decimal(limit) if limit is not None else None
    fc = Decimal(forecast) if forecast is not None else None
    return ScopedBudget("p", "a", BudgetLine(name, "monthly", MAY, lim, Decimal(actual), "USD", fc, (80.0,)))


def test_budget_report_orders_by_urgency_and_filters_names() -> None:
    lines = [budget("ok", "100", "10"), budget("over", "100", "120"), budget("warn", "100", "85")]
    report = budget_report(lines, date(2026, 5, 20))
    assert [(b.name, b.status) for b in report.budgets] == [
        ("over", "exceeded"),
        ("warn", "warning"),
        ("ok", "ok"),
    ]
    assert (report.summary.total, report.summary.exceeded, report.summary.warning) == (3, 1, 1)
    named = budget_report(lines, date(2026, 5, 20), ["ok", "nope"])
    assert [b.name for b in named.budgets] == ["ok"]
    assert named.meta.notes == ["no budget named nope in the queried scopes"]


def test_budget_report_notes_a_young_forecast_and_cuts_to_the_budget() -> None:
    lines = [budget(f"b{i}", "100", str(i), "50") for i in range(30)]
    young = budget_report(lines, date(2026, 5, 3))
    assert any("forecast of b0" in n for n in young.meta.notes)
    cut = budget_report(lines, date(2026, 5, 25), max_chars=3000)
    assert 0 < len(cut.budgets) < 30 and cut.summary.total == 30
    assert "less urgent budgets left out" in cut.meta.notes[-1]


def check(check_id: str, cost: str, currency: str = "USD", needs: frozenset[str] = frozenset()) -> Check[str]:
    def evaluate(scope: str):
        yield checked.finding(
            scope=scope, resource_id=f"r-{check_id}", detail="d", cost=Decimal(cost), currency=currency
        )

    checked: Check[str] = Check(
        f"p.{check_id}", "t", "d", "thing", "low", "list_price", "r", evaluate, needs=needs
    )
    return checked


def test_audit_report_sorts_filters_and_totals_in_the_primary_currency() -> None:
    checks = [check("big", "40"), check("small", "2"), check("euro", "30", "EUR")]
    result = run_checks(checks, "a", CallContext(), ["r1"])
    report = audit_report(
        [result, AuditResult([], ["p.none"], ["r2"])],
        {"p.big": "waste", "p.small": "waste", "p.euro": "waste", "p.none": "governance"},
        min_monthly_cost=Decimal(5),
        scopes_scanned=1,
    )
    assert [f.check for f in report.findings] == ["p.big", "p.euro"]  # small is under the minimum
    assert report.summary.currency == "USD" and report.summary.estimated_monthly_waste == Decimal(40)
    assert report.summary.by_check["p.euro"].estimated_monthly_cost == 0  # other currency: not summed
    assert report.summary.by_check["p.none"].category == "governance"
    assert (report.summary.regions_scanned, report.summary.scopes_scanned) == (2, 1)
    assert report.checks_run == ["p.big", "p.euro", "p.none", "p.small"]


def test_run_checks_skips_refused_needs_and_stops_when_cancelled() -> None:
    checks = [check("one", "1"), check("rec", "1", needs=frozenset({"recommender"}))]
    result = run_checks(checks, "a", CallContext(), refused={"recommender"})
    assert result.checks_run == ["p.one"] and len(result.findings) == 1
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_checks(checks, "a", CallContext(cancel=token))
