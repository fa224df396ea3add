"""Dated list prices for the `gcp.compute.*` checks that price resources themselves.

Version `PRICE_TABLE_VERSION` (2026-11-01), USD, on-demand list prices of Compute Engine as published
on cloud.google.com/compute/disks-image-pricing (persistent disk capacity and snapshot storage) and
cloud.google.com/vpc/network-pricing (static external IP addresses), for the base regions
(us-central1, us-east1, us-west1...). Other regions use an approximate factor by region family
(`REGION_FACTORS`): prices there run ~10-50% higher. Contract discounts are not applied: these are
list prices (`cost_basis: list_price`), an estimate of what deleting the resource saves. The
recommender checks use Google's own cost projection instead.

Disk types not in the table (hyperdisk, local SSD...) are not priced (`None`): findings on them say
so and carry `cost_basis: unknown`.
"""

from __future__ import annotations

from decimal import Decimal

from finops_mcp.money import HOURS_PER_MONTH

PRICE_TABLE_VERSION = "2026-11-01"
CURRENCY = "USD"
GB = Decimal(1024**3)

# per GB-month of provisioned capacity, zonal disks (regional, replicated disks cost twice this)
DISK_GB_MONTH: dict[str, Decimal] = {
    "pd-standard": Decimal("0.040"),
    "pd-balanced": Decimal("0.100"),
    "pd-ssd": Decimal("0.170"),
    "pd-extreme": Decimal("0.125"),
}
# per GB-month stored (snapshots are billed on their compressed, incremental size)
SNAPSHOT_GB_MONTH: dict[str, Decimal] = {"STANDARD": Decimal("0.050"), "ARCHIVE": Decimal("0.019")}
# per GB-month of a custom image's archive size (cloud.google.com/compute/disks-image-pricing#imageprice)
IMAGE_GB_MONTH = Decimal("0.050")
# a reserved static external IP address that is not attached to a running VM
STATIC_IP_UNUSED_HOUR = Decimal("0.010")

REGION_FACTORS: tuple[tuple[str, Decimal], ...] = (
    ("us-", Decimal("1.0")),
    ("northamerica-", Decimal("1.1")),
    ("europe-", Decimal("1.1")),
    ("asia-", Decimal("1.3")),
    ("australia-", Decimal("1.3")),
    ("me-", Decimal("1.3")),
    ("africa-", Decimal("1.3")),
    ("southamerica-", Decimal("1.5")),
)


def region_factor(region: str | None) -> Decimal:
    for prefix, factor in REGION_FACTORS:
        if region and region.startswith(prefix):
            return factor
    return Decimal("1.0")


def disk_month(disk_type: str, size_gb: int, region: str | None, regional: bool = False) -> Decimal | None:
    """Monthly list price of a persistent disk's capacity, or None if the type is not in the table."""
    price = DISK_GB_MONTH.get(disk_type)
    if price is None:
        return None
    return price * size_gb * region_factor(region) * (2 if regional else 1)


def snapshot_month(storage_bytes: int, archive: bool = False) -> Decimal:
    """Monthly list price of a snapshot's stored bytes (multi-regional standard storage)."""
    price = SNAPSHOT_GB_MONTH["ARCHIVE" if archive else "STANDARD"]
    return price * Decimal(storage_bytes) / GB


def image_month(archive_bytes: int) -> Decimal:
    """Monthly list price of a custom image's stored archive."""
    return IMAGE_GB_MONTH * Decimal(archive_bytes) / GB


def static_ip_month() -> Decimal:
    return STATIC_IP_UNUSED_HOUR * HOURS_PER_MONTH
