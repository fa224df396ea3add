"""aws.anomaly.cost_anomaly_detection through a real MCP client, in both protocol eras: the moto
estate for accounts and regions, the GetAnomalies fake (tests/fakes/aws_anomalies.py) for Cost
Anomaly Detection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from mcp.client import Client

from finops_mcp.periods import utc_today
from finops_mcp.server import build_server
from finops_mcp.settings import Settings, load_settings
from tests.fakes.aws_anomalies import FakeAnomalies, anomaly, cause, start_fake
from tests.fakes.aws_estate import Estate, apply_env, estate_env, shared_estate

MODES = ["legacy", "auto"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnomalies]:
    start = (utc_today() - timedelta(days=3)).isoformat()
    f = start_fake(
        [
            anomaly(
                "a-1",
                start,
                None,
                420.0,
                causes=[cause("Amazon EC2", "us-east-1", "123456789012", "BoxUsage", 420)],
            )
        ]
    )
    yield f
    f.server.stop()


@pytest.fixture()
def settings(fake: FakeAnomalies, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    estate: Estate = shared_estate()
    monkeypatch.chdir(tmp_path)
    env = estate_env(estate, max_retries="1")
    env["AWS_ENDPOINT_URL_COST_EXPLORER"] = fake.url
    apply_env(monkeypatch, env)
    return load_settings()


@pytest.mark.parametrize("mode", MODES)
async def test_anomalies_once_per_account_with_their_driver(
    settings: Settings, fake: FakeAnomalies, mode: str
) -> None:
    estate = shared_estate()
    before = len(fake.bodies)
    async with Client(build_server(settings), mode=mode) as client:
        result = await client.call_tool("run_finops_audit", {"checks": ["aws.anomaly"]})
    assert not result.is_error, result.content
    report = result.structured_content
    assert report is not None and report["checks_run"] == ["aws.anomaly.cost_anomaly_detection"]
    scopes = sorted(f["scope"] for f in report["findings"])
    assert scopes == sorted(f"aws:{a}" for a in estate.accounts)  # one finding per account, not per region
    assert len(fake.bodies) - before == len(estate.accounts)
    finding = report["findings"][0]
    assert finding["category"] == "anomaly" and finding["estimated_monthly_cost"] == 420.0
    assert "Driver: service Amazon EC2 (region us-east-1, usage type BoxUsage" in finding["detail"]
    assert report["summary"]["estimated_monthly_waste"] == 0
    assert report["meta"]["billed_requests"] == {"aws.ce": len(estate.accounts)}
