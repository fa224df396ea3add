"""gcp.anomaly.daily_cost over a planted billing export (the fake BigQuery runs the real SQL): a
planted spike is found and names its SKU (volume, not rate); a weekly batch, a month-start fee,
a tax line and another billing account's spike are not reported; a refused table or the scan
limit leaves the check out with a note per project while the project's other checks answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.periods import utc_today
from finops_mcp.providers.base import AuditUnit, Scope
from finops_mcp.providers.gcp import anomalies
from finops_mcp.providers.gcp.anomalies import DAILY_ANOMALY, AnomalyData
from finops_mcp.providers.gcp.checks import CHECKS
from tests.fakes.gcp_bigquery import STANDARD_SCHEMA
from tests.fakes.gcp_estate import ACCOUNT, PROJECTS, GcpEstate
from tests.unit.anomaly_days import ordinary_day

TABLE = "billing-admin-prj.billing_export.gcp_billing_export_v1_PLANTED_000000"
PRICES = {"N1 Core": 0.05, "Standard Storage": 0.02, "Analysis": 6.25, "Streaming Inserts": 0.01}
SERVICE_OF = {
    "N1 Core": "Compute Engine",
    "Standard Storage": "Cloud Storage",
    "Analysis": "BigQuery",
    "Streaming Inserts": "BigQuery",
}
UNATTACHED = next(c for c in CHECKS if c.id == "gcp.compute.unattached_disk")


def spike_day(last: date) -> date:
    """A day inside the window that is neither a Sunday nor a 1st."""
    return ordinary_day(last - timedelta(days=5))


def planted(day: date, spike: date) -> dict[str, float]:
    """alpha-prj's cost per SKU on `day`."""
    return {
        "N1 Core": 400.0 if day.weekday() == 6 else 100.0,  # a Sunday batch every week
        "Standard Storage": 600.0 if day.day == 1 else 40.0,  # a monthly fee on the 1st
        "Analysis": 820.0 if day == spike else 20.0,  # the planted spike: 41x the bytes, same price
        "Streaming Inserts": 5.0,
    }


def row(day: date, project: str, sku: str, cost: float, **extra: Any) -> dict[str, Any]:
    stamp = datetime(day.year, day.month, day.day, 5, tzinfo=timezone.utc)
    unit = "tebibytes" if sku == "Analysis" else "seconds"
    return {
        "billing_account_id": ACCOUNT,
        "service": {"id": SERVICE_OF[sku][:4], "description": SERVICE_OF[sku]},
        "sku": {"id": sku[:4], "description": sku},
        "usage_start_time": stamp,
        "usage_end_time": stamp + timedelta(hours=1),
        "project": {"id": project, "number": PROJECTS[project], "name": project, "labels": []},
        "labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": None},
        "export_time": stamp,
        "cost": cost,
        "currency": "USD",
        "usage": {
            "amount": cost / PRICES[sku],
            "unit": unit,
            "amount_in_pricing_units": None,
            "pricing_unit": None,
        },
        "credits": [],
        "cost_type": "regular",
        "_PARTITIONTIME": datetime(day.year, day.month, day.day, tzinfo=timezone.utc),
        **extra,
    }


def planted_rows(last: date) -> list[dict[str, Any]]:
    spike = spike_day(last)
    rows: list[dict[str, Any]] = []
    day = last - timedelta(days=140)
    while day <= last:
        rows += [row(day, "alpha-prj", sku, cost) for sku, cost in planted(day, spike).items()]
        rows.append(row(day, "gamma-prj", "N1 Core", 60.0))  # steady: nothing to report
        day += timedelta(days=1)
    quiet = spike - timedelta(days=2)
    rows.append(row(quiet, "gamma-prj", "N1 Core", 5000.0, cost_type="tax"))  # not usage
    rows.append(row(quiet, "gamma-prj", "N1 Core", 5000.0, billing_account_id="OTHER"))  # not ours
    return rows


@pytest.fixture(scope="module")
def planted_table(estate: GcpEstate) -> Iterator[date]:
    last = utc_today() - timedelta(days=1)
    if TABLE not in estate.bq.tables:
        estate.bq.add_table(TABLE, STANDARD_SCHEMA, planted_rows(last))
    yield last


def unit(project: str) -> AuditUnit:
    return AuditUnit(Scope("gcp", "gcp-project", project, name=project))


