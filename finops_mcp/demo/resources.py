"""The demo estate as resources: which resources exist, where, how they are tagged and priced.

`build_plan` is pure Python and deterministic for its arguments: every random choice comes from a
`random.Random` seeded from (seed, export) and consumed in a fixed order, and SKU ids are hashes of
what they identify. The generator turns the plan into daily FOCUS rows in DuckDB SQL.

A resource has one or more charge lines (SKUs). A line's daily quantity follows a profile:

- `STEADY`: always on (instances, clusters, provisioned databases): the same quantity every day;
- `SEASONAL`: demand driven (requests, transfer, autoscaled hours): weekly seasonality, a gentle
  trend and noise;
- `GROWING`: stored data: grows slowly, tiny noise.

Lines priced per month (`per_month`, e.g. GB-months) accrue `base_qty / days_in_month` per day.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from finops_mcp.demo import catalog as cat

STEADY, SEASONAL, GROWING = 0, 1, 2


@dataclass
class Line:
    line: int
    profile: int
    base_qty: float
    list_unit_price: float
    contracted_unit_price: float
    sku_id: str
    sku_price_id: str
    description: str
    pricing_unit: str
    consumed_unit: str
    consumed_per_pricing: float = 1.0
    per_month: bool = False
    cap: float | None = None
    growth: float = 0.0  # per 30 days
    commitment: str | None = None  # catalog.Commitment.key covering this line
    commitment_from: int = 0  # first covered day index
    effective_unit_price: float | None = None  # amortized commitment rate


@dataclass
class Resource:
    rid: int
    export: str
    account: cat.Account
    service: str
    category: str
    region: str | None
    zone: str | None
    resource_id: str
    resource_name: str
    resource_type: str
    tags: dict[str, str] | None
    pricing_category: str  # Standard | Dynamic (Committed is decided per row)
    lines: list[Line] = field(default_factory=list)
    start_i: int = 0
    end_i: int = -1  # last active day index, set by the plan
    spike: tuple[int, int, float] | None = None  # first day index, last day index, factor (SEASONAL lines)
    kind: str = ""


@dataclass(frozen=True)
class Spike:
    export: str
    account: str
    service: str
    first: date
    last: date
    factor: float
    ongoing: bool


@dataclass
class Plan:
    start: date
    end: date
    days: int
    seed: int
    resources: list[Resource]
    spikes: list[Spike]
    ri_purchase_i: int
    sp_decommission_i: int
    azure_decommission_i: int

    @property
    def usage_rows(self) -> int:
        return sum(len(r.lines) * (r.end_i - r.start_i + 1) for r in self.resources)


def stable_hash(*parts: object, size: int = 8) -> int:
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=size).digest()
    return int.from_bytes(digest, "big")


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _code(n: int, length: int, alphabet: str = _ALNUM) -> str:
    out = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def sku_ids(provider: str, *what: object) -> tuple[str, str]:
    """(SkuId, SkuPriceId) in the provider's style, stable for what they identify."""
    h = stable_hash(provider, *what, size=16)
    h2 = stable_hash("price", provider, *what, size=16)
    if provider == "AWS":
        sku = _code(h, 16)
        return sku, f"{sku}.JRTCKXETXF.6YS6EN2CT7"
    if provider == "Microsoft":
        sku = _code(h, 12)
        return sku, f"{sku}/{_code(h2, 4)}"
    hexs = f"{h:016X}"[:12]
    sku = f"{hexs[0:4]}-{hexs[4:8]}-{hexs[8:12]}"
    return sku, f"{sku}/{_code(h2, 6)}"


class _Rand(random.Random):
    def pick(self, weights: Mapping[str, float]) -> str:
        return self.choices(list(weights), weights=list(weights.values()))[0]

    def hexid(self, n: int) -> str:
        return "".join(self.choice("0123456789abcdef") for _ in range(n))

    def logu(self, lo: float, hi: float) -> float:
        """Log-uniform: most resources are small, a few are big."""
        return float(lo * (hi / lo) ** self.random())


