"""azure.advisor.* and azure.commitment.*: Advisor's Cost recommendations and Consumption reservation
recommendations through the real azure-mgmt-advisor / azure-mgmt-consumption clients against the
fake ARM server: routing, pricing, source, paging, de-duplication against the inventory checks,
throttling, an Advisor-only 403 and healthy look-alikes (other categories, purchase advice, 3-year
twins)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.azure import advice
from finops_mcp.providers.azure.provider import AzureProvider
from finops_mcp.providers.base import Scope
from tests.fakes import azure_native
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
        ("azure.commitment.savings_plan_purchase", "Compute_Savings_Plan"),
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


SAVINGS_PLANS = r"/subscriptions/[^/]+/providers/Microsoft\.CostManagement/benefitRecommendations"
GRAPH = r"/providers/Microsoft\.ResourceGraph/resources"


def test_savings_plan_purchase_priced_per_month_filtered_and_paged(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider()
    arm.server.reset()
    checks = [c for c in provider.checks() if c.id == "azure.commitment.savings_plan_purchase"]
    result = audit(provider, PROD, ctx, checks)
    (plan,) = result.findings  # the zero / negative savings and the 3-year twin are not reported
    assert plan.resource_id == arm.sp_recommended and plan.category == "commitment"
    # 216.00 saved over the lookback's 720 hours -> per 730-hour month
    assert plan.estimated_monthly_cost == Decimal("219.00") and plan.cost_basis == "recommender"
    assert plan.source == advice.SAVINGS_PLAN_SOURCE and "1.50 USD per hour" in plan.detail
    calls = arm.calls("GET", SAVINGS_PLANS)
    assert len(calls) == 2  # three P1Y recommendations, two a page
    assert "properties/scope eq 'Single'" in (calls[0].arg("$filter") or "")
    assert not audit(provider, DEV, ctx, checks).findings


def test_savings_plans_refused_or_throttled(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    arm.server.fault(
        "GET", SAVINGS_PLANS, Reply.error(429, "TooManyRequests", "Rate limit", {"Retry-After": "2"})
    )
    assert [f.check for f in audit(provider, PROD, ctx, native(provider)).findings].count(
        "azure.commitment.savings_plan_purchase"
    ) == 1
    assert 2 in ctx.sleeps  # type: ignore[attr-defined]
    arm.benefit_forbidden.add(SUB_PROD)
    refused = audit(provider, PROD, ctx)
    assert "azure.commitment.savings_plan_purchase" not in refused.checks_run
    assert "azure.commitment.reservation_purchase" in refused.checks_run
    assert any(
        "benefitRecommendations/read" in n and "skipped azure.commitment.savings" in n for n in ctx.notes
    )


def _advisor_findings(result) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.check, f.resource_id) for f in result.findings if f.check.startswith("azure.advisor.")}


def test_management_group_reads_advisor_with_one_resource_graph_query(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    per_subscription = make_provider()
    expected = {
        s: _advisor_findings(audit(per_subscription, s, ctx, native(per_subscription))) for s in (PROD, DEV)
    }
    provider = make_provider(management_group=True)
    arm.server.reset()
    for scope in (PROD, DEV, PROD):
        assert _advisor_findings(audit(provider, scope, ctx, native(provider))) == expected[scope]
    assert not arm.calls("GET", ADVISOR)  # no per-subscription Advisor call
    graph = arm.calls("POST", GRAPH)
    assert len(graph) == 3  # ONE query for the group: its 6 Cost rows, 2 a page, shared by both subscriptions
    bodies = [r.json() for r in graph]
    assert all(b["managementGroups"] == ["contoso-root"] for b in bodies)
    assert "properties.category == 'Cost'" in bodies[0]["query"]
    assert [b["options"].get("$skipToken") for b in bodies] == [None, "skip-2", "skip-4"]


def test_resource_graph_throttled_then_refused(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider(management_group=True)
    arm.server.fault(
        "POST", GRAPH, Reply.error(429, "RateLimiting", "Too many requests", {"Retry-After": "3"})
    )
    assert _advisor_findings(audit(provider, PROD, ctx, native(provider)))
    assert 3 in ctx.sleeps  # type: ignore[attr-defined]
    refused = make_provider(management_group=True)
    arm.graph_forbidden = True
    arm.server.reset()
    found = _advisor_findings(audit(refused, DEV, ctx, native(refused)))
    assert found == {("azure.advisor.vm_rightsizing", arm.vm_dev_stopped)}  # from DEV's own Advisor call
    assert len(arm.calls("GET", ADVISOR)) == 1 and len(arm.calls("POST", GRAPH)) == 1
    assert any("Resource Graph query for Advisor" in n and "forbidden" in n for n in ctx.notes)


def test_an_idle_gateway_is_one_finding_with_the_larger_saving(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider()
    arm.server.reset()
    result = audit(provider, PROD, ctx)
    on_gateway = [f for f in result.findings if f.resource_id.lower() == arm.vgw_idle.lower()]
    assert [f.check for f in on_gateway] == [
        "azure.network.idle_vnet_gateway"
    ]  # 357.70 list > Advisor's 138.70
    assert on_gateway[0].estimated_monthly_cost == Decimal("357.70")
    assert "Also reported by azure.advisor.cost (138.70 USD/month)" in on_gateway[0].detail
    names = {f.resource_name for f in result.findings if f.check == "azure.network.idle_vnet_gateway"}
    assert names == {"vgw-idle", "ergw-idle"}  # the connected and the point-to-site gateways are in use
    # one generic resource list, then one paged list per resource group and type
    generic = arm.calls("GET", rf"/subscriptions/{SUB_PROD}/resources$")
    assert len([r for r in generic if not r.arg("$skiptoken")]) == 1  # 5 items, 2 a page
    assert (
        len(arm.calls("GET", r"/resourceGroups/rg-net/providers/Microsoft\.Network/virtualNetworkGateways"))
        == 2
    )
    assert len(arm.calls("GET", r"/resourceGroups/rg-conn/providers/Microsoft\.Network/connections")) == 1


def test_gateway_lists_retry_when_throttled(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    arm.server.fault(
        "GET",
        r"/.+/providers/Microsoft\.Network/virtualNetworkGateways",
        Reply.error(429, "TooManyRequests", "slow down", {"Retry-After": "4"}),
    )
    checks = [c for c in provider.checks() if c.id == "azure.network.idle_vnet_gateway"]
    assert {f.resource_name for f in audit(provider, PROD, ctx, checks).findings} == {"vgw-idle", "ergw-idle"}
    assert 4 in ctx.sleeps  # type: ignore[attr-defined]


BILLING = Scope("azure", "azure-billing", azure_native.BILLING_ACCOUNT)
BILLING_PATH = r"/providers/Microsoft\.Billing/billingAccounts/[^/]+"
SUMMARIES = BILLING_PATH + r"/providers/Microsoft\.Consumption/reservationSummaries"


def test_reservation_utilization_of_the_billing_account(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider(billing=True)
    assert BILLING.id in {s.id for s in provider.scopes(ctx)}
    arm.server.reset()
    (unit,) = provider.audit_units(BILLING, None, ctx)
    result = provider.audit(unit, provider.checks(), ctx)
    assert result.checks_run == ["azure.commitment.reservation_utilization"]  # nothing else at this scope
    found = {f.resource_name: f for f in result.findings}
    assert set(found) == {"Standard_D2s_v3", "Standard_B2ms"}  # the 98%-used reservation is healthy
    half = found["Standard_D2s_v3"]
    # 30 days x 24 h reserved, half used; 300.00 amortized over 720 h -> 360 unused h x 0.4167
    assert half.estimated_monthly_cost == Decimal("150.00") and half.cost_basis == "billed_last_30_days"
    assert half.severity == "high" and "50.0% used" in half.detail and "360 of 720" in half.detail
    assert half.resource_id.endswith(f"/reservations/{azure_native.RESERVATION_HALF_USED}")
    assert half.scope == BILLING.id and half.category == "waste"
    unpriced = found["Standard_B2ms"]
    assert (unpriced.cost_basis, unpriced.estimated_monthly_cost) == ("unknown", Decimal(0))
    pages = arm.calls("GET", SUMMARIES)
    assert len(pages) == 3 and all(p.arg("grain") == "daily" for p in pages)  # 90 daily rows, 40 a page
    (query,) = [
        r for r in arm.calls("POST", r"/providers/Microsoft\.Billing/.+/query") if not r.arg("$skiptoken")
    ]
    assert (
        query.json()["type"] == "AmortizedCost"
        and query.json()["dataset"]["grouping"][0]["name"] == "ReservationId"
    )
    # the subscriptions do not run it; the billing scope answers no cost
    (sub_unit,) = provider.audit_units(PROD, None, ctx)
    assert (
        "azure.commitment.reservation_utilization"
        not in provider.audit(sub_unit, native(provider), ctx).checks_run
    )


def test_reservation_utilization_throttled_or_refused(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider(billing=True)
    (unit,) = provider.audit_units(BILLING, None, ctx)
    arm.server.fault(
        "GET", SUMMARIES, Reply.error(429, "TooManyRequests", "Rate limit", {"Retry-After": "5"})
    )
    assert len(provider.audit(unit, provider.checks(), ctx).findings) == 2
    assert 5 in ctx.sleeps  # type: ignore[attr-defined]
    arm.server.fault(
        "POST",
        r"/providers/Microsoft\.Billing/.+/query",
        Reply.error(403, "RBACAccessDenied", "no cost access"),
    )
    unpriced = provider.audit(unit, provider.checks(), ctx).findings
    assert {f.cost_basis for f in unpriced} == {"unknown"} and len(unpriced) == 2
    assert any("reservation costs unavailable" in n for n in ctx.notes)
    arm.billing_forbidden = True
    with pytest.raises(ScopeFailure) as info:  # the billing scope fails alone, as its own error
        provider.audit(unit, provider.checks(), ctx)
    assert info.value.code == "forbidden"


def test_the_billing_scope_answers_no_cost_or_budgets(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    from finops_mcp.periods import Span
    from finops_mcp.providers.base import CostQuery

    provider = make_provider(billing=True)
    span = Span(arm.today - timedelta(days=30), arm.today - timedelta(days=1))
    arm.server.reset()
    assert provider.cost(BILLING, CostQuery(span, "total", ("service",), "billed"), ctx) == []
    assert provider.budgets(BILLING, arm.today, ctx) == []
    assert not arm.calls()  # nothing asked: cost stays with the subscriptions
    assert any("azure-billing:" in n and "reservation checks" in n for n in ctx.notes)
