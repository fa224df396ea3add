"""`azure.anomaly.daily_cost`: daily cost anomalies per service in one subscription, from the Cost
Management query API, each with its driver (the meter where the excess happened).

Why a detector of our own: Azure has no documented read API for the anomalies Cost Management
detects. The Alerts API (`Microsoft.CostManagement/alerts`, api-version 2025-03-01, what
azure-mgmt-costmanagement 5 calls) lists alert types Budget, BudgetForecast, Credit, Quota,
General, Invoice and xCloud: no anomaly type. An anomaly alert is a scheduled action of kind
`InsightAlert`, which only configures the e-mail. The `Microsoft.CostManagement/insights` list
exists only in preview API specs (2020-08-01-preview, 2023-04-01-preview) whose details schema
"changes based on kind", is in no SDK and has no REST reference page. So the series come from the
same query API `get_cost` uses, and `finops_mcp.anomaly.detect` judges them.

Data (two queries at most per subscription, `Microsoft.CostManagement/query/action`):
1. effective (AmortizedCost) usage cost (ChargeType Usage) per ServiceName per day over the audit
   window and the `LOOKBACK_DAYS` before it;
2. only when a service has anomalies: those services per Meter per day (with UsageQuantity) from
   the first baseline day to the worst day. A meter bills in one unit, so its quantity is
   comparable between days: the driver gets the volume / rate split.

Audit window: the `anomaly.WINDOW_DAYS` days ending yesterday (Cost Management data lags by up to a day;
a partial day is low, never a false spike).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from finops_mcp import anomaly
from finops_mcp.models import Finding
from finops_mcp.periods import Span
from finops_mcp.providers.azure.costquery import DailyRow
from finops_mcp.providers.base import Check
from finops_mcp.reports import drivers

FEED = "cost_series"  # Check.needs: the subscription's daily cost per service
SERIES_GROUPS = ("ServiceName",)
DRIVER_GROUPS = ("ServiceName", "Meter")
SeriesKey = tuple[str, str]  # service, currency


def windows(today: date) -> tuple[Span, Span]:
    """(the audit window, the days the series query reads)."""
    window = anomaly.audit_window(today - timedelta(days=1))
    return window, anomaly.with_baselines(window)


@dataclass(frozen=True)
class CostSeries:
    """What the check evaluates: one subscription's daily usage cost per service, and how to read
    the meters of the anomalous services (the second query, run only when needed)."""

    scope: str  # azure:<subscription>
    window: Span
    rows: Sequence[DailyRow]  # keys = (ServiceName,)
    min_excess: Decimal
    meter_days: Callable[[Sequence[str], Span], Sequence[DailyRow]] = lambda services, span: ()

    def series(self) -> dict[SeriesKey, dict[date, Decimal]]:
        out: dict[SeriesKey, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in self.rows:
            out[(row.keys[0], row.currency)][row.day] += row.cost
        return out


def evaluate(data: CostSeries) -> Iterator[Finding]:
    found = anomaly.flag(data.series(), data.window, min_excess=data.min_excess, data_end=data.window.end)
    if not found:
        return
    first = min(d for f in found for d in f.worst.basis)
    meters = data.meter_days(sorted({f.key[0] for f in found}), Span(first, max(f.worst.day for f in found)))
    for flagged in found:
        yield _finding(data, flagged, driver_of(data, flagged.key, flagged.worst, meters))


def driver_of(
    data: CostSeries, key: SeriesKey, worst: anomaly.AnomalyDay, rows: Sequence[DailyRow]
) -> drivers.CostDriver | None:
    """The meter where the worst day's excess happened (or the service, when its meters moved alike).
    The quantity's unit is the meter's own (one meter, one unit of measure)."""
    service, currency = key
    usages = (
        (
            r.keys[1] or "(no meter)",
            r.day,
            drivers.Usage(
                r.cost, r.quantity, f"units of meter {r.keys[1]}" if r.quantity is not None else None
            ),
        )
        for r in rows
        if r.keys[0] == service and r.currency == currency
    )
    return anomaly.driver_of_day(
        ("azure", data.scope, currency), ("service", service), "meter", worst, usages
    )


def _finding(
    data: CostSeries, flagged: anomaly.Flagged[SeriesKey], driver: drivers.CostDriver | None
) -> Finding:
    service, currency = flagged.key
    subscription = data.scope.split(":", 1)[1]
    return anomaly.finding(
        DAILY_ANOMALY,
        flagged,
        label=f"{service or '(no service)'} in subscription {subscription}",
        window=data.window,
        currency=currency,
        driver=driver,
        child="meter",
        scope=data.scope,
        resource_id=f"/subscriptions/{subscription}/services/{service or '(no service)'}",
    )


DAILY_ANOMALY: Check[CostSeries] = anomaly.daily_anomaly_check(
    "azure.anomaly.daily_cost",
    "Daily cost anomaly in Cost Management (weekly and month-start aware)",
    "A service whose daily amortized usage cost in a subscription over the last 30 days is far above its "
    "robust baseline: the median of the same weekday in the previous 8 weeks (the 1st: the previous 3 "
    "months' 1sts), by 4 MAD-spreads and at least FINOPS_SPIKE_MIN_DAILY_COST. Azure exposes no read API "
    "for the anomalies it detects, so the series come from the Cost Management query API. Names the meter "
    "that drove it.",
    "Look at the named meter on the anomalous day in Cost analysis (a new or resized resource, traffic, a "
    "deployment, a price change); if it is expected, nothing to do, else fix it and add a budget or an "
    "anomaly alert.",
    evaluate,
    needs=frozenset({FEED}),
    permissions=("Microsoft.CostManagement/query/action",),
)
