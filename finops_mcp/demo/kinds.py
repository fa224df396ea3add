"""The demo's service kinds: for each cloud service, how one resource of it is built at a site
(its id, size, charge lines and their profiles), and the `_KINDS` table naming each kind's FOCUS
service, category and resource type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from finops_mcp.demo import catalog as cat
from finops_mcp.demo.estate import (
    _METERS,
    SEASONAL,
    STEADY,
    _bucket_lines,
    _Built,
    _code,
    _geo,
    _growth,
    _instance_hours,
    _line,
    _Meter,
    _Site,
    _size_and_mode,
    _tier,
)


# ---------------------------------------------------------------------------------------------- AWS
def _arn(s: _Site, service: str, rest: str) -> str:
    return f"arn:aws:{service}:{s.region}:{s.acct.id}:{rest}"


def _k_ec2(s: _Site) -> _Built:
    itype, mode = _size_and_mode(s, cat.AWS_EC2_WEIGHTS)
    price = cat.AWS_EC2[itype][2] * s.price_mult
    zone = s.zone()
    name = str(s.opts.get("name") or s.name(f"{s.app}-{s.env}"))
    iid = "i-0" + s.rnd.hexid(16)
    on_demand = f"${price:.4f} per On Demand Linux {itype} Instance Hour"
    spot = f"${price * cat.SPOT_FACTOR:.4f} per Spot Linux {itype} Instance Hour"
    line = _instance_hours(s, mode, "ec2", itype, price, on_demand, spot)
    return _Built(s.region, zone, _arn(s, "ec2", f"instance/{iid}"), name, [line], spot=mode == "spot")


def _k_ebs(s: _Site) -> _Built:
    size = s.rnd.choices([50, 100, 200, 500, 1000, 2000, 4000], weights=[10, 20, 20, 15, 8, 4, 1])[0]
    price = 0.08 * s.price_mult
    desc = f"${price:.3f} per GB-month of General Purpose (gp3) provisioned storage - {s.region_name}"
    line = s.steady(1, size, _Meter("ebs-gp3", price, desc, "GB-Mo"), s.region, per_month=True)
    name = s.name(f"{s.app}-{s.env}-data")
    return _Built(s.region, s.zone(), _arn(s, "ec2", f"volume/vol-0{s.rnd.hexid(16)}"), name, [line])


def _k_nat(s: _Site) -> _Built:
    zone = s.zone()
    lines = [
        s.steady(1, 24, _METERS["nat-hours"], s.region),
        s.seasonal(2, s.rnd.logu(30, 900), _METERS["nat-bytes"], s.region),
    ]
    nat_id = _arn(s, "ec2", f"natgateway/nat-0{s.rnd.hexid(16)}")
    return _Built(s.region, zone, nat_id, s.name(f"nat-{s.env}-{zone}"), lines)


def _k_s3(s: _Site) -> _Built:
    purpose = s.rnd.choice(["assets", "logs", "backups", "exports", "artifacts", "data"])
    name = str(s.opts.get("name") or s.name(f"acme-{s.app}-{s.env}-{purpose}-{s.region}", 3))
    lines = _bucket_lines(s, _METERS["s3-std"], 30000, _METERS["s3-tier1"], 3e6, s.region)
    return _Built(s.region, None, f"arn:aws:s3:::{name}", name, lines)


def _k_rds(s: _Site) -> _Built:
    cls = str(s.opts.get("size") or s.rnd.choice(list(cat.AWS_RDS)))
    multi = bool(s.opts.get("multi_az", s.acct.env == "production" and s.rnd.random() < 0.4))
    copies = 2 if multi else 1
    price = cat.AWS_RDS[cls] * s.price_mult * copies
    deploy = "Multi-AZ" if multi else "Single-AZ"
    name = str(s.opts.get("name") or s.name(f"{s.app}-{s.env}-pg"))
    hourly = f"${price:.3f} per RDS {cls} {deploy} instance hour (or partial hour) running PostgreSQL"
    gb_price = 0.115 * copies
    gp2 = f"${gb_price:.3f} per GB-month of provisioned gp2 storage running PostgreSQL"
    gb = s.rnd.choice([100, 200, 500, 1000, 2000])
    lines = [
        s.steady(1, 24, _Meter("rds", price, hourly, "Hours"), cls, deploy, s.region),
        s.steady(2, gb, _Meter("rds-gp2", gb_price, gp2, "GB-Mo"), deploy, s.region, per_month=True),
    ]
    return _Built(s.region, s.zone(), _arn(s, "rds", f"db:{name}"), name, lines)


def _k_lambda(s: _Site) -> _Built:
    fn = s.rnd.choice(
        ["handler", "worker", "cron", "webhook", "resize-images", "stream-consumer", "authorizer"]
    )
    name = str(s.opts.get("name") or s.name(f"{s.app}-{s.env}-{fn}"))
    reqs = float(s.opts.get("requests") or s.rnd.logu(2e4, 1.2e7))
    gbs = float(s.opts.get("gb_seconds") or s.rnd.logu(5e3, 2.5e6))
    rn = s.region_name
    requests = _Meter("lambda-req", 0.0000002, f"AWS Lambda - Total Requests - {rn}", "Requests")
    compute = f"AWS Lambda - Total Compute (GB-Second) - {rn}"
    lines = [
        s.seasonal(1, reqs, requests, s.region),
        s.seasonal(2, gbs, _Meter("lambda-gbs", 0.0000166667, compute, "Lambda-GB-Second"), s.region),
    ]
    return _Built(s.region, None, _arn(s, "lambda", f"function:{name}"), name, lines)


def _k_cloudfront(s: _Site) -> _Built:
    dist = "E" + _code(s.rnd.getrandbits(128), 13)
    lines = [
        s.seasonal(1, s.rnd.logu(20, 1200), _METERS["cf-dto"]),
        s.seasonal(2, s.rnd.logu(2e5, 2e7), _METERS["cf-https"]),
    ]
    dist_id = f"arn:aws:cloudfront::{s.acct.id}:distribution/{dist}"
    return _Built(None, None, dist_id, s.name(f"{s.app}-{s.env}-cdn"), lines)


def _k_eks(s: _Site) -> _Built:
    name = s.name(f"eks-{s.env}-{s.region}")
    fee = _Meter("eks", 0.10, f"Amazon EKS cluster usage in {s.region_name}", "Hours")
    line = s.steady(1, 24, fee, s.region)
    return _Built(s.region, None, _arn(s, "eks", f"cluster/{name}"), name, [line])


def _k_dynamodb(s: _Site) -> _Built:
    table = s.rnd.choice(["sessions", "orders", "events", "profiles", "carts", "feature-flags"])
    name = s.name(f"{s.app}-{s.env}-{table}")
    lines = [
        s.seasonal(1, s.rnd.logu(2e5, 3e7), _METERS["ddb-wru"], s.region),
        s.seasonal(2, s.rnd.logu(1e6, 1.5e8), _METERS["ddb-rru"], s.region),
    ]
    return _Built(s.region, None, _arn(s, "dynamodb", f"table/{name}"), name, lines)


def _k_cloudwatch(s: _Site) -> _Built:
    src = s.rnd.choice(["lambda", "ecs", "eks", "apigateway", "rds"])
    name = s.name(f"/aws/{src}/{s.app}-{s.env}")
    line = s.seasonal(1, s.rnd.logu(0.5, 30), _METERS["cw-logs"], s.region)
    return _Built(s.region, None, _arn(s, "logs", f"log-group:{name}"), name, [line])


def _k_elasticache(s: _Site) -> _Built:
    node = s.rnd.choice(list(cat.AWS_CACHE))
    price = cat.AWS_CACHE[node] * s.price_mult
    name = s.name(f"{s.app}-{s.env}-redis")
    meter = _Meter("cache", price, f"${price:.3f} per Redis OSS {node} node-hour", "Hours")
    line = s.steady(1, 24 * s.rnd.choice([1, 2, 3]), meter, node, s.region)
    return _Built(s.region, s.zone(), _arn(s, "elasticache", f"cluster:{name}"), name, [line])


def _k_elb(s: _Site) -> _Built:
    name = s.name(f"{s.app}-{s.env}-alb")
    lines = [
        s.steady(1, 24, _METERS["alb-hours"], s.region),
        s.seasonal(2, s.rnd.logu(24, 500), _METERS["alb-lcu"], s.region),
    ]
    lb_id = _arn(s, "elasticloadbalancing", f"loadbalancer/app/{name}/{s.rnd.hexid(16)}")
    return _Built(s.region, None, lb_id, name, lines)


# -------------------------------------------------------------------------------------------- Azure
def _az_id(s: _Site, provider: str, rest: str, rg: str | None = None) -> str:
    """The resource's id in its resource group (by default `rg-<app>-<env>`)."""
    rg = rg or f"rg-{s.app}-{s.env}"
    return f"/subscriptions/{s.acct.id}/resourceGroups/{rg}/providers/{provider}/{rest}"


