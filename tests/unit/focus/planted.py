"""A FOCUS export with planted changes, for the drivers and anomaly tests (the truth is below).

Days 2024-01-01 .. 2024-05-05. The periods compared: CURRENT = 2024-04-08 .. 05-05 (four whole
weeks, Monday to Sunday) and PREVIOUS = 2024-03-11 .. 04-07 (the 28 days before). Every usage row
carries PricingQuantity / PricingUnit.

Planted (amounts over CURRENT vs PREVIOUS):
- Amazon Bedrock is new from 04-08: 30.00 a day -> new, +840.00.
- Amazon S3, two buckets, 200 GB-Mo a day each, price 0.10 -> 0.17 from 04-08 at equal volume:
  40.00 -> 68.00 a day -> up, +784.00, all of it rate (volume effect 0).
- Amazon Redshift is gone from 04-08 (10.00 a day before) -> gone, -280.00.
- Amazon EC2: three instances at 10.00 a day (24 Hrs); a fourth, i-d, new from 04-08 at 5.00 a
  day (+140.00); i-a spikes to 100.00 (240 Hrs) on Wednesday 04-24 (+90.00, all volume): the
  one-day anomaly.
- AWS Lambda: a weekly batch, 300.00 every Sunday and 10.00 on other days, all along: equal in
  both periods and NOT an anomaly (a trailing mean sees every Sunday as a 5x spike).
- AWS Backup: a monthly full backup, 200.00 on the 1st and 5.00 on other days (usage-based): each
  period holds one 1st, so no change, and NOT an anomaly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.unit.focus.focusdata import row, write_csv, write_parquet

FIRST = date(2024, 1, 1)
LAST = date(2024, 5, 5)
CURRENT = (date(2024, 4, 8), date(2024, 5, 5))
PREVIOUS = (date(2024, 3, 11), date(2024, 4, 7))
SPIKE_DAY = date(2024, 4, 24)
CHANGE_DAY = date(2024, 4, 8)
ACCOUNT = "012345678901"


def _days() -> Iterator[date]:
    day = FIRST
    while day <= LAST:
        yield day
        day += timedelta(days=1)


def _usage(day: date, cost: Decimal, qty: Decimal, unit: str, service: str, resource: str) -> dict[str, Any]:
    return row(
        day,
        f"{cost:.4f}",
        ServiceName=service,
        SubAccountId=ACCOUNT,
        ResourceId=resource,
        ResourceName=resource,
        PricingQuantity=f"{qty:.4f}",
        PricingUnit=unit,
    )


def planted_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for day in _days():
        after = day >= CHANGE_DAY
        for res in ("i-a", "i-b", "i-c"):
            hours = Decimal(240 if (res == "i-a" and day == SPIKE_DAY) else 24)
            rows.append(_usage(day, hours * Decimal("10") / 24, hours, "Hrs", "Amazon EC2", res))
        if after:
            rows.append(_usage(day, Decimal(5), Decimal(24), "Hrs", "Amazon EC2", "i-d"))
            rows.append(_usage(day, Decimal(30), Decimal(1000), "1K Tokens", "Amazon Bedrock", "model-x"))
        else:
            rows.append(_usage(day, Decimal(10), Decimal(24), "Hrs", "Amazon Redshift", "cluster-1"))
        price = Decimal("0.17") if after else Decimal("0.10")
        for bucket in ("bucket-1", "bucket-2"):
            rows.append(_usage(day, 200 * price, Decimal(200), "GB-Mo", "Amazon S3", bucket))
        batch = day.weekday() == 6
        rows.append(
            _usage(
                day,
                Decimal(300 if batch else 10),
                Decimal(3000 if batch else 100),
                "Requests",
                "AWS Lambda",
                "fn-batch",
            )
        )
        full = day.day == 1
        rows.append(
            _usage(
                day, Decimal(200 if full else 5), Decimal(2000 if full else 50), "GB", "AWS Backup", "vault-1"
            )
        )
    return rows


def write_planted(root: Path, name: str = "planted") -> Path:
    """The export as one Parquet file per month (Jan-Mar) and a CSV (Apr-May); returns its folder."""
    rows = planted_rows()
    base = root / name
    for month in (1, 2, 3):
        part = [r for r in rows if r["ChargePeriodStart"].month == month]
        write_parquet(base / f"2024-{month:02d}.parquet", part)
    write_csv(base / "2024-04-05.csv", [r for r in rows if r["ChargePeriodStart"].month >= 4])
    return base
