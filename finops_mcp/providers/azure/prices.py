"""List prices used when a resource has no billed cost in the last 30 days (cost_basis `list_price`).

PRICE_TABLE_VERSION 2025-06: approximate Azure retail pay-as-you-go list prices in USD for East US
(Linux for VMs), as published on the Azure pricing pages (azure.microsoft.com/pricing) and the
Retail Prices API (https://prices.azure.com/api/retail/prices) around June 2025, rounded. Other
regions and currencies differ (typically by -10% to +40%); agreements (EA/MCA discounts,
reservations, savings plans) lower them. They are estimates for ranking waste, not invoices: a
finding says which basis it used, and `billed_last_30_days` (from Cost Management) wins whenever the
resource has billed cost. Update the table (and its version) rather than patching numbers in checks.
"""

from __future__ import annotations

from decimal import Decimal

from finops_mcp.money import HOURS_PER_MONTH

PRICE_TABLE_VERSION = "2025-06"
PRICE_CURRENCY = "USD"

# Managed disk tiers: (max size GiB, monthly price) per SKU, smallest tier that fits.
_DISK_TIERS: dict[str, tuple[tuple[int, Decimal], ...]] = {
    "premium_lrs": (
        (4, Decimal("0.60")),
        (8, Decimal("1.20")),
        (16, Decimal("2.40")),
        (32, Decimal("5.28")),
        (64, Decimal("10.21")),
        (128, Decimal("19.71")),
        (256, Decimal("38.01")),
        (512, Decimal("73.22")),
        (1024, Decimal("135.17")),
        (2048, Decimal("259.05")),
        (4096, Decimal("495.57")),
        (8192, Decimal("946.08")),
        (16384, Decimal("1802.24")),
        (32767, Decimal("3604.48")),
    ),
    "standardssd_lrs": (
        (4, Decimal("0.30")),
        (8, Decimal("0.60")),
        (16, Decimal("1.20")),
        (32, Decimal("2.40")),
        (64, Decimal("4.80")),
        (128, Decimal("9.60")),
        (256, Decimal("19.20")),
        (512, Decimal("38.40")),
        (1024, Decimal("76.80")),
        (2048, Decimal("153.60")),
        (4096, Decimal("307.20")),
        (8192, Decimal("614.40")),
        (16384, Decimal("1228.80")),
        (32767, Decimal("2457.60")),
    ),
    "standard_lrs": (
        (32, Decimal("1.54")),
        (64, Decimal("3.01")),
        (128, Decimal("5.89")),
        (256, Decimal("11.33")),
        (512, Decimal("21.76")),
        (1024, Decimal("40.96")),
        (2048, Decimal("77.83")),
        (4096, Decimal("143.36")),
        (8192, Decimal("262.14")),
        (16384, Decimal("524.29")),
        (32767, Decimal("1048.58")),
    ),
}
_ZRS_FACTOR = Decimal("1.5")  # ZRS disks cost about 1.5x their LRS tier
# Per provisioned GiB-month (capacity only: their IOPS/throughput charges are not estimated).
_DISK_PER_GIB = {"premiumv2_lrs": Decimal("0.0812"), "ultrassd_lrs": Decimal("0.1200")}

# Snapshots per GiB-month of the snapshot's size (incremental snapshots bill only changed data:
# the full size is an upper bound).
_SNAPSHOT_PER_GIB = {
    "standard": Decimal("0.05"),
    "standard_zrs": Decimal("0.0625"),
    "premium": Decimal("0.12"),
}

# Public IPv4 addresses, per month (0.005 / 0.0036 USD per hour).
PUBLIC_IP_MONTHLY = {"standard": Decimal("3.65"), "basic": Decimal("2.63")}

