"""An emulated AWS estate for tests: moto's ThreadedMotoServer on 127.0.0.1 (port 0), reached by
real boto3 clients through `AWS_ENDPOINT_URL`, seeded with an organization of accounts, each
region holding one of every waste kind the `aws.*` checks find plus healthy look-alikes.

moto stamps resources with the current time; ages (a snapshot 200 days old, an instance stopped
45 days ago, a NAT gateway created 30 days ago) are set on the emulator's in-process state after
creation, the only way to have old resources in an emulator.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.client import HTTPConnection
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import FakeHTTPServer, Reply, Request

MANAGEMENT = "123456789012"  # moto's default account: the organization's management account
ROLE = "FinOpsReadOnly"
REGIONS = ("us-east-1", "eu-west-1")
TEAM = {"team": "platform"}
AMI = "ami-12345678"


def base_env(url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 with a free port; yields its URL."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


_SHARED: dict[str, Estate] = {}
_SHARED_LOCK = threading.Lock()


def shared_estate() -> Estate:
    """One seeded estate per test process. moto keeps its state in process-wide backends, so two
    servers in one process would share (and clash over) it: every test module uses this one. The
    estate is never changed by the (read-only) provider; Cost Explorer answers are re-injected by
    each test that needs them."""
    with _SHARED_LOCK:
        if "estate" not in _SHARED:
            server = moto_server()
            url = server.__enter__()
            atexit.register(server.__exit__, None, None, None)
            _SHARED["estate"] = seed_estate(url)
        return _SHARED["estate"]


def _post(url: str, path: str, payload: Any) -> None:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in (200, 201), answer.status


def inject_ce(url: str, account_id: str, results: list[dict[str, Any]]) -> None:
    """Queue GetCostAndUsage answers: each distinct request (page tokens included) takes the next."""
    clear_ce(account_id)
    _post(url, "/moto-api/static/ce/cost-and-usage-results", {"results": results, "account_id": account_id})


def clear_ce(account_id: str) -> None:
    """Forget queued and already-assigned CE answers of an account (in-process emulator state)."""
    from moto.ce.models import ce_backends

    backend = ce_backends[account_id]["aws"]
    backend.cost_usage_results_queue.clear()
    backend.cost_usage_results.clear()


def ce_page(
    groups: dict[tuple[str, ...], str],
    start: str,
    end: str,
    metric: str = "UnblendedCost",
    token: str | None = None,
) -> dict[str, Any]:
    """One GetCostAndUsage answer with one time bucket."""
    page: dict[str, Any] = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": start, "End": end},
                "Total": {},
                "Groups": [
                    {"Keys": list(keys), "Metrics": {metric: {"Amount": amount, "Unit": "USD"}}}
                    for keys, amount in groups.items()
                ],
                "Estimated": False,
            }
        ],
        "DimensionValueAttributes": [],
    }
    if token:
        page["NextPageToken"] = token
    return page


def client(url: str, service: str, region: str = "us-east-1", creds: dict[str, str] | None = None) -> Any:
    import boto3

    keys = creds or {"AccessKeyId": "testing", "SecretAccessKey": "testing", "SessionToken": "testing"}
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


@dataclass
class Seeded:
    """What one (account, region) holds: resource ids by role."""

    account_id: str
    region: str
    waste: dict[str, set[str]] = field(default_factory=dict)  # check id -> resource ids it must find
    healthy: dict[str, str] = field(default_factory=dict)  # role -> resource id never flagged
    untagged: set[str] = field(default_factory=set)


@dataclass
class Estate:
    url: str
    management: str
    members: list[str]  # member accounts seeded like the management account
    empty_members: list[str]  # organization accounts with nothing in them
    regions: tuple[str, ...]
    cells: list[Seeded]

    @property
    def accounts(self) -> list[str]:
        return [self.management, *self.members]

    def expected(self, check: str) -> set[tuple[str, str, str]]:
        """(scope, region, resource id) every run must find for a check."""
        return {
            (f"aws:{c.account_id}", c.region, rid) for c in self.cells for rid in c.waste.get(check, set())
        }

    def healthy_ids(self) -> set[str]:
        return {rid for c in self.cells for rid in c.healthy.values()}


def _tags(kind: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _age(account_id: str, region: str, **changes: Any) -> None:
    """Backdate emulator state: snapshot start times, stop reasons, NAT creation times."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account_id][region]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for snap_id, days in changes.get("snapshots", {}).items():
        backend.snapshots[snap_id].start_time = now - timedelta(days=days)
    for instance_id, days in changes.get("stopped", {}).items():
        when = now - timedelta(days=days)
        backend.get_instance(instance_id)._reason = f"User initiated ({when:%Y-%m-%d %H:%M:%S} GMT)"
    for nat_id, days in changes.get("nats", {}).items():
        backend.nat_gateways[nat_id]._created_at = now - timedelta(days=days)
    if changes.get("databases"):
        from moto.rds.models import rds_backends

        for db_id, days in changes["databases"].items():
            rds_backends[account_id][region].databases[db_id].instance_create_time = now - timedelta(
                days=days
            )
    if changes.get("log_bytes"):
        from moto.logs.models import logs_backends

        groups = logs_backends[account_id][region].groups
        for name, size in changes["log_bytes"].items():  # stored bytes, as if years of events
            groups[name].streams["s"].stored_bytes = size


