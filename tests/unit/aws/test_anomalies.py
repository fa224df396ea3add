"""aws.anomaly.cost_anomaly_detection: GetAnomalies through the real boto3 client against the fake
(tests/fakes/aws_anomalies.py): paging and billing, root causes as drivers, feedback, throttling,
and, through the provider, one call per account and a refusal that is a note, not a failed scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.periods import utc_today
from finops_mcp.providers.aws import anomalies
from finops_mcp.providers.aws.anomalies import COST_ANOMALY
from finops_mcp.providers.aws.provider import AwsProvider
from tests.fakes.aws_anomalies import FakeAnomalies, anomaly, cause, start_fake
from tests.fakes.aws_estate import Estate, client
from tests.unit.aws.conftest import MakeSettings, aws_scope

TODAY = utc_today()


def day(offset: int) -> str:
    return (TODAY - timedelta(days=offset)).isoformat()


def seeded() -> list[dict[str, object]]:
    return [
        anomaly(
            "a-ec2",
            day(6),
            day(4),
            812.4,
            causes=[
                cause("Amazon EC2", "us-east-1", "111122223333", "BoxUsage:m5.xlarge", 700.1),
                cause("Amazon EC2", "eu-west-1", "111122223333", "BoxUsage:t3.large", 112.3),
            ],
        ),
        anomaly(
            "a-s3",
            day(2),
            None,
            1500.0,
            causes=[cause("Amazon S3", "us-east-1", "111122223333", "TimedStorage", 1500)],
        ),
        anomaly("a-planned", day(9), day(8), 90.0, feedback="PLANNED_ACTIVITY"),
        anomaly("a-not", day(12), day(11), 300.0, feedback="NO"),
        anomaly("a-zero", day(3), day(3), 0.0),
        anomaly("a-old", day(80), day(70), 999.0),  # ended before the window: AWS does not return it
    ]


@pytest.fixture()
def fake() -> Iterator[FakeAnomalies]:
    f = start_fake(seeded(), page_size=2)
    yield f
    f.server.stop()


def quick_retries() -> CallContext:
    return CallContext(retry_policy=RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.02))


def test_every_page_is_read_and_billed_with_the_window(fake: FakeAnomalies) -> None:
    ctx = CallContext()
    feed = anomalies.fetch(client(fake.url, "ce"), "111122223333", TODAY, ctx)
    assert [a["AnomalyId"] for a in feed.anomalies] == ["a-ec2", "a-s3", "a-planned", "a-not", "a-zero"]
    assert ctx.billed.snapshot() == {"aws.ce": 3}  # 5 anomalies, 2 a page
    first = fake.bodies[0]
    assert first["DateInterval"] == {"StartDate": day(30), "EndDate": day(0)} and first["MaxResults"] == 100
    assert [b.get("NextPageToken") for b in fake.bodies] == [None, "page-2", "page-4"]


def test_findings_name_the_top_root_cause_as_driver(fake: FakeAnomalies) -> None:
    feed = anomalies.fetch(client(fake.url, "ce"), "111122223333", TODAY, CallContext())
    found = {f.resource_id: f for f in COST_ANOMALY.evaluate(feed)}
    assert set(found) == {"a-ec2", "a-s3", "a-planned"}  # feedback NO and zero impact left out
    ec2 = found["a-ec2"]
    assert (
        ec2.estimated_monthly_cost == Decimal("812.4") and ec2.currency == "USD" and ec2.category == "anomaly"
    )
    assert ec2.severity == "medium" and ec2.region == "us-east-1" and ec2.scope == "aws:111122223333"
    assert (
        "Driver: service Amazon EC2 (region us-east-1, usage type BoxUsage:m5.xlarge, account 111122223333 "
        "(prod)) +700.10 USD (1 of 2 root causes)"
    ) in ec2.detail
    assert f"anomaly {day(6)}..{day(4)}" in ec2.detail and "actual 912.40 vs expected 100.00" in ec2.detail
    assert found["a-s3"].severity == "high" and "..ongoing" in found["a-s3"].detail
    planned = found["a-planned"]
    assert planned.severity == "low" and "AWS gave no root cause" in planned.detail


def test_throttling_is_retried(fake: FakeAnomalies) -> None:
    fake.throttle_next = 2
    ctx = quick_retries()
    feed = anomalies.fetch(client(fake.url, "ce"), "1", TODAY, ctx)
    assert len(feed.anomalies) == 5 and len(fake.bodies) == 5  # 2 refused + 3 pages


def test_a_token_the_api_did_not_issue_is_refused(fake: FakeAnomalies) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="InvalidNextTokenException"):
        client(fake.url, "ce").get_anomalies(DateInterval={"StartDate": day(30)}, NextPageToken="forged")


# ------------------------------------------------------------------------------------- provider


@pytest.fixture()
def provider(
    make_settings: MakeSettings, fake: FakeAnomalies, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AwsProvider]:
    settings = make_settings()
    monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", fake.url)  # the rest stays on moto
    prov = AwsProvider(settings)
    yield prov
    prov.close()


def test_the_feed_is_read_once_per_account_not_per_region(
    provider: AwsProvider, estate: Estate, fake: FakeAnomalies
) -> None:
    scope = aws_scope(estate.management)
    units = provider.audit_units(scope, ["us-east-1", "eu-west-1"], CallContext())
    assert [u.region for u in units] == ["us-east-1", "eu-west-1", None]  # None: the account-wide unit
    results = [provider.audit(u, [COST_ANOMALY], CallContext()) for u in units]
    assert [r.checks_run for r in results] == [[], [], [COST_ANOMALY.id]]
    assert {f.resource_id for f in results[2].findings} == {"a-ec2", "a-s3", "a-planned"}
    assert all(f.scope == scope.id for f in results[2].findings)
    assert len(fake.bodies) == 3  # the three pages, once


def test_a_refused_feed_is_a_note_and_the_inventory_checks_still_run(
    provider: AwsProvider, estate: Estate, fake: FakeAnomalies
) -> None:
    fake.deny = True
    scope = aws_scope(estate.management)
    units = provider.audit_units(scope, ["us-east-1"], CallContext())
    eip = [c for c in provider.checks() if c.id == "aws.ec2.unassociated_eip"]
    ctx = CallContext()
    results = [provider.audit(u, [*eip, COST_ANOMALY], ctx) for u in units]
    assert [r.checks_run for r in results] == [["aws.ec2.unassociated_eip"], []]
    assert len(results[0].findings) == 1 and results[1].findings == []
    assert any("aws.anomaly.cost_anomaly_detection did not run" in n and "forbidden" in n for n in ctx.notes)


def test_the_check_is_in_the_catalog(provider: AwsProvider) -> None:
    assert COST_ANOMALY in provider.checks() and COST_ANOMALY.category == "anomaly"
    assert date.fromisoformat(day(0)) == TODAY
