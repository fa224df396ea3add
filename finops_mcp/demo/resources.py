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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

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

    def guid(self) -> str:
        h = self.hexid(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

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
        **opts: object,
    ) -> Resource:
        if region is None:
            region = rnd.choices([r for r, _ in account.regions], weights=[w for _, w in account.regions])[0]
        team = team or rnd.choice(account.teams)
        app = app or rnd.choice(cat.TEAMS[team][1])
        tag_map = self._tags(rnd, account, team, app) if tags is True else (tags or None)
        export = cat.EXPORT_BY_KEY[account.export]
        res = _KINDS[kind](self, rnd, export, account, region, app, opts)
        res.tags = tag_map
        res.kind = kind
        return self.add(res)


def _line(
    export: cat.Export,
    n: int,
    profile: int,
    qty: float,
    list_price: float,
    description: str,
    unit: str,
    sku_key: tuple[object, ...],
    *,
    consumed_unit: str | None = None,
    consumed_per_pricing: float = 1.0,
    per_month: bool = False,
    cap: float | None = None,
    growth: float = 0.0,
    contracted_price: float | None = None,
) -> Line:
    sku, price_id = sku_ids(export.provider, *sku_key)
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
        description=description,
        pricing_unit=unit,
        consumed_unit=consumed_unit or unit,
        consumed_per_pricing=consumed_per_pricing,
        per_month=per_month,
        cap=cap,
        growth=round(growth, 6),
    )


def _hours_profile(rnd: _Rand, env: str, spot_ok: bool = True) -> str:
    """steady (always on) | scaled (autoscaling group member) | spot."""
    r = rnd.random()
    steady_share = 0.65 if env == "production" else 0.5
    if r < steady_share:
        return "steady"
    if r < 0.9 or not spot_ok:
        return "scaled"
    return "spot"


def _growth(rnd: _Rand) -> float:
    return rnd.uniform(0.0, 0.045)


# ---------------------------------------------------------------------------------------------- AWS
def _aws_arn(service: str, region: str, account: str, rest: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{rest}"


def _k_ec2(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    itype = str(o.get("size") or rnd.pick(cat.AWS_EC2_WEIGHTS))
    mode = str(o.get("mode") or _hours_profile(rnd, acct.env))
    price = cat.AWS_EC2[itype][2] * cat.REGIONS[region][2]
    zone = rnd.choice(cat.REGIONS[region][1])
    name = str(o.get("name") or b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}"))
    iid = "i-0" + rnd.hexid(16)
    if mode == "spot":
        line = _line(
            ex,
            1,
            SEASONAL,
            24 * 0.8,
            price,
            f"${price * cat.SPOT_FACTOR:.4f} per Spot Linux {itype} Instance Hour",
            "Hours",
            ("ec2-spot", itype, region),
            cap=24,
            growth=_growth(rnd),
            contracted_price=price * cat.SPOT_FACTOR,
        )
    elif mode == "scaled":
        line = _line(
            ex,
            1,
            SEASONAL,
            24 * rnd.uniform(0.55, 0.85),
            price,
            f"${price:.4f} per On Demand Linux {itype} Instance Hour",
            "Hours",
            ("ec2", itype, region),
            cap=24,
            growth=_growth(rnd),
        )
    else:
        line = _line(
            ex,
            1,
            STEADY,
            24,
            price,
            f"${price:.4f} per On Demand Linux {itype} Instance Hour",
            "Hours",
            ("ec2", itype, region),
        )
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon Elastic Compute Cloud",
        "Compute",
        region,
        zone,
        _aws_arn("ec2", region, acct.id, f"instance/{iid}"),
        name,
        "Instance",
        None,
        "Dynamic" if mode == "spot" else "Standard",
        [line],
    )


def _k_ebs(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    size = rnd.choices([50, 100, 200, 500, 1000, 2000, 4000], weights=[10, 20, 20, 15, 8, 4, 1])[0]
    price = 0.08 * cat.REGIONS[region][2]
    line = _line(
        ex,
        1,
        STEADY,
        size,
        price,
        f"${price:.3f} per GB-month of General Purpose (gp3) provisioned storage - {cat.REGIONS[region][0]}",
        "GB-Mo",
        ("ebs-gp3", region),
        per_month=True,
    )
    name = b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}-data")
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon Elastic Compute Cloud",
        "Compute",
        region,
        rnd.choice(cat.REGIONS[region][1]),
        _aws_arn("ec2", region, acct.id, f"volume/vol-0{rnd.hexid(16)}"),
        name,
        "Volume",
        None,
        "Standard",
        [line],
    )