def test_the_planted_spike_is_found_with_its_sku_and_nothing_else(
    make_provider: Callable[..., Any], planted_table: date
) -> None:
    provider = make_provider(gcp_billing_export_table=TABLE)
    ctx = CallContext()
    result = provider.audit(unit("alpha-prj"), [DAILY_ANOMALY], ctx)
    assert result.checks_run == ["gcp.anomaly.daily_cost"]
    [found] = result.findings  # not the Sunday batch, not the fee on the 1st
    spike = spike_day(planted_table)
    assert (found.scope, found.resource_id, found.region) == (
        "gcp-project:alpha-prj",
        "alpha-prj/BigQuery",
        "us-central1",
    )
    assert f"worst {spike}: 825.00 USD vs a baseline of 25.00 USD" in found.detail
    assert (
        "Driver: sku Analysis (service BigQuery) up +800.00 USD (volume +800.00, rate +0.00)" in found.detail
    )
    assert found.estimated_monthly_cost == Decimal(800) and found.severity == "medium"
    assert ctx.billed.snapshot() == {"gcp.bigquery": 2}  # the series + the SKUs of the one anomaly
    assert any("anomaly series query" in n and "scan limit" in n for n in ctx.notes)

    gamma = CallContext()  # the series statement is shared; a healthy project needs no second one
    assert provider.audit(unit("gamma-prj"), [DAILY_ANOMALY], gamma).findings == []
    assert gamma.billed.snapshot() == {}


def test_a_region_narrowed_unit_sees_only_that_region(
    make_provider: Callable[..., Any], planted_table: date
) -> None:
    provider = make_provider(gcp_billing_export_table=TABLE)
    there = provider.audit(AuditUnit(unit("alpha-prj").scope, "us-central1"), [DAILY_ANOMALY], CallContext())
    elsewhere = provider.audit(
        AuditUnit(unit("alpha-prj").scope, "europe-west1"), [DAILY_ANOMALY], CallContext()
    )
    assert [f.resource_id for f in there.findings] == ["alpha-prj/BigQuery"] and elsewhere.findings == []


def test_a_refused_table_is_a_note_per_project_and_the_other_checks_answer(
    make_provider: Callable[..., Any], estate: GcpEstate, planted_table: date
) -> None:
    provider = make_provider(gcp_billing_export_table=TABLE)
    estate.bq.forbidden_tables.add(TABLE)
    try:
        for project, orphan in (("alpha-prj", "orphan-1"), ("gamma-prj", "gamma-orphan")):
            ctx = CallContext()
            result = provider.audit(unit(project), [DAILY_ANOMALY, UNATTACHED], ctx)
            assert result.checks_run == ["gcp.compute.unattached_disk"]
            assert orphan in {f.resource_name for f in result.findings}
            [note] = [n for n in ctx.notes if "gcp.anomaly.daily_cost did not run" in n]
            assert note.startswith(f"gcp-project:{project}: ") and "roles/bigquery.dataViewer" in note
    finally:
        estate.bq.forbidden_tables.discard(TABLE)


def test_the_scan_limit_bounds_the_series_query(
    make_provider: Callable[..., Any], planted_table: date
) -> None:
    provider = make_provider(gcp_billing_export_table=TABLE, gcp_max_bytes_billed=10_000)
    ctx = CallContext()
    result = provider.audit(unit("alpha-prj"), [DAILY_ANOMALY], ctx)
    assert result.findings == [] and result.checks_run == []
    assert any("BigQuery scan limit" in n and "FINOPS_GCP_MAX_BYTES_BILLED=10000" in n for n in ctx.notes)


# -- the check alone, on fixed dates ------------------------------------------------------------


def series_rows(service: str, first: date, last: date, cost: Callable[[date], float]) -> list[dict[str, Any]]:
    out, day = [], first
    while day <= last:
        out.append(
            {"kp": "p", "region": "r", "service": service, "day": day, "currency": "EUR", "cost": cost(day)}
        )
        day += timedelta(days=1)
    return out


def test_weekly_and_month_start_patterns_are_not_anomalies_but_a_spike_on_a_first_is() -> None:
    first, last = date(2024, 5, 1), date(2024, 9, 10)  # 2024-09-01 is a Sunday
    weekly = series_rows("Batch", first, last, lambda d: 300 if d.weekday() == 6 else 10)
    monthly = series_rows("Fees", first, last, lambda d: 500 if d.day == 1 else 10)
    assert list(anomalies.evaluate(AnomalyData("p", None, weekly + monthly, Decimal(25)))) == []
    spiky = [dict(r, cost=2500) if r["day"] == date(2024, 9, 1) else r for r in monthly]
    [found] = anomalies.evaluate(AnomalyData("p", None, weekly + spiky, Decimal(25)))
    assert found.resource_id == "p/Fees"
    assert "worst 2024-09-01: 2,500.00 EUR vs a baseline of 500.00 EUR (median of the 1st" in found.detail
    assert "Driver:" not in found.detail and "no driver is named" in found.detail  # no SKU rows given