def _az_series(size: str) -> str:
    """Standard_D8s_v5 -> Dsv5, Standard_B2ms -> BS (the meter's series name)."""
    base, _, version = size.replace("Standard_", "").partition("_v")
    if not version:
        return base[0] + "S"
    return base[0] + "".join(ch for ch in base[1:] if ch.isalpha()) + "v" + version


def _k_vm(s: _Site) -> _Built:
    size, mode = _size_and_mode(s, cat.AZURE_VM_WEIGHTS)
    price = cat.AZURE_VM[size][2] * s.price_mult
    short = size.replace("Standard_", "").replace("_", " ")
    series = f"Virtual Machines {_az_series(size)} Series - {short}"
    rn = s.region_name
    name = str(s.opts.get("name") or s.name(f"vm-{s.app}-{s.env}"))
    line = _instance_hours(s, mode, "vm", size, price, f"{series} - {rn}", f"{series} Spot - {rn}")
    vm_id = _az_id(s, "Microsoft.Compute", f"virtualMachines/{name}")
    return _Built(s.region, None, vm_id, name, [line], spot=mode == "spot")


_AZ_DISKS = {"P10": 19.71, "P15": 38.02, "P20": 73.22, "P30": 135.17}


def _k_disk(s: _Site) -> _Built:
    tier, price = _tier(s, _AZ_DISKS, [10, 8, 5, 2])
    name = s.name(f"disk-{s.app}-{s.env}")
    meter = _Meter("disk", price, f"Premium SSD Managed Disks - {tier} LRS - Disk", "Disk-Months")
    line = s.steady(1, 1, meter, tier, s.region, per_month=True)
    return _Built(s.region, None, _az_id(s, "Microsoft.Compute", f"disks/{name}"), name, [line])