# Load balancers / application gateways, the fixed hourly charge per month (Standard LB: first 5
# rules; Basic LB: free; gateways v2: the fixed part, capacity units on top, zero when idle; v1:
# the Medium instance). Keys: (kind, sku lower-cased).
BALANCER_MONTHLY: dict[tuple[str, str], Decimal] = {
    ("load_balancer", "standard"): Decimal("18.25"),  # 0.025 USD per hour
    ("load_balancer", "gateway"): Decimal("18.25"),
    ("application_gateway", "standard_v2"): Decimal("179.58"),  # 0.246 USD per hour
    ("application_gateway", "waf_v2"): Decimal("323.39"),  # 0.443 USD per hour
    ("application_gateway", "standard_medium"): Decimal("51.10"),  # 0.07 USD per hour
    ("application_gateway", "waf_medium"): Decimal("91.98"),  # 0.126 USD per hour
}

# Virtual network gateways per hour (VPN: VpnGw*, the AZ variants, Basic; ExpressRoute: Standard /
# HighPerformance / UltraPerformance and ErGw*AZ), the gateway's own hourly charge, data transfer and
# connections (S2S tunnels beyond the included ones, P2S) on top. Keys: SKU name lower-cased.
_GATEWAY_HOURLY: dict[str, Decimal] = {
    "basic": Decimal("0.04"),
    "vpngw1": Decimal("0.19"),
    "vpngw2": Decimal("0.49"),
    "vpngw3": Decimal("1.25"),
    "vpngw4": Decimal("2.10"),
    "vpngw5": Decimal("3.65"),
    "vpngw1az": Decimal("0.361"),
    "vpngw2az": Decimal("0.563"),
    "vpngw3az": Decimal("1.438"),
    "standard": Decimal("0.19"),  # ExpressRoute Standard (ErGw1)
    "highperformance": Decimal("0.49"),
    "ultraperformance": Decimal("1.87"),
    "ergw1az": Decimal("0.36"),
    "ergw2az": Decimal("0.60"),
    "ergw3az": Decimal("1.57"),
}

# VM compute per hour (Linux, pay-as-you-go, East US), a small set of common sizes.
_VM_HOURLY: dict[str, Decimal] = {
    "standard_b1s": Decimal("0.0104"),
    "standard_b1ms": Decimal("0.0207"),
    "standard_b2s": Decimal("0.0416"),
    "standard_b2ms": Decimal("0.0832"),
    "standard_b4ms": Decimal("0.166"),
    "standard_b8ms": Decimal("0.333"),
    "standard_ds1_v2": Decimal("0.073"),
    "standard_ds2_v2": Decimal("0.146"),
    "standard_ds3_v2": Decimal("0.293"),
    "standard_d2_v3": Decimal("0.096"),
    "standard_d4_v3": Decimal("0.192"),
    "standard_d8_v3": Decimal("0.384"),
    "standard_d2s_v3": Decimal("0.096"),
    "standard_d4s_v3": Decimal("0.192"),
    "standard_d8s_v3": Decimal("0.384"),
    "standard_d16s_v3": Decimal("0.768"),
    "standard_d2s_v4": Decimal("0.096"),
    "standard_d4s_v4": Decimal("0.192"),
    "standard_d2s_v5": Decimal("0.096"),
    "standard_d4s_v5": Decimal("0.192"),
    "standard_d8s_v5": Decimal("0.384"),
    "standard_d16s_v5": Decimal("0.768"),
    "standard_d2as_v5": Decimal("0.086"),
    "standard_d4as_v5": Decimal("0.172"),
    "standard_d2ds_v5": Decimal("0.113"),
    "standard_d4ds_v5": Decimal("0.226"),
    "standard_e2s_v5": Decimal("0.126"),
    "standard_e4s_v5": Decimal("0.252"),
    "standard_e8s_v5": Decimal("0.504"),
    "standard_f2s_v2": Decimal("0.0846"),
    "standard_f4s_v2": Decimal("0.169"),
    "standard_f8s_v2": Decimal("0.338"),
    "standard_nc6s_v3": Decimal("3.06"),
}

