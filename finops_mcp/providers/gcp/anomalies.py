"""`gcp.anomaly.daily_cost`: daily cost anomalies per (project, service) from the BigQuery billing
export, each with its driver (the SKU where the excess happened).

Data (two statements at most per audit unit, each under FINOPS_GCP_MAX_BYTES_BILLED, each counted
as `gcp.bigquery`):
1. the series: effective usage cost per (project, region, service, day) over the audit window
   and the `LOOKBACK_DAYS` before it (`SqlBuilder.daily_usage_sql`; usage rows only: cost_type
   `regular`, FOCUS ChargeCategory `Usage`; promotional credits left out like `effective` cost).
   One statement for the whole billing account (or every configured project), shared by the
   project units of an audit (`GcpProvider._shared`);
2. only when a project has anomalies: its anomalous services per SKU on the worst days and their
   baseline days, with usage quantity and unit (`SqlBuilder.sku_days_sql`).

Audit window: the `anomaly.WINDOW_DAYS` days ending at the latest usage day in the export (the export
lags by hours to days; a partial last day is low, never a false spike). A region-narrowed audit
unit judges the project's series in that region only.

Each day is judged by `finops_mcp.anomaly.detect` (the same weekday of the previous weeks, or the
previous months' 1sts for a 1st); the driver is `finops_mcp.anomaly.worst_day_driver` over the
SKUs, with the volume / rate split where `usage.amount` is in one unit.

Imports no SDK: the provider runs the statements and hands the rows in (`AnomalyData`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finops_mcp import anomaly
from finops_mcp.models import Finding
from finops_mcp.periods import Span
from finops_mcp.providers.base import Check
from finops_mcp.providers.gcp.export import to_decimal
from finops_mcp.reports import drivers

FEED = "billing_export"  # Check.needs: the export's daily series
PERMISSIONS = ("bigquery.jobs.create", "bigquery.tables.get", "bigquery.tables.getData")
ZERO = Decimal(0)
SeriesKey = tuple[str, str]  # service, currency
Rows = Sequence[Mapping[str, Any]]


def query_span(today: date) -> Span:
    """The days the series statement reads: the longest window and its baselines, up to yesterday."""
    return anomaly.with_baselines(anomaly.audit_window(today - timedelta(days=1)))


@dataclass(frozen=True)
class AnomalyData:
    """What the check evaluates: one project's (and region's) daily series, and how to read the
    SKUs of the anomalous days (the second statement, run only when needed)."""

    project: str
    region: str | None
    rows: Rows  # the shared statement's rows (every project): kp, region, service, day, currency, cost
    min_excess: Decimal
    sku_days: Callable[[Sequence[str], Sequence[date]], Rows] = lambda services, days: ()

    @property
    def scope(self) -> str:
        return f"gcp-project:{self.project}"

    def series(self) -> dict[SeriesKey, dict[date, Decimal]]:
        out: dict[SeriesKey, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in self.rows:
            if row["kp"] != self.project or (self.region is not None and row["region"] != self.region):
                continue
            out[(str(row["service"]), str(row["currency"]))][row["day"]] += to_decimal(row["cost"])
        return out

    def regions_of(self, service: str) -> set[str]:
        return {str(r["region"]) for r in self.rows if r["kp"] == self.project and r["service"] == service}

    @property
    def data_end(self) -> date | None:
        return max((r["day"] for r in self.rows if r.get("day") is not None), default=None)


def evaluate(data: AnomalyData) -> Iterator[Finding]:
    end = data.data_end
    if end is None:
        return
    window = anomaly.audit_window(end)
    found = anomaly.flag(data.series(), window, min_excess=data.min_excess, data_end=end)
    if not found:
        return
    wanted = sorted({d for f in found for d in (f.worst.day, *f.worst.basis)})
    skus = data.sku_days(sorted({f.key[0] for f in found}), wanted)
    for flagged in found:
        yield _finding(data, flagged, window, driver_of(data, flagged.key, flagged.worst, skus))


def driver_of(
    data: AnomalyData, key: SeriesKey, worst: anomaly.AnomalyDay, rows: Rows
) -> drivers.CostDriver | None:
    """The SKU where the worst day's excess happened (or the service, when its SKUs moved alike)."""
    service, currency = key

    def usages() -> Iterator[tuple[str, date, drivers.Usage]]:
        for row in rows:
            if row["service"] == service and row["currency"] == currency:
                quantity, unit = row.get("quantity"), row.get("unit")
                known = quantity is not None and bool(unit)
                usage = drivers.Usage(
                    to_decimal(row["cost"]),
                    to_decimal(quantity) if known else None,
                    str(unit) if known else None,
                )
                yield str(row["sku"]) or "(no SKU)", row["day"], usage

    return anomaly.driver_of_day(("gcp", data.scope, currency), ("service", service), "sku", worst, usages())


def _finding(
    data: AnomalyData, flagged: anomaly.Flagged[SeriesKey], window: Span, driver: drivers.CostDriver | None
) -> Finding:
    service, currency = flagged.key
    regions = {data.region} if data.region is not None else data.regions_of(service)
    return anomaly.finding(
        DAILY_ANOMALY,
        flagged,
        label=f"{service or '(no service)'} in project {data.project}",
        window=window,
        currency=currency,
        driver=driver,
        child="SKU",
        scope=data.scope,
        resource_id=f"{data.project}/{service or '(no service)'}",
        region=regions.pop() if len(regions) == 1 else None,
    )


DAILY_ANOMALY: Check[AnomalyData] = anomaly.daily_anomaly_check(
    "gcp.anomaly.daily_cost",
    "Daily cost anomaly in the billing export (weekly and month-start aware)",
    "A (project, service) whose daily effective usage cost in the last 30 days of the BigQuery billing "
    "export is far above its robust baseline: the median of the same weekday in the previous 8 weeks (the "
    "1st: the previous 3 months' 1sts), by 4 MAD-spreads and at least FINOPS_SPIKE_MIN_DAILY_COST. Names "
    "the SKU that drove it.",
    "Look at the named SKU on the anomalous day (a new or resized resource, traffic, a runaway query or "
    "job, a price change); if it is expected, nothing to do, else fix it and add a budget alert.",
    evaluate,
    needs=frozenset({FEED}),
    permissions=PERMISSIONS,
)
