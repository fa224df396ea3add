"""explain_change over the BigQuery billing export (fake BigQuery executing the SQL): the standard
export cannot group by resource, so the drivers walk service -> region, with no error; the detailed
export goes to resource. Both through the provider's own cost(), bytes scanned counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
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


async def test_drivers_split_volume_and_rate_where_usage_is_in_one_unit(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    """The estate bills Compute Engine per second and Cloud Storage per byte-second at fixed unit
    prices (usage.amount), BigQuery rows carry no usage: only the first two get the split. Effective
    cost: the promotional credits some days get would change the billed rate."""
    provider = make_provider()
    svc = FinOpsService(provider.settings, providers={"gcp": provider})
    report = await svc.get_cost(request().model_copy(update={"cost_type": "effective"}))
    split = [d for d in report.drivers if d.volume_effect is not None]
    assert split and {d.within.get("service", d.key) for d in split} <= {"Compute Engine", "Cloud Storage"}
    for d in split:
        assert d.usage_unit in ("seconds", "byte-seconds") and d.rate_effect is not None
        assert d.volume_effect + d.rate_effect == d.change
        assert abs(d.rate_effect) < Decimal("0.01") * max(abs(d.change), 1)  # same unit price: volume
    assert all(
        d.volume_effect is None for d in report.drivers if "BigQuery" in (d.key, d.within.get("service"))
    )
