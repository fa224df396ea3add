"""The demo estate's building blocks: resources, their charge lines and daily profiles (`Line`,
`Resource`, `Spike`, `Plan`), stable hashes and SKU ids, the seeded random source, the meters
(list prices per SKU) and the per-site builder that service kinds use (see `kinds`).

Profiles: `STEADY` (always on: the same quantity every day), `SEASONAL` (demand driven: weekly
seasonality, a gentle trend and noise), `GROWING` (stored data: grows slowly, tiny noise). Lines
priced per month (`per_month`, e.g. GB-months) accrue `base_qty / days_in_month` per day.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from finops_mcp.demo import catalog as cat

if TYPE_CHECKING:
    from finops_mcp.demo.resources import _Builder


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
