"""The CLI on generated FOCUS data: formats, exit codes and --fail-on gates."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finops_mcp.cli import app
from finops_mcp.demo.generator import generate
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


def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str) -> None:
    """AWS only, with no real configuration of this machine in the way."""
    monkeypatch.setenv("FINOPS_PROVIDERS", "aws")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("FINOPS_MAX_RETRIES", "0")
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


def test_every_scope_failing_upstream_exits_1(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as closed:  # a port nothing listens on: the API cannot be reached
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    _aws_env(
        monkeypatch,
        tmp_path,
        AWS_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE00",
        AWS_SECRET_ACCESS_KEY="example",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
    )
    code, out = invoke("cost")
    assert code == 1, out
    assert "upstream" in out


CONFIG_PROBLEMS = {
    "no provider": {"FINOPS_PROVIDERS": "", "FINOPS_FOCUS_PATHS": ""},
    "missing path": {"FINOPS_FOCUS_PATHS": "/nonexistent/dir/**/*.parquet"},
    "unreadable budgets file": {"FINOPS_FOCUS_BUDGETS": "/nonexistent/budgets.yaml"},
}


@pytest.mark.parametrize("problem", sorted(CONFIG_PROBLEMS))
def test_a_configuration_problem_exits_2(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, problem: str
) -> None:
    for key, value in CONFIG_PROBLEMS[problem].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))  # no AWS profile auto-detected
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    command = "budgets" if "budgets" in problem else "cost"
    code, out = invoke(command)
    assert code == 2, out
    assert "configuration:" in out and "Traceback" not in out


def test_an_unknown_aws_profile_exits_2(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _aws_env(monkeypatch, tmp_path, FINOPS_AWS_PROFILES="no-such-profile")
    code, out = invoke("cost")
    assert code == 2, out
    assert "no-such-profile" in out


@pytest.mark.parametrize("command", ["audit", "budgets"])
def test_fail_on_is_checked_before_any_work(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("FINOPS_FOCUS_PATHS", "/nonexistent/dir/**/*.parquet")  # work would fail here
    code, out = invoke(command, "--fail-on", "waste>abc")
    assert code == 2 and "--fail-on" in out and "FINOPS_FOCUS_PATHS" not in out, out


def test_serve_http_on_a_busy_port_exits_2_without_claiming_to_serve(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [installed_cli(), "serve", "--transport", "http", "--port", str(port)],
            env={**os.environ, **demo_env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2, proc.stderr
    assert "streamable HTTP on" not in proc.stderr and "--port" in proc.stderr


def test_audit_json_holds_every_page_and_markdown_one(demo_settings: Settings) -> None:
    code, out = invoke("audit", "--format", "json")
    report = json.loads(out)
    assert code == 0 and len(report["findings"]) == report["summary"]["findings"] > 3
    code, out = invoke("audit", "--limit", "3")
    assert code == 0 and f"(3 of {report['summary']['findings']})" in out and "more findings" in out


def test_demo_on_the_first_days_of_a_month_shows_the_last_full_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("FINOPS_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    early = generate(tmp_path / "early", end=date(2026, 11, 2), months=2, seed=3, scale=0.05)
    monkeypatch.setattr("finops_mcp.demo.generator.ensure_demo", lambda _directory: early)
    code, out = invoke("demo")
    assert code == 0, out
    assert "Last month's cost by service" in out and "2026-10-01 to 2026-10-31" in out
    assert "month to date would hold only 1 complete day(s)" in out
    assert "thin run rate" in out  # the budgets' run-rate forecasts rest on 1 day


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