def _k_storage(s: _Site) -> _Built:
    base = ("st" + s.app.replace("-", "") + s.env)[:20]
    name = s.name(base, 3).replace("-", "")
    hot = _Meter("st-hot", 0.0208 * s.price_mult, "Hot LRS Data Stored", "GB-Mo")
    lines = _bucket_lines(s, hot, 25000, _METERS["st-write"], 2e6, s.region)
    account_id = _az_id(s, "Microsoft.Storage", f"storageAccounts/{name}")
    return _Built(s.region, None, account_id, name, lines)


def _k_sql(s: _Site) -> _Built:
    vcores = s.rnd.choice([2, 4, 4, 8])
    price = 0.2529 * s.price_mult
    db = s.name(f"sqldb-{s.app}")
    desc = "SQL Database Single/Elastic Pool General Purpose - Compute Gen5 - vCore"
    line = s.steady(1, 24 * vcores, _Meter("sql-gp", price, desc, "vCore-Hours"), s.region)
    db_id = _az_id(s, "Microsoft.Sql", f"servers/sql-{s.app}-{s.env}/databases/{db}")
    return _Built(s.region, None, db_id, db, [line])


def _k_aks(s: _Site) -> _Built:
    name = s.name(f"aks-{s.env}-{s.region}")
    line = s.steady(1, 24, _METERS["aks-sla"], s.region)
    aks_id = _az_id(s, "Microsoft.ContainerService", f"managedClusters/{name}", rg=f"rg-aks-{s.env}")
    return _Built(s.region, None, aks_id, name, [line])


