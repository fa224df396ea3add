"""What the audit checks look at in one (account, region): plain dataclasses, gathered with paged
read calls (`collect`). Only the resource kinds the selected checks need are listed (`Check.needs`).

Load balancer targets: ELBv2 target groups are listed once per region and their health asked per
target group attached to a load balancer; ELBv2 / classic tags are read 20 ARNs / names per call
(the API's limit). NAT gateway traffic: the CloudWatch `AWS/NATGateway` metrics
BytesOutToDestination and BytesInFromDestination summed over the last 14 days, for every NAT
gateway of the region in ONE batched `GetMetricData` request (up to 500 metric queries a request,
paged). Log groups: `DescribeLogGroups` (paged), with their retention and stored bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from finops_mcp.engine.context import CallContext
from finops_mcp.providers.aws.api import api_call, api_pages

T = TypeVar("T")
NAT_WINDOW_DAYS = 14
NAT_METRICS = ("BytesOutToDestination", "BytesInFromDestination")
TAG_BATCH = 20  # DescribeTags: at most 20 load balancers per call
METRIC_BATCH = 500  # GetMetricData: at most 500 metric queries per request
PAGE_SIZE = {"ec2": 500, "elb": 400, "logs": 50}  # MaxResults / PageSize / limit (tests make them small)
# What listing the load balancers (with their targets and tags) calls
ELB_PERMISSIONS = (
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
)

RDS_WINDOW_DAYS = 14
INSTANCES, VOLUMES, ADDRESSES, SNAPSHOTS, IMAGES, NAT_GATEWAYS, LOAD_BALANCERS, LOG_GROUPS, DATABASES = (
    "instances",
    "volumes",
    "addresses",
    "snapshots",
    "images",
    "nat_gateways",
    "load_balancers",
    "log_groups",
    "databases",
)
ALL_KINDS = frozenset(
    {INSTANCES, VOLUMES, ADDRESSES, SNAPSHOTS, IMAGES, NAT_GATEWAYS, LOAD_BALANCERS, LOG_GROUPS, DATABASES}
)


def tag_dict(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value") or "") for t in tags or () if t.get("Key") is not None}


@dataclass(frozen=True)
class Instance:
    id: str
    instance_type: str
    state: str  # pending | running | stopping | stopped | shutting-down | terminated
    launch_time: datetime | None = None
    state_since: datetime | None = None  # from StateTransitionReason, when AWS gives it
    volume_ids: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return self.tags.get("Name")


@dataclass(frozen=True)
class Volume:
    id: str
    volume_type: str
    size_gb: int
    state: str  # creating | available | in-use | deleting | deleted | error
    iops: int | None = None
    throughput: int | None = None
    instance_ids: tuple[str, ...] = ()
    created: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Address:
    id: str  # allocation id (VPC) or the public IP (EC2-Classic)
    public_ip: str
    association_id: str | None = None
    instance_id: str | None = None
    network_interface_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def associated(self) -> bool:
        return bool(self.association_id or self.instance_id or self.network_interface_id)


@dataclass(frozen=True)
class Snapshot:
    id: str
    volume_id: str | None
    size_gb: int
    started: datetime | None
    full_size_bytes: int | None = None
    storage_tier: str = "standard"
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NatGateway:
    id: str
    state: str
    created: datetime | None
    bytes_14d: Decimal | None = None  # None: traffic not measured
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadBalancer:
    id: str  # ARN (ELBv2) or name (classic)
    name: str
    kind: str  # application | network | gateway | classic
    created: datetime | None
    registered_targets: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogGroup:
    name: str
    arn: str
    retention_days: int | None  # None: never expire
    stored_bytes: int
    created: datetime | None = None


@dataclass(frozen=True)
class Database:
    id: str  # DBInstanceIdentifier
    arn: str
    instance_class: str
    engine: str
    status: str
    multi_az: bool
    storage_gb: int
    created: datetime | None
    max_connections_14d: Decimal | None = None  # None: no datapoints (not measured)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Inventory:
    account_id: str
    region: str
    instances: list[Instance] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    image_snapshot_ids: frozenset[str] = frozenset()  # snapshots backing this account's AMIs
    nat_gateways: list[NatGateway] = field(default_factory=list)
    load_balancers: list[LoadBalancer] = field(default_factory=list)
    log_groups: list[LogGroup] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    collected_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


_STATE_TIME_RE = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")


def state_since(reason: str | None) -> datetime | None:
    """The time in a StateTransitionReason such as 'User initiated (2026-01-04 00:49:21 GMT)'."""
    found = _STATE_TIME_RE.search(reason or "")
    if not found:
        return None
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------- EC2


def _instances(ec2: Any, ctx: CallContext) -> Iterator[Instance]:
    for page in api_pages(ctx, ec2, "describe_instances", MaxResults=PAGE_SIZE["ec2"]):
        for reservation in page.get("Reservations", []):
            for raw in reservation.get("Instances", []):
                yield Instance(
                    id=raw["InstanceId"],
                    instance_type=raw.get("InstanceType", ""),
                    state=(raw.get("State") or {}).get("Name", ""),
                    launch_time=raw.get("LaunchTime"),
                    state_since=state_since(raw.get("StateTransitionReason")),
                    volume_ids=tuple(
                        b["Ebs"]["VolumeId"] for b in raw.get("BlockDeviceMappings", []) if b.get("Ebs")
                    ),
                    tags=tag_dict(raw.get("Tags")),
                )


def _volumes(ec2: Any, ctx: CallContext) -> Iterator[Volume]:
    for page in api_pages(ctx, ec2, "describe_volumes", MaxResults=PAGE_SIZE["ec2"]):
        for raw in page.get("Volumes", []):
            yield Volume(
                id=raw["VolumeId"],
                volume_type=raw.get("VolumeType", "standard"),
                size_gb=int(raw.get("Size") or 0),
                state=raw.get("State", ""),
                iops=raw.get("Iops"),
                throughput=raw.get("Throughput"),
                instance_ids=tuple(
                    a["InstanceId"] for a in raw.get("Attachments", []) if a.get("InstanceId")
                ),
                created=raw.get("CreateTime"),
                tags=tag_dict(raw.get("Tags")),
            )


def _addresses(ec2: Any, ctx: CallContext) -> Iterator[Address]:
    for raw in api_call(ctx, ec2, "describe_addresses").get("Addresses", []):  # not paged by AWS
        yield Address(
            id=raw.get("AllocationId") or raw.get("PublicIp", ""),
            public_ip=raw.get("PublicIp", ""),
            association_id=raw.get("AssociationId") or None,
            instance_id=raw.get("InstanceId") or None,
            network_interface_id=raw.get("NetworkInterfaceId") or None,
            tags=tag_dict(raw.get("Tags")),
        )


def _snapshots(ec2: Any, ctx: CallContext) -> Iterator[Snapshot]:
    pages = api_pages(ctx, ec2, "describe_snapshots", OwnerIds=["self"], MaxResults=PAGE_SIZE["ec2"])
    for page in pages:
        for raw in page.get("Snapshots", []):
            volume_id = raw.get("VolumeId")
            yield Snapshot(
                id=raw["SnapshotId"],
                volume_id=None if not volume_id or volume_id == "vol-ffffffff" else volume_id,
                size_gb=int(raw.get("VolumeSize") or 0),
                started=raw.get("StartTime"),
                full_size_bytes=raw.get("FullSnapshotSizeInBytes"),
                storage_tier=str(raw.get("StorageTier") or "standard"),
                description=raw.get("Description") or "",
                tags=tag_dict(raw.get("Tags")),
            )


def _image_snapshots(ec2: Any, ctx: CallContext) -> frozenset[str]:
    found: set[str] = set()
    for page in api_pages(ctx, ec2, "describe_images", Owners=["self"]):
        for image in page.get("Images", []):
            for mapping in image.get("BlockDeviceMappings", []):
                snap = (mapping.get("Ebs") or {}).get("SnapshotId")
                if snap:
                    found.add(snap)
    return frozenset(found)


def _nat_gateways(ec2: Any, cloudwatch: Any, now: datetime, ctx: CallContext) -> Iterator[NatGateway]:
    raws = [
        raw
        for page in api_pages(ctx, ec2, "describe_nat_gateways", MaxResults=PAGE_SIZE["ec2"])
        for raw in page.get("NatGateways", [])
    ]
    available = [raw["NatGatewayId"] for raw in raws if raw.get("State") == "available"]
    traffic = nat_traffic(cloudwatch, available, now, ctx) if available else {}
    for raw in raws:
        yield NatGateway(
            id=raw["NatGatewayId"],
            state=raw.get("State", ""),
            created=raw.get("CreateTime"),
            bytes_14d=traffic.get(raw["NatGatewayId"]),
            tags=tag_dict(raw.get("Tags")),
        )


def metric_sums(
    cloudwatch: Any,
    queries: Sequence[tuple[str, str, str, Mapping[str, str], str]],
    start: datetime,
    end: datetime,
    ctx: CallContext,
) -> dict[str, tuple[Decimal, int]]:
    """Per key, (the sum, the number) of the daily datapoints over [start, end] of (key,
    namespace, metric name, dimensions, statistic) queries: batched `GetMetricData` (500 queries
    a request, paged). A metric without datapoints gives (0, 0)."""
    owner: dict[str, str] = {}
    stats: list[dict[str, Any]] = []
    for n, (key, namespace, metric, dimensions, stat) in enumerate(queries):
        query_id = f"q{n}"
        owner[query_id] = key
        dims = [{"Name": k, "Value": v} for k, v in dimensions.items()]
        metric_spec = {"Namespace": namespace, "MetricName": metric, "Dimensions": dims}
        stats.append(
            {
                "Id": query_id,
                "MetricStat": {"Metric": metric_spec, "Period": 86400, "Stat": stat},
                "ReturnData": True,
            }
        )
    totals = {key: (Decimal(0), 0) for key in owner.values()}
    for chunk in _chunks(stats, METRIC_BATCH):
        for page in api_pages(
            ctx, cloudwatch, "get_metric_data", MetricDataQueries=list(chunk), StartTime=start, EndTime=end
        ):
            for result in page.get("MetricDataResults", []):
                values = [Decimal(str(v)) for v in result.get("Values", [])]
                total, count = totals[owner[result["Id"]]]
                totals[owner[result["Id"]]] = (total + sum(values, Decimal(0)), count + len(values))
    return totals


def nat_traffic(
    cloudwatch: Any, nat_ids: Sequence[str], now: datetime, ctx: CallContext
) -> dict[str, Decimal]:
    """Bytes to and from destinations over the last 14 days per NAT gateway (0 when no datapoints)."""
    queries = [
        (nat, "AWS/NATGateway", metric, {"NatGatewayId": nat}, "Sum")
        for nat in nat_ids
        for metric in NAT_METRICS
    ]
    sums = metric_sums(cloudwatch, queries, now - timedelta(days=NAT_WINDOW_DAYS), now, ctx)
    return {nat: total for nat, (total, _) in sums.items()}


# ---------------------------------------------------------------------------------------------- RDS


def _databases(rds: Any, cloudwatch: Any, now: datetime, ctx: CallContext) -> Iterator[Database]:
    raws = [
        raw
        for page in api_pages(
            ctx, rds, "describe_db_instances", token_in="Marker", token_out="Marker", MaxRecords=100
        )
        for raw in page.get("DBInstances", [])
    ]
    available = [raw["DBInstanceIdentifier"] for raw in raws if raw.get("DBInstanceStatus") == "available"]
    queries = [
        (db, "AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": db}, "Maximum") for db in available
    ]
    start = now - timedelta(days=RDS_WINDOW_DAYS)
    connections = metric_sums(cloudwatch, queries, start, now, ctx) if queries else {}
    for raw in raws:
        total, points = connections.get(raw["DBInstanceIdentifier"], (Decimal(0), 0))
        yield Database(
            id=raw["DBInstanceIdentifier"],
            arn=str(raw.get("DBInstanceArn") or raw["DBInstanceIdentifier"]),
            instance_class=str(raw.get("DBInstanceClass", "")),
            engine=str(raw.get("Engine", "")),
            status=str(raw.get("DBInstanceStatus", "")),
            multi_az=bool(raw.get("MultiAZ")),
            storage_gb=int(raw.get("AllocatedStorage") or 0),
            created=raw.get("InstanceCreateTime"),
            max_connections_14d=total if points else None,
            tags=tag_dict(raw.get("TagList")),
        )


# ---------------------------------------------------------------------------------------------- Logs


def _log_groups(logs: Any, ctx: CallContext) -> Iterator[LogGroup]:
    pages = api_pages(
        ctx, logs, "describe_log_groups", token_in="nextToken", token_out="nextToken", limit=PAGE_SIZE["logs"]
    )
    for page in pages:
        for raw in page.get("logGroups", []):
            created = raw.get("creationTime")
            yield LogGroup(
                name=str(raw.get("logGroupName", "")),
                arn=str(raw.get("logGroupArn") or raw.get("arn") or "").removesuffix(":*"),
                retention_days=raw.get("retentionInDays"),
                stored_bytes=int(raw.get("storedBytes") or 0),
                created=datetime.fromtimestamp(created / 1000, tz=timezone.utc) if created else None,
            )


# ---------------------------------------------------------------------------------------------- ELB


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _elbv2(client: Any, ctx: CallContext) -> Iterator[LoadBalancer]:
    size = PAGE_SIZE["elb"]
    lbs: list[dict[str, Any]] = []
    for page in api_pages(
        ctx, client, "describe_load_balancers", token_in="Marker", token_out="NextMarker", PageSize=size
    ):
        lbs.extend(page.get("LoadBalancers", []))
    if not lbs:
        return
    targets: dict[str, int] = {lb["LoadBalancerArn"]: 0 for lb in lbs}
    for page in api_pages(
        ctx, client, "describe_target_groups", token_in="Marker", token_out="NextMarker", PageSize=size
    ):
        for group in page.get("TargetGroups", []):
            attached = [arn for arn in group.get("LoadBalancerArns", []) if arn in targets]
            if not attached:
                continue
            health = api_call(ctx, client, "describe_target_health", TargetGroupArn=group["TargetGroupArn"])
            count = len(health.get("TargetHealthDescriptions", []))
            for arn in attached:
                targets[arn] += count
    tags: dict[str, dict[str, str]] = {}
    for chunk in _chunks(list(targets), TAG_BATCH):
        for desc in api_call(ctx, client, "describe_tags", ResourceArns=list(chunk)).get(
            "TagDescriptions", []
        ):
            tags[desc["ResourceArn"]] = tag_dict(desc.get("Tags"))
    for lb in lbs:
        arn = lb["LoadBalancerArn"]
        yield LoadBalancer(
            id=arn,
            name=lb.get("LoadBalancerName", arn),
            kind=lb.get("Type", "application"),
            created=lb.get("CreatedTime"),
            registered_targets=targets[arn],
            tags=tags.get(arn, {}),
        )


def _classic(client: Any, ctx: CallContext) -> Iterator[LoadBalancer]:
    lbs: list[dict[str, Any]] = []
    for page in api_pages(
        ctx,
        client,
        "describe_load_balancers",
        token_in="Marker",
        token_out="NextMarker",
        PageSize=PAGE_SIZE["elb"],
    ):
        lbs.extend(page.get("LoadBalancerDescriptions", []))
    tags: dict[str, dict[str, str]] = {}
    for chunk in _chunks([lb["LoadBalancerName"] for lb in lbs], TAG_BATCH):
        answer = api_call(ctx, client, "describe_tags", LoadBalancerNames=list(chunk))
        for desc in answer.get("TagDescriptions", []):
            tags[desc["LoadBalancerName"]] = tag_dict(desc.get("Tags"))
    for lb in lbs:
        name = lb["LoadBalancerName"]
        yield LoadBalancer(
            id=name,
            name=name,
            kind="classic",
            created=lb.get("CreatedTime"),
            registered_targets=len(lb.get("Instances", [])),
            tags=tags.get(name, {}),
        )


# ---------------------------------------------------------------------------------------------- all


def collect(
    client_for: Any, account_id: str, region: str, kinds: Iterable[str], ctx: CallContext
) -> Inventory:
    """The inventory of the given kinds. `client_for(service, region)` returns a boto3 client."""
    wanted = set(kinds)
    inv = Inventory(account_id=account_id, region=region)
    ec2 = client_for("ec2", region)
    if INSTANCES in wanted:
        inv.instances = list(_instances(ec2, ctx))
    if VOLUMES in wanted:
        inv.volumes = list(_volumes(ec2, ctx))
    if ADDRESSES in wanted:
        inv.addresses = list(_addresses(ec2, ctx))
    if SNAPSHOTS in wanted:
        inv.snapshots = list(_snapshots(ec2, ctx))
    if IMAGES in wanted:
        inv.image_snapshot_ids = _image_snapshots(ec2, ctx)
    if NAT_GATEWAYS in wanted:
        inv.nat_gateways = list(_nat_gateways(ec2, client_for("cloudwatch", region), inv.collected_at, ctx))
    if LOAD_BALANCERS in wanted:
        inv.load_balancers = list(_elbv2(client_for("elbv2", region), ctx))
        inv.load_balancers += list(_classic(client_for("elb", region), ctx))
    if LOG_GROUPS in wanted:
        inv.log_groups = list(_log_groups(client_for("logs", region), ctx))
    if DATABASES in wanted:
        inv.databases = list(
            _databases(client_for("rds", region), client_for("cloudwatch", region), inv.collected_at, ctx)
        )
    return inv
