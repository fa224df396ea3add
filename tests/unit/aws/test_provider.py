"""The AWS provider against the emulated estate: accounts and credentials, the audit over accounts x
regions, paging, the read-only guard, throttling and a failing account."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import Finding
from finops_mcp.periods import Span, utc_today
from finops_mcp.providers.aws import inventory
from finops_mcp.providers.aws.checks import CHECKS
from finops_mcp.providers.aws.guard import ReadOnlyViolation
from finops_mcp.providers.aws.provider import AwsProvider
from finops_mcp.providers.base import CostQuery
from tests.fakes.aws_estate import ROLE, Estate, FaultyAwsProxy, ce_page, inject_ce
from tests.unit.aws.conftest import MakeSettings, aws_scope

ROOT = Path(__file__).resolve().parents[3]


def fast_ctx() -> CallContext:
    return CallContext(retry_policy=RetryPolicy(max_retries=6, base_delay=0.001, max_delay=0.01))


def audit_all(provider: AwsProvider, ctx: CallContext | None = None) -> list[Finding]:
    ctx = ctx or CallContext()
    findings: list[Finding] = []
    for scope in provider.scopes(ctx):
        for unit in provider.audit_units(scope, None, ctx):
            findings.extend(provider.audit(unit, CHECKS, ctx).findings)
    return findings


def found(findings: list[Finding], check: str) -> set[tuple[str, str, str]]:
    return {(f.scope, f.region or "", f.resource_id) for f in findings if f.check == check}


@pytest.fixture()
def proxy(estate: Estate) -> Iterator[FaultyAwsProxy]:
    with FaultyAwsProxy(estate.url) as p:
        yield p


# ------------------------------------------------------------------------------------- scopes


def test_default_chain_plus_assumed_role_members(provider: AwsProvider, estate: Estate) -> None:
    scopes = provider.scopes(CallContext())
    assert [s.id for s in scopes] == [f"aws:{a}" for a in estate.accounts]
    assert "assumed" in scopes[1].detail["source"] and scopes[1].detail["partition"] == "aws"


def test_organization_discovery_lists_active_accounts(make_settings: MakeSettings, estate: Estate) -> None:
    provider = AwsProvider(make_settings(aws_account_ids="", aws_discover_accounts="true"))
    scopes = provider.scopes(CallContext())
    assert {s.key for s in scopes} == {estate.management, *estate.members, *estate.empty_members}
    assert {s.name for s in scopes if s.key != estate.management} == {"workloads", "sandbox"}


def test_member_accounts_without_a_role_is_a_configuration_error(make_settings: MakeSettings) -> None:
    provider = AwsProvider(make_settings(aws_role_name=""))
    with pytest.raises(ScopeFailure) as err:
        provider.scopes(CallContext())
    assert err.value.code == "not_configured" and "FINOPS_AWS_ROLE_NAME" in err.value.message


def test_profiles_are_deduplicated_by_account_and_a_broken_one_is_its_own_error(
    make_settings: MakeSettings, estate: Estate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = estate.members[0]
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        "[profile ops-again]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        f"[profile workloads]\nrole_arn = arn:aws:iam::{member}:role/{ROLE}\nsource_profile = ops\n"
    )
    settings = make_settings(
        aws_profiles="ops,ops-again,workloads,missing", aws_account_ids="", aws_role_name=""
    )
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    provider = AwsProvider(settings)
    scopes = provider.scopes(CallContext())
    assert [s.key for s in scopes] == [estate.management, member, "profile:missing"]
    assert provider.describe()["notes"] == [
        f"profile ops-again reaches account {estate.management} already reached by profile ops"
    ]
    with pytest.raises(Exception) as err:
        provider.budgets(scopes[2], utc_today(), CallContext())
    assert provider.classify_error(err.value) == ("not_configured", False)
    assert {b.name for b in provider.budgets(scopes[1], utc_today(), CallContext())} >= {"over"}


def test_enabled_regions_when_none_are_configured(make_settings: MakeSettings, estate: Estate) -> None:
    provider = AwsProvider(make_settings(aws_regions=""))
    units = provider.audit_units(aws_scope(estate.management), None, CallContext())
    regions = [u.region for u in units]
    assert len(regions) > 10 and set(estate.regions) <= set(regions)
    assert [
        u.region for u in provider.audit_units(aws_scope(estate.management), ["eu-west-1"], CallContext())
    ] == ["eu-west-1", None]  # None: the account-wide unit (Cost Explorer commitments)


# ------------------------------------------------------------------------------------- audit


def test_audit_finds_every_seeded_waste_and_no_healthy_look_alike(
    provider: AwsProvider, estate: Estate
) -> None:
    findings = audit_all(provider)
    for check in CHECKS:
        assert found(findings, check.id) == estate.expected(check.id), check.id
    flagged = {f.resource_id for f in findings}
    assert not flagged & estate.healthy_ids()
    assert all(f.estimated_monthly_cost >= 0 and f.cost_basis == "list_price" for f in findings)
    stopped = [f for f in findings if f.check == "aws.ec2.stopped_instance"]
    assert all("45 days" in f.detail and f.severity == "high" for f in stopped)


def test_every_listing_is_paged(
    make_settings: MakeSettings, estate: Estate, proxy: FaultyAwsProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(inventory.PAGE_SIZE, "ec2", 5)
    monkeypatch.setitem(inventory.PAGE_SIZE, "elb", 1)
    provider = AwsProvider(make_settings(url=proxy.url))
    findings = audit_all(provider)
    for check in CHECKS:
        assert found(findings, check.id) == estate.expected(check.id), check.id
    ops = proxy.operations()
    cells = len(estate.cells)
    assert ops.count("DescribeInstances") == 2 * cells  # 6 instances a region, 5 a page (moto pages these)
    assert ops.count("DescribeLoadBalancers") == 3 * cells  # 2 ELBv2 a region, one a page, + 1 classic


def test_only_what_the_selected_checks_need_is_listed(
    estate: Estate, make_settings: MakeSettings, proxy: FaultyAwsProxy
) -> None:
    provider = AwsProvider(make_settings(url=proxy.url))
    scope = aws_scope(estate.management)
    unit = provider.audit_units(scope, ["us-east-1"], CallContext())[0]
    eip_check = [c for c in CHECKS if c.id == "aws.ec2.unassociated_eip"]
    result = provider.audit(unit, eip_check, CallContext())
    assert result.checks_run == ["aws.ec2.unassociated_eip"] and len(result.findings) == 1
    assert set(proxy.operations()) == {"GetCallerIdentity", "DescribeAddresses"}


# ------------------------------------------------------------------------------------- read-only


def test_mutating_calls_are_refused_before_they_are_sent(
    make_settings: MakeSettings, estate: Estate, proxy: FaultyAwsProxy
) -> None:
    provider = AwsProvider(make_settings(url=proxy.url))
    scope = aws_scope(estate.members[0])
    provider.scopes(CallContext())
    account = provider._account(scope, CallContext())
    ec2 = account.client("ec2", "us-east-1")
    web = next(c for c in estate.cells if c.account_id == scope.key and c.region == "us-east-1").healthy
    with pytest.raises(ReadOnlyViolation, match="ec2:TerminateInstances"):
        ec2.terminate_instances(InstanceIds=[web["instance"]])
    with pytest.raises(ReadOnlyViolation):
        ec2.delete_volume(VolumeId=web["gp3_volume"])
    with pytest.raises(ReadOnlyViolation):
        account.client("budgets").delete_budget(AccountId=scope.key, BudgetName="over")
    assert provider.classify_error(ReadOnlyViolation("ec2", "DeleteVolume")) == ("forbidden", False)
    ops = proxy.operations()
    assert not {"TerminateInstances", "DeleteVolume", "DeleteBudget"} & set(ops)
    state = ec2.describe_instances(InstanceIds=[web["instance"]])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "running"


# ------------------------------------------------------------------------------------- faults


def test_throttled_calls_are_retried_and_every_result_arrives(
    make_settings: MakeSettings, estate: Estate
) -> None:
    span = Span(date(2025, 3, 1), date(2025, 3, 31))
    query = CostQuery(span, "total", ("service",), "billed")

    def answers(provider: AwsProvider, ctx: CallContext) -> tuple[Any, ...]:
        inject_ce(
            estate.url,
            estate.management,
            [
                ce_page({("Amazon EC2",): "10"}, "2025-03-01", "2025-04-01", token="2"),
                ce_page({("Amazon RDS",): "5"}, "2025-03-01", "2025-04-01"),
            ],
        )
        mgmt = aws_scope(estate.management)
        cost = sorted((ln.keys, ln.cost) for ln in provider.cost(mgmt, query, ctx))
        budgets = sorted(
            (b.name, b.actual)
            for a in estate.accounts
            for b in provider.budgets(aws_scope(a), utc_today(), ctx)
        )
        units = provider.audit_units(mgmt, None, ctx)
        findings = sorted(
            (f.check, f.resource_id) for u in units for f in provider.audit(u, CHECKS, ctx).findings
        )
        return cost, budgets, findings

    baseline = answers(AwsProvider(make_settings()), fast_ctx())
    with FaultyAwsProxy(estate.url, every=3) as proxy:
        ctx = fast_ctx()
        assert answers(AwsProvider(make_settings(url=proxy.url)), ctx) == baseline
        assert proxy.faults >= 10
    assert ctx.billed.snapshot() == {"aws.ce": 2}  # throttled pages are not counted twice


def test_one_account_refused_does_not_sink_the_others(make_settings: MakeSettings, estate: Estate) -> None:
    denied = estate.empty_members[0]
    with FaultyAwsProxy(estate.url, deny_accounts=(denied,)) as proxy:
        provider = AwsProvider(make_settings(url=proxy.url, aws_account_ids=f"{estate.members[0]},{denied}"))
        scopes = provider.scopes(CallContext())
        assert len(scopes) == 3
        ok = provider.budgets(aws_scope(estate.members[0]), utc_today(), CallContext())
        assert len(ok) == 3
        with pytest.raises(Exception) as err:
            provider.budgets(aws_scope(denied), utc_today(), CallContext())
    assert provider.classify_error(err.value) == ("forbidden", False)


# ------------------------------------------------------------------------------------- cheap start


def test_importing_and_constructing_does_not_import_boto3() -> None:
    code = (
        "import finops_mcp.providers.aws.provider as m, finops_mcp.providers.aws.checks, sys; "
        "m.AwsProvider(__import__('finops_mcp.settings').settings.load_settings()); "
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'SDK imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_describe_is_offline_and_secret_free(provider: AwsProvider, estate: Estate) -> None:
    before = provider.describe()
    assert before["accounts"] == [] and before["role_name"] == ROLE
    provider.scopes(CallContext())
    text = str(provider.describe())
    assert estate.management in text and "testing" not in text


def test_nat_traffic_is_one_batched_metric_request_and_log_groups_are_paged(
    estate: Estate, make_settings: MakeSettings, proxy: FaultyAwsProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(inventory.PAGE_SIZE, "logs", 1)
    provider = AwsProvider(make_settings(url=proxy.url))
    unit = provider.audit_units(aws_scope(estate.management), ["us-east-1"], CallContext())[0]
    wanted = [c for c in CHECKS if c.id in ("aws.ec2.idle_nat_gateway", "aws.logs.no_retention")]
    result = provider.audit(unit, wanted, CallContext())
    ops = proxy.operations()
    assert ops.count("GetMetricData") == 1 and "GetMetricStatistics" not in ops  # 2 NATs x 2 metrics
    assert ops.count("DescribeLogGroups") == 3  # 3 groups, one a page
    found = {(f.check, f.resource_id) for f in result.findings}
    cell = next(c for c in estate.cells if c.account_id == estate.management and c.region == "us-east-1")
    assert found == {
        ("aws.ec2.idle_nat_gateway", next(iter(cell.waste["aws.ec2.idle_nat_gateway"]))),
        ("aws.logs.no_retention", next(iter(cell.waste["aws.logs.no_retention"]))),
    }
    logs = next(f for f in result.findings if f.check == "aws.logs.no_retention")
    assert logs.estimated_monthly_cost == Decimal("7.5") and logs.category == "governance"  # 250 GiB x 0.03