def _k_bandwidth(s: _Site) -> _Built:
    name = s.name(f"pip-{s.app}-{s.env}")
    line = s.seasonal(1, s.rnd.logu(5, 500), _METERS["bw-out"], "zone1")
    ip_id = _az_id(s, "Microsoft.Network", f"publicIPAddresses/{name}")
    return _Built(s.region, None, ip_id, name, [line])


def _k_cosmos(s: _Site) -> _Built:
    ru = s.rnd.choice([400, 400, 1000, 1000, 2000, 4000, 10000])
    name = s.name(f"cosmos-{s.app}-{s.env}")
    throughput = _Meter("cosmos-ru", 0.008 * s.price_mult, "Azure Cosmos DB - 100 RU/s", "100 RU/s-Hours")
    lines = [
        s.steady(1, 24 * ru / 100, throughput, s.region),
        s.growing(2, s.rnd.logu(5, 500), _METERS["cosmos-gb"], s.region, max_growth=0.05),
    ]
    cosmos_id = _az_id(s, "Microsoft.DocumentDB", f"databaseAccounts/{name}")
    return _Built(s.region, None, cosmos_id, name, lines)


_AZ_PLANS = {"S1": 0.10, "P1v3": 0.169, "P2v3": 0.338, "P3v3": 0.676}


def _k_appservice(s: _Site) -> _Built:
    plan, price = _tier(s, _AZ_PLANS, [3, 6, 3, 1])
    name = s.name(f"asp-{s.app}-{s.env}")
    meter = _Meter("asp", price, f"Azure App Service Premium v3 Plan - {plan} - Linux", "Hours")
    line = s.steady(1, 24 * s.rnd.choice([1, 2, 3]), meter, plan, s.region)
    return _Built(s.region, None, _az_id(s, "Microsoft.Web", f"serverfarms/{name}"), name, [line])


def _k_monitor(s: _Site) -> _Built:
    name = s.name(f"log-{s.app}-{s.env}")
    line = s.seasonal(1, s.rnd.logu(0.5, 20), _METERS["la-ingest"], s.region)
    workspace_id = _az_id(s, "Microsoft.OperationalInsights", f"workspaces/{name}")
    return _Built(s.region, None, workspace_id, name, [line])


# --------------------------------------------------------------------------------------- Google Cloud
def _gcp_id(s: _Site, api: str, rest: str) -> str:
    return f"//{api}.googleapis.com/projects/{s.acct.id}/{rest}"


def _k_gce(s: _Site) -> _Built:
    machine, mode = _size_and_mode(s, cat.GCP_MACHINE_WEIGHTS)
    family, vcpu, mem = cat.GCP_MACHINES[machine]
    core, ram = cat.GCP_FAMILIES[family]
    geo = _geo(s.region)
    zone = s.zone()
    name = str(s.opts.get("name") or s.name(f"{s.app}-{s.env}"))
    spot = mode == "spot"
    prefix = "Spot Preemptible " if spot else ""
    profile = STEADY if mode == "steady" else SEASONAL
    share = 1.0 if mode == "steady" else s.rnd.uniform(0.55, 0.85)
    growth = 0.0 if mode == "steady" else _growth(s.rnd)
    lines = []
    for n, (what, qty, price, unit) in enumerate(
        (("Core", vcpu, core, "Hours"), ("Ram", mem, ram, "GiB-Hours")), start=1
    ):
        p = price * s.price_mult
        meter = _Meter("gce", p, f"{prefix}{family} Instance {what} running in {geo}", unit)
        contracted = p * cat.SPOT_FACTOR if spot else None
        lines.append(
            _line(
                s.ex,
                n,
                profile,
                24 * qty * share,
                meter,
                spot,
                family,
                what,
                s.region,
                cap=24 * qty,
                growth=growth,
                contracted_price=contracted,
            )
        )
    vm_id = _gcp_id(s, "compute", f"zones/{zone}/instances/{name}")
    return _Built(s.region, zone, vm_id, name, lines, spot=spot)


