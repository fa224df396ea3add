"""get_cost explain_change and the focus.anomaly check on a FOCUS export with planted changes
(tests/unit/focus/planted.py), through a real MCP client: in-process and over stdio (the installed
console script), in both protocol eras, with the output schemas advertised (the client validates
every field, nulls included)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters
from mcp.client import Client

from finops_mcp.server import build_server
from finops_mcp.settings import Settings, load_settings
from tests.e2e.conftest import installed_cli
from tests.unit.focus.planted import CURRENT, write_planted

MODES = ["legacy", "auto"]
ARGS = {"start_date": str(CURRENT[0]), "end_date": str(CURRENT[1]), "explain_change": True}


@pytest.fixture(scope="session")
def planted_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = write_planted(tmp_path_factory.mktemp("planted-e2e"))
    return {
        "FINOPS_PROVIDERS": "focus",
        "FINOPS_FOCUS_PATHS": f"planted={base}/*",
        "FINOPS_OUTPUT_SCHEMAS": "true",
        "FINOPS_LOG_LEVEL": "WARNING",
    }


@pytest.fixture()
def planted_settings(
    planted_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("FINOPS_"):
            monkeypatch.delenv(key)
    for key, value in planted_env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def check_drivers(report: dict[str, Any]) -> None:
    drivers = report["drivers"]
    assert [(d["dimension"], d["key"], d["kind"], d["change"]) for d in drivers[:3]] == [
        ("service", "Amazon Bedrock", "new", 840.0),
        ("service", "Amazon S3", "up", 784.0),
        ("service", "Amazon Redshift", "gone", -280.0),
    ]
    new, rate = drivers[0], drivers[1]
    assert (new["previous_cost"], new["cost"], new["change_pct"]) == (0.0, 840.0, None)
    assert (rate["previous_cost"], rate["cost"], rate["change_pct"]) == (1120.0, 1904.0, 70.0)
    assert (rate["volume_effect"], rate["rate_effect"], rate["usage_unit"]) == (0.0, 784.0, "GB-Mo")
    assert (rate["previous_quantity"], rate["quantity"]) == (11200.0, 11200.0)
    assert report["drivers_explained_pct"] == 100.0
    assert all(d["provider"] == "focus" and d["scope"] == "focus:planted" for d in drivers)
    assert {d["key"] for d in drivers}.isdisjoint({"AWS Lambda", "AWS Backup"})  # steady patterns
    assert len(json.dumps(report)) < 60_000


def check_anomalies(audit: dict[str, Any]) -> None:
    assert audit["checks_run"] == ["focus.anomaly.daily_cost"]
    found = {f["resource_id"]: f for f in audit["findings"]}
    assert set(found) == {"Amazon EC2 / 012345678901", "Amazon S3 / 012345678901"}  # no Lambda, no Backup
    assert "Driver: resource i-a" in found["Amazon EC2 / 012345678901"]["detail"]
    assert all(f["category"] == "anomaly" for f in found.values())
    assert audit["summary"]["estimated_monthly_waste"] == 0  # anomalies are not waste


@pytest.mark.parametrize("mode", MODES)
async def test_explain_change_in_process(planted_settings: Settings, mode: str) -> None:
    async with Client(build_server(planted_settings), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "explain_change" in tools["get_cost"].input_schema["properties"]
        result = await client.call_tool("get_cost", ARGS)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        check_drivers(result.structured_content)
        audit = await client.call_tool("run_finops_audit", {"checks": ["focus.anomaly"]})
        assert not audit.is_error and audit.structured_content is not None
        check_anomalies(audit.structured_content)
        plain = await client.call_tool("get_cost", {k: v for k, v in ARGS.items() if k != "explain_change"})
        assert plain.structured_content is not None and plain.structured_content["drivers"] is None
        bad = await client.call_tool("get_cost", {**ARGS, "compare_previous": False})
        assert bad.is_error and "compare_previous" in bad.content[0].text
        audit = await client.call_tool("run_finops_audit", {"checks": ["focus.anomaly"]})
        assert not audit.is_error and audit.structured_content is not None
        check_anomalies(audit.structured_content)


@pytest.mark.parametrize("mode", MODES)
async def test_explain_change_over_stdio(planted_env: dict[str, str], tmp_path: Path, mode: str) -> None:
    params = StdioServerParameters(command=installed_cli(), args=[], env=planted_env, cwd=str(tmp_path))
    async with Client(params, mode=mode, read_timeout_seconds=120) as client:
        result = await client.call_tool("get_cost", ARGS)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        check_drivers(result.structured_content)
        audit = await client.call_tool("run_finops_audit", {"checks": ["focus.anomaly"]})
        assert not audit.is_error and audit.structured_content is not None
        check_anomalies(audit.structured_content)


def test_cli_cost_explain_markdown(planted_settings: Settings) -> None:
    from typer.testing import CliRunner

    from finops_mcp.cli import app

    args = ["cost", "--start", str(CURRENT[0]), "--end", str(CURRENT[1]), "--explain"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "**What changed** (100% of the movement)" in result.output
    assert "| service Amazon Bedrock | new | 0.00 USD | 840.00 USD | 840.00 USD | – |" in result.output
    assert "volume 0.00 USD, rate 784.00 USD" in result.output
    assert "| resource i-d (service Amazon EC2) | new |" in result.output
