"""All three tools, the resources and the prompts through a real `mcp.client.Client`, in-process,
in both protocol eras (2025-11-25 handshake = legacy, 2026-07-28 = auto)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from mcp.client import Client

from finops_mcp.demo.generator import DemoDataset
from finops_mcp.server import build_server
from finops_mcp.settings import Settings

MODES = ["legacy", "auto"]


def independent_total(data: DemoDataset, start: Any, end: Any, column: str = "BilledCost") -> Decimal:
    """The truth, straight from the files with plain DuckDB (not our provider's loader or SQL)."""
    con = duckdb.connect()
    total = Decimal(0)
    for path in data.files:
        p = str(path)
        if p.endswith(".parquet"):
            rel = f"read_parquet('{p}')"
        else:
            rel = f"read_csv('{p}', all_varchar=true, header=true)"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
        if "BilledCost" not in cols:
            continue
        row = con.execute(
            f"SELECT sum(CAST({column} AS DECIMAL(38,10))) FROM {rel} "
            "WHERE CAST(CAST(ChargePeriodStart AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) BETWEEN ? AND ?",
            [start, end],
        ).fetchone()
        total += Decimal(str(row[0] or 0))
    return total


@pytest.mark.parametrize("mode", MODES)
async def test_lists_three_read_only_tools_with_strict_compact_schemas(
    demo_settings: Settings, mode: str
) -> None:
    async with Client(build_server(demo_settings), mode=mode) as client:
        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert set(tools) == {"get_cost", "run_finops_audit", "get_budget_status"}
        for tool in tools.values():
            assert tool.annotations is not None and tool.annotations.read_only_hint is True
            assert tool.annotations.destructive_hint is False
            assert tool.input_schema["additionalProperties"] is False
            assert tool.description and len(tool.description) > 80
        size = len(
            json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools])
        )
        assert size <= 8000, f"tools/list is {size} characters"
        assert client.instructions and "get_cost" in client.instructions


@pytest.mark.parametrize("mode", MODES)
async def test_get_cost_matches_an_independent_computation(
    demo_settings: Settings, demo_data: DemoDataset, mode: str
) -> None:
    end = demo_data.end - timedelta(days=3)
    start = end - timedelta(days=40)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(build_server(demo_settings), mode=mode) as client:
        result = await client.call_tool(
            "get_cost",
            {"start_date": str(start), "end_date": str(end), "group_by": ["service"], "top_n": 5},
            progress_callback=on_progress,
        )
    assert not result.is_error, result.content
    report = result.structured_content
    assert report is not None
    assert json.loads(result.content[0].text) == report
    truth = independent_total(demo_data, start, end)
    assert Decimal(str(report["total"])) == truth.quantize(Decimal("0.01"))
    assert len(report["rows"]) == 6 and report["rows"][-1]["keys"] == {"service": "(other)"}
    assert report["previous_period"]["end"] == str(start - timedelta(days=1))
    assert report["rows"][0]["provider"] == "focus" and report["rows"][0]["scope"] == "focus:demo"
    assert progress and progress[-1][0] == progress[-1][1]


@pytest.mark.parametrize("mode", MODES)
async def test_audit_and_budgets(demo_settings: Settings, mode: str) -> None:
    async with Client(build_server(demo_settings), mode=mode) as client:
        audit = await client.call_tool("run_finops_audit", {"min_monthly_cost": 1})
        budgets = await client.call_tool("get_budget_status", {})
    assert not audit.is_error and not budgets.is_error
    a = audit.structured_content
    assert set(a["checks_run"]) == {
        "focus.untagged_cost",
        "focus.cost_spike",
        "focus.unused_commitment",
        "focus.anomaly.daily_cost",
        "focus.commitment_utilization",  # the embedded sample answers the commitment question offline
        "focus.commitment_coverage",
    }
    found = {f["check"] for f in a["findings"]}
    assert found == set(a["checks_run"]), found
    assert a["summary"]["estimated_monthly_waste"] > 0
    assert all(f["estimated_monthly_cost"] >= 1 for f in a["findings"])
    b = budgets.structured_content
    assert {x["status"] for x in b["budgets"]} == {"exceeded", "forecast_exceeded", "warning", "ok"}
    assert b["summary"]["total"] == len(b["budgets"])


@pytest.mark.parametrize("mode", MODES)
async def test_resources_and_prompts(demo_settings: Settings, mode: str) -> None:
    async with Client(build_server(demo_settings), mode=mode) as client:
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {"finops://providers", "finops://checks", "finops://schemas"} <= resources
        providers = json.loads((await client.read_resource("finops://providers")).contents[0].text)
        assert providers["providers"]["focus"]["scopes"] == ["focus:demo"]
        checks = json.loads((await client.read_resource("finops://checks")).contents[0].text)
        assert {c["id"] for c in checks} >= {
            "focus.untagged_cost",
            "focus.cost_spike",
            "focus.unused_commitment",
        }
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert prompts == {"monthly-cost-review", "waste-hunt"}
        prompt = await client.get_prompt("waste-hunt", {"min_monthly_cost": "100"})
        assert "run_finops_audit" in prompt.messages[0].content.text


