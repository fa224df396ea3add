"""The `gcp.*` audit checks: each a `Check` over a `GcpAuditContext` (one project's inventory, already
narrowed to the audit unit's region), a pure function tested on its own.

Recommender checks (`cost_basis: recommender`) report Google's idle-resource recommendations with
their own cost projection (`primary_impact.cost_projection`, negative = saving) normalized to 30
days. Compute checks price resources with the dated list-price table in `prices`
(`cost_basis: list_price`).

No double counting: when the recommender checks run too, `gcp.compute.unattached_disk` and
`gcp.compute.unused_address` skip resources that an idle-resource recommendation already reports.

Imports no SDK (the engine imports this module to list checks).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from finops_mcp.models import CheckCategory, Finding
from finops_mcp.money import money as _money
from finops_mcp.providers.base import Check, Ladder, Param, inventory_check, native_check
from finops_mcp.providers.gcp import prices
from finops_mcp.providers.gcp.anomalies import DAILY_ANOMALY
from finops_mcp.providers.gcp.resources import (
    ADDRESS_RECOMMENDER,
    COMMITMENT_RECOMMENDER,
    DISK_RECOMMENDER,
    IMAGE_RECOMMENDER,
    INSTANCE_RECOMMENDER,
    MACHINE_TYPE_RECOMMENDER,
    RECOMMENDERS,
    SQL_IDLE_RECOMMENDER,
    SQL_OVERPROVISIONED_RECOMMENDER,
    Address,
    Disk,
    Image,
    Instance,
    Recommendation,
    Snapshot,
)

SNAPSHOT_MAX_AGE_DAYS = 90
IMAGE_UNUSED_DAYS = 180
STOPPED_STATES = ("TERMINATED", "SUSPENDED")


@dataclass(frozen=True)
class GcpAuditContext:
    project: str
    now: datetime
    instances: tuple[Instance, ...] = ()
    disks: tuple[Disk, ...] = ()
    addresses: tuple[Address, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()
    images: tuple[Image, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    snapshot_max_age_days: int = SNAPSHOT_MAX_AGE_DAYS
    image_unused_days: int = IMAGE_UNUSED_DAYS

    @property
    def scope(self) -> str:
        return f"gcp-project:{self.project}"

    @property
    def recommended(self) -> frozenset[str]:
        return frozenset(r.resource for r in self.recommendations)


BY_COST = Ladder(((100, "high"), (20, "medium")), "low")
COMPUTE_NEEDS = {  # inventory kind -> the permission its aggregated / global list takes
    "instances": "compute.instances.list",
    "disks": "compute.disks.list",
    "addresses": "compute.addresses.list",
    "snapshots": "compute.snapshots.list",
    "images": "compute.images.list",
}
REGIONS = Param(
    "gcp_recommender_regions",
    "Regions asked for Cloud SQL / committed-use recommendations (empty: the project's Compute regions).",
)


def _reads(*needs: str) -> tuple[str, ...]:
    """The permissions listing `needs` takes (inventory kinds and recommenders)."""
    return tuple(COMPUTE_NEEDS[n] if n in COMPUTE_NEEDS else RECOMMENDERS[n].permission for n in needs)


# A check over the Compute inventory (its needs, listed with `_reads` of them), priced at list price
# and graded by cost.
_listed_check = partial(inventory_check, basis="list_price", ladder=BY_COST)


def money(value: Decimal, currency: str = prices.CURRENCY) -> str:
    return _money(value, currency)


def _finding(
    check: Check[GcpAuditContext], ctx: GcpAuditContext, resource: Any, detail: str, monthly: Decimal | None
) -> Finding:
    """A finding on an inventoried `resource` (its path, name, region and labels), priced by
    `monthly` at list price (None: no price known, `unknown` at 0)."""
    region = resource.region
    return check.finding(
        scope=ctx.scope,
        region=region if region and region != "global" else None,
        resource_id=resource.path,
        resource_name=resource.name,
        detail=detail,
        cost=monthly if monthly is not None else Decimal(0),
        cost_basis=None if monthly is not None else "unknown",
        currency=prices.CURRENCY,
        tags=resource.labels,
    )


def _price_note(monthly: Decimal | None, what: str) -> str:
    if monthly is None:
        version = prices.PRICE_TABLE_VERSION
        return f" {what} has no list price in finops-mcp's table (version {version}): not priced."
    return f" List price ~{money(monthly)}/month (price table {prices.PRICE_TABLE_VERSION})."


# ---------------------------------------------------------------------------------------------
# Recommender: gcp.compute.idle_vm / idle_disk / idle_address
# ---------------------------------------------------------------------------------------------


def _recommender_check(
    check_id: str,
    recommender: str,
    kind: str | None,
    resource_type: str,
    title: str,
    what: str,
    recommendation: str,
    *,
    about: str | None = None,
    category: CheckCategory = "waste",
    params: tuple[Param, ...] = (),
) -> Check[GcpAuditContext]:
    """A check reporting one recommender's findings (`kind`: the inventory listing that tells the
    provider which locations to ask; None when the locations come from elsewhere)."""

    def evaluate(ctx: GcpAuditContext) -> Iterator[Finding]:
        for rec in ctx.recommendations:
            if rec.recommender != recommender:
                continue
            name = rec.resource.rsplit("/", 1)[-1] or rec.name.rsplit("/", 1)[-1]
            detail = (
                f"{rec.description or f'Idle {what}'} (Recommender {recommender}"
                + (f", {rec.subtype}" if rec.subtype else "")
                + f"): saves ~{money(rec.monthly_saving, rec.currency)} per 30 days "
                "per Google's cost projection."
            )
            yield check.finding(
                scope=ctx.scope,
                region=rec.region if rec.region and rec.region != "global" else None,
                resource_id=rec.resource or rec.name,
                resource_name=name,
                detail=detail,
                cost=rec.monthly_saving,
                currency=rec.currency,
            )

    regions_text = (
        " Asked in FINOPS_GCP_RECOMMENDER_REGIONS, else in the regions of the project's Compute resources."
        if REGIONS in params
        else ""
    )
    description = (
        (about or f"Active idle-resource recommendations ({recommender}) for {what}s")
        + ", priced with the recommendation's cost projection normalized to 30 days."
        + regions_text
    )
    kinds = (kind,) if kind else ()
    check: Check[GcpAuditContext] = native_check(
        check_id,
        title,
        description,
        resource_type,
        recommendation,
        evaluate,
        recommender,
        _reads(*kinds, recommender),
        f"Google Recommender {recommender}",
        category=category,
        params=params,
        also_needs=kinds,
    )
    return check


IDLE_VM = _recommender_check(
    "gcp.compute.idle_vm",
    INSTANCE_RECOMMENDER,
    "instances",
    "compute.instance",
    "Idle VM instance (Recommender)",
    "VM instance",
    "Stop or delete the idle VM (snapshot its disks first if you may need them), or downsize it.",
)
IDLE_DISK = _recommender_check(
    "gcp.compute.idle_disk",
    DISK_RECOMMENDER,
    "disks",
    "compute.disk",
    "Idle persistent disk (Recommender)",
    "persistent disk",
    "Snapshot the disk if its data may be needed, then delete it.",
)
IDLE_ADDRESS = _recommender_check(
    "gcp.compute.idle_address",
    ADDRESS_RECOMMENDER,
    "addresses",
    "compute.address",
    "Idle IP address (Recommender)",
    "IP address",
    "Release the reserved address if nothing will use it.",
)


# ---------------------------------------------------------------------------------------------
# gcp.compute.stopped_instance_disks
# ---------------------------------------------------------------------------------------------


def evaluate_stopped_instance_disks(ctx: GcpAuditContext) -> Iterator[Finding]:
    disks = {d.path: d for d in ctx.disks}
    for inst in ctx.instances:
        if inst.status not in STOPPED_STATES:
            continue
        attached = [disks[p] for p in inst.disks if p in disks]
        if not attached:
            continue
        priced = [(d, prices.disk_month(d.type, d.size_gb, d.region, d.regional)) for d in attached]
        known = [m for _, m in priced if m is not None]
        monthly = sum(known, Decimal(0)) if known else None
        parts = ", ".join(f"{d.name} ({d.size_gb} GB {d.type})" for d in attached)
        since = f" since {inst.last_stop:%Y-%m-%d}" if inst.last_stop else ""
        unpriced = [d.name for d, m in priced if m is None]
        detail = (
            f"Instance {inst.name} is {inst.status}{since} but its {len(attached)} persistent disk(s) still "
            f"bill: {parts}." + _price_note(monthly, "no attached disk type")
        )
        if unpriced and known:
            detail += f" Not priced: {', '.join(unpriced)}."
        yield _finding(STOPPED_INSTANCE_DISKS, ctx, inst, detail, monthly)


STOPPED_INSTANCE_DISKS = _listed_check(
    "gcp.compute.stopped_instance_disks",
    "Stopped VM with disks still billing",
    "VM instances in state TERMINATED (stopped) or SUSPENDED whose attached persistent disks "
    "keep billing for their provisioned capacity; priced at list price per disk type and region.",
    "compute.instance",
    "medium",
    "Delete the stopped VM and its disks if it is no longer needed (snapshot first to keep "
    "the data at a lower price), or restart it if it should be running.",
    evaluate_stopped_instance_disks,
    ("instances", "disks"),
    _reads("instances", "disks"),
)


# ---------------------------------------------------------------------------------------------
# gcp.compute.unattached_disk
# ---------------------------------------------------------------------------------------------


def evaluate_unattached_disk(ctx: GcpAuditContext) -> Iterator[Finding]:
    covered = ctx.recommended
    for disk in ctx.disks:
        if disk.users or disk.path in covered:
            continue
        monthly = prices.disk_month(disk.type, disk.size_gb, disk.region, disk.regional)
        since = disk.last_detach or disk.created
        when = f" (unattached since {since:%Y-%m-%d})" if since else ""
        detail = (
            f"Persistent disk {disk.name} ({disk.size_gb} GB {disk.type}"
            + (", regional" if disk.regional else "")
            + f") is attached to no instance{when}."
            + _price_note(monthly, f"Disk type {disk.type}")
        )
        yield _finding(UNATTACHED_DISK, ctx, disk, detail, monthly)


UNATTACHED_DISK = _listed_check(
    "gcp.compute.unattached_disk",
    "Unattached persistent disk",
    "Persistent disks attached to no VM (no users), billed for their provisioned capacity; "
    "priced at list price per disk type and region.",
    "compute.disk",
    "medium",
    "Snapshot the disk if its data may be needed, then delete it.",
    evaluate_unattached_disk,
    ("disks",),
    _reads("disks"),
)


# ---------------------------------------------------------------------------------------------
# gcp.compute.unused_address
# ---------------------------------------------------------------------------------------------


def evaluate_unused_address(ctx: GcpAuditContext) -> Iterator[Finding]:
    covered = ctx.recommended
    for addr in ctx.addresses:
        if addr.status != "RESERVED" or addr.address_type != "EXTERNAL" or addr.path in covered:
            continue
        monthly = prices.static_ip_month()
        where = "global" if addr.region == "global" else f"regional ({addr.region})"
        detail = (
            f"Static external IP {addr.address or addr.name} ({where}) is reserved but not in use: unused "
            f"addresses bill {money(prices.STATIC_IP_UNUSED_HOUR)}/hour." + _price_note(monthly, "")
        )
        yield _finding(UNUSED_ADDRESS, ctx, addr, detail, monthly)


UNUSED_ADDRESS = _listed_check(
    "gcp.compute.unused_address",
    "Reserved external IP not in use",
    "Static external IP addresses with status RESERVED (reserved, attached to nothing); "
    "priced at the list price of an unused static IP.",
    "compute.address",
    "low",
    "Release the address if nothing will use it (a released address cannot be recovered).",
    evaluate_unused_address,
    ("addresses",),
    _reads("addresses"),
)


# ---------------------------------------------------------------------------------------------
# gcp.compute.old_snapshot
# ---------------------------------------------------------------------------------------------


def evaluate_old_snapshot(ctx: GcpAuditContext) -> Iterator[Finding]:
    for snap in ctx.snapshots:
        if snap.created is None:
            continue
        age = (ctx.now - snap.created).days
        if age < ctx.snapshot_max_age_days:
            continue
        monthly = prices.snapshot_month(snap.storage_bytes, snap.archive)
        source = snap.source_disk.rsplit("/", 1)[-1] if snap.source_disk else "a deleted disk"
        detail = (
            f"Snapshot {snap.name} of {source} is {age} days old (created {snap.created:%Y-%m-%d}); "
            f"it stores {Decimal(snap.storage_bytes) / prices.GB:.1f} GiB"
            + (" (archive)" if snap.archive else "")
            + "."
            + _price_note(monthly, "")
        )
        yield _finding(OLD_SNAPSHOT, ctx, snap, detail, monthly)


OLD_SNAPSHOT = _listed_check(
    "gcp.compute.old_snapshot",
    "Old disk snapshot",
    "Disk snapshots older than FINOPS_GCP_SNAPSHOT_MAX_AGE_DAYS (90) days, priced at the list "
    "price of their stored bytes.",
    "compute.snapshot",
    "low",
    "Delete snapshots no retention policy requires; use a snapshot schedule with a retention "
    "period, or archive snapshots for long-term copies.",
    evaluate_old_snapshot,
    ("snapshots",),
    _reads("snapshots"),
    params=(Param("gcp_snapshot_max_age_days", "Report snapshots older than this many days."),),
)


# ---------------------------------------------------------------------------------------------
# gcp.compute.unused_image
# ---------------------------------------------------------------------------------------------


def evaluate_unused_image(ctx: GcpAuditContext) -> Iterator[Finding]:
    used = {d.source_image for d in ctx.disks if d.source_image}
    for image in ctx.images:
        age = None if image.created is None else (ctx.now - image.created).days
        if image.status != "READY" or age is None or age < ctx.image_unused_days or image.path in used:
            continue
        monthly = prices.image_month(image.archive_bytes)
        family = f" (family {image.family})" if image.family else ""
        state = f", {image.deprecated.lower()}" if image.deprecated and image.deprecated != "ACTIVE" else ""
        detail = (
            f"Custom image {image.name}{family} is {age} days old{state} and no disk of the project was "
            f"created from it; it stores {Decimal(image.archive_bytes) / prices.GB:.1f} GiB."
            + _price_note(monthly, "")
        )
        yield _finding(UNUSED_IMAGE, ctx, image, detail, monthly)


UNUSED_IMAGE = _listed_check(
    "gcp.compute.unused_image",
    "Stale custom image no disk uses",
    "READY custom images older than FINOPS_GCP_IMAGE_UNUSED_DAYS (180) days that are the "
    "source image of no persistent disk in the project (from the image and disk lists); priced at the "
    "list price of their archive size per GB-month. Instance templates and other projects are not "
    "looked at: an image only they use still looks unused.",
    "compute.image",
    "low",
    "Check that no instance template, managed instance group or other project uses the "
    "image, then deprecate it and delete it (or keep only the newest image of each family).",
    evaluate_unused_image,
    ("images", "disks"),
    _reads("images", "disks"),
    params=(Param("gcp_image_unused_days", "Report images older than this many days that no disk uses."),),
)


# ---------------------------------------------------------------------------------------------
# Recommender: gcp.rightsizing.* and gcp.commitment.*
# ---------------------------------------------------------------------------------------------

MACHINE_TYPE = _recommender_check(
    "gcp.rightsizing.machine_type",
    MACHINE_TYPE_RECOMMENDER,
    "instances",
    "compute.instance",
    "VM to resize to a smaller machine type (Recommender)",
    "VM instance",
    "Change the machine type to the recommended one (stop, set machine type, start) at a maintenance window.",
    about=f"Active machine-type recommendations ({MACHINE_TYPE_RECOMMENDER}) for running VMs",
)
SQL_IDLE = _recommender_check(
    "gcp.rightsizing.cloudsql_idle",
    SQL_IDLE_RECOMMENDER,
    None,
    "cloudsql.instance",
    "Idle Cloud SQL instance (Recommender)",
    "Cloud SQL instance",
    "Stop the idle instance (or export its data and delete it) if nothing uses it.",
    about=f"Active idle-instance recommendations ({SQL_IDLE_RECOMMENDER}) for Cloud SQL",
    params=(REGIONS,),
)
SQL_OVERPROVISIONED = _recommender_check(
    "gcp.rightsizing.cloudsql_overprovisioned",
    SQL_OVERPROVISIONED_RECOMMENDER,
    None,
    "cloudsql.instance",
    "Overprovisioned Cloud SQL instance (Recommender)",
    "Cloud SQL instance",
    "Resize the instance to the recommended vCPUs / memory during a maintenance window.",
    about=f"Active overprovisioned-instance recommendations ({SQL_OVERPROVISIONED_RECOMMENDER}) for "
    "Cloud SQL",
    params=(REGIONS,),
)
IDLE_IMAGE = _recommender_check(
    "gcp.rightsizing.idle_image",
    IMAGE_RECOMMENDER,
    None,
    "compute.image",
    "Unused custom image (Recommender)",
    "custom image",
    "Delete images no instance template or team uses any more (or deprecate them first).",
    about=f"Active idle-resource recommendations ({IMAGE_RECOMMENDER}) for custom images not used for "
    "a long time",
)
USAGE_COMMITMENT = _recommender_check(
    "gcp.commitment.usage",
    COMMITMENT_RECOMMENDER,
    None,
    "compute.commitment",
    "Committed use discount to buy (Recommender)",
    "committed use discount",
    "Buy the recommended resource-based commitment for the steady part of the usage, after rightsizing.",
    about=f"Active committed-use purchase recommendations ({COMMITMENT_RECOMMENDER}) for Compute Engine "
    "(category commitment: shown, not counted as waste)",
    category="commitment",
    params=(REGIONS,),
)


CHECKS: tuple[Check[GcpAuditContext], ...] = (
    IDLE_VM,
    IDLE_DISK,
    IDLE_ADDRESS,
    STOPPED_INSTANCE_DISKS,
    UNATTACHED_DISK,
    UNUSED_ADDRESS,
    OLD_SNAPSHOT,
    UNUSED_IMAGE,
    MACHINE_TYPE,
    SQL_IDLE,
    SQL_OVERPROVISIONED,
    IDLE_IMAGE,
    USAGE_COMMITMENT,
)

# checks over the billing export rather than a project's inventory (see `providers.gcp.anomalies`)
ACCOUNT_WIDE: tuple[Check[Any], ...] = (DAILY_ANOMALY,)
