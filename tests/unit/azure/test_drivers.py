"""explain_change over Cost Management (the fake ARM answering the real azure-mgmt client): the
deeper level is one more grouping (ServiceName x ResourceId) through the provider's own cost()."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from finops_mcp.models import GetCostRequest
from finops_mcp.providers.azure.provider import AzureProvider
from finops_mcp.service import FinOpsService
from tests.fakes.azure_arm import FakeArm


async def test_drivers_from_cost_management(
    arm: FakeArm, make_provider: Callable[..., AzureProvider]
) -> None:
    provider = make_provider()
    svc = FinOpsService(provider.settings, providers={"azure": provider})
    end = arm.today - timedelta(days=1)
    report = await svc.get_cost(
        GetCostRequest(start_date=end - timedelta(days=13), end_date=end, explain_change=True)
    )
    assert report.errors == [], report.errors
    assert report.drivers, "the ledger's costs differ day to day: something moved"
    assert any("service x resource" in n for n in report.meta.notes), report.meta.notes
    assert report.drivers_explained_pct is not None and 0 < report.drivers_explained_pct <= 100
    changes = [abs(d.change) for d in report.drivers]
    assert changes == sorted(changes, reverse=True)
    assert all(d.provider == "azure" and d.volume_effect is None for d in report.drivers)  # no quantities