def _geo(region: str) -> str:
    if region.startswith("europe") or region.startswith("eu-") or region in ("westeurope",):
        return "EMEA"
    return "Americas"


class _Builder:
    """Creates resources for one plan; names are unique per export."""

    def __init__(self, plan_days: int, seed: int) -> None:
        self.days = plan_days
        self.seed = seed
        self.resources: list[Resource] = []
        self.seq: Counter[str] = Counter()

    def next_name(self, base: str, width: int = 2) -> str:
        self.seq[base] += 1
        return f"{base}-{self.seq[base]:0{width}d}"

    # ------------------------------------------------------------------ shared bits
    def _tags(self, rnd: _Rand, account: cat.Account, team: str, app: str) -> dict[str, str] | None:
        env = account.env
        if env == "production" and rnd.random() < 0.03:
            env = "prod"  # real estates have inconsistent values
        tags = {"team": team, "environment": env, "cost-center": cat.TEAMS[team][0], "application": app}
        if rnd.random() < 0.5:
            tags["managed-by"] = "terraform"
        if rnd.random() < 0.08:  # missing one or more required tags
            mode = rnd.random()
            if mode < 0.3:
                return None
            if mode < 0.55:
                del tags["cost-center"]
            elif mode < 0.75:
                del tags["team"]
            elif mode < 0.9:
                del tags["environment"]
            else:
                del tags["team"], tags["cost-center"]
        return tags

    def add(self, res: Resource) -> Resource:
        res.rid = len(self.resources) + 1
        res.end_i = self.days - 1
        self.resources.append(res)
        return res

    def new(
        self,
        kind: str,
        rnd: _Rand,
        account: cat.Account,
        *,
        region: str | None = None,
        team: str | None = None,
        app: str | None = None,
        tags: dict[str, str] | bool | None = True,
        opts: Mapping[str, Any] | None = None,
    ) -> Resource:
        if region is None:
            region = rnd.choices([r for r, _ in account.regions], weights=[w for _, w in account.regions])[0]
        team = team or rnd.choice(account.teams)
        app = app or rnd.choice(cat.TEAMS[team][1])
        tag_map = self._tags(rnd, account, team, app) if tags is True else (tags or None)
        export = cat.EXPORT_BY_KEY[account.export]
        spec = _KINDS[kind]
        built = spec.build(_Site(self, rnd, export, account, region, app, opts or {}))
        res = Resource(
            rid=0,
            export=export.key,
            account=account,
            service=spec.service,
            category=spec.category,
            region=built.region,
            zone=built.zone,
            resource_id=built.resource_id,
            resource_name=built.name,
            resource_type=spec.resource_type,
            tags=tag_map,
            pricing_category="Dynamic" if built.spot else "Standard",
            lines=built.lines,
            kind=kind,
        )
        return self.add(res)


# ------------------------------------------------------------------------------------- charge lines
@dataclass(frozen=True)
class _Meter:
    """How a charge line is priced: SKU name, list unit price, ChargeDescription and PricingUnit."""

    sku: str
    price: float
    description: str
    unit: str


def _line(
    export: cat.Export,
    n: int,
    profile: int,
    qty: float,
    meter: _Meter,
    *where: object,
    per_month: bool = False,
    cap: float | None = None,
    growth: float = 0.0,
    contracted_price: float | None = None,
) -> Line:
    """Charge line `n`; its SKU is the meter's name and `where` (size, region...) hashed."""
    sku, price_id = sku_ids(export.provider, meter.sku, *where)
    list_price = meter.price
    contracted = (
        list_price * (1 - export.contracted_discount) if contracted_price is None else contracted_price
    )
    return Line(
        line=n,
        profile=profile,
        base_qty=round(qty, 6),
        list_unit_price=round(list_price, 10),
        contracted_unit_price=round(contracted, 10),
        sku_id=sku,
        sku_price_id=price_id,
        description=meter.description,
        pricing_unit=meter.unit,
        consumed_unit=meter.unit,
        per_month=per_month,
        cap=cap,
        growth=round(growth, 6),
    )


def _growth(rnd: _Rand) -> float:
    return rnd.uniform(0.0, 0.045)


