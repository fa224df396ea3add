"""AWS Budgets: every budget reported with its spend, forecast and notification thresholds."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from finops_mcp.engine.context import CallContext
from finops_mcp.periods import Span, utc_today
from finops_mcp.providers.aws import budgets
from finops_mcp.providers.aws.provider import AwsProvider
from tests.fakes.aws_estate import Estate
from tests.unit.aws.conftest import aws_scope

TODAY = date(2026, 11, 20)


def test_budgets_of_each_account_with_spend_forecast_and_thresholds(
    provider: AwsProvider, estate: Estate
) -> None:
    for account in estate.accounts:
        ctx = CallContext()
        lines = {b.name: b for b in provider.budgets(aws_scope(account), utc_today(), ctx)}
        assert set(lines) == {"over", "heading-over", "planned-later"}
        over = lines["over"]
        assert (over.limit, over.actual, over.forecast, over.thresholds) == (
            Decimal(100),
            Decimal(120),
            Decimal(150),
            (90.0,),
        )
        assert over.period == "monthly" and over.currency == "USD"
        assert lines["heading-over"].thresholds == (50.0, 100.0)
        assert lines["planned-later"].limit is None and lines["planned-later"].actual == Decimal(42)
        assert ctx.billed.snapshot() == {}  # Budgets API calls are free


def test_planned_limit_of_the_current_period_wins() -> None:
    start = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
    budget = {
        "BudgetName": "planned",
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
        "BudgetLimit": {"Amount": "1", "Unit": "USD"},
        "PlannedBudgetLimits": {str(start): {"Amount": "250", "Unit": "USD"}},
        "CalculatedSpend": {"ActualSpend": {"Amount": "10", "Unit": "USD"}},
    }
    line, note = budgets.budget_line(budget, [{"Threshold": 50, "ThresholdType": "ABSOLUTE_VALUE"}], TODAY)
    assert line.limit == Decimal(250) and line.forecast is None and note is None
    assert line.thresholds == (20.0,)  # 50 USD of 250


def test_commitment_budgets_are_listed_without_a_limit_and_explained() -> None:
    budget = {
        "BudgetName": "ri-util",
        "TimeUnit": "QUARTERLY",
        "BudgetType": "RI_UTILIZATION",
        "BudgetLimit": {"Amount": "80", "Unit": "PERCENTAGE"},
        "CalculatedSpend": {"ActualSpend": {"Amount": "75", "Unit": "PERCENTAGE"}},
    }
    line, note = budgets.budget_line(budget, [{"Threshold": 80}], TODAY)
    assert line.limit is None and line.thresholds == () and line.period == "quarterly"
    assert line.span == Span(date(2026, 10, 1), date(2026, 12, 31))
    assert note is not None and "RI_UTILIZATION" in note and "below its target" in note


def test_periods_of_each_time_unit() -> None:
    assert budgets.current_span("ANNUALLY", TODAY, None) == Span(date(2026, 1, 1), date(2026, 12, 31))
    assert budgets.current_span("DAILY", TODAY, None) == Span(TODAY, TODAY)
    custom = {
        "Start": datetime(2026, 7, 1, tzinfo=timezone.utc),
        "End": datetime(2027, 6, 30, tzinfo=timezone.utc),
    }
    assert budgets.current_span("CUSTOM", TODAY, custom) == Span(date(2026, 7, 1), date(2027, 6, 30))