def _k_nat(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    zone = rnd.choice(cat.REGIONS[region][1])
    lines = [
        _line(ex, 1, STEADY, 24, 0.045, "$0.045 per NAT Gateway Hour", "Hours", ("nat-hours", region)),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(30, 900),
            0.045,
            "$0.045 per GB Data Processed by NAT Gateways",
            "GB",
            ("nat-bytes", region),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon Elastic Compute Cloud",
        "Compute",
        region,
        zone,
        _aws_arn("ec2", region, acct.id, f"natgateway/nat-0{rnd.hexid(16)}"),
        b.next_name(f"nat-{cat.ENV_SHORT[acct.env]}-{zone}"),
        "NAT Gateway",
        None,
        "Standard",
        lines,
    )


def _k_s3(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    purpose = rnd.choice(["assets", "logs", "backups", "exports", "artifacts", "data"])
    name = str(o.get("name") or b.next_name(f"acme-{app}-{cat.ENV_SHORT[acct.env]}-{purpose}-{region}", 3))
    lines = [
        _line(
            ex,
            1,
            GROWING,
            rnd.logu(100, 30000),
            0.023,
            "$0.023 per GB - first 50 TB / month of storage used",
            "GB-Mo",
            ("s3-std", region),
            per_month=True,
            growth=rnd.uniform(0.01, 0.06),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(1e4, 3e6),
            0.000005,
            "$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
            "Requests",
            ("s3-tier1", region),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon Simple Storage Service",
        "Storage",
        region,
        None,
        f"arn:aws:s3:::{name}",
        name,
        "Bucket",
        None,
        "Standard",
        lines,
    )


def _k_rds(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    cls = str(o.get("size") or rnd.choice(list(cat.AWS_RDS)))
    multi = bool(o.get("multi_az", acct.env == "production" and rnd.random() < 0.4))
    price = cat.AWS_RDS[cls] * cat.REGIONS[region][2] * (2 if multi else 1)
    deploy = "Multi-AZ" if multi else "Single-AZ"
    name = str(o.get("name") or b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}-pg"))
    lines = [
        _line(
            ex,
            1,
            STEADY,
            24,
            price,
            f"${price:.3f} per RDS {cls} {deploy} instance hour (or partial hour) running PostgreSQL",
            "Hours",
            ("rds", cls, deploy, region),
        ),
        _line(
            ex,
            2,
            STEADY,
            rnd.choice([100, 200, 500, 1000, 2000]),
            0.115 * (2 if multi else 1),
            f"${0.115 * (2 if multi else 1):.3f} per GB-month of provisioned gp2 storage running PostgreSQL",
            "GB-Mo",
            ("rds-gp2", deploy, region),
            per_month=True,
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon Relational Database Service",
        "Databases",
        region,
        rnd.choice(cat.REGIONS[region][1]),
        _aws_arn("rds", region, acct.id, f"db:{name}"),
        name,
        "DB Instance",
        None,
        "Standard",
        lines,
    )


def _k_lambda(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    fn = rnd.choice(
        ["handler", "worker", "cron", "webhook", "resize-images", "stream-consumer", "authorizer"]
    )
    name = str(o.get("name") or b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}-{fn}"))
    reqs = float(o.get("requests") or rnd.logu(2e4, 1.2e7))
    gbs = float(o.get("gb_seconds") or rnd.logu(5e3, 2.5e6))
    rn = cat.REGIONS[region][0]
    lines = [
        _line(
            ex,
            1,
            SEASONAL,
            reqs,
            0.0000002,
            f"AWS Lambda - Total Requests - {rn}",
            "Requests",
            ("lambda-req", region),
            growth=_growth(rnd),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            gbs,
            0.0000166667,
            f"AWS Lambda - Total Compute (GB-Second) - {rn}",
            "Lambda-GB-Second",
            ("lambda-gbs", region),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "AWS Lambda",
        "Compute",
        region,
        None,
        _aws_arn("lambda", region, acct.id, f"function:{name}"),
        name,
        "Function",
        None,
        "Standard",
        lines,
    )


def _k_cloudfront(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    dist = "E" + _code(rnd.getrandbits(128), 13)
    lines = [
        _line(
            ex,
            1,
            SEASONAL,
            rnd.logu(20, 1200),
            0.085,
            "$0.085 per GB - first 10 TB / month data transfer out (United States)",
            "GB",
            ("cf-dto",),
            growth=_growth(rnd),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(2e5, 2e7),
            0.000001,
            "$0.0100 per 10,000 HTTPS Requests",
            "Requests",
            ("cf-https",),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon CloudFront",
        "Networking",
        None,
        None,
        f"arn:aws:cloudfront::{acct.id}:distribution/{dist}",
        b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}-cdn"),
        "Distribution",
        None,
        "Standard",
        lines,
    )


def _k_eks(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = b.next_name(f"eks-{cat.ENV_SHORT[acct.env]}-{region}")
    line = _line(
        ex,
        1,
        STEADY,
        24,
        0.10,
        f"Amazon EKS cluster usage in {cat.REGIONS[region][0]}",
        "Hours",
        ("eks", region),
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon Elastic Kubernetes Service",
        "Compute",
        region,
        None,
        _aws_arn("eks", region, acct.id, f"cluster/{name}"),
        name,
        "Cluster",
        None,
        "Standard",
        [line],
    )


def _k_dynamodb(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    table = rnd.choice(["sessions", "orders", "events", "profiles", "carts", "feature-flags"])
    name = b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}-{table}")
    lines = [
        _line(
            ex,
            1,
            SEASONAL,
            rnd.logu(2e5, 3e7),
            0.000000625,
            "$0.625 per million write request units",
            "WriteRequestUnits",
            ("ddb-wru", region),
            growth=_growth(rnd),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(1e6, 1.5e8),
            0.000000125,
            "$0.125 per million read request units",
            "ReadRequestUnits",
            ("ddb-rru", region),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon DynamoDB",
        "Databases",
        region,
        None,
        _aws_arn("dynamodb", region, acct.id, f"table/{name}"),
        name,
        "Table",
        None,
        "Standard",
        lines,
    )


def _k_cloudwatch(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    src = rnd.choice(["lambda", "ecs", "eks", "apigateway", "rds"])
    name = b.next_name(f"/aws/{src}/{app}-{cat.ENV_SHORT[acct.env]}")
    line = _line(
        ex,
        1,
        SEASONAL,
        rnd.logu(0.5, 30),
        0.50,
        "$0.50 per GB custom log data ingested",
        "GB",
        ("cw-logs", region),
        growth=_growth(rnd),
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon CloudWatch",
        "Management and Governance",
        region,
        None,
        _aws_arn("logs", region, acct.id, f"log-group:{name}"),
        name,
        "Log Group",
        None,
        "Standard",
        [line],
    )


def _k_elasticache(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    node = rnd.choice(list(cat.AWS_CACHE))
    price = cat.AWS_CACHE[node] * cat.REGIONS[region][2]
    name = b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}-redis")
    line = _line(
        ex,
        1,
        STEADY,
        24 * rnd.choice([1, 2, 3]),
        price,
        f"${price:.3f} per Redis OSS {node} node-hour",
        "Hours",
        ("cache", node, region),
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Amazon ElastiCache",
        "Databases",
        region,
        rnd.choice(cat.REGIONS[region][1]),
        _aws_arn("elasticache", region, acct.id, f"cluster:{name}"),
        name,
        "Cache Cluster",
        None,
        "Standard",
        [line],
    )


def _k_elb(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = b.next_name(f"{app}-{cat.ENV_SHORT[acct.env]}-alb")
    lines = [
        _line(
            ex,
            1,
            STEADY,
            24,
            0.0225,
            "$0.0225 per Application LoadBalancer-hour (or partial hour)",
            "Hours",
            ("alb-hours", region),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(24, 500),
            0.008,
            "$0.008 per used Application load balancer capacity unit-hour (or partial hour)",
            "LCU-Hrs",
            ("alb-lcu", region),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Elastic Load Balancing",
        "Networking",
        region,
        None,
        _aws_arn("elasticloadbalancing", region, acct.id, f"loadbalancer/app/{name}/{rnd.hexid(16)}"),
        name,
        "Load Balancer",
        None,
        "Standard",
        lines,
    )


# -------------------------------------------------------------------------------------------- Azure
def _az_id(acct: cat.Account, rg: str, provider: str, rest: str) -> str:
    return f"/subscriptions/{acct.id}/resourceGroups/{rg}/providers/{provider}/{rest}"


def _rg(app: str, acct: cat.Account) -> str:
    return f"rg-{app}-{cat.ENV_SHORT[acct.env]}"


def _az_series(size: str) -> str:
    """Standard_D8s_v5 -> Dsv5, Standard_B2ms -> BS (the meter's series name)."""
    base, _, version = size.replace("Standard_", "").partition("_v")
    if not version:
        return base[0] + "S"
    return base[0] + "".join(ch for ch in base[1:] if ch.isalpha()) + "v" + version


def _k_vm(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    size = str(o.get("size") or rnd.pick(cat.AZURE_VM_WEIGHTS))
    mode = str(o.get("mode") or _hours_profile(rnd, acct.env))
    price = cat.AZURE_VM[size][2] * cat.REGIONS[region][2]
    short = size.replace("Standard_", "").replace("_", " ")
    series = _az_series(size)
    rn = cat.REGIONS[region][0]
    name = str(o.get("name") or b.next_name(f"vm-{app}-{cat.ENV_SHORT[acct.env]}"))
    if mode == "spot":
        line = _line(
            ex,
            1,
            SEASONAL,
            24 * 0.8,
            price,
            f"Virtual Machines {series} Series - {short} Spot - {rn}",
            "Hours",
            ("vm-spot", size, region),
            cap=24,
            growth=_growth(rnd),
            contracted_price=price * cat.SPOT_FACTOR,
        )
    elif mode == "scaled":
        line = _line(
            ex,
            1,
            SEASONAL,
            24 * rnd.uniform(0.55, 0.85),
            price,
            f"Virtual Machines {series} Series - {short} - {rn}",
            "Hours",
            ("vm", size, region),
            cap=24,
            growth=_growth(rnd),
        )
    else:
        line = _line(
            ex,
            1,
            STEADY,
            24,
            price,
            f"Virtual Machines {series} Series - {short} - {rn}",
            "Hours",
            ("vm", size, region),
        )
    return Resource(
        0,
        ex.key,
        acct,
        "Virtual Machines",
        "Compute",
        region,
        None,
        _az_id(acct, _rg(app, acct), "Microsoft.Compute", f"virtualMachines/{name}"),
        name,
        "Virtual machine",
        None,
        "Dynamic" if mode == "spot" else "Standard",
        [line],
    )


_AZ_DISKS = {"P10": 19.71, "P15": 38.02, "P20": 73.22, "P30": 135.17}


def _k_disk(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    tier = rnd.choices(list(_AZ_DISKS), weights=[10, 8, 5, 2])[0]
    price = _AZ_DISKS[tier] * cat.REGIONS[region][2]
    name = b.next_name(f"disk-{app}-{cat.ENV_SHORT[acct.env]}")
    line = _line(
        ex,
        1,
        STEADY,
        1,
        price,
        f"Premium SSD Managed Disks - {tier} LRS - Disk",
        "Disk-Months",
        ("disk", tier, region),
        per_month=True,
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Storage",
        "Storage",
        region,
        None,
        _az_id(acct, _rg(app, acct), "Microsoft.Compute", f"disks/{name}"),
        name,
        "Disk",
        None,
        "Standard",
        [line],
    )


def _k_storage(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    base = ("st" + app.replace("-", "") + cat.ENV_SHORT[acct.env])[:20]
    name = b.next_name(base, 3).replace("-", "")
    lines = [
        _line(
            ex,
            1,
            GROWING,
            rnd.logu(100, 25000),
            0.0208 * cat.REGIONS[region][2],
            "Hot LRS Data Stored",
            "GB-Mo",
            ("st-hot", region),
            per_month=True,
            growth=rnd.uniform(0.01, 0.06),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(1e4, 2e6),
            0.0000065,
            "Hot LRS Write Operations",
            "Operations",
            ("st-write", region),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Storage",
        "Storage",
        region,
        None,
        _az_id(acct, _rg(app, acct), "Microsoft.Storage", f"storageAccounts/{name}"),
        name,
        "Storage account",
        None,
        "Standard",
        lines,
    )


def _k_sql(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    vcores = rnd.choice([2, 4, 4, 8])
    price = 0.2529 * cat.REGIONS[region][2]
    db = b.next_name(f"sqldb-{app}")
    line = _line(
        ex,
        1,
        STEADY,
        24 * vcores,
        price,
        "SQL Database Single/Elastic Pool General Purpose - Compute Gen5 - vCore",
        "vCore-Hours",
        ("sql-gp", region),
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Azure SQL Database",
        "Databases",
        region,
        None,
        _az_id(
            acct,
            _rg(app, acct),
            "Microsoft.Sql",
            f"servers/sql-{app}-{cat.ENV_SHORT[acct.env]}/databases/{db}",
        ),
        db,
        "SQL database",
        None,
        "Standard",
        [line],
    )


def _k_aks(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = b.next_name(f"aks-{cat.ENV_SHORT[acct.env]}-{region}")
    line = _line(ex, 1, STEADY, 24, 0.10, "Standard Uptime SLA", "Hours", ("aks-sla", region))
    return Resource(
        0,
        ex.key,
        acct,
        "Azure Kubernetes Service",
        "Compute",
        region,
        None,
        _az_id(
            acct, f"rg-aks-{cat.ENV_SHORT[acct.env]}", "Microsoft.ContainerService", f"managedClusters/{name}"
        ),
        name,
        "Kubernetes service",
        None,
        "Standard",
        [line],
    )


def _k_bandwidth(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = b.next_name(f"pip-{app}-{cat.ENV_SHORT[acct.env]}")
    line = _line(
        ex,
        1,
        SEASONAL,
        rnd.logu(5, 500),
        0.087,
        "Standard Data Transfer Out - Zone 1",
        "GB",
        ("bw-out", "zone1"),
        growth=_growth(rnd),
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Bandwidth",
        "Networking",
        region,
        None,
        _az_id(acct, _rg(app, acct), "Microsoft.Network", f"publicIPAddresses/{name}"),
        name,
        "Public IP address",
        None,
        "Standard",
        [line],
    )


def _k_cosmos(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    ru = rnd.choice([400, 400, 1000, 1000, 2000, 4000, 10000])
    name = b.next_name(f"cosmos-{app}-{cat.ENV_SHORT[acct.env]}")
    lines = [
        _line(
            ex,
            1,
            STEADY,
            24 * ru / 100,
            0.008 * cat.REGIONS[region][2],
            "Azure Cosmos DB - 100 RU/s",
            "100 RU/s-Hours",
            ("cosmos-ru", region),
        ),
        _line(
            ex,
            2,
            GROWING,
            rnd.logu(5, 500),
            0.25,
            "Azure Cosmos DB - Data Stored",
            "GB-Mo",
            ("cosmos-gb", region),
            per_month=True,
            growth=rnd.uniform(0.01, 0.05),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Azure Cosmos DB",
        "Databases",
        region,
        None,
        _az_id(acct, _rg(app, acct), "Microsoft.DocumentDB", f"databaseAccounts/{name}"),
        name,
        "Azure Cosmos DB account",
        None,
        "Standard",
        lines,
    )


_AZ_PLANS = {"S1": 0.10, "P1v3": 0.169, "P2v3": 0.338, "P3v3": 0.676}


def _k_appservice(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    plan = rnd.choices(list(_AZ_PLANS), weights=[3, 6, 3, 1])[0]
    price = _AZ_PLANS[plan] * cat.REGIONS[region][2]
    name = b.next_name(f"asp-{app}-{cat.ENV_SHORT[acct.env]}")
    line = _line(
        ex,
        1,
        STEADY,
        24 * rnd.choice([1, 2, 3]),
        price,
        f"Azure App Service Premium v3 Plan - {plan} - Linux",
        "Hours",
        ("asp", plan, region),
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Azure App Service",
        "Web",
        region,
        None,
        _az_id(acct, _rg(app, acct), "Microsoft.Web", f"serverfarms/{name}"),
        name,
        "App Service plan",
        None,
        "Standard",
        [line],
    )


def _k_monitor(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = b.next_name(f"log-{app}-{cat.ENV_SHORT[acct.env]}")
    line = _line(
        ex,
        1,
        SEASONAL,
        rnd.logu(0.5, 20),
        2.30,
        "Analytics Logs Data Ingestion",
        "GB",
        ("la-ingest", region),
        growth=_growth(rnd),
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Azure Monitor",
        "Management and Governance",
        region,
        None,
        _az_id(acct, _rg(app, acct), "Microsoft.OperationalInsights", f"workspaces/{name}"),
        name,
        "Log Analytics workspace",
        None,
        "Standard",
        [line],
    )


# --------------------------------------------------------------------------------------- Google Cloud
def _gcp_name(b: _Builder, base: str) -> str:
    return b.next_name(base, 2)


def _k_gce(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    machine = str(o.get("size") or rnd.pick(cat.GCP_MACHINE_WEIGHTS))
    family, vcpu, mem = cat.GCP_MACHINES[machine]
    core, ram = cat.GCP_FAMILIES[family]
    mult = cat.REGIONS[region][2]
    mode = str(o.get("mode") or _hours_profile(rnd, acct.env))
    geo = _geo(region)
    zone = rnd.choice(cat.REGIONS[region][1])
    name = str(o.get("name") or _gcp_name(b, f"{app}-{cat.ENV_SHORT[acct.env]}"))
    spot = mode == "spot"
    prefix = "Spot Preemptible " if spot else ""
    profile = STEADY if mode == "steady" else SEASONAL
    share = 1.0 if mode == "steady" else rnd.uniform(0.55, 0.85)
    growth = 0.0 if mode == "steady" else _growth(rnd)
    lines = []
    for n, (what, qty, price, unit) in enumerate(
        (("Core", vcpu, core, "Hours"), ("Ram", mem, ram, "GiB-Hours")), start=1
    ):
        p = price * mult
        lines.append(
            _line(
                ex,
                n,
                profile,
                24 * qty * share,
                p,
                f"{prefix}{family} Instance {what} running in {geo}",
                unit,
                ("gce", spot, family, what, region),
                cap=24 * qty,
                growth=growth,
                contracted_price=p * cat.SPOT_FACTOR if spot else None,
            )
        )
    return Resource(
        0,
        ex.key,
        acct,
        "Compute Engine",
        "Compute",
        region,
        zone,
        f"//compute.googleapis.com/projects/{acct.id}/zones/{zone}/instances/{name}",
        name,
        "Instance",
        None,
        "Dynamic" if spot else "Standard",
        lines,
    )


def _k_pd(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    size = rnd.choices([50, 100, 200, 500, 1000, 2000], weights=[8, 20, 20, 12, 6, 2])[0]
    zone = rnd.choice(cat.REGIONS[region][1])
    name = _gcp_name(b, f"{app}-{cat.ENV_SHORT[acct.env]}-pd")
    p = 0.10 * cat.REGIONS[region][2]
    line = _line(
        ex, 1, STEADY, size, p, "Balanced PD Capacity", "GiB-Mo", ("pd-balanced", region), per_month=True
    )
    return Resource(
        0,
        ex.key,
        acct,
        "Compute Engine",
        "Compute",
        region,
        zone,
        f"//compute.googleapis.com/projects/{acct.id}/zones/{zone}/disks/{name}",
        name,
        "Disk",
        None,
        "Standard",
        [line],
    )


def _k_gcs(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    multi = rnd.random() < 0.3
    loc = "us" if multi else region
    name = str(
        o.get("name")
        or _gcp_name(b, f"{acct.id}-{app}-{rnd.choice(['assets', 'logs', 'backups', 'exports'])}")
    )
    price = 0.026 if multi else 0.020 * cat.REGIONS[region][2]
    where = "US Multi-region" if multi else cat.REGIONS[region][0]
    lines = [
        _line(
            ex,
            1,
            GROWING,
            rnd.logu(100, 30000),
            price,
            f"Standard Storage {where}",
            "GiB-Mo",
            ("gcs", loc),
            per_month=True,
            growth=rnd.uniform(0.01, 0.06),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(1e4, 2e6),
            0.000005,
            "Standard Storage Class A Operations",
            "Requests",
            ("gcs-a", loc),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Cloud Storage",
        "Storage",
        loc,
        None,
        f"//storage.googleapis.com/projects/_/buckets/{name}",
        name,
        "Bucket",
        None,
        "Standard",
        lines,
    )


def _k_bigquery(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = str(
        o.get("name") or _gcp_name(b, f"{app.replace('-', '_')}_{rnd.choice(['raw', 'curated', 'marts'])}")
    )
    tib = float(o.get("tib") or rnd.logu(0.02, 3))
    lines = [
        _line(
            ex,
            1,
            SEASONAL,
            tib,
            6.25,
            "Analysis (on-demand)",
            "Tebibytes",
            ("bq-analysis", "us"),
            growth=_growth(rnd),
        ),
        _line(
            ex,
            2,
            GROWING,
            float(o.get("storage_gib") or rnd.logu(100, 30000)),
            0.02,
            "Active Logical Storage",
            "GiB-Mo",
            ("bq-storage", "us"),
            per_month=True,
            growth=rnd.uniform(0.01, 0.05),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "BigQuery",
        "Analytics",
        "us",
        None,
        f"//bigquery.googleapis.com/projects/{acct.id}/datasets/{name}",
        name,
        "Dataset",
        None,
        "Standard",
        lines,
    )


def _k_cloudsql(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    vcpu = rnd.choice([2, 4, 4, 8])
    geo = _geo(region)
    mult = cat.REGIONS[region][2]
    name = _gcp_name(b, f"{app}-{cat.ENV_SHORT[acct.env]}-pg")
    lines = [
        _line(
            ex,
            1,
            STEADY,
            24 * vcpu,
            0.0413 * mult,
            f"Cloud SQL for PostgreSQL: Zonal - vCPU in {geo}",
            "Hours",
            ("csql-cpu", region),
        ),
        _line(
            ex,
            2,
            STEADY,
            24 * vcpu * 4,
            0.007 * mult,
            f"Cloud SQL for PostgreSQL: Zonal - RAM in {geo}",
            "GiB-Hours",
            ("csql-ram", region),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Cloud SQL",
        "Databases",
        region,
        rnd.choice(cat.REGIONS[region][1]),
        f"//cloudsql.googleapis.com/projects/{acct.id}/instances/{name}",
        name,
        "Cloud SQL instance",
        None,
        "Standard",
        lines,
    )


def _k_gke(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = _gcp_name(b, f"gke-{cat.ENV_SHORT[acct.env]}-{region}")
    line = _line(ex, 1, STEADY, 24, 0.10, "Regional Kubernetes Clusters", "Hours", ("gke", region))
    return Resource(
        0,
        ex.key,
        acct,
        "Kubernetes Engine",
        "Compute",
        region,
        None,
        f"//container.googleapis.com/projects/{acct.id}/locations/{region}/clusters/{name}",
        name,
        "Cluster",
        None,
        "Standard",
        [line],
    )


def _k_cloudrun(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = _gcp_name(b, f"{app}-{cat.ENV_SHORT[acct.env]}")
    cpu = rnd.logu(2e4, 2.5e6)
    g = _growth(rnd)
    lines = [
        _line(
            ex,
            1,
            SEASONAL,
            cpu,
            0.000024,
            "CPU Allocation Time (tier 1)",
            "vCPU-Seconds",
            ("run-cpu", region),
            growth=g,
        ),
        _line(
            ex,
            2,
            SEASONAL,
            cpu * 2,
            0.0000025,
            "Memory Allocation Time (tier 1)",
            "GiB-Seconds",
            ("run-mem", region),
            growth=g,
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Cloud Run",
        "Compute",
        region,
        None,
        f"//run.googleapis.com/projects/{acct.id}/locations/{region}/services/{name}",
        name,
        "Service",
        None,
        "Standard",
        lines,
    )


def _k_lb(
    b: _Builder, rnd: _Rand, ex: cat.Export, acct: cat.Account, region: str, app: str, o: dict
) -> Resource:
    name = _gcp_name(b, f"{app}-{cat.ENV_SHORT[acct.env]}-fr")
    lines = [
        _line(
            ex,
            1,
            STEADY,
            24,
            0.025,
            "Global External Application Load Balancer Forwarding Rule Minimum",
            "Hours",
            ("lb-rule",),
        ),
        _line(
            ex,
            2,
            SEASONAL,
            rnd.logu(20, 1500),
            0.008,
            "Global External Application Load Balancer Inbound Data Processing",
            "GiB",
            ("lb-data",),
            growth=_growth(rnd),
        ),
    ]
    return Resource(
        0,
        ex.key,
        acct,
        "Networking",
        "Networking",
        None,
        None,
        f"//compute.googleapis.com/projects/{acct.id}/global/forwardingRules/{name}",
        name,
        "Forwarding rule",
        None,
        "Standard",
        lines,
    )


_KINDS = {
    "ec2": _k_ec2,
    "ebs": _k_ebs,
    "nat": _k_nat,
    "s3": _k_s3,
    "rds": _k_rds,
    "lambda": _k_lambda,
    "cloudfront": _k_cloudfront,
    "eks": _k_eks,
    "dynamodb": _k_dynamodb,
    "cloudwatch": _k_cloudwatch,
    "elasticache": _k_elasticache,
    "elb": _k_elb,
    "vm": _k_vm,
    "disk": _k_disk,
    "storage": _k_storage,
    "sql": _k_sql,
    "aks": _k_aks,
    "bandwidth": _k_bandwidth,
    "cosmos": _k_cosmos,
    "appservice": _k_appservice,
    "monitor": _k_monitor,
    "gce": _k_gce,
    "pd": _k_pd,
    "gcs": _k_gcs,
    "bigquery": _k_bigquery,
    "cloudsql": _k_cloudsql,
    "gke": _k_gke,
    "cloudrun": _k_cloudrun,
    "lb": _k_lb,
}


# ------------------------------------------------------------------------------------------- the plan
def _accounts(export: str) -> list[cat.Account]:
    return [a for a in cat.ACCOUNTS if a.export == export]


def _heroes(b: _Builder, rnd: dict[str, _Rand], n_days: int) -> dict[str, list[Resource]]:
    """Fixed resources the story needs at every scale: commitments, spikes, untagged examples."""
    acc = cat.ACCOUNT_BY_ID
    out: dict[str, list[Resource]] = {"sp": [], "sp_gone": [], "ri": [], "azure_ri": [], "azure_gone": []}
    aws, prod = rnd["aws"], acc["012345678901"]
    for name, gone in (
        ("checkout-api-prod-core-01", False),
        ("checkout-api-prod-core-02", False),
        ("reporting-legacy-prod-01", True),
        ("reporting-legacy-prod-02", True),
    ):
        team, app = ("checkout", "checkout-api") if not gone else ("data", "reporting")
        r = b.new(
            "ec2",
            aws,
            prod,
            region="us-east-1",
            team=team,
            app=app,
            size="r6i.2xlarge",
            mode="steady",
            name=name,
        )
        out["sp_gone" if gone else "sp"].append(r)
    for name, team, app in (
        ("checkout-prod-pg", "checkout", "checkout-api"),
        ("identity-prod-pg", "identity", "auth-service"),
    ):
        out["ri"].append(
            b.new(
                "rds",
                aws,
                prod,
                region="us-east-1",
                team=team,
                app=app,
                size="db.r6g.xlarge",
                multi_az=False,
                name=name,
            )
        )
    b.new(
        "lambda",
        aws,
        acc["310957286644"],
        region="us-west-2",
        team="data",
        app="etl-pipelines",
        name="etl-partition-loader",
        requests=8e6,
        gb_seconds=2.2e6,
    )
    b.new(
        "ec2",
        aws,
        acc["068719532447"],
        region="us-west-2",
        team="platform",
        app="ci-runners",
        size="t3.large",
        mode="steady",
        name="test-instance-do-not-delete",
        tags=None,
    )
    b.new(
        "s3",
        aws,
        acc["068719532447"],
        region="us-west-2",
        team="data",
        app="data-lake",
        name="acme-tmp-exports-2023",
        tags={"team": "data", "environment": "development", "application": "data-lake"},
    )
    b.new(
        "ec2",
        rnd["aws-labs"],
        acc["092235618840"],
        region="us-east-1",
        team="labs",
        app="labs-api",
        size="m6i.xlarge",
        mode="steady",
        name="labs-api-prod-01",
    )
    weu = acc["b3c1e5a2-4f6d-4e8b-9a7c-1d2e3f4a5b6c"]
    for i in range(1, cat.AZURE_RI_INSTANCES + 1):
        r = b.new(
            "vm",
            rnd["azure"],
            weu,
            region="westeurope",
            team="search",
            app="search-api",
            size="Standard_D8s_v5",
            mode="steady",
            name=f"vm-search-prod-weu-{i:02d}",
        )
        out["azure_gone" if i > cat.AZURE_RI_INSTANCES - 2 else "azure_ri"].append(r)
    b.new(
        "vm",
        rnd["azure"],
        acc["0f4a8b2c-6d1e-4f3a-b5c7-e8d9a0b1c2d3"],
        region="westeurope",
        team="platform",
        app="edge-gateway",
        size="Standard_B2ms",
        mode="steady",
        name="vm-jumpbox-01",
        tags={"team": "platform", "application": "bastion"},
    )
    gcp = rnd["gcp"]
    b.new(
        "bigquery",
        gcp,
        acc["acme-data-platform"],
        team="data",
        app="reporting",
        name="analytics_events",
        tib=9.0,
        storage_gib=20000,
    )
    b.new(
        "gce",
        gcp,
        acc["acme-ml-sandbox"],
        region="us-central1",
        team="ml",
        app="model-training",
        size="n2-standard-8",
        mode="steady",
        name="training-runner-01",
    )
    b.new(
        "gcs",
        gcp,
        acc["acme-ml-sandbox"],
        region="us-central1",
        team="ml",
        app="model-training",
        name="acme-ml-scratch",
        tags={"environment": "development", "cost-center": "CC-1006"},
    )
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