def _run(
    ec2: Any, subnet: str, itype: str, tags: dict[str, str], root: dict[str, Any], vol_tags: dict[str, str]
) -> str:
    specs = _tags("instance", tags) + (_tags("volume", vol_tags) if vol_tags else [])
    answer = ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType=itype,
        SubnetId=subnet,
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": root}],
        TagSpecifications=specs,
    )
    return str(answer["Instances"][0]["InstanceId"])


def _root_volume(ec2: Any, instance_id: str) -> str:
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return str(found["BlockDeviceMappings"][0]["Ebs"]["VolumeId"])


def seed_cell(url: str, account_id: str, region: str, creds: dict[str, str] | None) -> Seeded:
    """One of every waste kind and the healthy look-alikes in one account x region."""
    cell = Seeded(account_id, region)
    ec2 = client(url, "ec2", region, creds)
    az = f"{region}a"
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sub_a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
    sub_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone=f"{region}b")["Subnet"][
        "SubnetId"
    ]
    tagged = {**TEAM, "Name": "web"}

    # healthy: a running current-generation instance on gp3 with an associated EIP
    web = _run(ec2, sub_a, "t3.micro", tagged, {"VolumeSize": 8, "VolumeType": "gp3"}, TEAM)
    web_root = _root_volume(ec2, web)
    eip_used = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", TEAM))["AllocationId"]
    ec2.associate_address(AllocationId=eip_used, InstanceId=web)
    recent = ec2.create_snapshot(VolumeId=web_root, TagSpecifications=_tags("snapshot", TEAM))["SnapshotId"]
    source = ec2.create_snapshot(VolumeId=web_root, TagSpecifications=_tags("snapshot", TEAM))["SnapshotId"]
    image = ec2.register_image(
        Name="golden-image",
        RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": source}}],
    )["ImageId"]
    # the emulator backs the image with a snapshot of its own: that one is the AMI's
    ami_snap = ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"][0]["Ebs"][
        "SnapshotId"
    ]
    ec2.create_tags(Resources=[ami_snap], Tags=[{"Key": k, "Value": v} for k, v in TEAM.items()])
    worker = _run(
        ec2, sub_b, "c6i.large", {**TEAM, "Name": "worker"}, {"VolumeSize": 20, "VolumeType": "gp3"}, TEAM
    )
    cell.healthy.update(
        worker=worker,
        instance=web,
        gp3_volume=web_root,
        eip=eip_used,
        recent_snapshot=recent,
        ami_snapshot=ami_snap,
    )

    # waste: stopped instance (its gp2 root is covered by the stopped finding, not by gp2)
    stopped = _run(
        ec2, sub_a, "m5.large", {**TEAM, "Name": "old-batch"}, {"VolumeSize": 30, "VolumeType": "gp2"}, TEAM
    )
    ec2.stop_instances(InstanceIds=[stopped])
    cell.healthy["stopped_gp2_root"] = _root_volume(ec2, stopped)
    cell.waste["aws.ec2.stopped_instance"] = {stopped}

    # waste: a running previous-generation instance, a running instance on a big gp2 volume
    m4 = _run(
        ec2, sub_a, "m4.large", {**TEAM, "Name": "legacy"}, {"VolumeSize": 8, "VolumeType": "gp3"}, TEAM
    )
    cell.waste["aws.ec2.previous_generation_instance"] = {m4}
    gp2_host = _run(
        ec2, sub_a, "t3.small", {**TEAM, "Name": "db"}, {"VolumeSize": 200, "VolumeType": "gp2"}, TEAM
    )
    gp2_root = _root_volume(ec2, gp2_host)
    cell.waste["aws.ebs.gp2_volume"] = {gp2_root}

    # governance: a running instance without the required tag (its volume is tagged)
    untagged = _run(
        ec2, sub_a, "t3.micro", {"Name": "nameless"}, {"VolumeSize": 8, "VolumeType": "gp3"}, TEAM
    )
    cell.untagged.add(untagged)
    cell.waste["aws.tagging.missing_required_tags"] = {untagged}

    # waste: unattached volume, unassociated EIP
    orphan = ec2.create_volume(
        Size=100, AvailabilityZone=az, VolumeType="io1", Iops=1000, TagSpecifications=_tags("volume", TEAM)
    )["VolumeId"]
    cell.waste["aws.ebs.unattached_volume"] = {orphan}
    free_ip = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", TEAM))["AllocationId"]
    cell.waste["aws.ec2.unassociated_eip"] = {free_ip}

    # waste: old snapshots, one orphaned (its volume deleted), one of a live volume
    gone = ec2.create_volume(Size=50, AvailabilityZone=az, VolumeType="gp3")["VolumeId"]
    orphan_snap = ec2.create_snapshot(VolumeId=gone, TagSpecifications=_tags("snapshot", TEAM))["SnapshotId"]
    ec2.delete_volume(VolumeId=gone)
    old_snap = ec2.create_snapshot(VolumeId=gp2_root, TagSpecifications=_tags("snapshot", TEAM))["SnapshotId"]
    cell.waste["aws.ebs.old_snapshot"] = {orphan_snap, old_snap}

    # NAT gateways: one idle, one busy (CloudWatch traffic)
    nats = {}
    for label in ("idle", "busy"):
        alloc = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", TEAM))[
            "AllocationId"
        ]
        nats[label] = ec2.create_nat_gateway(
            SubnetId=sub_a, AllocationId=alloc, TagSpecifications=_tags("natgateway", TEAM)
        )["NatGateway"]["NatGatewayId"]
    client(url, "cloudwatch", region, creds).put_metric_data(
        Namespace="AWS/NATGateway",
        MetricData=[
            {
                "MetricName": "BytesOutToDestination",
                "Dimensions": [{"Name": "NatGatewayId", "Value": nats["busy"]}],
                "Value": 123456.0,
                "Unit": "Bytes",
            }
        ],
    )
    cell.waste["aws.ec2.idle_nat_gateway"] = {nats["idle"]}
    cell.healthy["busy_nat"] = nats["busy"]

    # load balancers: an ALB with a target (healthy), an empty ALB and an empty classic LB (waste)
    elb = client(url, "elbv2", region, creds)
    team_tags = [{"Key": k, "Value": v} for k, v in TEAM.items()]
    busy_lb = elb.create_load_balancer(Name="busy-alb", Subnets=[sub_a, sub_b], Tags=team_tags)[
        "LoadBalancers"
    ][0]
    group = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    elb.create_listener(
        LoadBalancerArn=busy_lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    elb.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": web}])
    idle_lb = elb.create_load_balancer(Name="idle-alb", Subnets=[sub_a, sub_b], Tags=team_tags)[
        "LoadBalancers"
    ][0]
    client(url, "elb", region, creds).create_load_balancer(
        LoadBalancerName="idle-classic",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        AvailabilityZones=[az],
        Tags=team_tags,
    )
    cell.healthy["busy_lb"] = busy_lb["LoadBalancerArn"]
    cell.waste["aws.elb.idle_load_balancer"] = {idle_lb["LoadBalancerArn"], "idle-classic"}

    # log groups: one never expiring with data (governance), one with a retention and one empty
    logs = client(url, "logs", region, creds)
    for name, days in (("/app/forever", None), ("/app/kept-30d", 30), ("/app/empty", None)):
        logs.create_log_group(logGroupName=name)
        if days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
        if name != "/app/empty":
            logs.create_log_stream(logGroupName=name, logStreamName="s")
    arn = f"arn:aws:logs:{region}:{account_id}:log-group:"
    cell.waste["aws.logs.no_retention"] = {arn + "/app/forever"}
    cell.healthy.update(log_kept=arn + "/app/kept-30d", log_empty=arn + "/app/empty")

    # RDS: an idle DB (no connection in 14 days), a busy one, a young idle one, one never measured
    rds = client(url, "rds", region, creds)
    dbs = {}
    for name, klass in (("idle-db", "db.t3.medium"), ("busy-db", "db.t3.medium"), ("new-db", "db.t3.small")):
        dbs[name] = rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass=klass,
            Engine="mysql",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="not-a-secret-1",
            Tags=team_tags,
        )["DBInstance"]["DBInstanceArn"]
    rds.create_db_instance(
        DBInstanceIdentifier="unmeasured-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
        Tags=team_tags,
    )
    when = datetime.now(timezone.utc) - timedelta(days=2)
    client(url, "cloudwatch", region, creds).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "DatabaseConnections",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": name}],
                "Value": value,
                "Timestamp": when,
            }
            for name, value in (("idle-db", 0.0), ("busy-db", 7.0), ("new-db", 0.0))
        ],
    )
    cell.waste["aws.rds.idle_instance"] = {dbs["idle-db"]}
    cell.healthy.update(busy_db=dbs["busy-db"], new_db=dbs["new-db"])

    _age(
        account_id,
        region,
        snapshots={orphan_snap: 200, old_snap: 120, ami_snap: 300, recent: 2, source: 3},
        stopped={stopped: 45},
        nats={nats["idle"]: 30, nats["busy"]: 30},
        log_bytes={"/app/forever": 250 * 1024**3, "/app/kept-30d": 40 * 1024**3},
        databases={"idle-db": 40, "busy-db": 40, "unmeasured-db": 40, "new-db": 3},
    )
    return cell


