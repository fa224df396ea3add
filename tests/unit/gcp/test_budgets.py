"""get_budget_status: Budget API budgets (paged) with spend computed from the export in one query."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.periods import Span, calendar_span, month_span
from finops_mcp.providers.gcp.budgets import from_api
from tests.fakes.gcp_estate import FOCUS_TABLE, GcpEstate, counted, label, row_amount
from tests.unit.gcp.conftest import billing_scope

TOLERANCE = Decimal("0.000001")


def spend(
    estate: GcpEstate,
    span: Span,
    through: date,
    where: Callable[[Any], bool] = lambda r: True,
    credits: Any = None,
) -> Decimal:
    """Independent spend of [span.start, through]. The provider's one budget statement reads the
    partitions of the whole window it needs (earliest budget or previous period start .. today), so
    a row exported late inside that window counts for its usage day."""
    today = estate.today
    window_start = min(
        calendar_span("quarterly", today).start, month_span(today.replace(day=1) - timedelta(days=1)).start
    )
    return sum(
        (
            row_amount(r, credit_filter=credits)
            for r in estate.rows
            if counted(r, window_start, today)
            and span.start <= r["usage_start_time"].date() <= through
            and where(r)
        ),
        Decimal(0),
    )


def test_budgets_with_actual_spend_from_the_export(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    today = estate.today
    ctx = CallContext()
    before = len(estate.bq.queries)
    lines = {b.name: b for b in provider.budgets(billing_scope(), today, ctx)}
    assert len(estate.bq.queries) == before + 1  # one statement for every budget
    assert estate.api.server.calls("GET", r"/budgets$")  # paged: 6 budgets, 2 per page
    assert len(estate.api.server.calls("GET", r"/budgets$")) >= 3
    month = month_span(today)

    total = lines["monthly-total"]
    assert total.limit == Decimal(10000) and total.thresholds == (50.0, 90.0, 100.0)
    assert abs(total.actual - spend(estate, month, today)) < TOLERANCE

    alpha = lines["alpha-compute"]
    want = spend(
        estate,
        month,
        today,
        lambda r: r["project"]["number"] == "111" and r["service"]["id"] == "6F81-5844-456A",
    )
    assert abs(alpha.actual - want) < TOLERANCE and alpha.thresholds == (80.0,)

    data = lines["team-data-no-credits"]
    want = spend(estate, month, today, lambda r: label(r, "team") == "data", credits=lambda c: False)
    assert abs(data.actual - want) < TOLERANCE

    last = lines["last-period"]
    previous = month_span(month.start - timedelta(days=1))
    assert abs(last.limit - spend(estate, previous, previous.end)) < TOLERANCE
    assert abs(last.actual - total.actual) < TOLERANCE

    quarter = lines["quarterly-promo-only"]
    q = calendar_span("quarterly", today)
    want = spend(estate, q, today, credits=lambda c: c["type"] == "PROMOTION")
    assert quarter.period == "quarterly" and quarter.span == q and abs(quarter.actual - want) < TOLERANCE
    assert quarter.forecast is not None and quarter.forecast >= quarter.actual

    assert "reseller-subaccount" not in lines
    assert any("reseller-subaccount" in n and "subaccounts" in n for n in ctx.notes)
    assert total.forecast is not None and total.currency == "USD"


def test_focus_export_reports_only_unfiltered_budgets(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider(gcp_billing_export_table=FOCUS_TABLE)
    ctx = CallContext()
    names = {b.name for b in provider.budgets(billing_scope(), estate.today, ctx)}
    assert names == {"monthly-total", "last-period"}
    assert any("alpha-compute" in n and "standard or detailed" in n for n in ctx.notes)


def test_from_api_reads_amounts_periods_filters_and_thresholds() -> None:
    from google.cloud.billing import budgets_v1

    budget = budgets_v1.Budget(
        display_name="q",
        amount=budgets_v1.BudgetAmount(
            specified_amount={"currency_code": "EUR", "units": 12, "nanos": 500_000_000}
        ),
        budget_filter=budgets_v1.Filter(
            projects=["projects/9"],
            services=["services/ABC"],
            labels={"team": ["a"]},
            credit_types_treatment=budgets_v1.Filter.CreditTypesTreatment.INCLUDE_SPECIFIED_CREDITS,
            credit_types=["DISCOUNT"],
            calendar_period=budgets_v1.CalendarPeriod.YEAR,
        ),
        threshold_rules=[budgets_v1.ThresholdRule(threshold_percent=0.25)],
    )
    b = from_api(budget, date(2026, 5, 17))
    assert (b.amount, b.currency, b.period) == (Decimal("12.5"), "EUR", "annually")
    assert b.span == Span(date(2026, 1, 1), date(2026, 12, 31)) and b.previous is None
    assert b.project_numbers == ("9",) and b.services == ("ABC",) and b.labels == (("team", ("a",)),)
    assert b.credits == ("DISCOUNT",) and b.thresholds == (25.0,)

    custom = budgets_v1.Budget(
        display_name="c",
        amount=budgets_v1.BudgetAmount(last_period_amount={}),
        budget_filter=budgets_v1.Filter(
            custom_period={"start_date": {"year": 2026, "month": 3, "day": 1}},
            credit_types_treatment=budgets_v1.Filter.CreditTypesTreatment.EXCLUDE_ALL_CREDITS,
        ),
    )
    c = from_api(custom, date(2026, 5, 17))
    assert (
        c.period == "custom" and c.span == Span(date(2026, 3, 1), date(2026, 5, 17)) and c.credits == "none"
    )
    assert c.unsupported  # last-period amount needs a calendar period