def _k_pd(s: _Site) -> _Built:
    size = s.rnd.choices([50, 100, 200, 500, 1000, 2000], weights=[8, 20, 20, 12, 6, 2])[0]
    zone = s.zone()
    name = s.name(f"{s.app}-{s.env}-pd")
    meter = _Meter("pd-balanced", 0.10 * s.price_mult, "Balanced PD Capacity", "GiB-Mo")
    line = s.steady(1, size, meter, s.region, per_month=True)
    return _Built(s.region, zone, _gcp_id(s, "compute", f"zones/{zone}/disks/{name}"), name, [line])


def _k_gcs(s: _Site) -> _Built:
    multi = s.rnd.random() < 0.3
    loc = "us" if multi else s.region
    name = str(
        s.opts.get("name")
        or s.name(f"{s.acct.id}-{s.app}-{s.rnd.choice(['assets', 'logs', 'backups', 'exports'])}")
    )
    price = 0.026 if multi else 0.020 * s.price_mult
    where = "US Multi-region" if multi else s.region_name
    stored = _Meter("gcs", price, f"Standard Storage {where}", "GiB-Mo")
    lines = _bucket_lines(s, stored, 30000, _METERS["gcs-a"], 2e6, loc)
    return _Built(loc, None, f"//storage.googleapis.com/projects/_/buckets/{name}", name, lines)


def _k_bigquery(s: _Site) -> _Built:
    name = str(
        s.opts.get("name") or s.name(f"{s.app.replace('-', '_')}_{s.rnd.choice(['raw', 'curated', 'marts'])}")
    )
    tib = float(s.opts.get("tib") or s.rnd.logu(0.02, 3))
    analysis = s.seasonal(1, tib, _METERS["bq-analysis"], "us")
    gib = float(s.opts.get("storage_gib") or s.rnd.logu(100, 30000))  # drawn after the line above
    storage = s.growing(2, gib, _METERS["bq-storage"], "us", max_growth=0.05)
    return _Built("us", None, _gcp_id(s, "bigquery", f"datasets/{name}"), name, [analysis, storage])


def _k_cloudsql(s: _Site) -> _Built:
    vcpu = s.rnd.choice([2, 4, 4, 8])
    geo = _geo(s.region)
    mult = s.price_mult
    name = s.name(f"{s.app}-{s.env}-pg")
    cpu = _Meter("csql-cpu", 0.0413 * mult, f"Cloud SQL for PostgreSQL: Zonal - vCPU in {geo}", "Hours")
    ram = _Meter("csql-ram", 0.007 * mult, f"Cloud SQL for PostgreSQL: Zonal - RAM in {geo}", "GiB-Hours")
    lines = [s.steady(1, 24 * vcpu, cpu, s.region), s.steady(2, 24 * vcpu * 4, ram, s.region)]
    return _Built(s.region, s.zone(), _gcp_id(s, "cloudsql", f"instances/{name}"), name, lines)


def _k_gke(s: _Site) -> _Built:
    name = s.name(f"gke-{s.env}-{s.region}")
    line = s.steady(1, 24, _METERS["gke"], s.region)
    cluster_id = _gcp_id(s, "container", f"locations/{s.region}/clusters/{name}")
    return _Built(s.region, None, cluster_id, name, [line])


def _k_cloudrun(s: _Site) -> _Built:
    name = s.name(f"{s.app}-{s.env}")
    cpu = s.rnd.logu(2e4, 2.5e6)
    g = _growth(s.rnd)  # one trend for both lines
    lines = [
        _line(s.ex, 1, SEASONAL, cpu, _METERS["run-cpu"], s.region, growth=g),
        _line(s.ex, 2, SEASONAL, cpu * 2, _METERS["run-mem"], s.region, growth=g),
    ]
    service_id = _gcp_id(s, "run", f"locations/{s.region}/services/{name}")
    return _Built(s.region, None, service_id, name, lines)


