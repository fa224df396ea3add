"""`focus.anomaly.daily_cost`: daily cost anomalies per (provider, service, account), each with its
driver.

The series are effective usage cost per day (taxes, credits, purchases and adjustments are not
usage; recurring and one-time charges are kept: the detector models month starts, where they land).
Each day of the audit window is judged by `finops_mcp.anomaly.detect` against the same weekday
in the previous weeks, or, for the 1st, the previous months' 1sts. The data read reaches back as
far as those baselines need (`LOOKBACK_DAYS`).

Driver: on the worst day, the series' resources are compared with their median day over the days
its baseline came from, and `reports.drivers.explain` names where the excess happened (one
resource, or the service as a whole when it moved evenly), with the volume / rate split when
quantities are known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from finops_mcp.anomaly import (
    LOOKBACK_DAYS,
    AnomalyDay,
    Flagged,
    daily_anomaly_check,
    driver_of_day,
    finding,
    flag,
)
from finops_mcp.models import Finding
from finops_mcp.providers.base import Check
from finops_mcp.providers.focus.loader import TABLE
from finops_mcp.providers.focus.queries import USAGE_ONLY, ZERO, one_unit
from finops_mcp.reports import drivers

if TYPE_CHECKING:
    from finops_mcp.providers.focus.checks import FocusCheckContext

SeriesKey = tuple[str, str, str, str]  # provider, service, account, currency


def evaluate_daily_anomaly(ctx: FocusCheckContext) -> Iterator[Finding]:
    start = max(ctx.data_start, ctx.window.start - timedelta(days=LOOKBACK_DAYS))
    where = ctx.where(start).add(USAGE_ONLY)
    sql = f"""
        SELECT COALESCE(provider_name, '') AS provider, COALESCE(service, '') AS service,
               COALESCE(account, '') AS account, COALESCE(currency, '') AS currency, charge_day,
               SUM(effective_cost) AS cost
        FROM {TABLE} WHERE {where.sql}
        GROUP BY 1, 2, 3, 4, 5
    """
    series: dict[SeriesKey, dict[date, Decimal]] = defaultdict(dict)
    for provider, service, account, currency, day, cost in ctx.cursor.rows(sql, where.params):
        series[(provider, service, account, currency)][day] = cost if cost is not None else ZERO
    for flagged in flag(series, ctx.window, min_excess=ctx.spike_min_daily_cost, data_end=ctx.window.end):
        yield _finding(ctx, flagged)


def driver_of(ctx: FocusCheckContext, key: SeriesKey, worst: AnomalyDay) -> drivers.CostDriver | None:
    """Where the worst day's excess happened: resources on that day vs their median over the
    baseline days (`finops_mcp.anomaly.driver_of_day`)."""
    provider, service, account, currency = key
    where = ctx.where(min(worst.basis)).add("charge_day <= ?", worst.day).add(USAGE_ONLY)
    where.add("COALESCE(provider_name, '') = ?", provider).add("COALESCE(service, '') = ?", service)
    where.add("COALESCE(account, '') = ?", account).add("COALESCE(currency, '') = ?", currency)
    sql = f"""
        SELECT COALESCE(resource_id, '') AS resource, charge_day, SUM(effective_cost) AS cost,
               {one_unit("quantity", "unit")}
        FROM {TABLE} WHERE {where.sql}
        GROUP BY 1, 2
    """
    usages = (
        (
            resource or "(no resource id)",
            day,
            drivers.Usage(cost or ZERO, quantity, unit if quantity is not None else None),
        )
        for resource, day, cost, quantity, unit in ctx.cursor.rows(sql, where.params)
    )
    return driver_of_day((provider, ctx.scope, currency), ("service", service), "resource", worst, usages)


def _finding(ctx: FocusCheckContext, flagged: Flagged[SeriesKey]) -> Finding:
    provider, service, account, currency = flagged.key
    label = (service or "(no service)") + (f" ({provider})" if provider else "")
    label += f" in account {account}" if account else ""
    return finding(
        DAILY_ANOMALY,
        flagged,
        label=label,
        window=ctx.window,
        currency=currency,
        driver=driver_of(ctx, flagged.key, flagged.worst),
        child="resource",
        scope=ctx.scope,
        resource_id=" / ".join(p for p in (service or "(no service)", account) if p),
        region=ctx.region_of(None),
    )


DAILY_ANOMALY: Check[FocusCheckContext] = daily_anomaly_check(
    "focus.anomaly.daily_cost",
    "Daily cost anomaly (weekly and month-start aware)",
    "A (provider, service, account) whose daily usage cost in the audit window is far above its robust "
    "baseline: the median of the same weekday in the previous 8 weeks (the 1st: the previous 3 months' "
    "1sts), by 4 MAD-spreads and at least FINOPS_SPIKE_MIN_DAILY_COST. Names the driver.",
    "Look at the named driver on the anomalous day (a new or resized resource, traffic, a deployment, a "
    "price change); if it is expected, nothing to do, else fix it and add a budget alert.",
    evaluate_daily_anomaly,
)
