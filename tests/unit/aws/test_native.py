"""aws.rightsizing.* and aws.commitment.*: AWS's own recommendations through the real boto3 clients,
against tests/fakes/aws_advice.py (Cost Optimization Hub, Compute Optimizer, Cost Explorer's
commitment calls) in front of the moto estate: routing, pricing, source, paging, de-duplication
against the inventory checks, throttling, a refused account, the Compute Optimizer fallback and
healthy look-alikes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.models import Finding
from finops_mcp.providers.aws import optimization
from finops_mcp.providers.aws.checks import CHECKS
from finops_mcp.providers.aws.provider import AwsProvider
from finops_mcp.providers.base import AuditResult
from tests.fakes.aws_advice import (
    CeAccount,
    FakeAwsAdvice,
    ebs_recommendation,
    ec2_recommendation,
    hub_item,
    lambda_recommendation,
    ri_detail,
    ri_group,
    sp_coverage,
    sp_detail,
    sp_utilization,
)
from tests.fakes.aws_estate import Estate, Seeded
from tests.unit.aws.conftest import MakeSettings, aws_scope

REGION = "us-east-1"
NATIVE = [c for c in CHECKS if c.id.startswith(("aws.rightsizing.", "aws.commitment."))]


def fast_ctx() -> CallContext:
    return CallContext(retry_policy=RetryPolicy(max_retries=4, base_delay=0.001, max_delay=0.01))


def cell(estate: Estate, account: str, region: str = REGION) -> Seeded:
    return next(c for c in estate.cells if c.account_id == account and c.region == region)


def one(ids: set[str]) -> str:
    return next(iter(ids))


@pytest.fixture()
def advice(estate: Estate) -> Iterator[FakeAwsAdvice]:
    with FakeAwsAdvice(estate.url) as fake:
        yield fake


def audit(
    provider: AwsProvider, account: str, region: str | None, ctx: CallContext, checks=None
) -> AuditResult:  # type: ignore[no-untyped-def]
    units = provider.audit_units(aws_scope(account), [REGION], ctx)
    unit = next(u for u in units if u.region == region)
    return provider.audit(unit, checks or CHECKS, ctx)


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.check, []).append(f)
    return out


# ------------------------------------------------------------------------------ rightsizing


def seed_hub(advice: FakeAwsAdvice, estate: Estate, account: str) -> Seeded:
    c = cell(estate, account)
    worker, orphan = c.healthy["worker"], one(c.waste["aws.ebs.unattached_volume"])
    items = [
        hub_item(
            account,
            REGION,
            worker,
            "Ec2Instance",
            "Rightsize",
            31.5,
            current="c6i.large",
            recommended="c6i.medium",
            cost_after=31.0,
            tags={"Name": "worker"},
        ),
        # the hub's saving is larger than our list price of the orphan (77.50): the hub's finding is kept
        hub_item(account, REGION, orphan, "EbsVolume", "Delete", 90.0),
        hub_item(
            account,
            REGION,
            "my-fn",
            "LambdaFunction",
            "Rightsize",
            4.2,
            current="1024 MB",
            recommended="512 MB",
        ),
        hub_item(account, REGION, "svc/web", "EcsService", "Rightsize", 12.0),
        hub_item(account, REGION, "db-1", "RdsDbInstance", "Rightsize", 55.0),
        hub_item(account, REGION, "i-graviton", "Ec2Instance", "MigrateToGraviton", 8.0),
        hub_item(account, REGION, "table-1", "DynamoDBTable", "Rightsize", 3.0),
        # commitment purchases are Cost Explorer's business: left out here
        hub_item(account, REGION, "sp-1", "ComputeSavingsPlans", "PurchaseSavingsPlans", 400.0),
        # another region's recommendation is not this unit's
        hub_item(account, "eu-west-1", "i-elsewhere", "Ec2Instance", "Rightsize", 10.0),
    ]
    advice.hub[(account, REGION)] = items[:-1]
    advice.hub[(account, "eu-west-1")] = items[-1:]
    return c


def test_hub_recommendations_are_routed_priced_sourced_paged_and_counted_once(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(optimization.PAGE_SIZE, "hub", 3)
    account = estate.management
    c = seed_hub(advice, estate, account)
    provider = AwsProvider(make_settings(url=advice.url))
    result = audit(provider, account, REGION, fast_ctx())
    found = by_check(result.findings)
    worker = found["aws.rightsizing.ec2_instance"]
    assert [f.resource_id for f in worker] == [c.healthy["worker"]]
    assert worker[0].estimated_monthly_cost == Decimal("31.5") and worker[0].cost_basis == "recommender"
    assert worker[0].source == optimization.HUB_SOURCE and worker[0].resource_name == "worker"
    assert "c6i.large -> c6i.medium" in worker[0].detail and worker[0].region == REGION
    assert [f.resource_id for f in found["aws.rightsizing.lambda_function"]] == ["my-fn"]
    assert [f.resource_id for f in found["aws.rightsizing.ecs_service"]] == ["svc/web"]
    assert [f.resource_id for f in found["aws.rightsizing.rds_instance"]] == ["db-1"]
    assert [f.resource_id for f in found["aws.rightsizing.graviton"]] == ["i-graviton"]
    assert [f.resource_type for f in found["aws.rightsizing.other"]] == ["DynamoDBTable"]
    # one resource, one finding: the hub's larger saving, naming our own check
    orphan = one(c.waste["aws.ebs.unattached_volume"])
    on_orphan = [f for f in result.findings if f.resource_id == orphan]
    assert [f.check for f in on_orphan] == ["aws.rightsizing.idle"]
    assert on_orphan[0].estimated_monthly_cost == Decimal(90)
    assert "Also reported by aws.ebs.unattached_volume (77.50 USD/month)" in on_orphan[0].detail
    assert "aws.ebs.unattached_volume" not in found
    assert not {"sp-1", "i-elsewhere"} & {f.resource_id for f in result.findings}
    assert advice.ops("ListRecommendations") == 3  # 8 items, 3 a page
    assert {c.id for c in NATIVE if c.id.startswith("aws.rightsizing.")} <= set(result.checks_run)


def test_our_larger_saving_is_kept_and_names_the_hub(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice
) -> None:
    account = estate.management
    c = cell(estate, account)
    orphan = one(c.waste["aws.ebs.unattached_volume"])
    advice.hub[(account, REGION)] = [hub_item(account, REGION, orphan, "EbsVolume", "Delete", 10.0)]
    result = audit(AwsProvider(make_settings(url=advice.url)), account, REGION, fast_ctx())
    on_orphan = [f for f in result.findings if f.resource_id == orphan]
    assert [f.check for f in on_orphan] == ["aws.ebs.unattached_volume"]
    assert "Also reported by aws.rightsizing.idle (10.00 USD/month)" in on_orphan[0].detail


def test_throttled_hub_pages_are_retried(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(optimization.PAGE_SIZE, "hub", 2)
    account = estate.management
    seed_hub(advice, estate, account)
    advice.throttle("ListRecommendations", 2)
    ctx = fast_ctx()
    result = audit(AwsProvider(make_settings(url=advice.url)), account, REGION, ctx)
    assert len([f for f in result.findings if f.check.startswith("aws.rightsizing.")]) == 7
    assert advice.ops("ListRecommendations") == 4 + 2
    assert not ctx.notes


def test_hub_not_enrolled_falls_back_to_compute_optimizer_with_a_note(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(optimization.PAGE_SIZE, "co", 1)
    account = estate.members[0]
    c = cell(estate, account)
    worker, gp2 = c.healthy["worker"], one(c.waste["aws.ebs.gp2_volume"])
    advice.hub_not_enrolled.add(account)
    advice.optimizer[(account, REGION, "ec2")] = [
        ec2_recommendation(account, REGION, worker, "c6i.large", "c6i.medium", 30.0),
        {
            **ec2_recommendation(account, REGION, "i-optimized", "t3.micro", "t3.micro", 0.0),
            "finding": "Optimized",
        },
    ]
    advice.optimizer[(account, REGION, "ebs")] = [
        ebs_recommendation(account, REGION, gp2, 2.0),  # smaller than our gp2 -> gp3 saving: ours kept
        ebs_recommendation(account, REGION, "vol-fine", 0.0, finding="Optimized"),
    ]
    advice.optimizer[(account, REGION, "lambda")] = [
        lambda_recommendation(account, REGION, "fn-1", 1024, 512, 6.5)
    ]
    advice.optimizer[(account, "eu-west-1", "ec2")] = [
        ec2_recommendation(account, "eu-west-1", "i-other-region", "m5.large", "m5.medium", 9.0)
    ]
    ctx = fast_ctx()
    result = audit(AwsProvider(make_settings(url=advice.url)), account, REGION, ctx)
    found = by_check(result.findings)
    ec2 = found["aws.rightsizing.ec2_instance"]
    assert [(f.resource_id, f.estimated_monthly_cost) for f in ec2] == [(worker, Decimal(30))]
    assert ec2[0].source == "AWS Compute Optimizer GetEC2InstanceRecommendations"
    assert "c6i.large -> c6i.medium" in ec2[0].detail
    assert "aws.rightsizing.ebs_volume" not in found  # de-duplicated into our gp2 finding
    gp2_finding = next(f for f in found["aws.ebs.gp2_volume"] if f.resource_id == gp2)
    assert "Also reported by aws.rightsizing.ebs_volume (2.00 USD/month)" in gp2_finding.detail
    fn = found["aws.rightsizing.lambda_function"]
    assert [(f.resource_id, f.estimated_monthly_cost) for f in fn] == [("fn-1", Decimal("6.5"))]
    assert "1024 MB -> 512 MB" in fn[0].detail
    assert "aws.rightsizing.ecs_service" not in result.checks_run  # the fallback has none
    assert "aws.rightsizing.ec2_instance" in result.checks_run
    assert any(
        "Cost Optimization Hub refused (AccessDeniedException" in n and "update-enrollment-status" in n
        for n in ctx.notes
    )
    assert advice.ops("GetEC2InstanceRecommendations") == 2  # two pages of one


def test_both_engines_refused_skips_rightsizing_and_the_rest_still_answers(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice
) -> None:
    account = estate.members[0]
    advice.denied.add((account, "ListRecommendations"))
    advice.optimizer_not_opted_in.add(account)
    ctx = fast_ctx()
    result = audit(AwsProvider(make_settings(url=advice.url)), account, REGION, ctx)
    assert not [c for c in result.checks_run if c.startswith("aws.rightsizing.")]
    assert "aws.ebs.unattached_volume" in result.checks_run and result.findings
    assert any("OptInRequiredException" in n and "skipped aws.rightsizing." in n for n in ctx.notes)


# ------------------------------------------------------------------------------ commitments


def seed_ce(advice: FakeAwsAdvice, account: str) -> None:
    today = date.today()
    start, end = (today - timedelta(days=30)).isoformat(), today.isoformat()
    advice.ce[account] = CeAccount(
        sp_utilization=sp_utilization(total=1000.0, used=620.0),
        ri_groups=[
            ri_group("ri-low", "m5.xlarge", 40.0, 200.0),
            ri_group("ri-fine", "c5.large", 98.0, 100.0),  # healthy: above the threshold
            ri_group("ri-mid", "r5.large", 75.0, 150.0),
        ],
        sp_coverages=[sp_coverage(start, end, covered=300.0, on_demand=700.0)],
        sp_details=[sp_detail(account, 0.5, 120.0)],
        ri_details={
            "Amazon Relational Database Service": [ri_detail(account, "db.r5.large", "MySQL", 2, 85.0)]
        },
    )


def test_commitment_checks_answer_once_per_account_with_billed_requests(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(optimization.PAGE_SIZE, "ce", 2)
    account = estate.management
    seed_ce(advice, account)
    advice.throttle("GetSavingsPlansUtilization", 1)
    ctx = fast_ctx()
    provider = AwsProvider(make_settings(url=advice.url))
    regional = audit(provider, account, REGION, ctx, NATIVE)
    assert not [f for f in regional.findings if f.check.startswith("aws.commitment.")]
    result = audit(provider, account, None, ctx, NATIVE)
    found = by_check(result.findings)
    sp = found["aws.commitment.savings_plans_utilization"][0]
    assert sp.estimated_monthly_cost == Decimal("380.00") and sp.category == "waste"
    assert "62.0% used" in sp.detail and sp.source == "AWS Cost Explorer GetSavingsPlansUtilization"
    ri = {f.resource_id: f for f in found["aws.commitment.ri_utilization"]}
    assert set(ri) == {"ri-low", "ri-mid"}  # ri-fine is 98% used
    assert ri["ri-low"].estimated_monthly_cost == Decimal("120.00") and ri["ri-low"].severity == "high"
    coverage = found["aws.commitment.savings_plans_coverage"][0]
    assert coverage.category == "commitment" and coverage.estimated_monthly_cost == Decimal("700.00")
    purchase = found["aws.commitment.savings_plans_purchase"][0]
    assert purchase.estimated_monthly_cost == Decimal("120.00") and purchase.cost_basis == "recommender"
    rds = found["aws.commitment.ri_purchase"][0]
    assert rds.estimated_monthly_cost == Decimal("85.00") and "db.r5.large MySQL" in rds.detail
    # SP util 1 (+1 throttled, not billed), RI util 2 pages, coverage 1, SP purchase 1, RI purchase 4 services
    assert ctx.billed.snapshot() == {"aws.ce": 1 + 2 + 1 + 1 + 4}
    assert advice.ops("GetReservationPurchaseRecommendation") == len(optimization.RI_SERVICES)


def test_healthy_commitments_give_no_finding(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice
) -> None:
    account = estate.management
    today = date.today()
    advice.ce[account] = CeAccount(
        sp_utilization=sp_utilization(total=1000.0, used=995.0),
        ri_groups=[ri_group("ri-fine", "c5.large", 99.0, 100.0)],
        sp_coverages=[sp_coverage((today - timedelta(days=30)).isoformat(), today.isoformat(), 900.0, 100.0)],
    )
    ctx = fast_ctx()
    result = audit(AwsProvider(make_settings(url=advice.url)), account, None, ctx, NATIVE)
    assert result.findings == [] and not ctx.notes
    assert {c.id for c in NATIVE if c.id.startswith("aws.commitment.")} == set(result.checks_run)


def test_a_refused_commitment_call_skips_its_check_only(
    make_settings: MakeSettings, estate: Estate, advice: FakeAwsAdvice
) -> None:
    account = estate.members[0]
    seed_ce(advice, account)
    advice.denied.add((account, "GetReservationUtilization"))
    ctx = fast_ctx()
    result = audit(AwsProvider(make_settings(url=advice.url)), account, None, ctx, NATIVE)
    assert "aws.commitment.ri_utilization" not in result.checks_run
    assert {f.check for f in result.findings} == {
        "aws.commitment.savings_plans_utilization",
        "aws.commitment.savings_plans_coverage",
        "aws.commitment.savings_plans_purchase",
        "aws.commitment.ri_purchase",
    }
    assert any(
        "ce_reservation_utilization did not answer (AccessDeniedException" in n and "ce:Get*" in n
        for n in ctx.notes
    )