BAD_INPUTS = [
    ("get_cost", {"period": "last_month", "colour": "red"}, "colour"),
    ("get_cost", {"start_date": "2026-10-10", "end_date": "2026-10-01"}, "end_date"),
    ("get_cost", {"group_by": ["service", "region", "account"]}, "group_by"),
    ("get_cost", {"providers": ["oracle"]}, "providers"),
    ("get_cost", {"group_by": ["tag:x') UNION SELECT * FROM read_csv('/etc/passwd') --"]}, "group_by"),
    ("get_cost", {"filters": {"tags": {"team' OR 1=1 --": ["x"]}}}, "filters.tags"),
    ("run_finops_audit", {"checks": ["focus.nope"]}, "checks"),
    ("get_budget_status", {"names": "x", "extra": 1}, "extra"),
]


@pytest.mark.parametrize("mode", MODES)
async def test_bad_input_is_a_tool_error_naming_the_field_and_server_keeps_answering(
    demo_settings: Settings, mode: str
) -> None:
    async with Client(build_server(demo_settings), mode=mode) as client:
        for tool, arguments, field in BAD_INPUTS:
            result = await client.call_tool(tool, arguments)
            assert result.is_error, (tool, arguments)
            text = result.content[0].text
            assert field in text and "Traceback" not in text, text
            assert "Example" in text or "known checks" in text, text
        ok = await client.call_tool("get_cost", {"period": "last_7_days"})
        assert not ok.is_error


async def test_filter_value_that_looks_like_sql_is_just_data(demo_settings: Settings) -> None:
    async with Client(build_server(demo_settings), mode="auto") as client:
        result = await client.call_tool(
            "get_cost", {"period": "last_30_days", "filters": {"services": ["x' OR '1'='1"]}}
        )
    assert not result.is_error
    assert result.structured_content["total"] == 0 and result.structured_content["rows"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_passes_a_validating_client_with_output_schemas_on(
    demo_settings: Settings, demo_data: DemoDataset, mode: str
) -> None:
    """The official client validates structuredContent against outputSchema (and raises on a
    mismatch): nulls (change_pct, forecast, previous_total, meta.demo, region...) must be allowed."""
    settings = demo_settings.model_copy(update={"output_schemas": True})
    before = demo_data.start - timedelta(days=40)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_cost", {}),
        ("get_cost", {"period": "last_month", "group_by": ["service", "region"], "include_forecast": True}),
        ("get_cost", {"granularity": "daily", "period": "last_7_days", "compare_previous": False}),
        ("get_cost", {"start_date": str(before), "end_date": str(before + timedelta(days=9))}),
        ("get_cost", {"filters": {"services": ["Amazon EC2"], "tags": {"team": ["Data"]}}}),
        ("get_cost", {"scopes": ["focus:nope"]}),
        ("run_finops_audit", {}),
        ("run_finops_audit", {"regions": ["nowhere-1"], "min_monthly_cost": 1}),
        ("get_budget_status", {}),
        ("get_budget_status", {"names": ["no-such-budget"]}),
    ]
    async with Client(build_server(settings), mode=mode) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        schemas = json.loads((await client.read_resource("finops://schemas")).contents[0].text)
        for name, tool in listed.items():
            assert tool.output_schema == schemas[name]
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)  # raises if the schema rejects it
            assert result.structured_content is not None, (name, arguments)
        nulls = await client.call_tool("get_cost", {"start_date": str(before), "end_date": str(before)})
    report = nulls.structured_content
    assert report["total"] == 0 and report["previous_total"] is None and report["change_pct"] is None
    assert any("outside" in n for n in report["meta"]["notes"])


@pytest.mark.parametrize("mode", MODES)
async def test_audit_pages_fit_the_budget_and_the_whole_result_is_a_resource(
    demo_settings: Settings, mode: str
) -> None:
    async with Client(build_server(demo_settings), mode=mode) as client:
        default = await client.call_tool("run_finops_audit", {})
        size = sum(len(c.text) for c in default.content if c.type == "text") + len(
            json.dumps(default.structured_content, separators=(",", ":"))
        )
        assert size < 60_000, size
        total = default.structured_content["summary"]["findings"]
        assert len(default.structured_content["findings"]) == min(25, total) and total > 5
        first = await client.call_tool("run_finops_audit", {"limit": 5})
        page = first.structured_content
        assert len(page["findings"]) == 5 and page["next_cursor"] and page["summary"]["findings"] == total
        links = [c for c in first.content if c.type == "resource_link"]
        assert [str(link.uri) for link in links] == [page["report_uri"]]
        seen = [f["resource_id"] + f["check"] for f in page["findings"]]
        while page["next_cursor"]:
            more = await client.call_tool("run_finops_audit", {"cursor": page["next_cursor"], "limit": 100})
            assert not more.is_error, more.content
            page = more.structured_content
            seen += [f["resource_id"] + f["check"] for f in page["findings"]]
        whole = json.loads(
            (await client.read_resource(first.structured_content["report_uri"])).contents[0].text
        )
        assert len(whole["findings"]) == total == len(seen) == len(set(seen))
        assert seen == [f["resource_id"] + f["check"] for f in whole["findings"]]
        wrong = await client.call_tool("run_finops_audit", {"cursor": page["report_uri"]})
        assert wrong.is_error and "cursor" in wrong.content[0].text
        huge = await client.call_tool(
            "get_cost",
            {"period": "last_90_days", "granularity": "daily", "group_by": ["resource"], "top_n": 1000},
        )
        assert (
            huge.is_error
            and "top_n" in huge.content[0].text
            and "FINOPS_ANSWER_MAX_CHARS" in huge.content[0].text
        )