@dataclass(frozen=True)
class _Site:
    """Where a new resource goes, and the draws and names it takes: what a kind's builder gets.

    A builder must draw from `rnd` in a fixed order (the plan is deterministic for its seed), so
    keep the order of the draws when changing one.
    """

    b: _Builder
    rnd: _Rand
    ex: cat.Export
    acct: cat.Account
    region: str
    app: str
    opts: Mapping[str, Any]  # what the caller fixed instead of a draw (size, mode, name...)

    @property
    def env(self) -> str:
        """prod | stg | dev, as used in names."""
        return cat.ENV_SHORT[self.acct.env]

    @property
    def region_name(self) -> str:
        return cat.REGIONS[self.region][0]

    @property
    def price_mult(self) -> float:
        """The region's list prices as a multiple of the cheapest region's."""
        return cat.REGIONS[self.region][2]

    def zone(self) -> str:
        """A random availability zone of the region."""
        return self.rnd.choice(cat.REGIONS[self.region][1])

    def name(self, base: str, width: int = 2) -> str:
        return self.b.next_name(base, width)

    # one helper per quantity profile (see the module docstring)
    def steady(self, n: int, qty: float, meter: _Meter, *where: object, per_month: bool = False) -> Line:
        return _line(self.ex, n, STEADY, qty, meter, *where, per_month=per_month)

    def seasonal(self, n: int, qty: float, meter: _Meter, *where: object) -> Line:
        """Draws the line's trend."""
        return _line(self.ex, n, SEASONAL, qty, meter, *where, growth=_growth(self.rnd))

    def growing(self, n: int, qty: float, meter: _Meter, *where: object, max_growth: float) -> Line:
        """Stored data, priced per month; draws its growth."""
        growth = self.rnd.uniform(0.01, max_growth)
        return _line(self.ex, n, GROWING, qty, meter, *where, per_month=True, growth=growth)


@dataclass(frozen=True)
class _Built:
    """What a kind's builder decides; `_Builder.new` adds the kind's service and the tags."""

    region: str | None
    zone: str | None
    resource_id: str
    name: str
    lines: list[Line]
    spot: bool = False  # priced Dynamic


def _hours_profile(rnd: _Rand, env: str, spot_ok: bool = True) -> str:
    """steady (always on) | scaled (autoscaling group member) | spot."""
    r = rnd.random()
    steady_share = 0.65 if env == "production" else 0.5
    if r < steady_share:
        return "steady"
    if r < 0.9 or not spot_ok:
        return "scaled"
    return "spot"


def _size_and_mode(s: _Site, weights: Mapping[str, float]) -> tuple[str, str]:
    """A virtual machine's size and how it runs (`_hours_profile`): the caller's, or drawn."""
    size = str(s.opts.get("size") or s.rnd.pick(weights))
    return size, str(s.opts.get("mode") or _hours_profile(s.rnd, s.acct.env))


def _instance_hours(
    s: _Site, mode: str, sku: str, size: str, price: float, on_demand: str, spot: str
) -> Line:
    """A virtual machine's hours: 24 a day when steady; a share of the day when scaled; 80% of
    the day at the spot price when spot. `on_demand` and `spot` are the two descriptions."""
    contracted: float | None
    if mode == "spot":
        meter = _Meter(f"{sku}-spot", price, spot, "Hours")
        hours, contracted = 24 * 0.8, price * cat.SPOT_FACTOR
    elif mode == "scaled":
        meter = _Meter(sku, price, on_demand, "Hours")
        hours, contracted = 24 * s.rnd.uniform(0.55, 0.85), None
    else:
        return s.steady(1, 24, _Meter(sku, price, on_demand, "Hours"), size, s.region)
    growth = _growth(s.rnd)
    return _line(
        s.ex, 1, SEASONAL, hours, meter, size, s.region, cap=24, growth=growth, contracted_price=contracted
    )


def _tier(s: _Site, prices: Mapping[str, float], weights: list[float]) -> tuple[str, float]:
    """A tier drawn from a price table (tier -> list price in the cheapest region), and its price here."""
    tier = s.rnd.choices(list(prices), weights=weights)[0]
    return tier, prices[tier] * s.price_mult