def assume(url: str, account_id: str) -> dict[str, str]:
    answer = client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="estate-seeder"
    )
    return dict(answer["Credentials"])


def _next_year_limit() -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    start = datetime(now.year + 1, 1, 1, tzinfo=timezone.utc)
    return {str(int(start.timestamp())): {"Amount": "500", "Unit": "USD"}}


def seed_budgets(url: str, account_id: str, creds: dict[str, str] | None) -> None:
    """A budget over its limit, one forecast to exceed it, one without a limit, a utilization one."""
    budgets = client(url, "budgets", "us-east-1", creds)

    def spend(actual: str, forecast: str) -> dict[str, Any]:
        return {
            "ActualSpend": {"Amount": actual, "Unit": "USD"},
            "ForecastedSpend": {"Amount": forecast, "Unit": "USD"},
        }

    def notify(kind: str, threshold: float) -> dict[str, Any]:
        return {
            "Notification": {
                "NotificationType": kind,
                "ComparisonOperator": "GREATER_THAN",
                "Threshold": threshold,
                "ThresholdType": "PERCENTAGE",
            },
            "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "finops@example.com"}],
        }

    specs = [
        (
            "over",
            {"BudgetLimit": {"Amount": "100", "Unit": "USD"}, "CalculatedSpend": spend("120", "150")},
            [notify("ACTUAL", 90)],
        ),
        (
            "heading-over",
            {"BudgetLimit": {"Amount": "1000", "Unit": "USD"}, "CalculatedSpend": spend("500", "1200")},
            [notify("FORECASTED", 100), notify("ACTUAL", 50)],
        ),
        # a planned budget with no amount for the current period: no fixed limit to compare with
        (
            "planned-later",
            {"PlannedBudgetLimits": _next_year_limit(), "CalculatedSpend": spend("42", "80")},
            [],
        ),
    ]
    for name, extra, notifications in specs:
        budgets.create_budget(
            AccountId=account_id,
            Budget={"BudgetName": name, "TimeUnit": "MONTHLY", "BudgetType": "COST", **extra},
            NotificationsWithSubscribers=notifications,
        )


