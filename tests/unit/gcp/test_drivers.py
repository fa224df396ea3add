"""explain_change over the BigQuery billing export (fake BigQuery executing the SQL): the standard
export cannot group by resource, so the drivers walk service -> region, with no error; the detailed
export goes to resource. Both through the provider's own cost(), bytes scanned counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from finops_mcp.models import GetCostRequest
from finops_mcp.periods import utc_today
from finops_mcp.service import FinOpsService
from tests.fakes.gcp_estate import DETAILED_TABLE, GcpEstate


def request() -> GetCostRequest:
    end = utc_today() - timedelta(days=2)
    return GetCostRequest(start_date=end - timedelta(days=13), end_date=end, explain_change=True)


async def test_standard_export_falls_back_to_region(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    svc = FinOpsService(make_provider().settings, providers={"gcp": make_provider()})
    report = await svc.get_cost(request())
    assert report.errors == [] and report.drivers
    assert {d.dimension for d in report.drivers} <= {"service", "region"}
    assert any("service x region for 1 scope(s)" in n for n in report.meta.notes)
    assert report.meta.bytes_scanned  # the extra queries are counted with the others
    assert report.drivers_explained_pct is not None and 0 < report.drivers_explained_pct <= 100
    assert all(d.change != 0 and d.currency == report.currency for d in report.drivers)


async def test_detailed_export_goes_to_resource(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider(gcp_billing_export_table=DETAILED_TABLE)
    svc = FinOpsService(provider.settings, providers={"gcp": provider})
    report = await svc.get_cost(request())
    assert report.errors == [] and report.drivers
    assert any("service x resource for 1 scope(s)" in n for n in report.meta.notes)
