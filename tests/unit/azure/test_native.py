"""azure.advisor.* and azure.commitment.*: Advisor's Cost recommendations and Consumption reservation
recommendations through the real azure-mgmt-advisor / azure-mgmt-consumption clients against the
fake ARM server: routing, pricing, source, paging, de-duplication against the inventory checks,
throttling, an Advisor-only 403 and healthy look-alikes (other categories, purchase advice, 3-year
twins)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from finops_mcp.engine.context import CallContext
from finops_mcp.providers.azure import advice
from finops_mcp.providers.azure.provider import AzureProvider
from finops_mcp.providers.base import Scope
from tests.fakes.azure_arm import SUB_DEV, SUB_PROD, FakeArm
from tests.fakes.http import Reply

Make = Callable[..., AzureProvider]
PROD = Scope("azure", "azure", SUB_PROD)
DEV = Scope("azure", "azure", SUB_DEV)
ADVISOR = r"/subscriptions/[^/]+/providers/Microsoft\.Advisor/recommendations"
NATIVE = ("azure.advisor.", "azure.commitment.")


def native(provider: AzureProvider) -> list:  # type: ignore[type-arg]
    return [c for c in provider.checks() if c.id.startswith(NATIVE)]


def audit(provider: AzureProvider, scope: Scope, ctx: CallContext, checks=None):  # type: ignore[no-untyped-def]
    (unit,) = provider.audit_units(scope, None, ctx)
    return provider.audit(unit, checks or provider.checks(), ctx)


def test_advisor_and_reservation_findings_priced_sourced_and_paged(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider()
    arm.server.reset()
    result = audit(provider, PROD, ctx, native(provider))
    found = {(f.check, f.resource_name): f for f in result.findings}
    assert set(found) == {
        ("azure.advisor.vm_rightsizing", "vm-web-1"),
        ("azure.advisor.vm_rightsizing", "vm-batch-stopped"),
        ("azure.advisor.cost", "vgw-idle"),
        ("azure.commitment.reservation_purchase", "Standard_D2s_v3"),
        ("azure.commitment.reservation_purchase", "Standard_E4s_v5"),
    }
    resize = found[("azure.advisor.vm_rightsizing", "vm-web-1")]
    assert resize.resource_id == arm.vm_running and resize.region == "westeurope"
    assert resize.estimated_monthly_cost == Decimal("40.50") and resize.cost_basis == "recommender"
    assert resize.source == advice.ADVISOR_SOURCE and "Standard_D2s_v3 -> Standard_B2s" in resize.detail
    gateway = found[("azure.advisor.cost", "vgw-idle")]
    assert gateway.resource_type == "Microsoft.Network/virtualNetworkGateways"
    legacy = found[("azure.commitment.reservation_purchase", "Standard_D2s_v3")]
    assert legacy.estimated_monthly_cost == Decimal("50.10") and legacy.category == "commitment"
    modern = found[("azure.commitment.reservation_purchase", "Standard_E4s_v5")]
    assert modern.estimated_monthly_cost == Decimal("80.00") and modern.region == "eastus"
    assert modern.source == advice.RESERVATION_SOURCE
    # Advisor: one paged call (Cost filter: 4 items, 2 a page); purchase advice left to azure.commitment
    calls = arm.calls("GET", ADVISOR)
    assert len(calls) == 2 and "Category eq 'Cost'" in (calls[0].arg("$filter") or "")
    assert ("azure.advisor.cost", SUB_PROD) not in found


def test_one_resource_one_finding_with_the_larger_saving(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider()
    prod = audit(provider, PROD, ctx)
    stopped = [f for f in prod.findings if f.resource_id.lower() == arm.vm_stopped.lower()]
    assert [f.check for f in stopped] == ["azure.compute.stopped_vm"]  # billed cost > Advisor's 1.00
    assert "Also reported by azure.advisor.vm_rightsizing (1.00 USD/month)" in stopped[0].detail
    dev = audit(provider, DEV, ctx)
    on_vm = [f for f in dev.findings if f.resource_id.lower() == arm.vm_dev_stopped.lower()]
    assert [f.check for f in on_vm] == ["azure.advisor.vm_rightsizing"]  # Advisor's 9,999.00 is larger
    assert "Also reported by azure.compute.stopped_vm" in on_vm[0].detail


def test_throttled_advisor_pages_are_retried(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    arm.server.fault("GET", ADVISOR, Reply.error(429, "TooManyRequests", "Rate limit", {"Retry-After": "1"}))
    result = audit(provider, PROD, ctx, native(provider))
    assert len([f for f in result.findings if f.check.startswith("azure.advisor.")]) == 3
    assert 1 in ctx.sleeps  # type: ignore[attr-defined]


def test_advisor_refused_skips_only_its_checks(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    arm.advisor_forbidden.add(SUB_PROD)
    result = audit(provider, PROD, ctx)
    assert not [c for c in result.checks_run if c.startswith("azure.advisor.")]
    assert "azure.commitment.reservation_purchase" in result.checks_run
    assert "azure.compute.unattached_disk" in result.checks_run and result.findings
    assert any(
        "Microsoft.Advisor/recommendations/read" in n and "skipped azure.advisor" in n for n in ctx.notes
    )
