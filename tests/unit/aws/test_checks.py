"""Each aws.* check on hand-built inventories: what it finds, how it prices it, and the healthy
look-alikes it must leave alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from finops_mcp.providers.aws import checks as c
from finops_mcp.providers.aws import idle_checks as idle
from finops_mcp.providers.aws.check_context import AwsCheckContext
from finops_mcp.providers.aws.inventory import (
    Address,
    Instance,
    Inventory,
    LoadBalancer,
    NatGateway,
    Snapshot,
    Volume,
    state_since,
)
from finops_mcp.providers.aws.prices import current_generation_for, prices_for

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
TEAM = {"team": "data"}


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def run(
    check: c.Check[AwsCheckContext], region: str = "us-east-1", **inventory: object
) -> dict[str, c.Finding]:
    inv = Inventory(account_id="111122223333", region=region, **inventory)  # type: ignore[arg-type]
    ctx = AwsCheckContext(inventory=inv, now=NOW, required_tags=("team",), snapshot_max_age_days=90)
    found = {f.resource_id: f for f in check.evaluate(ctx)}
    for f in found.values():
        assert f.check == check.id and f.scope == "aws:111122223333" and f.region == region
        assert f.currency == "USD" and f.cost_basis in ("list_price", "unknown")
    return found


def test_every_check_is_listed_with_needs_and_a_unique_id() -> None:
    ids = [k.id for k in c.CHECKS]
    assert len(ids) == len(set(ids))
    assert all(k.needs for k in c.CHECKS)
    assert all(i.startswith("aws.") for i in ids)


def test_stopped_instance_prices_the_volumes_and_eips_it_keeps() -> None:
    volumes = [
        Volume("vol-root", "gp2", 100, "in-use", instance_ids=("i-stopped",)),
        Volume("vol-data", "io1", 50, "in-use", iops=1000, instance_ids=("i-stopped",)),
        Volume("vol-web", "gp3", 8, "in-use", instance_ids=("i-running",)),
    ]
    instances = [
        Instance(
            "i-stopped", "m5.large", "stopped", state_since=ago(45), volume_ids=("vol-root",), tags=TEAM
        ),
        Instance("i-fresh", "m5.large", "stopped", state_since=ago(2)),
        Instance("i-running", "t3.micro", "running", volume_ids=("vol-web",)),
        Instance("i-stopping", "t3.micro", "stopping"),
    ]
    addresses = [Address("eipalloc-1", "1.2.3.4", "eipassoc-1", instance_id="i-stopped")]
    found = run(c.STOPPED_INSTANCE, instances=instances, volumes=volumes, addresses=addresses)
    assert set(found) == {"i-stopped", "i-fresh"}
    f = found["i-stopped"]
    # 100 GB gp2 (10.00) + 50 GB io1 (6.25) + 1000 IOPS (65.00) + one public IPv4 (3.65)
    assert f.estimated_monthly_cost == Decimal("84.90")
    assert (
        f.severity == "high" and "45 days" in f.detail and "vol-data" in f.detail and "Elastic IP" in f.detail
    )
    assert found["i-fresh"].severity == "low" and found["i-fresh"].estimated_monthly_cost == 0


def test_state_since_reads_aws_and_emulator_formats() -> None:
    assert state_since("User initiated (2026-01-04 00:49:21 GMT)") == datetime(
        2026, 1, 4, 0, 49, 21, tzinfo=timezone.utc
    )
    assert state_since("User initiated (2026-01-04 00:49:21 UTC)") is not None
    assert state_since("") is None and state_since(None) is None


def test_unattached_volume_prices_storage_and_provisioned_performance() -> None:
    volumes = [
        Volume("vol-gp3", "gp3", 500, "available", iops=6000, throughput=250, created=ago(10)),
        Volume("vol-small", "standard", 10, "available"),
        Volume("vol-attached", "gp3", 500, "in-use", instance_ids=("i-1",)),
        Volume("vol-creating", "gp3", 500, "creating"),
    ]
    found = run(c.UNATTACHED_VOLUME, volumes=volumes)
    assert set(found) == {"vol-gp3", "vol-small"}
    # 500 x 0.08 + 3000 extra IOPS x 0.005 + 125 extra MiB/s x 0.04
    assert found["vol-gp3"].estimated_monthly_cost == Decimal("40") + Decimal("15") + Decimal("5")
    assert found["vol-gp3"].severity == "medium"
    assert found["vol-small"].estimated_monthly_cost == Decimal("0.5")


def test_unassociated_eip_only_when_nothing_uses_it() -> None:
    addresses = [
        Address("eipalloc-free", "1.1.1.1"),
        Address("eipalloc-vm", "2.2.2.2", "eipassoc-1", instance_id="i-1"),
        Address("eipalloc-nat", "3.3.3.3", "eipassoc-2", network_interface_id="eni-nat"),
    ]
    found = run(c.UNASSOCIATED_EIP, region="eu-west-1", addresses=addresses)
    assert set(found) == {"eipalloc-free"}
    assert found["eipalloc-free"].estimated_monthly_cost == Decimal("3.65")


def test_old_snapshot_severity_depends_on_the_source_volume() -> None:
    snapshots = [
        Snapshot("snap-orphan", "vol-gone", 100, ago(200)),
        Snapshot("snap-backup", "vol-live", 100, ago(120), full_size_bytes=20 * 1024**3),
        Snapshot("snap-recent", "vol-live", 100, ago(10)),
        Snapshot("snap-ami", None, 100, ago(400)),
        Snapshot("snap-archived", None, 100, ago(400), storage_tier="archive"),
    ]
    found = run(
        c.OLD_SNAPSHOT,
        snapshots=snapshots,
        volumes=[Volume("vol-live", "gp3", 100, "in-use")],
        image_snapshot_ids=frozenset({"snap-ami"}),
    )
    assert set(found) == {"snap-orphan", "snap-backup", "snap-archived"}
    assert found["snap-orphan"].severity == "medium" and "no longer exists" in found["snap-orphan"].detail
    assert found["snap-orphan"].estimated_monthly_cost == Decimal("5")  # upper bound: the volume size
    assert found["snap-backup"].severity == "low"
    assert found["snap-backup"].estimated_monthly_cost == Decimal("1")  # the full snapshot size, 20 GiB
    assert found["snap-archived"].estimated_monthly_cost == Decimal("1.25")


def test_gp2_volume_saving_accounts_for_iops_and_skips_other_findings() -> None:
    volumes = [
        Volume("vol-200", "gp2", 200, "in-use", instance_ids=("i-run",)),
        Volume("vol-2000", "gp2", 2000, "in-use", instance_ids=("i-run",)),
        Volume("vol-of-stopped", "gp2", 200, "in-use", instance_ids=("i-stop",)),
        Volume("vol-loose", "gp2", 200, "available"),
        Volume("vol-gp3", "gp3", 200, "in-use", instance_ids=("i-run",)),
    ]
    instances = [Instance("i-run", "t3.micro", "running"), Instance("i-stop", "t3.micro", "stopped")]
    found = run(c.GP2_VOLUME, volumes=volumes, instances=instances)
    assert set(found) == {"vol-200", "vol-2000"}
    assert found["vol-200"].estimated_monthly_cost == Decimal("4")  # 200 x (0.10 - 0.08)
    # 2000 GB: gp2 baseline 6000 IOPS -> 3000 extra gp3 IOPS at 0.005: 40 - 15
    assert found["vol-2000"].estimated_monthly_cost == Decimal("25")


def test_previous_generation_running_instances_with_the_price_gap() -> None:
    instances = [
        Instance("i-m4", "m4.large", "running"),
        Instance("i-t1", "t1.micro", "running"),
        Instance("i-g2", "g2.2xlarge", "running"),
        Instance("i-m4-stopped", "m4.large", "stopped"),
        Instance("i-m6i", "m6i.large", "running"),
    ]
    found = run(c.PREVIOUS_GENERATION, instances=instances)
    assert set(found) == {"i-m4", "i-t1", "i-g2"}
    assert found["i-m4"].estimated_monthly_cost == Decimal("0.004") * 730
    assert "m6i.large" in found["i-m4"].detail
    assert found["i-t1"].estimated_monthly_cost == (Decimal("0.02") - Decimal("0.0104")) * 730
    assert found["i-g2"].cost_basis == "unknown" and found["i-g2"].estimated_monthly_cost == 0
    assert current_generation_for("m3.medium") == "t3.medium"
    assert current_generation_for("c5.large") is None


def test_idle_load_balancer_has_no_registered_targets() -> None:
    lbs = [
        LoadBalancer("arn:alb-idle", "alb-idle", "application", ago(30), 0),
        LoadBalancer("clb-idle", "clb-idle", "classic", ago(30), 0),
        LoadBalancer("arn:alb-busy", "alb-busy", "application", ago(30), 3),
        LoadBalancer("clb-busy", "clb-busy", "classic", ago(30), 1),
    ]
    found = run(idle.IDLE_LOAD_BALANCER, load_balancers=lbs)
    assert set(found) == {"arn:alb-idle", "clb-idle"}
    assert found["arn:alb-idle"].estimated_monthly_cost == Decimal("0.0225") * 730
    assert found["clb-idle"].estimated_monthly_cost == Decimal("0.025") * 730


def test_idle_nat_gateway_without_traffic() -> None:
    nats = [
        NatGateway("nat-idle", "available", ago(60), Decimal(0)),
        NatGateway("nat-new", "available", ago(3), Decimal(0)),
        NatGateway("nat-busy", "available", ago(60), Decimal(10)),
        NatGateway("nat-deleted", "deleted", ago(60), None),
        NatGateway("nat-unmeasured", "available", ago(60), None),
    ]
    found = run(idle.IDLE_NAT_GATEWAY, region="ap-south-1", nat_gateways=nats)
    assert set(found) == {"nat-idle", "nat-new"}
    assert found["nat-idle"].severity == "medium" and found["nat-new"].severity == "low"
    assert found["nat-idle"].estimated_monthly_cost == Decimal("0.045") * 730
    assert "no table entry for ap-south-1" in found["nat-idle"].detail  # priced at us-east-1's, said so


def test_missing_required_tags_over_every_resource_kind() -> None:
    found = run(
        c.MISSING_REQUIRED_TAGS,
        instances=[
            Instance("i-bare", "m4.large", "running"),
            Instance("i-empty-tag", "z9.huge", "running", tags={"team": ""}),
            Instance("i-ok", "m4.large", "running", tags=TEAM),
            Instance("i-gone", "m4.large", "terminated"),
        ],
        volumes=[Volume("vol-bare", "gp2", 10, "in-use"), Volume("vol-ok", "gp2", 10, "in-use", tags=TEAM)],
        addresses=[Address("eipalloc-bare", "1.1.1.1")],
        snapshots=[Snapshot("snap-bare", None, 10, ago(1))],
        nat_gateways=[NatGateway("nat-bare", "available", ago(1), Decimal(1))],
        load_balancers=[LoadBalancer("clb-bare", "clb-bare", "classic", ago(1), 1)],
    )
    assert set(found) == {
        "i-bare",
        "i-empty-tag",
        "vol-bare",
        "eipalloc-bare",
        "snap-bare",
        "nat-bare",
        "clb-bare",
    }
    assert found["i-bare"].category == "governance" and found["i-bare"].resource_type == "ec2_instance"
    assert found["i-bare"].estimated_monthly_cost == Decimal("73")
    assert found["i-empty-tag"].cost_basis == "unknown"
    assert found["vol-bare"].estimated_monthly_cost == Decimal("1")


def test_missing_required_tags_does_nothing_without_required_tags() -> None:
    inv = Inventory(account_id="1", region="us-east-1", instances=[Instance("i-1", "t3.micro", "running")])
    assert list(c.MISSING_REQUIRED_TAGS.evaluate(AwsCheckContext(inventory=inv, now=NOW))) == []


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"])
def test_price_table_regions_are_exact_and_complete(region: str) -> None:
    p = prices_for(region)
    assert p.exact and set(p.ebs_gb_month) >= {"gp2", "gp3", "io1", "st1", "sc1", "standard"}
    assert set(p.load_balancer_hour) == {"application", "network", "gateway", "classic"}
    assert p.ebs_gb_month["gp3"] < p.ebs_gb_month["gp2"]