# App Service plans per instance-month: (Linux, Windows). Free, Shared and consumption
# (Dynamic / FlexConsumption) plans cost nothing while empty and are not in this table.
_PLAN_MONTHLY: dict[str, tuple[Decimal, Decimal]] = {
    "b1": (Decimal("13.14"), Decimal("54.75")),
    "b2": (Decimal("26.28"), Decimal("109.50")),
    "b3": (Decimal("52.56"), Decimal("219.00")),
    "s1": (Decimal("69.35"), Decimal("73.00")),
    "s2": (Decimal("138.70"), Decimal("146.00")),
    "s3": (Decimal("277.40"), Decimal("292.00")),
    "p1v2": (Decimal("81.03"), Decimal("146.00")),
    "p2v2": (Decimal("162.06"), Decimal("292.00")),
    "p3v2": (Decimal("324.12"), Decimal("584.00")),
    "p0v3": (Decimal("56.94"), Decimal("116.80")),
    "p1v3": (Decimal("113.88"), Decimal("240.90")),
    "p2v3": (Decimal("227.76"), Decimal("481.80")),
    "p3v3": (Decimal("455.52"), Decimal("963.60")),
    "ep1": (Decimal("142.35"), Decimal("142.35")),
    "ep2": (Decimal("284.70"), Decimal("284.70")),
    "ep3": (Decimal("569.40"), Decimal("569.40")),
}
FREE_PLAN_TIERS = {"free", "shared", "dynamic", "flexconsumption"}


def disk_monthly(sku: str | None, size_gb: int | None) -> Decimal | None:
    """List price of a managed disk per month, or None when the SKU or size is unknown."""
    if not sku or not size_gb:
        return None
    name = sku.lower()
    if name in _DISK_PER_GIB:
        return (_DISK_PER_GIB[name] * size_gb).quantize(Decimal("0.01"))
    factor = Decimal(1)
    if name.endswith("_zrs"):
        name, factor = name[: -len("_zrs")] + "_lrs", _ZRS_FACTOR
    for max_gib, price in _DISK_TIERS.get(name, ()):
        if size_gb <= max_gib:
            return (price * factor).quantize(Decimal("0.01"))
    return None


def snapshot_monthly(sku: str | None, size_gb: int | None) -> Decimal | None:
    if not size_gb:
        return None
    name = (sku or "standard_lrs").lower()
    if name.startswith("premium"):
        rate = _SNAPSHOT_PER_GIB["premium"]
    elif name.endswith("_zrs"):
        rate = _SNAPSHOT_PER_GIB["standard_zrs"]
    else:
        rate = _SNAPSHOT_PER_GIB["standard"]
    return (rate * size_gb).quantize(Decimal("0.01"))


def balancer_monthly(kind: str, sku: str | None) -> Decimal | None:
    """The fixed monthly charge of a load balancer / application gateway SKU (None: not tabled;
    Basic load balancers are free)."""
    if kind == "load_balancer" and (sku or "").lower() == "basic":
        return Decimal(0)
    return BALANCER_MONTHLY.get((kind, (sku or "").lower()))


def _hourly_to_monthly(table: dict[str, Decimal], key: str | None) -> Decimal | None:
    hourly = table.get((key or "").lower())
    return None if hourly is None else (hourly * HOURS_PER_MONTH).quantize(Decimal("0.01"))


def gateway_monthly(sku: str | None) -> Decimal | None:
    """A virtual network gateway SKU's fixed monthly charge (None: not tabled)."""
    return _hourly_to_monthly(_GATEWAY_HOURLY, sku)


def public_ip_monthly(sku: str | None) -> Decimal:
    return PUBLIC_IP_MONTHLY.get((sku or "basic").lower(), PUBLIC_IP_MONTHLY["standard"])


def vm_monthly(size: str | None) -> Decimal | None:
    return _hourly_to_monthly(_VM_HOURLY, size)


def plan_monthly(sku_name: str | None, linux: bool, instances: int) -> Decimal | None:
    prices = _PLAN_MONTHLY.get((sku_name or "").lower())
    if prices is None:
        return None
    return prices[0 if linux else 1] * max(1, instances)