def seed_estate(url: str, regions: tuple[str, ...] = REGIONS) -> Estate:
    org = client(url, "organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="workloads", Email="workloads@example.com")["CreateAccountStatus"]
    empty = org.create_account(AccountName="sandbox", Email="sandbox@example.com")["CreateAccountStatus"]
    estate = Estate(url, MANAGEMENT, [member["AccountId"]], [empty["AccountId"]], regions, [])
    for account_id in estate.accounts:
        creds = None if account_id == MANAGEMENT else assume(url, account_id)
        for region in regions:
            estate.cells.append(seed_cell(url, account_id, region, creds))
        seed_budgets(url, account_id, creds)
    return estate


# ------------------------------------------------------------------------------------ faulty proxy


class FaultyAwsProxy:
    """A forwarding proxy in front of moto (tests/fakes/http.FakeHTTPServer) that answers every
    `every`-th request with a throttling error in the request's own protocol, and refuses
    AssumeRole into `deny_accounts` with AccessDenied. Every request is recorded."""

    def __init__(self, target: str, *, every: int = 0, deny_accounts: tuple[str, ...] = ()) -> None:
        self.target = urlsplit(target)
        self.every = every
        self.deny_accounts = deny_accounts
        self.count = 0
        self.faults = 0
        self._lock = threading.Lock()
        self.server = FakeHTTPServer()
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.server.route(method, r"/.*", self._handle)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FaultyAwsProxy:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def operations(self) -> list[str]:
        """The operation of each recorded request (X-Amz-Target or Action)."""
        return [operation(r) for r in self.server.calls()]

    def _handle(self, request: Request) -> Reply:
        op = operation(request)
        if op == "AssumeRole" and any(a in request.body.decode() for a in self.deny_accounts):
            return _query_error(403, "AccessDenied", "not authorized to perform sts:AssumeRole")
        with self._lock:
            self.count += 1
            fault = (
                bool(self.every) and self.count % self.every == 0 and not request.path.startswith("/moto-api")
            )
            self.faults += fault
        if fault:
            return throttle_reply(request)
        return self._forward(request)

    def _forward(self, request: Request) -> Reply:
        conn = HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        query = "&".join(f"{k}={v}" for k, vs in request.query.items() for v in vs)
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        conn.request(
            request.method, request.path + (f"?{query}" if query else ""), body=request.body, headers=headers
        )
        answer = conn.getresponse()
        body = answer.read()
        keep = {
            k: v
            for k, v in answer.getheaders()
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date")
        }
        conn.close()
        return Reply(answer.status, body, keep)


def operation(request: Request) -> str:
    target = request.headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    if "smithy-protocol" in request.headers:
        return request.path.rsplit("/", 1)[-1]
    form = parse_qs(request.body.decode(errors="replace"))
    return (form.get("Action") or [""])[0]


def _query_error(status: int, code: str, message: str) -> Reply:
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>fake</RequestId></ErrorResponse>"
    )
    return Reply(status, body.encode(), {"Content-Type": "text/xml"})