def _k_lb(s: _Site) -> _Built:
    name = s.name(f"{s.app}-{s.env}-fr")
    lines = [
        s.steady(1, 24, _METERS["lb-rule"]),
        s.seasonal(2, s.rnd.logu(20, 1500), _METERS["lb-data"]),
    ]
    return _Built(None, None, _gcp_id(s, "compute", f"global/forwardingRules/{name}"), name, lines)


# ------------------------------------------------------------------------------------------- kinds
@dataclass(frozen=True)
class _Kind:
    service: str  # ServiceName
    category: str  # ServiceCategory
    resource_type: str
    build: Callable[[_Site], _Built]


_KINDS: dict[str, _Kind] = {
    # AWS
    "ec2": _Kind("Amazon Elastic Compute Cloud", "Compute", "Instance", _k_ec2),
    "ebs": _Kind("Amazon Elastic Compute Cloud", "Compute", "Volume", _k_ebs),
    "nat": _Kind("Amazon Elastic Compute Cloud", "Compute", "NAT Gateway", _k_nat),
    "s3": _Kind("Amazon Simple Storage Service", "Storage", "Bucket", _k_s3),
    "rds": _Kind("Amazon Relational Database Service", "Databases", "DB Instance", _k_rds),
    "lambda": _Kind("AWS Lambda", "Compute", "Function", _k_lambda),
    "cloudfront": _Kind("Amazon CloudFront", "Networking", "Distribution", _k_cloudfront),
    "eks": _Kind("Amazon Elastic Kubernetes Service", "Compute", "Cluster", _k_eks),
    "dynamodb": _Kind("Amazon DynamoDB", "Databases", "Table", _k_dynamodb),
    "cloudwatch": _Kind("Amazon CloudWatch", "Management and Governance", "Log Group", _k_cloudwatch),
    "elasticache": _Kind("Amazon ElastiCache", "Databases", "Cache Cluster", _k_elasticache),
    "elb": _Kind("Elastic Load Balancing", "Networking", "Load Balancer", _k_elb),
    # Azure
    "vm": _Kind("Virtual Machines", "Compute", "Virtual machine", _k_vm),
    "disk": _Kind("Storage", "Storage", "Disk", _k_disk),
    "storage": _Kind("Storage", "Storage", "Storage account", _k_storage),
    "sql": _Kind("Azure SQL Database", "Databases", "SQL database", _k_sql),
    "aks": _Kind("Azure Kubernetes Service", "Compute", "Kubernetes service", _k_aks),
    "bandwidth": _Kind("Bandwidth", "Networking", "Public IP address", _k_bandwidth),
    "cosmos": _Kind("Azure Cosmos DB", "Databases", "Azure Cosmos DB account", _k_cosmos),
    "appservice": _Kind("Azure App Service", "Web", "App Service plan", _k_appservice),
    "monitor": _Kind("Azure Monitor", "Management and Governance", "Log Analytics workspace", _k_monitor),
    # Google Cloud
    "gce": _Kind("Compute Engine", "Compute", "Instance", _k_gce),
    "pd": _Kind("Compute Engine", "Compute", "Disk", _k_pd),
    "gcs": _Kind("Cloud Storage", "Storage", "Bucket", _k_gcs),
    "bigquery": _Kind("BigQuery", "Analytics", "Dataset", _k_bigquery),
    "cloudsql": _Kind("Cloud SQL", "Databases", "Cloud SQL instance", _k_cloudsql),
    "gke": _Kind("Kubernetes Engine", "Compute", "Cluster", _k_gke),
    "cloudrun": _Kind("Cloud Run", "Compute", "Service", _k_cloudrun),
    "lb": _Kind("Networking", "Networking", "Forwarding rule", _k_lb),
}
