"""The CLI on generated FOCUS data: formats, exit codes and --fail-on gates."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from typer.testing import CliRunner

from finops_mcp.cli import app
from finops_mcp.settings import Settings
from tests.e2e.conftest import installed_cli

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_cost_json_and_markdown(demo_settings: Settings) -> None:
    code, out = invoke(
        "cost", "--period", "last_30_days", "-g", "service", "-g", "region", "--format", "json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["group_by"] == ["service", "region"] and report["total"] > 0
    code, out = invoke("cost", "--period", "last_month", "--tag", "team=data", "--top", "3")
    assert code == 0 and "| service |" in out and "(other)" in out


def test_audit_fail_on_waste_threshold(demo_settings: Settings) -> None:
    code, out = invoke("audit", "--format", "json")
    assert code == 0
    waste = json.loads(out)["summary"]["estimated_monthly_waste"]
    assert waste > 0
    assert invoke("audit", "--fail-on", f"waste>{waste + 1}")[0] == 0
    assert invoke("audit", "--fail-on", f"waste>{max(waste - 1, 0)}")[0] == 3


def test_budgets_fail_on(demo_settings: Settings) -> None:
    code, out = invoke("budgets")
    assert code == 0 and "exceeded" in out
    assert invoke("budgets", "--fail-on", "exceeded")[0] == 3
    assert invoke("budgets", "--name", "no-such-budget", "--fail-on", "forecast")[0] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("cost", "--period", "fortnight"),
        ("cost", "-g", "service", "-g", "region", "-g", "account"),
        ("cost", "--start", "2026-10-10", "--end", "2026-10-01"),
        ("audit", "--check", "nope.nope"),
        ("audit", "--fail-on", "exceeded"),
        ("budgets", "--fail-on", "sometimes"),
        ("cost", "--tag", "novalue"),
    ],
)
def test_bad_input_exits_2_with_a_message(demo_settings: Settings, args: tuple[str, ...]) -> None:
    code, out = invoke(*args)
    assert code == 2, out
    assert "Traceback" not in out


def test_every_scope_failing_exits_1(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_FOCUS_PATHS", "/nonexistent/dir/**/*.parquet")
    code, out = invoke("cost")
    assert code == 1, out


def test_checks_lists_every_check(demo_settings: Settings) -> None:
    code, out = invoke("checks", "--format", "json")
    assert code == 0
    assert {c["id"] for c in json.loads(out)} >= {
        "focus.untagged_cost",
        "focus.cost_spike",
        "focus.unused_commitment",
    }


def test_installed_cli_bad_config_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "FINOPS_PROVIDERS": "oracle"}
    proc = subprocess.run(
        [installed_cli(), "cost"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "FINOPS_PROVIDERS" in proc.stderr


def test_demo_command_prints_a_labelled_report(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    for key in list(os.environ):
        if key.startswith("FINOPS_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    code, out = invoke("demo", "--dir", str(tmp_path / "demo"))
    assert code == 0, out
    assert "DEMO DATA" in out and "Top waste" in out and "Budgets" in out and "per month" in out