def _bucket_lines(
    s: _Site, stored: _Meter, max_gb: float, writes: _Meter, max_writes: float, where: str
) -> list[Line]:
    """Object storage: the data stored (growing) and the write requests (seasonal)."""
    return [
        s.growing(1, s.rnd.logu(100, max_gb), stored, where, max_growth=0.06),
        s.seasonal(2, s.rnd.logu(1e4, max_writes), writes, where),
    ]


# Meters with one list price everywhere; the builders make the others (priced per size or region).
_FLAT_METERS: tuple[_Meter, ...] = (
    # AWS
    _Meter("nat-hours", 0.045, "$0.045 per NAT Gateway Hour", "Hours"),
    _Meter("nat-bytes", 0.045, "$0.045 per GB Data Processed by NAT Gateways", "GB"),
    _Meter("s3-std", 0.023, "$0.023 per GB - first 50 TB / month of storage used", "GB-Mo"),
    _Meter("s3-tier1", 0.000005, "$0.005 per 1,000 PUT, COPY, POST, or LIST requests", "Requests"),
    _Meter("cf-dto", 0.085, "$0.085 per GB - first 10 TB / month data transfer out (United States)", "GB"),
    _Meter("cf-https", 0.000001, "$0.0100 per 10,000 HTTPS Requests", "Requests"),
    _Meter("ddb-wru", 0.000000625, "$0.625 per million write request units", "WriteRequestUnits"),
    _Meter("ddb-rru", 0.000000125, "$0.125 per million read request units", "ReadRequestUnits"),
    _Meter("cw-logs", 0.50, "$0.50 per GB custom log data ingested", "GB"),
    _Meter("alb-hours", 0.0225, "$0.0225 per Application LoadBalancer-hour (or partial hour)", "Hours"),
    _Meter("alb-lcu", 0.008,
           "$0.008 per used Application load balancer capacity unit-hour (or partial hour)", "LCU-Hrs"),
    # Azure
    _Meter("st-write", 0.0000065, "Hot LRS Write Operations", "Operations"),
    _Meter("aks-sla", 0.10, "Standard Uptime SLA", "Hours"),
    _Meter("bw-out", 0.087, "Standard Data Transfer Out - Zone 1", "GB"),
    _Meter("cosmos-gb", 0.25, "Azure Cosmos DB - Data Stored", "GB-Mo"),
    _Meter("la-ingest", 2.30, "Analytics Logs Data Ingestion", "GB"),
    # Google Cloud
    _Meter("gcs-a", 0.000005, "Standard Storage Class A Operations", "Requests"),
    _Meter("bq-analysis", 6.25, "Analysis (on-demand)", "Tebibytes"),
    _Meter("bq-storage", 0.02, "Active Logical Storage", "GiB-Mo"),
    _Meter("gke", 0.10, "Regional Kubernetes Clusters", "Hours"),
    _Meter("run-cpu", 0.000024, "CPU Allocation Time (tier 1)", "vCPU-Seconds"),
    _Meter("run-mem", 0.0000025, "Memory Allocation Time (tier 1)", "GiB-Seconds"),
    _Meter("lb-rule", 0.025, "Global External Application Load Balancer Forwarding Rule Minimum", "Hours"),
    _Meter("lb-data", 0.008, "Global External Application Load Balancer Inbound Data Processing", "GiB"),
)  # fmt: skip
_METERS = {m.sku: m for m in _FLAT_METERS}


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


# ------------------------------------------------------------------------------------------- the plan
def _accounts(export: str) -> list[cat.Account]:
    return [a for a in cat.ACCOUNTS if a.export == export]


@dataclass(frozen=True)
class _Hero:
    """A fixed resource the story needs at every scale."""

    kind: str
    account: str  # Account.id
    region: str | None  # None: drawn from the account's regions
    team: str
    app: str
    name: str
    opts: Mapping[str, Any] = field(default_factory=dict)  # the kind's fixed choices (size, mode...)
    tags: dict[str, str] | bool | None = True  # True: tagged like any resource; None: untagged
    role: str | None = None  # its group in `_heroes`' result


