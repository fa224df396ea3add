"""AzureProvider against the fake ARM server with the real azure-identity / azure-mgmt clients:
sign-in, scopes, cost (paging, column names, management group), forecast, budgets, throttling,
a forbidden subscription, the audit's call pattern, and the read-only guard."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span, month_span
from finops_mcp.providers.azure import errors
from finops_mcp.providers.azure.clients import Endpoints, ReadOnlyViolation, check_read_only
from finops_mcp.providers.azure.provider import AzureProvider, current_period
from finops_mcp.providers.base import CostQuery, Filters, Scope
from finops_mcp.settings import load_settings
from tests.fakes.azure_arm import MG, SUB_DEV, SUB_PROD, FakeArm, throttle_reply
from tests.fakes.http import Reply

Make = Callable[..., AzureProvider]
PROD = Scope("azure", "azure", SUB_PROD)
DEV = Scope("azure", "azure", SUB_DEV)
MGS = Scope("azure", "azure-mg", MG)
QUERY = r"/providers/Microsoft\.CostManagement/query$"


def last_30(arm: FakeArm) -> Span:
    return Span(arm.today - timedelta(days=30), arm.today - timedelta(days=1))


def by_key(lines: list, dim: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in lines:
        key = dict(line.keys)[dim]
        out[key] = out.get(key, Decimal(0)) + line.cost
    return out


# ------------------------------------------------------------------------------ sign-in, scopes


def test_scopes_and_sign_in(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    before = arm.tokens_issued
    arm.server.reset()
    provider = make_provider()
    scopes = provider.scopes(ctx)
    assert [(s.id, s.name) for s in scopes] == [
        (f"azure:{SUB_PROD}", "Contoso Production"),
        (f"azure:{SUB_DEV}", "Contoso Dev"),
    ]
    assert any("not enabled" in n for n in ctx.notes)
    assert len(arm.calls("GET", r"^/subscriptions$")) == 3  # one subscription a page: nextLink followed
    provider.cost(PROD, CostQuery(last_30(arm), "total", ("service",), "billed"), ctx)
    assert arm.tokens_issued == before + 1  # one client-credentials sign-in, token reused
    assert all(
        r.headers.get("authorization") == f"Bearer {arm.token}"
        for r in arm.calls()
        if r.path.startswith("/sub")
    )

    allow = make_provider(subscriptions=[SUB_DEV])
    arm.server.reset()
    assert [s.id for s in allow.scopes(ctx)] == [f"azure:{SUB_DEV}"] and not arm.calls()

    grouped = make_provider(management_group=True)
    assert [s.id for s in grouped.scopes(ctx)] == [f"azure-mg:{MG}", f"azure:{SUB_PROD}", f"azure:{SUB_DEV}"]


def test_a_wrong_secret_is_an_auth_error(
    arm: FakeArm, make_provider: Make, ctx: CallContext, monkeypatch
) -> None:
    provider = make_provider()
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong")
    provider = AzureProvider(load_settings())
    with pytest.raises(Exception) as info:
        provider.cost(PROD, CostQuery(last_30(arm), "total", ("service",), "billed"), ctx)
    assert provider.classify_error(info.value) == ("auth", False)
    assert "wrong" not in str(info.value)
    provider.close()


def test_cloud_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_AUTHORITY_HOST", raising=False)
    gov = Endpoints.from_settings(load_settings(azure_cloud="usgov", azure_arm_endpoint=None))
    assert gov == Endpoints(
        "login.microsoftonline.us",
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net/.default",
        False,
    )
    china = Endpoints.from_settings(
        load_settings(azure_cloud="china", azure_arm_endpoint="https://arm.example/")
    )
    assert (china.arm, china.token_scope) == (
        "https://arm.example",
        "https://management.chinacloudapi.cn/.default",
    )
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://login.contoso.internal")
    assert Endpoints.from_settings(load_settings(azure_cloud="public")).custom_authority is True


# ------------------------------------------------------------------------------ cost


@pytest.mark.parametrize(("cost_type", "kind"), [("billed", "ActualCost"), ("effective", "AmortizedCost")])
def test_cost_per_subscription_matches_the_ledger(
    arm: FakeArm, make_provider: Make, ctx: CallContext, cost_type: str, kind: str
) -> None:
    provider = make_provider()
    span = last_30(arm)
    arm.server.reset()
    lines = provider.cost(PROD, CostQuery(span, "total", ("service",), cost_type), ctx)
    services = by_key(lines, "service")
    assert sum(services.values()) == arm.expected_total(span.start, span.end, subs=[SUB_PROD], kind=kind)
    assert services["Virtual Machines"] == arm.expected_total(
        span.start, span.end, subs=[SUB_PROD], where=lambda r: r.service == "Virtual Machines"
    )
    posts = arm.calls("POST", QUERY)
    assert len(posts) >= 2, "the result spans several pages"
    assert posts[0].path == f"/subscriptions/{SUB_PROD}/providers/Microsoft.CostManagement/query"
    assert all(p.body == posts[0].body for p in posts) and posts[1].arg("$skiptoken")


def test_daily_and_monthly_rows_and_filters(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    span = Span(arm.today - timedelta(days=65), arm.today - timedelta(days=1))
    daily = provider.cost(DEV, CostQuery(span, "daily", ("service",), "billed"), ctx)
    assert {line.period_start for line in daily} == {span.start + timedelta(days=i) for i in range(span.days)}
    monthly = provider.cost(DEV, CostQuery(span, "monthly", ("region",), "billed"), ctx)
    assert all(line.period_start.day == 1 for line in monthly)
    assert sum(line.cost for line in monthly) == arm.expected_total(span.start, span.end, subs=[SUB_DEV])
    tagged = provider.cost(
        PROD, CostQuery(span, "total", ("tag:team",), "billed", Filters(services=("Storage",))), ctx
    )
    teams = by_key(tagged, "tag:team")
    storage = lambda team: lambda r: r.service == "Storage" and r.tags.get("team", "") == team  # noqa: E731
    assert teams == {
        t: arm.expected_total(span.start, span.end, subs=[SUB_PROD], where=storage(t))
        for t in ("web", "data", "")
    }
    # a subscription scope outside an accounts filter answers nothing, without a request
    arm.server.reset()
    assert (
        provider.cost(
            DEV, CostQuery(span, "total", ("service",), "billed", Filters(accounts=(SUB_PROD,))), ctx
        )
        == []
    )
    assert not arm.calls("POST")


def test_management_group_one_query_split_by_subscription(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider(management_group=True)
    span = last_30(arm)
    arm.server.reset()
    lines = provider.cost(MGS, CostQuery(span, "total", ("account", "service"), "billed"), ctx)
    accounts = by_key(lines, "account")
    assert accounts == {s: arm.expected_total(span.start, span.end, subs=[s]) for s in (SUB_PROD, SUB_DEV)}
    assert provider.cost(PROD, CostQuery(span, "total", ("account",), "billed"), ctx) == []
    assert any("queried once for management group" in n for n in ctx.notes)
    posts = arm.calls("POST", QUERY)
    first_pages = [p for p in posts if not p.arg("$skiptoken")]
    assert len(first_pages) == 1, "one query for the whole management group"
    assert all(p.path.startswith(f"/providers/Microsoft.Management/managementGroups/{MG}/") for p in posts)
    assert not arm.calls(pattern=r"^/subscriptions/.*/CostManagement")

    narrowed = make_provider(management_group=True, subscriptions=[SUB_DEV])
    assert [s.id for s in narrowed.scopes(ctx)] == [f"azure-mg:{MG}", f"azure:{SUB_DEV}"]
    lines = narrowed.cost(MGS, CostQuery(span, "total", ("service",), "billed"), ctx)
    assert sum(line.cost for line in lines) == arm.expected_total(span.start, span.end, subs=[SUB_DEV])


def test_throttling_reads_cost_management_headers(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider()
    span = last_30(arm)
    expected = arm.expected_total(span.start, span.end, subs=[SUB_PROD])
    arm.server.fault("POST", r"/.+" + QUERY[:-1], throttle_reply(), every=2)
    lines = provider.cost(PROD, CostQuery(span, "total", ("resource",), "billed"), ctx)
    assert sum(line.cost for line in lines) == expected
    waits = ctx.sleeps  # type: ignore[attr-defined]
    assert waits and all(w >= 7 for w in waits), (
        "the longest x-ms-ratelimit-*-retry-after hint (7 s) is honoured"
    )
    assert "retry-after" not in {k.lower() for k in throttle_reply().headers}


def test_throttle_headers_are_classified() -> None:
    assert errors.throttle_wait({"X-Ms-Ratelimit-Microsoft.CostManagement-Client-Retry-After": "12"}) == 12
    assert errors.throttle_wait({"Retry-After": "2", "x-ms-retry-after-ms": "4500"}) == 4.5
    assert errors.throttle_wait({}) is None
    assert (
        errors.ERRORS.retry_decision(
            ScopeFailure("throttled", "x", retryable=True, retry_after=3)
        ).retry_after
        == 3
    )


def test_forecast(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    month = month_span(arm.today)
    line = provider.forecast(
        PROD, CostQuery(Span(month.start, arm.today), "total", ("service",), "billed"), ctx
    )
    assert line is not None and line.span == month and line.currency == "USD"
    actual = arm.expected_total(month.start, arm.today - timedelta(days=1), subs=[SUB_PROD])
    remaining = (month.end - arm.today).days + 1
    assert line.amount == actual + arm.forecast_rate([SUB_PROD]) * remaining


# ------------------------------------------------------------------------------ budgets


def test_budgets_per_scope(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider(management_group=True)
    prod = {b.name: b for b in provider.budgets(PROD, arm.today, ctx)}
    assert set(prod) == {"prod-monthly", "prod-platform"}
    monthly = prod["prod-monthly"]
    assert (monthly.limit, monthly.actual, monthly.forecast, monthly.currency) == (
        Decimal(1000),
        Decimal("1200.5"),
        Decimal(1500),
        "USD",
    )
    assert monthly.span == month_span(arm.today) and monthly.period == "monthly"
    assert prod["prod-platform"].thresholds == (90.0,)  # forecast-type alerts are not actual thresholds
    assert [b.name for b in provider.budgets(MGS, arm.today, ctx)] == ["contoso-total"]


def test_budget_periods() -> None:
    from datetime import date

    assert current_period(date(2026, 2, 1), 3, date(2026, 11, 15)) == Span(
        date(2026, 11, 1), date(2027, 1, 31)
    )
    assert current_period(date(2025, 1, 1), 12, date(2026, 3, 2)) == Span(
        date(2026, 1, 1), date(2026, 12, 31)
    )
    assert current_period(date(2026, 1, 15), 1, date(2026, 3, 2)) == Span(
        date(2026, 2, 15), date(2026, 3, 14)
    )


# ------------------------------------------------------------------------------ audit


def test_audit_findings_and_call_pattern(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    arm.server.reset()
    (unit,) = provider.audit_units(PROD, None, ctx)
    result = provider.audit(unit, provider.checks(), ctx)
    found = {(f.check, f.resource_name): f for f in result.findings}
    assert set(found) == {
        ("azure.compute.stopped_vm", "vm-batch-stopped"),
        ("azure.compute.deallocated_vm", "vm-legacy-parked"),
        ("azure.compute.unattached_disk", "disk-orphan-premium"),
        ("azure.compute.unattached_disk", "disk-orphan-ssd"),
        ("azure.network.unassociated_public_ip", "pip-unused"),
        ("azure.network.orphaned_nic", "nic-orphan"),
        ("azure.compute.old_snapshot", "snap-before-upgrade"),
        ("azure.web.empty_app_service_plan", "plan-empty-s1"),
        ("azure.network.balancer_without_backends", "lb-empty"),
        ("azure.network.balancer_without_backends", "appgw-empty"),
        ("azure.network.idle_vnet_gateway", "vgw-idle"),  # kept over Advisor's smaller azure.advisor.cost
        ("azure.network.idle_vnet_gateway", "ergw-idle"),
        ("azure.advisor.vm_rightsizing", "vm-web-1"),
        ("azure.commitment.reservation_purchase", "Standard_D2s_v3"),
        ("azure.commitment.reservation_purchase", "Standard_E4s_v5"),
        ("azure.commitment.savings_plan_purchase", "Compute_Savings_Plan"),
    }
    window = last_30(arm)
    billed_vm = arm.expected_total(
        window.start, window.end, where=lambda r: r.resource_id == arm.vm_stopped.lower()
    )
    stopped = found[("azure.compute.stopped_vm", "vm-batch-stopped")]
    assert (stopped.estimated_monthly_cost, stopped.cost_basis) == (billed_vm, "billed_last_30_days")
    assert found[("azure.compute.unattached_disk", "disk-orphan-ssd")].cost_basis == "list_price"
    lb = found[("azure.network.balancer_without_backends", "lb-empty")]
    gw = found[("azure.network.balancer_without_backends", "appgw-empty")]
    assert (lb.estimated_monthly_cost, lb.cost_basis) == (Decimal("18.25"), "list_price")
    assert (gw.estimated_monthly_cost, gw.resource_type) == (
        Decimal("179.58"),
        "Microsoft.Network/applicationGateways",
    )
    assert result.regions == ["eastus", "westeurope"]
    # every check but the billing account's reservation utilization (its own azure-billing unit)
    assert sorted(result.checks_run) == sorted(
        c.id for c in provider.checks() if c.id != "azure.commitment.reservation_utilization"
    )
    vm_lists = arm.calls("GET", r"/providers/Microsoft\.Compute/virtualMachines$")
    assert vm_lists and all(r.arg("statusOnly") == "true" for r in vm_lists)
    assert len(vm_lists) == 3  # 5 VMs, 2 a page: one paged call
    assert not arm.calls(pattern=r"/virtualMachines/[^/]+")  # never one call per VM
    first_queries = [r for r in arm.calls("POST", QUERY) if not r.arg("$skiptoken")]
    # one for the billed cost per resource, one for azure.anomaly.daily_cost's daily series
    assert len(first_queries) == 2 and sum(b"ResourceId" in r.body for r in first_queries) == 1

    (west,) = provider.audit_units(PROD, ["West Europe"], ctx)
    regional = provider.audit(west, provider.checks(), ctx)
    assert regional.regions == ["westeurope"]
    assert ("azure.compute.unattached_disk", "disk-orphan-ssd") not in {
        (f.check, f.resource_name) for f in regional.findings
    }
    assert provider.audit_units(MGS, None, ctx) == []


def test_list_prices_when_billed_costs_are_refused(
    arm: FakeArm, make_provider: Make, ctx: CallContext
) -> None:
    provider = make_provider()
    arm.server.fault(
        "POST",
        rf"/subscriptions/{SUB_DEV}" + QUERY[:-1],
        Reply.error(403, "RBACAccessDenied", "no cost access"),
    )
    (unit,) = provider.audit_units(DEV, None, ctx)
    result = provider.audit(unit, provider.checks(), ctx)
    assert {f.cost_basis for f in result.findings if f.source is None} == {"list_price"}  # ours
    assert any("billed costs unavailable" in n and "forbidden" in n for n in ctx.notes)


def test_a_forbidden_subscription_fails_alone(arm: FakeArm, make_provider: Make, ctx: CallContext) -> None:
    provider = make_provider()
    arm.forbidden.add(SUB_DEV)
    with pytest.raises(ScopeFailure) as info:
        provider.cost(DEV, CostQuery(last_30(arm), "total", ("service",), "billed"), ctx)
    assert info.value.code == "forbidden" and "Cost Management Reader" in info.value.message
    with pytest.raises(ScopeFailure) as audit_info:
        provider.audit(provider.audit_units(DEV, None, ctx)[0], provider.checks(), ctx)
    assert audit_info.value.code == "forbidden"
    assert provider.cost(PROD, CostQuery(last_30(arm), "total", ("service",), "billed"), ctx)


# ------------------------------------------------------------------------------ read-only, lazy


def test_read_only_guard_refuses_writes_before_sending(arm: FakeArm, make_provider: Make) -> None:
    provider = make_provider()
    compute = provider.clients.client("compute", SUB_PROD)
    arm.server.reset()
    with pytest.raises(ReadOnlyViolation):
        compute.virtual_machines.begin_deallocate("rg-app", "vm-web-1")
    with pytest.raises(ReadOnlyViolation):
        compute.disks.begin_delete("rg-app", "disk-orphan-premium")
    assert not [r for r in arm.calls() if r.method != "GET"], "nothing but reads reached the server"
    check_read_only(
        "POST",
        "https://management.azure.com/providers/Microsoft.Management/managementGroups/m/providers/Microsoft.CostManagement/query?api-version=1",
    )
    check_read_only("GET", "https://management.azure.com/subscriptions")
    check_read_only(
        "POST", "https://management.azure.com/providers/Microsoft.ResourceGraph/resources?api-version=1"
    )
    for method, path in [
        (
            "POST",
            "/subscriptions/s/providers/Microsoft.ResourceGraph/resources",
        ),  # only the tenant-level query
        ("PUT", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ResourceGraph/queries/q"),
        ("POST", "/subscriptions/s/providers/Microsoft.CostManagement/exports/e/run"),
        ("POST", "/subscriptions/s/providers/Microsoft.Compute/register"),
        ("PUT", "/subscriptions/s/providers/Microsoft.Consumption/budgets/b"),
        ("PATCH", "/subscriptions/s/resourceGroups/rg"),
        ("DELETE", "/subscriptions/s/resourceGroups/rg"),
    ]:
        with pytest.raises(ReadOnlyViolation):
            check_read_only(method, "https://management.azure.com" + path)


def test_importing_the_provider_does_not_import_the_sdk() -> None:
    code = (
        "import finops_mcp.providers.azure.provider as m, sys; "
        "m.AzureProvider(__import__('finops_mcp.settings').settings.load_settings()); "
        "bad = [k for k in sys.modules if k == 'azure' or k.startswith('azure.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
