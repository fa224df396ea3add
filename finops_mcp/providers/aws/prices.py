"""A small, dated list-price table for pricing audit findings (`cost_basis: list_price`).

Version 2025-06 (prices as published on the AWS pricing pages for EC2 on-demand Linux/shared
tenancy, EBS, VPC public IPv4 / NAT gateway and Elastic Load Balancing, checked June 2025), USD.
Only the prices the `aws.*` checks need are listed; the per-region EBS / snapshot / IPv4 / NAT /
ELB prices are data, in region_prices.json beside this module. Regions not in the table use the
us-east-1 prices and say so in the finding's detail (`RegionPrices.exact` is False). Load balancer and NAT
gateway prices are the hourly charge only (LCU and per-GB processing come on top, and are zero
for an idle resource anyway). A month is `finops_mcp.money.HOURS_PER_MONTH` (730) hours.

The AWS Price List API (`pricing:GetProducts`) could replace this table; it is not used because it
is slow, paged per SKU, and not available in every partition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources

PRICE_TABLE_VERSION = "2025-06"
PRICE_TABLE_SOURCE = "AWS public on-demand list prices (USD), finops-mcp price table " + PRICE_TABLE_VERSION
CURRENCY = "USD"
REFERENCE_REGION = "us-east-1"

D = Decimal
# RDS for MySQL / PostgreSQL on-demand, Single-AZ, us-east-1, per hour (Multi-AZ: twice), and
# General Purpose (gp2 / gp3) storage per GB-month; other engines and regions differ (the finding
# says which price it used).
RDS_INSTANCE_HOUR_US_EAST_1: dict[str, Decimal] = {
    "db.t3.micro": D("0.017"),
    "db.t3.small": D("0.034"),
    "db.t3.medium": D("0.068"),
    "db.t3.large": D("0.136"),
    "db.m5.large": D("0.171"),
    "db.m5.xlarge": D("0.342"),
    "db.r5.large": D("0.25"),
    "db.r5.xlarge": D("0.50"),
}
RDS_STORAGE_GB_MONTH = D("0.115")
# CloudWatch Logs stored (archived) log data, per GB-month: the us-east-1 price, used for every
# region (most list the same; a few differ by a cent or two).
LOGS_GB_MONTH = D("0.03")


@dataclass(frozen=True)
class RegionPrices:
    """List prices of one region."""

    region: str
    ebs_gb_month: dict[str, Decimal]  # by volume type
    io_iops_month: Decimal  # io1/io2 provisioned IOPS
    gp3_iops_month: Decimal  # gp3 IOPS above the 3,000 included
    gp3_mibps_month: Decimal  # gp3 throughput above the 125 MiB/s included
    snapshot_gb_month: Decimal
    snapshot_archive_gb_month: Decimal
    public_ipv4_hour: Decimal  # every public IPv4 address, Elastic IPs included, since Feb 2024
    nat_gateway_hour: Decimal
    load_balancer_hour: dict[str, Decimal]  # application | network | gateway | classic
    exact: bool = field(default=True)

    def basis(self) -> str:
        """How a price was chosen, for a finding's detail."""
        where = self.region if self.exact else f"{REFERENCE_REGION} (no table entry for {self.region})"
        return f"{where} list price, table {PRICE_TABLE_VERSION}"


# us-east-2 and us-west-2 list the same EBS / IPv4 / NAT / ELB prices as us-east-1.
_SAME_AS = {"us-east-2": REFERENCE_REGION, "us-west-2": REFERENCE_REGION}


def _region_prices() -> dict[str, RegionPrices]:
    """The table in region_prices.json (its numbers read as Decimals, digits as written)."""
    text = (
        resources.files("finops_mcp.providers.aws").joinpath("region_prices.json").read_text(encoding="utf-8")
    )
    table = {
        region: RegionPrices(region=region, **prices)
        for region, prices in json.loads(text, parse_float=Decimal).items()
    }
    for region, same_as in _SAME_AS.items():
        table[region] = replace(table[same_as], region=region)
    return table


REGION_PRICES: dict[str, RegionPrices] = _region_prices()


def prices_for(region: str) -> RegionPrices:
    """The region's prices, or us-east-1's marked inexact when the table has no entry."""
    found = REGION_PRICES.get(region)
    if found is not None:
        return found
    return replace(REGION_PRICES[REFERENCE_REGION], region=region, exact=False)


# EC2 on-demand Linux hourly prices in us-east-1, for the instance types the previous-generation
# check compares (the old type and its current-generation counterpart).
INSTANCE_HOUR_US_EAST_1: dict[str, Decimal] = {
    "t1.micro": D("0.02"),
    "m1.small": D("0.044"),
    "m1.medium": D("0.087"),
    "m1.large": D("0.175"),
    "m1.xlarge": D("0.35"),
    "m3.medium": D("0.067"),
    "m3.large": D("0.133"),
    "m3.xlarge": D("0.266"),
    "m3.2xlarge": D("0.532"),
    "m4.large": D("0.10"),
    "m4.xlarge": D("0.20"),
    "m4.2xlarge": D("0.40"),
    "m4.4xlarge": D("0.80"),
    "c3.large": D("0.105"),
    "c3.xlarge": D("0.21"),
    "c4.large": D("0.10"),
    "c4.xlarge": D("0.199"),
    "c4.2xlarge": D("0.398"),
    "r3.large": D("0.166"),
    "r3.xlarge": D("0.333"),
    "r4.large": D("0.133"),
    "r4.xlarge": D("0.266"),
    "r4.2xlarge": D("0.532"),
    "t3.micro": D("0.0104"),
    "t3.small": D("0.0208"),
    "t3.medium": D("0.0416"),
    "m6i.large": D("0.096"),
    "m6i.xlarge": D("0.192"),
    "m6i.2xlarge": D("0.384"),
    "m6i.4xlarge": D("0.768"),
    "c6i.large": D("0.085"),
    "c6i.xlarge": D("0.17"),
    "c6i.2xlarge": D("0.34"),
    "r6i.large": D("0.126"),
    "r6i.xlarge": D("0.252"),
    "r6i.2xlarge": D("0.504"),
}

# Previous-generation families (per AWS's "previous generation instances" page) and the current
# family suggested in their place. Sizes below `large` map to the burstable t3 of the same size.
PREVIOUS_GENERATION: dict[str, str] = {
    "t1": "t3",
    "m1": "m6i",
    "m2": "r6i",
    "m3": "m6i",
    "m4": "m6i",
    "c1": "c6i",
    "c3": "c6i",
    "c4": "c6i",
    "cc2": "c6i",
    "cr1": "r6i",
    "r3": "r6i",
    "r4": "r6i",
    "i2": "i4i",
    "d2": "d3",
    "g2": "g4dn",
    "g3": "g4dn",
    "hs1": "d3",
    "p2": "p3",
    "x1": "x2idn",
}
_SMALL_SIZES = ("nano", "micro", "small", "medium")


def current_generation_for(instance_type: str) -> str | None:
    """The suggested current-generation type for a previous-generation one, else None."""
    family, _, size = instance_type.partition(".")
    target = PREVIOUS_GENERATION.get(family)
    if target is None:
        return None
    if size in _SMALL_SIZES and target in ("m6i", "c6i", "r6i", "t3"):
        return f"t3.{size}"
    return f"{target}.{size}"


def instance_hour(instance_type: str, region: str) -> tuple[Decimal | None, bool]:
    """(hourly on-demand price, exact-for-region). Only us-east-1 prices are tabled."""
    price = INSTANCE_HOUR_US_EAST_1.get(instance_type)
    return price, region == REFERENCE_REGION