_SP = {"size": "r6i.2xlarge", "mode": "steady"}  # covered by the Compute Savings Plan
_RI = {"size": "db.r6g.xlarge", "multi_az": False}  # covered by the RDS reservation
_AZ_RI = {"size": "Standard_D8s_v5", "mode": "steady"}  # covered by the Azure VM reservation
_ACME_PROD_WEU = "b3c1e5a2-4f6d-4e8b-9a7c-1d2e3f4a5b6c"  # Azure subscription acme-prod-weu

# in creation order: it decides resource ids and the random draws
_HEROES: tuple[_Hero, ...] = (
    # the Compute Savings Plan covers four instances; the two legacy ones are retired before the end
    _Hero("ec2", "012345678901", "us-east-1", "checkout", "checkout-api", "checkout-api-prod-core-01", _SP,
          role="sp"),
    _Hero("ec2", "012345678901", "us-east-1", "checkout", "checkout-api", "checkout-api-prod-core-02", _SP,
          role="sp"),
    _Hero("ec2", "012345678901", "us-east-1", "data", "reporting", "reporting-legacy-prod-01", _SP,
          role="sp_gone"),
    _Hero("ec2", "012345678901", "us-east-1", "data", "reporting", "reporting-legacy-prod-02", _SP,
          role="sp_gone"),
    # the RDS reservation covers two databases
    _Hero("rds", "012345678901", "us-east-1", "checkout", "checkout-api", "checkout-prod-pg", _RI, role="ri"),
    _Hero("rds", "012345678901", "us-east-1", "identity", "auth-service", "identity-prod-pg", _RI, role="ri"),
    # the AWS Lambda spike, an untagged instance, a partly tagged bucket, the Acme Labs API
    _Hero("lambda", "310957286644", "us-west-2", "data", "etl-pipelines", "etl-partition-loader",
          {"requests": 8e6, "gb_seconds": 2.2e6}),
    _Hero("ec2", "068719532447", "us-west-2", "platform", "ci-runners", "test-instance-do-not-delete",
          {"size": "t3.large", "mode": "steady"}, tags=None),
    _Hero("s3", "068719532447", "us-west-2", "data", "data-lake", "acme-tmp-exports-2023",
          tags={"team": "data", "environment": "development", "application": "data-lake"}),
    _Hero("ec2", "092235618840", "us-east-1", "labs", "labs-api", "labs-api-prod-01",
          {"size": "m6i.xlarge", "mode": "steady"}),
    # the Azure VM reservation: its instances, the last two retired before the end
    *(
        _Hero("vm", _ACME_PROD_WEU, "westeurope", "search", "search-api", f"vm-search-prod-weu-{i:02d}",
              _AZ_RI, role="azure_gone" if i > cat.AZURE_RI_INSTANCES - 2 else "azure_ri")
        for i in range(1, cat.AZURE_RI_INSTANCES + 1)
    ),
    # a partly tagged jump box
    _Hero("vm", "0f4a8b2c-6d1e-4f3a-b5c7-e8d9a0b1c2d3", "westeurope", "platform", "edge-gateway",
          "vm-jumpbox-01", {"size": "Standard_B2ms", "mode": "steady"},
          tags={"team": "platform", "application": "bastion"}),
    # the BigQuery spike, an ML training runner, a partly tagged bucket
    _Hero("bigquery", "acme-data-platform", None, "data", "reporting", "analytics_events",
          {"tib": 9.0, "storage_gib": 20000}),
    _Hero("gce", "acme-ml-sandbox", "us-central1", "ml", "model-training", "training-runner-01",
          {"size": "n2-standard-8", "mode": "steady"}),
    _Hero("gcs", "acme-ml-sandbox", "us-central1", "ml", "model-training", "acme-ml-scratch",
          tags={"environment": "development", "cost-center": "CC-1006"}),
)  # fmt: skip


