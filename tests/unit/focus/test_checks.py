"""The focus.* audit checks: each flags what it should and leaves healthy look-alikes alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext, Cancelled, CancelToken
from finops_mcp.models import Finding
from finops_mcp.periods import Span
from finops_mcp.providers.base import AuditUnit, Check
from finops_mcp.providers.focus.checks import CHECKS, find_spikes
from finops_mcp.providers.focus.provider import FocusProvider
from tests.unit.focus.conftest import csv_provider
from tests.unit.focus.focusdata import row

START, END = date(2024, 4, 1), date(2024, 5, 31)
WINDOW = Span(date(2024, 5, 2), END)


def days(first: date = START, last: date = END):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def series(cost: Callable[[date], Any], first: date = START, last: date = END, **fields: Any) -> list[dict]:
    out = []
    for d in days(first, last):
        value = cost(d)
        if value is not None:
            out.append(row(d, str(value), **fields))
    return out


def run(
    provider: FocusProvider, sc, check_id: str, region: str | None = None, ctx: CallContext | None = None
) -> dict[str, Finding]:
    check = next(c for c in provider.checks() if c.id == check_id)
    result = provider.audit(AuditUnit(sc, region), [check], ctx or CallContext())
    assert result.checks_run == [check_id]
    found = {f.resource_id: f for f in result.findings}
    assert len(found) == len(result.findings)
    for f in result.findings:
        assert f.check == check_id and f.provider == "focus" and f.scope == sc.id and f.currency == "USD"
    return found


def test_check_catalog() -> None:
    assert {c.id: c.category for c in CHECKS}.items() >= {
        "focus.untagged_cost": "governance",
        "focus.cost_spike": "anomaly",
        "focus.unused_commitment": "waste",
        "focus.anomaly.daily_cost": "anomaly",
    }.items()
    assert all(isinstance(c, Check) and c.provider == "focus" for c in CHECKS)
    assert all(c.cost_basis == "billed_last_30_days" for c in CHECKS)


# ---------------------------------------------------------------------------------------------
# focus.untagged_cost
# ---------------------------------------------------------------------------------------------


def untagged_rows() -> list[dict]:
    rows = []
    rows += series(lambda d: "10", ResourceId="i-good", Tags={"team": "a", "env": "prod"})
    rows += series(lambda d: "0", ResourceId="i-noenv", ResourceName="web-1", ResourceType="Instance",
                   Tags={"team": "a"}, effective="5")  # fmt: skip  # covered by a commitment: billed 0
    rows += series(lambda d: "2", ResourceId="i-emptyenv", Tags={"team": "a", "env": ""})
    rows += series(lambda d: "1", ServiceName="Amazon S3", Tags={"env": "prod"})  # no ResourceId
    rows += series(lambda d: "3", ResourceId="i-eu", RegionId="eu-west-1")
    rows += series(lambda d: "4" if d < date(2024, 5, 20) else None, ResourceId="i-late")
    rows += series(lambda d: "4" if d >= date(2024, 5, 20) else None, ResourceId="i-late",
                   Tags={"team": "b", "env": "prod"})  # fmt: skip
    # healthy look-alikes: untagged but not usage, not in the window, or free
    rows += series(lambda d: "100" if d.day == 5 else None, ServiceName="Tax", ChargeCategory="Tax")
    rows += series(lambda d: "-20" if d.day == 5 else None, ResourceId="i-credit", ChargeCategory="Credit")
    rows += series(lambda d: "7", last=date(2024, 4, 30), ResourceId="i-old")
    rows += series(lambda d: "0", ResourceId="i-free")
    return rows


def test_untagged_cost_flags_resources_missing_a_required_tag(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, untagged_rows(), required_tags="team, env")
    found = run(provider, sc, "focus.untagged_cost")
    assert set(found) == {"i-noenv", "i-emptyenv", "(no resource id) Amazon S3", "i-eu", "i-late"}
    noenv = found["i-noenv"]
    assert noenv.estimated_monthly_cost == Decimal(150)  # effective cost, 30 days
    assert "env" in noenv.detail and "team" not in noenv.detail.split(":")[0]
    assert noenv.resource_name == "web-1" and noenv.resource_type == "Instance"
    assert noenv.tags == {"team": "a"} and noenv.category == "governance" and noenv.region == "us-east-1"
    assert found["i-emptyenv"].estimated_monthly_cost == Decimal(60)
    s3 = found["(no resource id) Amazon S3"]
    assert s3.estimated_monthly_cost == Decimal(30) and s3.resource_type == "service" and "team" in s3.detail
    assert found["i-late"].estimated_monthly_cost == Decimal(4 * 18)  # only its untagged days
    assert "env, team" in found["i-eu"].detail


def test_untagged_cost_honours_the_region_and_needs_required_tags(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, untagged_rows(), required_tags="team,env")
    found = run(provider, sc, "focus.untagged_cost", region="us-east-1")
    assert "i-eu" not in found and "i-noenv" in found and found["i-noenv"].region == "us-east-1"
    assert set(run(provider, sc, "focus.untagged_cost", region="eu-west-1")) == {"i-eu"}

    provider, sc = csv_provider(tmp_path / "2", untagged_rows())
    ctx = CallContext()
    assert run(provider, sc, "focus.untagged_cost", ctx=ctx) == {}
    assert "FINOPS_REQUIRED_TAGS is empty: focus.untagged_cost had nothing to check" in ctx.notes


# ---------------------------------------------------------------------------------------------
# focus.cost_spike
# ---------------------------------------------------------------------------------------------


def spike_rows() -> list[dict]:
    noise = [100, 130, 75, 110, 90, 125, 70, 100, 115, 85]
    rows = []
    rows += series(lambda d: "400" if d == date(2024, 5, 15) else "100", ServiceName="Amazon EC2")
    rows += series(lambda d: str(noise[d.toordinal() % len(noise)]), ServiceName="Amazon S3")
    rows += series(lambda d: "5" if d >= date(2024, 5, 10) else "1", ServiceName="AWS Lambda")  # small
    rows += series(
        lambda d: "500" if d == date(2024, 4, 25) else "50", ServiceName="Amazon RDS"
    )  # before window
    rows += series(lambda d: "3000" if d >= date(2024, 5, 30) else "200", ServiceName="Amazon Redshift",
                   RegionId="eu-west-1")  # fmt: skip
    # scheduled charges and taxes are not usage anomalies
    rows += series(lambda d: "5000" if d.day == 15 else None, ServiceName="AWS Support",
                   ChargeFrequency="Recurring")  # fmt: skip
    rows += series(lambda d: "900" if d.day == 15 else None, ServiceName="Tax", ChargeCategory="Tax")
    rows += series(lambda d: "0", ServiceName="Amazon EC2", effective="1")  # effective cost is what counts
    return rows


def test_cost_spike_reports_the_worst_day_per_service(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, spike_rows())
    found = run(provider, sc, "focus.cost_spike")
    assert set(found) == {"Amazon EC2", "Amazon Redshift"}

    ec2 = found["Amazon EC2"]
    assert ec2.resource_type == "service" and ec2.category == "anomaly" and ec2.severity == "medium"
    assert ec2.estimated_monthly_cost == Decimal(300)  # ended: the total excess (401 - 101)
    assert "1 spike day(s)" in ec2.detail and "2024-05-15" in ec2.detail and "Ended" in ec2.detail

    redshift = found["Amazon Redshift"]
    baseline = (Decimal(13 * 200) + 3000) / 14
    assert redshift.estimated_monthly_cost == (3000 - baseline) * 30  # still on: last day's excess x 30
    assert (
        redshift.severity == "high"
        and "2 spike day(s)" in redshift.detail
        and "Still elevated" in redshift.detail
    )


def test_cost_spike_per_region_unit(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, spike_rows())
    assert set(run(provider, sc, "focus.cost_spike", region="us-east-1")) == {"Amazon EC2"}
    found = run(provider, sc, "focus.cost_spike", region="eu-west-1")
    assert set(found) == {"Amazon Redshift"} and found["Amazon Redshift"].region == "eu-west-1"


def test_cost_spike_honours_the_settings(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, spike_rows(), spike_factor=5.0, spike_min_daily_cost="2")
    assert set(run(provider, sc, "focus.cost_spike")) == {"Amazon Redshift"}  # EC2 401/101 < 5x
    provider, sc = csv_provider(tmp_path / "2", spike_rows(), spike_min_daily_cost="3")
    assert "AWS Lambda" in run(provider, sc, "focus.cost_spike")  # 5 vs 1: excess 4 >= 3


def test_find_spikes_needs_a_full_baseline() -> None:
    first = date(2024, 5, 10)
    daily = {d: Decimal(10) for d in days(first, END)}
    daily[date(2024, 5, 12)] = daily[date(2024, 5, 28)] = Decimal(100)
    spikes = find_spikes(daily, WINDOW, first, Decimal(2), Decimal(25), 14)
    assert [s.day for s in spikes] == [date(2024, 5, 28)]  # 05-12 has no 14-day baseline
    s = spikes[0]
    assert s.baseline == Decimal(10) and s.excess == Decimal(90)  # 05-12 is not in 05-14..05-27
    # missing days count as zero cost
    assert [
        x.day
        for x in find_spikes({date(2024, 5, 20): Decimal(30)}, WINDOW, START, Decimal(2), Decimal(25), 14)
    ] == [date(2024, 5, 20)]


# ---------------------------------------------------------------------------------------------
# focus.unused_commitment
# ---------------------------------------------------------------------------------------------


def commitment(cid: str, status: str, effective: str, **fields: Any) -> list[dict]:
    last = fields.pop("last", END)
    return series(
        lambda d: "0",
        last=last,
        CommitmentDiscountId=cid,
        CommitmentDiscountStatus=status,
        effective=effective,
        **fields,
    )


def commitment_rows() -> list[dict]:
    rows = commitment("sp-1", "Used", "8", ResourceId="i-1")
    rows += commitment("sp-1", "Unused", "2", CommitmentDiscountName="compute-sp")
    rows += commitment("ri-2", "Used", "6")
    rows += commitment("ri-3", "Unused", "9", last=date(2024, 4, 30))
    rows += commitment("ri-4", "unused", "10", RegionId="eu-west-1")
    rows += series(lambda d: "12", ServiceName="Amazon EC2")  # on-demand usage, no commitment
    return rows


def test_unused_commitment_per_commitment_id(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, commitment_rows())
    found = run(provider, sc, "focus.unused_commitment")
    assert set(found) == {"sp-1", "ri-4"}
    sp = found["sp-1"]
    assert sp.estimated_monthly_cost == Decimal(60) and sp.resource_type == "commitment_discount"
    assert sp.resource_name == "compute-sp" and sp.severity == "medium" and sp.category == "waste"
    assert "20%" in sp.detail and "30 day(s)" in sp.detail
    ri = found["ri-4"]
    assert ri.estimated_monthly_cost == Decimal(300) and ri.severity == "high" and ri.region == "eu-west-1"
    assert set(run(provider, sc, "focus.unused_commitment", region="us-east-1")) == {"sp-1"}


def test_unused_commitment_scales_a_short_dataset_to_30_days(tmp_path: Path) -> None:
    rows = [r for r in commitment_rows() if r["ChargePeriodStart"].date() >= date(2024, 5, 17)]
    provider, sc = csv_provider(tmp_path, rows)
    found = run(provider, sc, "focus.unused_commitment")
    assert found["sp-1"].estimated_monthly_cost == Decimal(2 * 15 * 30) / 15
    assert "15 days scaled to 30" in found["sp-1"].detail


# ---------------------------------------------------------------------------------------------
# focus.commitment_utilization / focus.commitment_coverage
# ---------------------------------------------------------------------------------------------


def test_commitment_utilization_below_the_threshold(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, commitment_rows())
    found = run(provider, sc, "focus.commitment_utilization")
    assert set(found) == {"sp-1", "ri-4"}  # ri-2 is fully used, ri-3 outside the window
    sp = found["sp-1"]
    assert sp.estimated_monthly_cost == Decimal(60) and sp.category == "commitment"
    assert "80.0% used" in sp.detail and "focus.unused_commitment" in sp.detail
    assert sp.source and "CommitmentDiscountStatus" in sp.source
    assert found["ri-4"].severity == "high" and found["ri-4"].region == "eu-west-1"
    lenient, sc2 = csv_provider(tmp_path / "b", commitment_rows(), commitment_min_utilization_pct=75)
    assert set(run(lenient, sc2, "focus.commitment_utilization")) == {"ri-4"}


def test_commitment_coverage_per_service_with_commitments(tmp_path: Path) -> None:
    rows = commitment_rows()
    rows += commitment("ri-db", "Used", "9", ServiceName="Amazon RDS")  # healthy: 90% covered
    rows += series(lambda d: "1", ServiceName="Amazon RDS")
    rows += series(lambda d: "50", ServiceName="Amazon S3")  # no commitment applies: not eligible here
    rows += series(lambda d: "30" if d.day == 5 else None, ServiceName="Amazon EC2", ChargeCategory="Tax")
    provider, sc = csv_provider(tmp_path, rows)
    found = run(provider, sc, "focus.commitment_coverage")
    assert set(found) == {"AWS/Amazon EC2"}
    ec2 = found["AWS/Amazon EC2"]
    # used 8 (sp-1) + 6 (ri-2) a day covered, 12 a day on demand: 14 / 26
    assert "53.8%" in ec2.detail and ec2.estimated_monthly_cost == Decimal(360)
    assert ec2.category == "commitment" and ec2.resource_type == "service" and ec2.source
    strict, sc2 = csv_provider(tmp_path / "b", rows, commitment_min_coverage_pct=95)
    assert set(run(strict, sc2, "focus.commitment_coverage")) == {"AWS/Amazon EC2", "AWS/Amazon RDS"}


# ---------------------------------------------------------------------------------------------
# the audit as the service runs it
# ---------------------------------------------------------------------------------------------


def test_audit_units_results_and_notes(tmp_path: Path) -> None:
    rows = untagged_rows() + spike_rows() + commitment_rows()
    provider, sc = csv_provider(tmp_path, rows, required_tags="team")
    ctx = CallContext()
    assert provider.audit_units(sc, None, ctx) == [AuditUnit(sc)]
    assert provider.audit_units(sc, ["us-east-1", "eu-west-1", "us-east-1"], ctx) == [
        AuditUnit(sc, "us-east-1"),
        AuditUnit(sc, "eu-west-1"),
    ]
    foreign: Check[Any] = Check(
        id="aws.ec2.idle", title="", description="", resource_type="", severity="low", cost_basis="unknown",
        recommendation="", evaluate=lambda c: [],
    )  # fmt: skip
    result = provider.audit(AuditUnit(sc), [*provider.checks(), foreign], ctx)
    assert result.checks_run == [c.id for c in CHECKS]
    assert result.regions == ["eu-west-1", "us-east-1"]
    assert {f.check for f in result.findings} == set(result.checks_run)
    assert any("audit window 2024-05-02..2024-05-31" in n for n in ctx.notes)

    result = provider.audit(AuditUnit(sc, "ap-south-1"), provider.checks(), ctx)
    assert result.findings == [] and result.regions == []
    assert any("no cost rows in region 'ap-south-1'" in n for n in ctx.notes)


def test_audit_stops_when_cancelled(tmp_path: Path) -> None:
    provider, sc = csv_provider(tmp_path, commitment_rows())
    token = CancelToken()
    token.cancel("client went away")
    with pytest.raises(Cancelled):
        provider.audit(AuditUnit(sc), provider.checks(), CallContext(cancel=token))
