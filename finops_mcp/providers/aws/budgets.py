"""AWS Budgets -> `BudgetLine`s, for one account.

Every budget `DescribeBudgets` pages through is reported, of every type:
- COST and USAGE budgets: limit = the planned limit of the current period when the budget has
  `PlannedBudgetLimits`, else `BudgetLimit`; a budget without either is reported with no limit
  (status `ok`, no percentage) rather than dropped. USAGE budgets are in their usage unit (e.g.
  GB), which is then the line's `currency`.
- RI / Savings Plans utilization and coverage budgets are breached when *below* their target, the
  opposite of the status rule: they are reported with no limit and a note giving target and
  actual, so the status never says `exceeded` for a healthy commitment.
Actual and forecasted spend come from the budget's `CalculatedSpend`. Thresholds are those of
its notifications (`DescribeNotificationsForBudget`, ACTUAL and FORECASTED alike); absolute
thresholds are turned into a percentage of the limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from finops_mcp import periods
from finops_mcp.engine.context import CallContext
from finops_mcp.periods import Span
from finops_mcp.providers.aws.api import api_pages
from finops_mcp.providers.base import BudgetLine

SPEND_TYPES = ("COST", "USAGE")
PERIODS = {"DAILY": "daily", "MONTHLY": "monthly", "QUARTERLY": "quarterly", "ANNUALLY": "annually"}


def current_span(time_unit: str, today: date, time_period: Mapping[str, Any] | None) -> Span:
    """The budget period containing `today`."""
    if time_unit == "DAILY":
        return Span(today, today)
    if time_unit == "QUARTERLY":
        start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        return Span(start, periods.month_end(periods.add_months(start, 2)))
    if time_unit == "ANNUALLY":
        return Span(date(today.year, 1, 1), date(today.year, 12, 31))
    if time_unit == "MONTHLY":
        return periods.month_span(today)
    start = _day(time_period, "Start") or today  # CUSTOM: the budget's own period
    end = _day(time_period, "End") or start
    return Span(start, max(start, end))


def _day(period: Mapping[str, Any] | None, key: str) -> date | None:
    value = (period or {}).get(key)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


def _amount(spend: Mapping[str, Any] | None) -> tuple[Decimal | None, str | None]:
    if not spend or spend.get("Amount") in (None, ""):
        return None, None
    return Decimal(str(spend["Amount"])), spend.get("Unit")


def planned_limit(budget: Mapping[str, Any], span: Span) -> Mapping[str, Any] | None:
    """The planned limit of the period starting at `span.start` (keys are epoch seconds)."""
    planned = budget.get("PlannedBudgetLimits") or {}
    if not planned:
        return None
    start = datetime(span.start.year, span.start.month, span.start.day, tzinfo=timezone.utc)
    found: Mapping[str, Any] | None = planned.get(str(int(start.timestamp())))
    return found


def thresholds(notifications: list[Mapping[str, Any]], limit: Decimal | None) -> tuple[float, ...]:
    """Alert thresholds in percent of the limit (absolute ones converted), sorted, unique."""
    out: set[float] = set()
    for note in notifications:
        value = note.get("Threshold")
        if value is None:
            continue
        if note.get("ThresholdType", "PERCENTAGE") == "ABSOLUTE_VALUE":
            if not limit:
                continue
            value = float(Decimal(str(value)) / limit * 100)
        out.add(float(value))
    return tuple(sorted(out))


def budget_line(
    budget: Mapping[str, Any], notifications: list[Mapping[str, Any]], today: date
) -> tuple[BudgetLine, str | None]:
    """One budget as a line, and a note when its status cannot follow the spend rule."""
    name = str(budget.get("BudgetName"))
    unit = str(budget.get("TimeUnit") or "MONTHLY")
    kind = str(budget.get("BudgetType") or "COST")
    span = current_span(unit, today, budget.get("TimePeriod"))
    limit, limit_unit = _amount(planned_limit(budget, span) or budget.get("BudgetLimit"))
    spend = budget.get("CalculatedSpend") or {}
    actual, actual_unit = _amount(spend.get("ActualSpend"))
    forecast, _ = _amount(spend.get("ForecastedSpend"))
    currency = actual_unit or limit_unit or "USD"
    note = None
    if kind not in SPEND_TYPES:
        note = (
            f"AWS budget {name!r} is a {kind} budget (target {limit} {limit_unit or ''}, actual "
            f"{actual if actual is not None else 'unknown'}): it is breached when below its target, so "
            "it is listed without a limit or status"
        ).replace("  ", " ")
        limit, forecast = None, None
    line = BudgetLine(
        name=name,
        period=PERIODS.get(unit, "custom"),
        span=span,
        limit=limit,
        actual=actual if actual is not None else Decimal(0),
        currency=currency,
        forecast=forecast,
        thresholds=thresholds(notifications, limit) if limit else (),
    )
    return line, note


def budget_lines(client: Any, account_id: str, today: date, ctx: CallContext) -> list[BudgetLine]:
    lines: list[BudgetLine] = []
    for page in api_pages(ctx, client, "describe_budgets", AccountId=account_id, MaxResults=100):
        for budget in page.get("Budgets", []):
            notifications: list[Mapping[str, Any]] = []
            for npage in api_pages(
                ctx,
                client,
                "describe_notifications_for_budget",
                AccountId=account_id,
                BudgetName=budget["BudgetName"],
                MaxResults=100,
            ):
                notifications.extend(npage.get("Notifications", []))
            line, note = budget_line(budget, notifications, today)
            if note:
                ctx.note(note)
            lines.append(line)
    return lines
