"""The `aws.*` checks over the inventory (instances, volumes, snapshots, addresses, log groups,
tags): each a `Check` over an `AwsCheckContext` (see `check_context`), priced from the dated
list-price table in `prices` (`cost_basis: list_price`). `CHECKS` lists every regional `aws.*`
check: these, the idle-resource ones (`idle_checks`) and AWS's own recommendations
(`native_checks`).

Overlaps are avoided so `estimated_monthly_waste` does not count a dollar twice: the gp2 check
leaves out unattached volumes and volumes of stopped instances (their whole cost is already a
finding), and the previous-generation check only looks at running instances.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from finops_mcp.models import Finding, Severity
from finops_mcp.providers.aws import inventory as inv
from finops_mcp.providers.aws.anomalies import COST_ANOMALY
from finops_mcp.providers.aws.check_context import HIGH_MONTHLY, AwsCheckContext, hourly, money
from finops_mcp.providers.aws.idle_checks import IDLE_DATABASE, IDLE_LOAD_BALANCER, IDLE_NAT_GATEWAY
from finops_mcp.providers.aws.inventory import Instance, Snapshot, Volume
from finops_mcp.providers.aws.native_checks import NATIVE_CHECKS
from finops_mcp.providers.aws.prices import (
    LOGS_GB_MONTH,
    PRICE_TABLE_VERSION,
    RegionPrices,
    current_generation_for,
    instance_hour,
)
from finops_mcp.providers.base import Check, Ladder, Param

GIB = Decimal(1024**3)
GP2_MAX_IOPS = 16000
GP3_FREE_IOPS = 3000
RUNNING = ("pending", "running")


def volume_monthly(volume: Volume, prices: RegionPrices) -> Decimal:
    """Storage plus provisioned IOPS / throughput of a volume, per month."""
    per_gb = prices.ebs_gb_month.get(volume.volume_type, prices.ebs_gb_month["gp2"])
    cost = per_gb * volume.size_gb
    if volume.volume_type in ("io1", "io2") and volume.iops:
        cost += prices.io_iops_month * volume.iops
    if volume.volume_type == "gp3":
        cost += prices.gp3_iops_month * max(0, (volume.iops or GP3_FREE_IOPS) - GP3_FREE_IOPS)
        cost += prices.gp3_mibps_month * max(0, (volume.throughput or 125) - 125)
    return cost


def snapshot_gb(snapshot: Snapshot) -> tuple[Decimal, bool]:
    """(billed GB estimate, exact): the full snapshot size when AWS reports it, else the volume
    size, an upper bound (snapshots are incremental)."""
    if snapshot.full_size_bytes:
        return Decimal(snapshot.full_size_bytes) / GIB, True
    return Decimal(snapshot.size_gb), False


def snapshot_monthly(snapshot: Snapshot, prices: RegionPrices) -> Decimal:
    rate = (
        prices.snapshot_archive_gb_month if snapshot.storage_tier == "archive" else prices.snapshot_gb_month
    )
    return snapshot_gb(snapshot)[0] * rate


# ------------------------------------------------------------------------ aws.ec2.stopped_instance


def evaluate_stopped_instance(ctx: AwsCheckContext) -> Iterator[Finding]:
    inventory, prices = ctx.inventory, ctx.prices
    for instance in inventory.instances:
        if instance.state != "stopped":
            continue
        ids = set(instance.volume_ids) | {v.id for v in inventory.volumes if instance.id in v.instance_ids}
        volumes = [v for v in inventory.volumes if v.id in ids]
        ips = [a for a in inventory.addresses if a.instance_id == instance.id]
        cost = sum((volume_monthly(v, prices) for v in volumes), Decimal(0))
        cost += hourly(prices.public_ipv4_hour) * len(ips)
        days = ctx.days_since(instance.state_since)
        since = (
            f"since {instance.state_since:%Y-%m-%d} ({days} days)" if days is not None else "(since unknown)"
        )
        parts = [f"{v.id} {v.volume_type} {v.size_gb} GiB" for v in volumes]
        keeps = f"{len(volumes)} EBS volume(s) ({', '.join(parts)})" if volumes else "no EBS volume"
        if ips:
            keeps += f" and {len(ips)} Elastic IP(s)"
        detail = (
            f"{instance.instance_type} instance stopped {since}: no compute charge, but it still pays for "
            f"{keeps}: {money(cost)} per month." + ctx.price_note()
        )
        severity = STOPPED_LADDER.grade(days) if days is not None else STOPPED_INSTANCE.severity
        yield ctx.finding(
            STOPPED_INSTANCE,
            instance.id,
            detail,
            cost,
            severity=severity,
            name=instance.name,
            tags=instance.tags,
        )


STOPPED_LADDER = Ladder(((30, "high"), (7, "medium")), "low", "days stopped; unknown: `medium`")

STOPPED_INSTANCE: Check[AwsCheckContext] = Check(
    id="aws.ec2.stopped_instance",
    title="Stopped EC2 instance still paying for storage",
    description="Stopped instances: no compute charge, but their EBS volumes (and Elastic IPs) keep "
    "billing. Reports how long each has been stopped (from StateTransitionReason).",
    resource_type="ec2_instance",
    severity="medium",
    cost_basis="list_price",
    recommendation="If it is no longer needed, create an AMI or snapshot and terminate it (deleting its "
    "volumes); otherwise start using it or shrink its volumes.",
    evaluate=evaluate_stopped_instance,
    ladder=STOPPED_LADDER,
    needs=frozenset({inv.INSTANCES, inv.VOLUMES, inv.ADDRESSES}),
    permissions=("ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeAddresses"),
)


# ------------------------------------------------------------------------ aws.ebs.unattached_volume


def evaluate_unattached_volume(ctx: AwsCheckContext) -> Iterator[Finding]:
    for volume in ctx.inventory.volumes:
        if volume.state != "available":
            continue
        cost = volume_monthly(volume, ctx.prices)
        age = ctx.days_since(volume.created)
        created = f", created {volume.created:%Y-%m-%d} ({age} days ago)" if volume.created else ""
        detail = (
            f"{volume.volume_type} volume of {volume.size_gb} GiB attached to no instance{created}: "
            f"{money(cost)} per month." + ctx.price_note()
        )
        yield ctx.finding(UNATTACHED_VOLUME, volume.id, detail, cost, tags=volume.tags)


UNATTACHED_VOLUME: Check[AwsCheckContext] = Check(
    id="aws.ebs.unattached_volume",
    title="Unattached EBS volume",
    description="EBS volumes in the 'available' state (attached to no instance), priced for storage "
    "and provisioned IOPS / throughput.",
    resource_type="ebs_volume",
    severity="medium",
    cost_basis="list_price",
    recommendation="Snapshot it if the data may be needed, then delete the volume.",
    evaluate=evaluate_unattached_volume,
    ladder=Ladder(((HIGH_MONTHLY, "high"),), "medium"),
    needs=frozenset({inv.VOLUMES}),
    permissions=("ec2:DescribeVolumes",),
)


# ------------------------------------------------------------------------ aws.ec2.unassociated_eip


def evaluate_unassociated_eip(ctx: AwsCheckContext) -> Iterator[Finding]:
    cost = hourly(ctx.prices.public_ipv4_hour)
    for address in ctx.inventory.addresses:
        if address.associated:
            continue
        detail = (
            f"Elastic IP {address.public_ip} is associated with nothing; every public IPv4 address is billed "
            f"{ctx.prices.public_ipv4_hour} USD per hour: {money(cost)} per month." + ctx.price_note()
        )
        yield ctx.finding(UNASSOCIATED_EIP, address.id, detail, cost, tags=address.tags)


UNASSOCIATED_EIP: Check[AwsCheckContext] = Check(
    id="aws.ec2.unassociated_eip",
    title="Unassociated Elastic IP",
    description="Elastic IP addresses not associated with an instance or network interface.",
    resource_type="elastic_ip",
    severity="low",
    cost_basis="list_price",
    recommendation="Release the address if nothing depends on it (DNS records, allowlists).",
    evaluate=evaluate_unassociated_eip,
    needs=frozenset({inv.ADDRESSES}),
    permissions=("ec2:DescribeAddresses",),
)


# ------------------------------------------------------------------------ aws.ebs.old_snapshot


def evaluate_old_snapshot(ctx: AwsCheckContext) -> Iterator[Finding]:
    volume_ids = {v.id for v in ctx.inventory.volumes}
    for snapshot in ctx.inventory.snapshots:
        age = ctx.days_since(snapshot.started)
        if age is None or age < ctx.snapshot_max_age_days or snapshot.id in ctx.inventory.image_snapshot_ids:
            continue
        gone = snapshot.volume_id is None or snapshot.volume_id not in volume_ids
        gb, exact = snapshot_gb(snapshot)
        cost = snapshot_monthly(snapshot, ctx.prices)
        source = (
            f"its source volume {snapshot.volume_id or '(unknown)'} no longer exists"
            if gone
            else f"its source volume {snapshot.volume_id} still exists"
        )
        size = (
            f"{gb:,.1f} GiB"
            if exact
            else f"up to {snapshot.size_gb} GiB (the volume size; snapshots are incremental)"
        )
        detail = (
            f"Snapshot {age} days old (threshold {ctx.snapshot_max_age_days}), {size}, "
            f"{snapshot.storage_tier} tier; {source}: about {money(cost)} per month." + ctx.price_note()
        )
        severity: Severity = "medium" if gone else "low"  # an orphan is worth a closer look
        yield ctx.finding(OLD_SNAPSHOT, snapshot.id, detail, cost, severity=severity, tags=snapshot.tags)


OLD_SNAPSHOT: Check[AwsCheckContext] = Check(
    id="aws.ebs.old_snapshot",
    title="Old EBS snapshot",
    description="Snapshots owned by the account older than FINOPS_AWS_SNAPSHOT_MAX_AGE_DAYS (90), "
    "not backing one of its AMIs; medium severity when the source volume is gone (an orphan), low "
    "otherwise.",
    resource_type="ebs_snapshot",
    severity="low",
    cost_basis="list_price",
    recommendation="Delete snapshots no retention policy needs (or let Data Lifecycle Manager / AWS Backup "
    "expire them); move long-term ones to the archive tier.",
    evaluate=evaluate_old_snapshot,
    needs=frozenset({inv.SNAPSHOTS, inv.VOLUMES, inv.IMAGES}),
    params=(Param("aws_snapshot_max_age_days", "Report snapshots older than this many days."),),
    permissions=("ec2:DescribeSnapshots", "ec2:DescribeVolumes", "ec2:DescribeImages"),
)


# ------------------------------------------------------------------------ aws.ebs.gp2_volume


def gp2_saving(volume: Volume, prices: RegionPrices) -> tuple[Decimal, int]:
    """(monthly saving of gp3 over gp2 at the same size and baseline IOPS, extra gp3 IOPS needed)."""
    gp2_iops = min(max(100, 3 * volume.size_gb), GP2_MAX_IOPS)
    extra_iops = max(0, gp2_iops - GP3_FREE_IOPS)
    gp2 = prices.ebs_gb_month["gp2"] * volume.size_gb
    gp3 = prices.ebs_gb_month["gp3"] * volume.size_gb + prices.gp3_iops_month * extra_iops
    return gp2 - gp3, extra_iops


def evaluate_gp2_volume(ctx: AwsCheckContext) -> Iterator[Finding]:
    stopped = {i.id for i in ctx.inventory.instances if i.state == "stopped"}
    for volume in ctx.inventory.volumes:
        if volume.volume_type != "gp2" or volume.state != "in-use":
            continue
        if stopped.intersection(volume.instance_ids):
            continue
        saving, extra_iops = gp2_saving(volume, ctx.prices)
        if saving <= 0:
            continue
        iops = (
            f" with {extra_iops} IOPS provisioned above gp3's 3,000 to match gp2's baseline"
            if extra_iops
            else ""
        )
        detail = (
            f"gp2 volume of {volume.size_gb} GiB: the same size as gp3{iops} costs {money(saving)} less per "
            "month (gp3's 125 MiB/s baseline throughput may need raising for throughput-bound workloads)."
            + ctx.price_note()
        )
        yield ctx.finding(GP2_VOLUME, volume.id, detail, saving, tags=volume.tags)


GP2_VOLUME: Check[AwsCheckContext] = Check(
    id="aws.ebs.gp2_volume",
    title="gp2 volume that would be cheaper as gp3",
    description="In-use gp2 volumes (not of a stopped instance): gp3 is about 20% cheaper per GB with "
    "3,000 IOPS included. The estimate is the monthly saving at the same size and baseline IOPS.",
    resource_type="ebs_volume",
    severity="low",
    cost_basis="list_price",
    recommendation="Modify the volume to gp3 (online, no detach); set IOPS / throughput if the workload "
    "needs more than gp3's baseline.",
    evaluate=evaluate_gp2_volume,
    needs=frozenset({inv.VOLUMES, inv.INSTANCES}),
    permissions=("ec2:DescribeVolumes", "ec2:DescribeInstances"),
)


# -------------------------------------------------------------- aws.ec2.previous_generation_instance


def evaluate_previous_generation(ctx: AwsCheckContext) -> Iterator[Finding]:
    region = ctx.inventory.region
    for instance in ctx.inventory.instances:
        if instance.state not in RUNNING:
            continue
        target = current_generation_for(instance.instance_type)
        if target is None:
            continue
        yield _previous_generation_finding(ctx, instance, target, region)


def _previous_generation_finding(
    ctx: AwsCheckContext, instance: Instance, target: str, region: str
) -> Finding:
    old, exact = instance_hour(instance.instance_type, region)
    new, _ = instance_hour(target, region)
    where = (
        "" if exact else f" (us-east-1 on-demand Linux prices, table {PRICE_TABLE_VERSION}; {region} differs)"
    )
    detail = f"{instance.instance_type} is a previous-generation type; current generation: {target}."
    if old is not None and new is not None:
        saving = max(Decimal(0), hourly(old - new))
        detail += (
            f" On-demand {old} vs {new} USD per hour: {money(saving)} less per month{where}, with better "
            "price-performance."
        )
        return ctx.finding(
            PREVIOUS_GENERATION, instance.id, detail, saving, name=instance.name, tags=instance.tags
        )
    detail += " No list price in the table for this pair: saving not estimated."
    return ctx.finding(
        PREVIOUS_GENERATION,
        instance.id,
        detail,
        Decimal(0),
        name=instance.name,
        tags=instance.tags,
        cost_basis="unknown",
    )


PREVIOUS_GENERATION: Check[AwsCheckContext] = Check(
    id="aws.ec2.previous_generation_instance",
    title="Previous-generation EC2 instance",
    description="Running instances of previous-generation families (t1, m1-m4, c1-c4, r3-r4, i2, d2, g2-g3, "
    "p2, x1, ...). The estimate is the on-demand price difference with the suggested current type.",
    resource_type="ec2_instance",
    severity="low",
    cost_basis="list_price",
    recommendation="Move to the suggested current-generation type (or Graviton) at the next maintenance "
    "window; check the AMI supports it (ENA / NVMe drivers).",
    evaluate=evaluate_previous_generation,
    needs=frozenset({inv.INSTANCES}),
    permissions=("ec2:DescribeInstances",),
)


# ------------------------------------------------------------------------ aws.logs.no_retention


def evaluate_log_group_without_retention(ctx: AwsCheckContext) -> Iterator[Finding]:
    for group in ctx.inventory.log_groups:
        if group.retention_days is not None or group.stored_bytes <= 0:
            continue
        gb = Decimal(group.stored_bytes) / GIB
        cost = gb * LOGS_GB_MONTH
        age = ctx.days_since(group.created)
        since = f", created {group.created:%Y-%m-%d} ({age} days ago)" if group.created else ""
        detail = (
            f"Log group {group.name!r} never expires its events{since}: it stores {gb:,.2f} GiB, "
            f"{money(cost)} per month at {LOGS_GB_MONTH} USD per GB-month, and grows with every event "
            f"(list price {PRICE_TABLE_VERSION}, us-east-1)."
        )
        yield ctx.finding(LOG_GROUP_RETENTION, group.arn or group.name, detail, cost, name=group.name)


LOG_GROUP_RETENTION: Check[AwsCheckContext] = Check(
    id="aws.logs.no_retention",
    title="CloudWatch log group that never expires its events",
    description="Log groups with no retention setting (Never expire) holding stored data, priced at the "
    "monthly storage of what they hold today (CloudWatch Logs archived storage, per GB-month). Empty "
    "groups are left out. Category governance: the storage is real, but how much of it may go is a "
    "retention decision.",
    resource_type="log_group",
    severity="low",
    cost_basis="list_price",
    recommendation="Set a retention period (e.g. 30-90 days, or what your compliance rules require); "
    "export what must be kept longer to S3.",
    evaluate=evaluate_log_group_without_retention,
    category="governance",
    ladder=Ladder(((HIGH_MONTHLY, "high"), (Decimal(20), "medium")), "low"),
    needs=frozenset({inv.LOG_GROUPS}),
    permissions=("logs:DescribeLogGroups",),
)


# ------------------------------------------------------------------------ aws.tagging.missing_required_tags


def _taggable(
    ctx: AwsCheckContext,
) -> Iterator[tuple[str, str, str | None, Mapping[str, str], Decimal | None]]:
    """(resource type, id, name, tags, monthly list price or None) of every taggable resource."""
    inventory, prices = ctx.inventory, ctx.prices
    for i in inventory.instances:
        if i.state in ("terminated", "shutting-down"):
            continue
        rate, _ = instance_hour(i.instance_type, inventory.region)
        running = i.state in RUNNING
        price = (hourly(rate) if rate is not None else None) if running else Decimal(0)
        yield "ec2_instance", i.id, i.name, i.tags, price
    for v in inventory.volumes:
        yield "ebs_volume", v.id, v.tags.get("Name"), v.tags, volume_monthly(v, prices)
    for a in inventory.addresses:
        yield "elastic_ip", a.id, a.tags.get("Name"), a.tags, hourly(prices.public_ipv4_hour)
    for s in inventory.snapshots:
        yield "ebs_snapshot", s.id, s.tags.get("Name"), s.tags, snapshot_monthly(s, prices)
    for n in inventory.nat_gateways:
        if n.state in ("available", "pending"):
            yield "nat_gateway", n.id, n.tags.get("Name"), n.tags, hourly(prices.nat_gateway_hour)
    for lb in inventory.load_balancers:
        rate = prices.load_balancer_hour.get(lb.kind, prices.load_balancer_hour["application"])
        yield "load_balancer", lb.id, lb.name, lb.tags, hourly(rate)


def evaluate_missing_required_tags(ctx: AwsCheckContext) -> Iterator[Finding]:
    if not ctx.required_tags:
        return
    for rtype, rid, name, tags, price in _taggable(ctx):
        missing = [k for k in ctx.required_tags if not tags.get(k)]
        if not missing:
            continue
        priced = (
            f" Its list price is about {money(price)} per month (unallocated until tagged)."
            if price is not None
            else " No list price in the table for it."
        )
        detail = f"{rtype} lacks required tag(s) {', '.join(missing)}." + priced
        yield ctx.finding(
            MISSING_REQUIRED_TAGS,
            rid,
            detail,
            price if price is not None else Decimal(0),
            name=name,
            tags=tags,
            cost_basis="list_price" if price is not None else "unknown",
            resource_type=rtype,
        )


MISSING_REQUIRED_TAGS: Check[AwsCheckContext] = Check(
    id="aws.tagging.missing_required_tags",
    title="Resource without required tags",
    description="Instances, volumes, snapshots, Elastic IPs, NAT gateways and load balancers missing a "
    "tag listed in FINOPS_REQUIRED_TAGS (absent or empty), priced at their monthly list price.",
    resource_type="resource",
    severity="low",
    cost_basis="list_price",
    recommendation="Add the missing tags (or enforce them with a tag policy / SCP) so the cost can be "
    "allocated.",
    evaluate=evaluate_missing_required_tags,
    category="governance",
    needs=inv.ALL_KINDS - {inv.IMAGES, inv.LOG_GROUPS, inv.DATABASES},
    params=(Param("required_tags", "Tag keys every resource must carry (empty: nothing to check)."),),
    permissions=(
        "ec2:DescribeInstances",
        "ec2:DescribeVolumes",
        "ec2:DescribeAddresses",
        "ec2:DescribeSnapshots",
        "ec2:DescribeNatGateways",
        "cloudwatch:GetMetricData",
        *inv.ELB_PERMISSIONS,
    ),
)


CHECKS: tuple[Check[AwsCheckContext], ...] = (
    STOPPED_INSTANCE,
    UNATTACHED_VOLUME,
    UNASSOCIATED_EIP,
    OLD_SNAPSHOT,
    GP2_VOLUME,
    PREVIOUS_GENERATION,
    IDLE_LOAD_BALANCER,
    IDLE_NAT_GATEWAY,
    MISSING_REQUIRED_TAGS,
    LOG_GROUP_RETENTION,
    IDLE_DATABASE,
    *NATIVE_CHECKS,
)
# Checks over the whole account, run once per account (in its first audit unit), not per region.
ACCOUNT_WIDE: tuple[Check[Any], ...] = (COST_ANOMALY,)
