"""Each gcp.* check alone, on hand-built contexts: positives and healthy look-alikes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from finops_mcp.providers.gcp import checks, prices
from finops_mcp.providers.gcp.checks import GcpAuditContext
from finops_mcp.providers.gcp.resources import (
    ADDRESS_RECOMMENDER,
    DISK_RECOMMENDER,
    INSTANCE_RECOMMENDER,
    Address,
    Disk,
    Image,
    Instance,
    Recommendation,
    Snapshot,
    monthly_saving,
    region_of,
    resource_path,
)

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
P = "projects/p"


def disk(
    name: str,
    size: int = 100,
    type_: str = "pd-balanced",
    users: tuple[str, ...] = (),
    zone: str = "us-central1-a",
) -> Disk:
    return Disk(f"{P}/zones/{zone}/disks/{name}", name, zone, size, type_, users)


def ctx(**kw: object) -> GcpAuditContext:
    return GcpAuditContext(project="p", now=NOW, **kw)  # type: ignore[arg-type]


def rec(recommender: str, resource: str, saving: str, location: str = "us-central1-a") -> Recommendation:
    return Recommendation(
        recommender, f"{P}/recs/{resource}", "Idle resource", resource, location, Decimal(saving), "USD"
    )


def test_unattached_disk_flags_only_disks_without_users_and_not_already_recommended() -> None:
    c = ctx(
        disks=(
            disk("orphan", 500, "pd-standard"),
            disk("attached", users=(f"{P}/zones/us-central1-a/instances/vm",)),
            disk("eu", 100, "pd-ssd", zone="europe-west1-b"),
            disk("covered"),
            disk("hyper", 100, "hyperdisk-balanced"),
        ),
        recommendations=(rec(DISK_RECOMMENDER, f"{P}/zones/us-central1-a/disks/covered", "10"),),
    )
    found = {f.resource_name: f for f in checks.UNATTACHED_DISK.evaluate(c)}
    assert set(found) == {"orphan", "eu", "hyper"}
    assert (
        found["orphan"].estimated_monthly_cost == Decimal("20.000")
        and found["orphan"].cost_basis == "list_price"
    )
    assert found["orphan"].region == "us-central1"
    assert found["eu"].estimated_monthly_cost == Decimal("0.170") * 100 * Decimal("1.1")
    assert found["hyper"].cost_basis == "unknown" and found["hyper"].estimated_monthly_cost == 0
    assert "no list price" in found["hyper"].detail


def test_regional_disks_cost_twice() -> None:
    regional = Disk(f"{P}/regions/us-central1/disks/r", "r", "us-central1", 10, "pd-ssd")
    (f,) = checks.UNATTACHED_DISK.evaluate(ctx(disks=(regional,)))
    assert f.estimated_monthly_cost == Decimal("3.400")


def test_stopped_instance_disks_sums_attached_disks_of_terminated_vms_only() -> None:
    vm_disks = (f"{P}/zones/us-central1-a/disks/boot", f"{P}/zones/us-central1-a/disks/data")
    c = ctx(
        instances=(
            Instance(
                f"{P}/zones/us-central1-a/instances/stopped",
                "stopped",
                "us-central1-a",
                "TERMINATED",
                vm_disks,
            ),
            Instance(
                f"{P}/zones/us-central1-a/instances/running", "running", "us-central1-a", "RUNNING", vm_disks
            ),
            Instance(
                f"{P}/zones/us-central1-a/instances/diskless", "diskless", "us-central1-a", "TERMINATED", ()
            ),
        ),
        disks=(disk("boot", 50), disk("data", 200, "pd-ssd")),
    )
    (f,) = list(checks.STOPPED_INSTANCE_DISKS.evaluate(c))
    assert f.resource_name == "stopped" and f.estimated_monthly_cost == Decimal("5.000") + Decimal("34.000")
    assert "boot (50 GB pd-balanced)" in f.detail and f.severity == "medium"


def test_unused_address_flags_reserved_external_addresses_only() -> None:
    def addr(name: str, status: str, kind: str = "EXTERNAL", region: str = "us-central1") -> Address:
        return Address(f"{P}/regions/{region}/addresses/{name}", name, "34.0.0.1", region, status, kind)

    c = ctx(
        addresses=(
            addr("reserved", "RESERVED"),
            addr("used", "IN_USE"),
            addr("internal", "RESERVED", "INTERNAL"),
            addr("global", "RESERVED", region="global"),
            addr("covered", "RESERVED"),
        ),
        recommendations=(
            rec(ADDRESS_RECOMMENDER, f"{P}/regions/us-central1/addresses/covered", "7", "us-central1"),
        ),
    )
    found = {f.resource_name: f for f in checks.UNUSED_ADDRESS.evaluate(c)}
    assert set(found) == {"reserved", "global"}
    assert found["reserved"].estimated_monthly_cost == prices.static_ip_month() == Decimal("7.300")
    assert found["global"].region is None


def test_old_snapshot_uses_age_threshold_and_stored_bytes() -> None:
    gib = 1024**3
    c = ctx(
        snapshots=(
            Snapshot(
                f"{P}/global/snapshots/old",
                "old",
                40 * gib,
                100,
                NOW - timedelta(days=120),
                f"{P}/zones/us-east1-b/disks/d",
            ),
            Snapshot(f"{P}/global/snapshots/new", "new", 40 * gib, 100, NOW - timedelta(days=89), ""),
            Snapshot(f"{P}/global/snapshots/undated", "undated", 40 * gib, 100, None, ""),
        )
    )
    (f,) = list(checks.OLD_SNAPSHOT.evaluate(c))
    assert (
        f.resource_name == "old" and f.estimated_monthly_cost == Decimal("2.000") and f.region == "us-east1"
    )
    assert "120 days old" in f.detail


@pytest.mark.parametrize(
    ("check", "recommender", "other"),
    [
        (checks.IDLE_VM, INSTANCE_RECOMMENDER, DISK_RECOMMENDER),
        (checks.IDLE_DISK, DISK_RECOMMENDER, ADDRESS_RECOMMENDER),
        (checks.IDLE_ADDRESS, ADDRESS_RECOMMENDER, INSTANCE_RECOMMENDER),
    ],
)
def test_recommender_checks_report_their_recommender_only(
    check: checks.Check, recommender: str, other: str
) -> None:  # type: ignore[type-arg]
    c = ctx(
        recommendations=(
            rec(recommender, f"{P}/zones/us-central1-a/x/mine", "150.5"),
            rec(other, f"{P}/x/other", "5"),
        )
    )
    (f,) = list(check.evaluate(c))
    assert f.resource_id.endswith("/mine") and f.cost_basis == "recommender" and f.severity == "high"
    assert f.estimated_monthly_cost == Decimal("150.5") and f.region == "us-central1"


def test_recommender_savings_normalized_to_30_days_and_helpers() -> None:
    assert monthly_saving(Decimal("-20"), timedelta(days=60)) == Decimal(10)
    assert monthly_saving(Decimal("5"), timedelta(days=30)) == 0  # a cost increase is no saving
    assert monthly_saving(Decimal("-3"), None) == Decimal(3)
    assert region_of("us-central1-a") == "us-central1" and region_of("europe-west1") == "europe-west1"
    assert region_of("global") == "global"
    assert (
        resource_path("//compute.googleapis.com/projects/p/zones/z/disks/d") == "projects/p/zones/z/disks/d"
    )


def test_every_check_is_declared_with_stable_ids_and_needs() -> None:
    ids = [c.id for c in checks.CHECKS]
    assert {
        "gcp.compute.idle_vm",
        "gcp.compute.idle_disk",
        "gcp.compute.idle_address",
        "gcp.compute.stopped_instance_disks",
        "gcp.compute.unattached_disk",
        "gcp.compute.unused_address",
        "gcp.compute.old_snapshot",
    } <= set(ids)
    assert all(c.needs for c in checks.CHECKS)


def test_unused_image_old_ready_and_no_disk_created_from_it() -> None:
    gib = 1024**3

    def image(name: str, days: int, gb: int = 20, status: str = "READY") -> Image:
        return Image(f"{P}/global/images/{name}", name, gb * gib, NOW - timedelta(days=days), status)

    used = Disk(
        f"{P}/zones/us-central1-a/disks/web-boot",
        "web-boot",
        "us-central1-a",
        20,
        "pd-balanced",
        source_image=f"{P}/global/images/base",
    )
    context = ctx(
        images=(
            image("stale", 400, gb=40),
            image("base", 400),  # healthy: a disk was created from it
            image("recent", 30),  # healthy: younger than the threshold
            image("broken", 400, status="FAILED"),  # healthy: not READY (nothing stored)
            Image(f"{P}/global/images/undated", "undated", gib, None, "READY"),  # no age: not judged
        ),
        disks=(used,),
    )
    found = {f.resource_name: f for f in checks.UNUSED_IMAGE.evaluate(context)}
    assert set(found) == {"stale"}
    assert found["stale"].estimated_monthly_cost == Decimal("2.000")  # 40 GiB x 0.05
    assert found["stale"].resource_id == f"{P}/global/images/stale" and found["stale"].region is None
    assert not list(
        checks.UNUSED_IMAGE.evaluate(ctx(images=context.images, disks=(used,), image_unused_days=500))
    )
