"""Never a silent zero: filters matching nothing, periods outside the data, previous before it,
thin forecasts, and `meta.basis` (service layer over fake providers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from finops_mcp import coverage
from finops_mcp.engine.context import CallContext
from finops_mcp.models import GetBudgetStatusRequest, GetCostRequest, RunAuditRequest
from finops_mcp.periods import Span
from finops_mcp.providers import Registry
from finops_mcp.providers.base import Scope, SpanAware
from finops_mcp.service import FinOpsService
from finops_mcp.settings import load_settings
from tests.fakes.provider import FakeProvider

TODAY = date(2026, 11, 21)
DATA = Span(date(2026, 10, 15), date(2026, 11, 20))


@dataclass
class SpanFake(FakeProvider):
    """The fake provider, knowing the days its data holds (as the FOCUS provider does)."""

    data: Span = DATA
    span_calls: int = 0

    def data_span(self, scope: Scope, ctx: CallContext) -> Span | None:
        self.span_calls += 1
        return self.data


def make(fake: FakeProvider | None = None, today: date = TODAY) -> FinOpsService:
    return FinOpsService(
        load_settings(), today=lambda: today, registry=Registry.of({"fake": fake or SpanFake()})
    )


def test_close_matches_prefer_case_insensitive_hits_then_nearest_names() -> None:
    known = ["Amazon Elastic Compute Cloud", "Amazon Simple Storage Service", "AWS Lambda", "data"]
    assert coverage.close_matches("Data", known) == ["data"]
    assert coverage.close_matches("Amazon EC2", known)[0] == "Amazon Elastic Compute Cloud"
    assert coverage.close_matches("lambda", known) == ["AWS Lambda"]
    assert coverage.close_matches("zzzz", known) == []
    assert isinstance(SpanFake(), SpanAware) and not isinstance(FakeProvider(), SpanAware)


async def test_a_filter_matching_nothing_says_so_with_close_matches() -> None:
    svc = make(FakeProvider())
    report = await svc.get_cost(GetCostRequest(filters={"services": ["Compute"]}))
    assert report.total == 0 and report.rows == []
    notes = [n for n in report.meta.notes if "filters.services" in n]
    assert notes and "'Compute'" in notes[0] and "close matches: 'compute'" in notes[0]


async def test_one_value_of_several_matching_nothing_is_named_when_grouped_by_it() -> None:
    svc = make(FakeProvider())
    report = await svc.get_cost(GetCostRequest(filters={"services": ["compute", "gpux"]}))
    assert report.total > 0
    notes = [n for n in report.meta.notes if "filters.services" in n]
    assert len(notes) == 1 and "'gpux'" in notes[0] and "'compute'" not in notes[0]


async def test_a_matching_filter_adds_no_note_and_no_extra_query() -> None:
    fake = FakeProvider()
    svc = make(fake)
    report = await svc.get_cost(GetCostRequest(filters={"services": ["compute"]}, compare_previous=False))
    assert not [n for n in report.meta.notes if "filters" in n]
    assert [c for c, _ in fake.calls].count("cost") == 2  # one per scope, no diagnostic query


async def test_a_period_outside_the_data_says_the_span() -> None:
    svc = make()
    report = await svc.get_cost(GetCostRequest(start_date=date(2026, 1, 1), end_date=date(2026, 1, 31)))
    assert any("holds data from 2026-10-15 to 2026-11-20" in n and "outside" in n for n in report.meta.notes)


async def test_a_previous_period_before_the_data_is_null_not_zero() -> None:
    fake = SpanFake()
    svc = make(fake)
    report = await svc.get_cost(GetCostRequest(period="last_month"))  # October; previous September
    assert report.previous_period is not None and report.previous_period.end == date(2026, 9, 30)
    assert report.previous_total is None and report.change_pct is None
    assert all(r.previous_cost is None and r.change_pct is None for r in report.rows)
    assert any("unknown (null), not 0" in n for n in report.meta.notes)
    assert any("counted from 2026-10-15" in n for n in report.meta.notes)
    assert [c for c, _ in fake.calls].count("cost") == 2  # the unknown previous period is not asked
    # month to date: the previous days (Oct 1-20) are partly in the data, so they are compared
    mtd = await svc.get_cost(GetCostRequest())
    assert mtd.previous_total is not None
    assert any(
        "the previous period 2026-10-01..2026-10-20 is counted from 2026-10-15" in n for n in mtd.meta.notes
    )
    late = await svc.get_cost(GetCostRequest(start_date=date(2026, 11, 10), end_date=date(2026, 11, 25)))
    assert any("counted through 2026-11-20 only" in n for n in late.meta.notes)


async def test_a_scope_without_span_knowledge_keeps_zero_previous() -> None:
    svc = make(FakeProvider())
    report = await svc.get_cost(GetCostRequest(period="last_month"))
    assert report.previous_total is not None


async def test_a_forecast_on_the_first_days_of_a_month_is_called_thin() -> None:
    early = await make(today=date(2026, 11, 3)).get_cost(GetCostRequest(include_forecast=True))
    assert early.forecast is not None and any("thin run rate" in n for n in early.meta.notes)
    later = await make().get_cost(GetCostRequest(include_forecast=True))
    assert later.forecast is not None and not any("thin" in n for n in later.meta.notes)


async def test_every_report_carries_its_basis() -> None:
    svc = make()
    cost = await svc.get_cost(GetCostRequest(cost_type="effective"))
    basis: Any = cost.meta.basis
    assert basis.metric == "effective cost" and basis.data_through == {
        "focus:a": DATA.end,
        "focus:b": DATA.end,
    }
    assert basis.billed_requests == sum(cost.meta.billed_requests.values()) > 0
    assert "fake:" in basis.credits
    audit = await svc.run_audit(RunAuditRequest())
    assert audit.meta.basis is not None and "cost_basis" in audit.meta.basis.metric
    assert not audit.meta.cached  # the side question about the data's days does not make it "cached"
    budgets = await svc.get_budget_status(GetBudgetStatusRequest())
    assert budgets.meta.basis is not None and budgets.meta.basis.data_through
