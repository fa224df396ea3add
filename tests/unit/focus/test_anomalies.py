"""focus.anomaly.daily_cost on the planted export: the EC2 spike day and the S3 price rise are
anomalies, each with its driver; the weekly Lambda batch, the monthly backup and the new Bedrock
service are not (the trailing-mean focus.cost_spike flags the first two)."""

from __future__ import annotations

from pathlib import Path

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.models import Finding
from finops_mcp.providers.base import AuditUnit
from finops_mcp.providers.focus.anomalies import DAILY_ANOMALY
from finops_mcp.providers.focus.checks import COST_SPIKE
from finops_mcp.providers.focus.provider import FocusProvider
from tests.unit.focus.conftest import make_settings, scope
from tests.unit.focus.planted import ACCOUNT, write_planted


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    base = write_planted(tmp_path_factory.mktemp("planted-anomalies"))
    provider = FocusProvider(make_settings(focus_paths=[f"planted={base}/*"]))
    try:
        result = provider.audit(AuditUnit(scope("planted")), [DAILY_ANOMALY, COST_SPIKE], CallContext())
    finally:
        provider.close()
    out: dict[str, list[Finding]] = {DAILY_ANOMALY.id: [], COST_SPIKE.id: []}
    for f in result.findings:
        out[f.check].append(f)
    return out


def test_only_the_spike_and_the_price_rise_are_anomalies(findings: dict[str, list[Finding]]) -> None:
    got = {f.resource_id: f for f in findings[DAILY_ANOMALY.id]}
    assert set(got) == {f"Amazon EC2 / {ACCOUNT}", f"Amazon S3 / {ACCOUNT}"}
    assert all(
        f.category == "anomaly" and f.provider == "focus" and f.scope == "focus:planted" for f in got.values()
    )


def test_the_spike_names_its_day_baseline_and_driver(findings: dict[str, list[Finding]]) -> None:
    [ec2] = [f for f in findings[DAILY_ANOMALY.id] if f.resource_id.startswith("Amazon EC2")]
    assert (
        "1 anomalous day(s)" in ec2.detail
        and "worst 2024-04-24: 125.00 USD vs a baseline of 30.00 USD" in ec2.detail
    )
    assert "Driver: resource i-a (service Amazon EC2) up +90.00 USD (volume +90.00, rate +0.00)" in ec2.detail
    assert ec2.estimated_monthly_cost == 95  # the excess of the one day: it ended


def test_a_sustained_price_rise_is_one_finding_driven_by_rate(findings: dict[str, list[Finding]]) -> None:
    [s3] = [f for f in findings[DAILY_ANOMALY.id] if f.resource_id.startswith("Amazon S3")]
    assert "28 anomalous day(s)" in s3.detail and "(first 2024-04-08)" in s3.detail
    assert "Driver: service Amazon S3 up +28.00 USD (volume +0.00, rate +28.00)" in s3.detail
    assert s3.estimated_monthly_cost == 28 * 30  # still elevated on the last day


def test_the_trailing_mean_check_mistakes_the_patterns_for_spikes(findings: dict[str, list[Finding]]) -> None:
    spiked = {f.resource_id for f in findings[COST_SPIKE.id]}
    assert {"AWS Lambda", "AWS Backup"} <= spiked  # what the new detector gets right
    assert not any(
        f.resource_id.startswith(("AWS Lambda", "AWS Backup", "Amazon Bedrock"))
        for f in findings[DAILY_ANOMALY.id]
    )


def test_region_filter_and_empty_region(tmp_path: Path) -> None:
    base = write_planted(tmp_path)
    provider = FocusProvider(make_settings(focus_paths=[f"planted={base}/*"]))
    try:
        result = provider.audit(AuditUnit(scope("planted"), "eu-west-1"), [DAILY_ANOMALY], CallContext())
    finally:
        provider.close()
    assert result.findings == [] and result.checks_run == [DAILY_ANOMALY.id]