def throttle_reply(request: Request) -> Reply:
    """A throttling error as the request's protocol words it (JSON, EC2 XML, query XML, or a 503)."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        return Reply.json({"__type": "ThrottlingException", "message": "Rate exceeded"}, 400)
    if "smithy-protocol" in request.headers:
        return Reply(503, b"", {"Retry-After": "0"})
    if "Version=2016-11-15" in request.body.decode(errors="replace"):  # EC2's query dialect
        body = (
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
            "</Message></Error></Errors><RequestID>fake</RequestID></Response>"
        )
        return Reply(503, body.encode(), {"Content-Type": "text/xml"})
    return _query_error(400, "Throttling", "Rate exceeded")


def estate_env(estate: Estate, url: str | None = None, **finops: str) -> dict[str, str]:
    """Environment for a provider over the estate (through `url`, e.g. a proxy, if given)."""
    env = base_env(url or estate.url)
    env.update(
        FINOPS_PROVIDERS="aws",
        FINOPS_AWS_ROLE_NAME=ROLE,
        FINOPS_AWS_ACCOUNT_IDS=",".join(estate.members),
        FINOPS_AWS_REGIONS=",".join(estate.regions),
        FINOPS_REQUIRED_TAGS="team",
        FINOPS_LOG_LEVEL="WARNING",
    )
    env.update({f"FINOPS_{k.upper()}": v for k, v in finops.items()})
    return env


def apply_env(monkeypatch: Any, env: dict[str, str]) -> None:
    """Replace every FINOPS_* / AWS_* variable with `env` (via pytest's monkeypatch)."""
    for key in list(os.environ):
        if key.startswith(("FINOPS_", "AWS_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
