"""The GCP provider end to end: a real MCP client calls all three tools on the emulated estate
(fake Cloud Billing / Budgets / Recommender / Compute REST APIs and a BigQuery endpoint that runs
the SQL it receives), in both protocol eras."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from mcp.client import Client

from finops_mcp.periods import utc_today
from finops_mcp.server import build_server
from finops_mcp.settings import Settings, load_settings
from tests.fakes.gcp_estate import GcpEstate, build_estate, isolate_env, reference_cost

MODES = ["legacy", "auto"]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcpEstate]:
    built = build_estate(tmp_path_factory.mktemp("gcp-e2e"), utc_today())
    yield built
    built.close()


@pytest.fixture()
def gcp_settings(estate: GcpEstate, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    isolate_env(monkeypatch, tmp_path, estate.env())
    return load_settings()


@pytest.mark.parametrize("mode", MODES)
async def test_all_three_tools_on_the_emulated_gcp_estate(
    gcp_settings: Settings, estate: GcpEstate, mode: str
) -> None:
    end = estate.today - timedelta(days=2)
    start = end - timedelta(days=20)
    async with Client(build_server(gcp_settings), mode=mode) as client:
        cost = await client.call_tool(
            "get_cost",
            {
                "start_date": str(start),
                "end_date": str(end),
                "group_by": ["account"],
                "include_forecast": True,
            },
        )
        audit = await client.call_tool("run_finops_audit", {"providers": ["gcp"]})
        budgets = await client.call_tool("get_budget_status", {})
    assert not cost.is_error, cost.content
    c = cost.structured_content
    truth = sum(reference_cost(estate.rows, start, end).values(), Decimal(0))
    assert Decimal(str(c["total"])) == truth.quantize(Decimal("0.01"))
    assert {r["keys"]["account"] for r in c["rows"]} == {"alpha-prj", "beta-prj", "gamma-prj"}
    assert all(r["scope"] == "gcp:0123AB-4567CD-89EF01" for r in c["rows"])
    assert c["meta"]["billed_requests"]["gcp.bigquery"] >= 2  # current + previous period (+ forecast)
    assert any("BigQuery" in n and "processed" in n for n in c["meta"]["notes"])
    assert c["meta"]["bytes_scanned"]["gcp.bigquery"] > 0  # the fake reports totalBytesProcessed

    assert not audit.is_error, audit.content
    a = audit.structured_content
    assert {e["scope"] for e in a["errors"]} == {"gcp-project:beta-prj"}  # 403: partial result
    assert {f["check"] for f in a["findings"]} == set(a["checks_run"])  # every check found its seeded waste
    assert a["summary"]["estimated_monthly_waste"] > 0
    assert {f["cost_basis"] for f in a["findings"]} == {"recommender", "list_price", "billed_last_30_days"}
    # the estate's one late-exported 999 USD Compute Engine row is a spike in alpha-prj's daily series
    # (the estate's other series are uniform noise of 1..40 USD a day: a noisy day may be reported too)
    anomalies = {
        (f["scope"], f["resource_id"]): f for f in a["findings"] if f["check"] == "gcp.anomaly.daily_cost"
    }
    spike = anomalies[("gcp-project:alpha-prj", "alpha-prj/Compute Engine")]
    assert "Driver: sku x (service Compute Engine) new +999.00 USD" in spike["detail"]

    assert not budgets.is_error, budgets.content
    b = budgets.structured_content
    names = {x["name"]: x for x in b["budgets"]}
    assert "monthly-total" in names and "reseller-subaccount" not in names
    assert names["alpha-compute"]["status"] in ("exceeded", "forecast_exceeded")
    assert names["monthly-total"]["thresholds"] == [50.0, 90.0, 100.0]