def _heroes(b: _Builder, rnd: dict[str, _Rand], n_days: int) -> dict[str, list[Resource]]:
    """Fixed resources the story needs at every scale: commitments, spikes, untagged examples."""
    out: dict[str, list[Resource]] = {"sp": [], "sp_gone": [], "ri": [], "azure_ri": [], "azure_gone": []}
    for hero in _HEROES:
        account = cat.ACCOUNT_BY_ID[hero.account]
        res = b.new(
            hero.kind,
            rnd[account.export],
            account,
            region=hero.region,
            team=hero.team,
            app=hero.app,
            tags=hero.tags,
            opts={**hero.opts, "name": hero.name},
        )
        if hero.role:
            out[hero.role].append(res)
    return out


def build_plan(start: date, end: date, seed: int, scale: float) -> Plan:
    n_days = (end - start).days + 1
    b = _Builder(n_days, seed)
    rnd = {e.key: _Rand(stable_hash("demo", seed, e.key)) for e in cat.EXPORTS}
    heroes = _heroes(b, rnd, n_days)
    hero_count = Counter(r.export for r in b.resources)
    sp_covered: list[Resource] = []
    for export in cat.EXPORTS:
        r = rnd[export.key]
        accounts = _accounts(export.key)
        weights = [a.weight for a in accounts]
        mix = cat.SERVICE_MIX[export.key]
        fleet = max(0, round(export.fleet * scale) - hero_count[export.key])
        for _ in range(fleet):
            account = r.choices(accounts, weights=weights)[0]
            kind = r.pick(mix)
            res = b.new(kind, r, account)
            if r.random() < 0.02 and n_days > 30:  # deleted some time ago
                res.end_i = r.randrange(n_days // 5, n_days - 20)
            if (
                kind == "ec2"
                and account.id == "012345678901"
                and res.pricing_category == "Standard"
                and res.lines[0].profile == STEADY
                and res.end_i == n_days - 1
                and r.random() < 0.6
            ):
                sp_covered.append(res)
    # --- commitments -------------------------------------------------------------------------------
    sp_decommission = max(0, n_days - 12)  # first day without the retired instances
    cover_rnd = _Rand(stable_hash("cover", seed))
    for res in heroes["sp"] + heroes["sp_gone"] + sp_covered:
        _cover(res, "aws-sp", 0)
    for res in heroes["sp_gone"]:
        res.end_i = sp_decommission - 1
    for res in sp_covered:
        if cover_rnd.random() < 0.12:
            res.end_i = sp_decommission - 1
    ri_purchase = 45 if n_days > 90 else 0
    for res in heroes["ri"]:
        _cover(res, "aws-rds-ri", ri_purchase, lines=(1,))
    azure_decommission = max(0, n_days - 25)
    for res in heroes["azure_ri"] + heroes["azure_gone"]:
        _cover(res, "azure-ri", 0)
    for res in heroes["azure_gone"]:
        res.end_i = azure_decommission - 1
    # --- spikes (SEASONAL lines of every resource of the service in the account) ---------------------
    spikes = [
        Spike(
            "aws",
            "310957286644",
            "AWS Lambda",
            end - timedelta(days=15),
            end - timedelta(days=13),
            5.0,
            False,
        ),
        Spike("gcp", "acme-data-platform", "BigQuery", end - timedelta(days=3), end, 6.0, True),
    ]
    for spike in spikes:
        first, last = (spike.first - start).days, (spike.last - start).days
        if first < 0:
            continue
        for res in b.resources:
            if (
                res.export == spike.export
                and res.account.id == spike.account
                and res.service == spike.service
            ):
                res.spike = (first, last, spike.factor)
    return Plan(
        start, end, n_days, seed, b.resources, spikes, ri_purchase, sp_decommission, azure_decommission
    )


def _cover(res: Resource, commitment: str, first_day: int, lines: tuple[int, ...] = (1,)) -> None:
    c = cat.COMMITMENT_BY_KEY[commitment]
    for line in res.lines:
        if line.line in lines:
            line.commitment = commitment
            line.commitment_from = first_day
            line.effective_unit_price = round(line.list_unit_price * c.effective_share, 10)
