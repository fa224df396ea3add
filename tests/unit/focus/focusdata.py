"""Small FOCUS datasets for the tests: rows as Python dicts (the truth), written as Parquet / CSV / CSV.gz.

Every row is a dict with FOCUS column names; `ChargePeriodStart` is an aware `datetime` (any
offset), money columns are decimal strings, `Tags` a dict. The writers render the same rows in the
shapes real exports use; `truth_*` compute the expected answers in pure Python with `Decimal`.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from finops_mcp.providers.base import Filters

UTC = timezone.utc
COLUMNS = (
    "BillingAccountId",
    "SubAccountId",
    "SubAccountName",
    "ProviderName",
    "ServiceName",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ChargeCategory",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "Tags",
    "PricingQuantity",
    "PricingUnit",
)
TEXT = tuple(
    c
    for c in COLUMNS
    if c
    not in ("ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "Tags", "PricingQuantity")
)


def row(day: date | datetime, cost: str | Decimal, **fields: Any) -> dict[str, Any]:
    """A usage row; `effective` defaults to the billed cost."""
    start = day if isinstance(day, datetime) else datetime(day.year, day.month, day.day, tzinfo=UTC)
    r: dict[str, Any] = {
        "BillingAccountId": "999000111222",
        "SubAccountId": "012345678901",
        "SubAccountName": "prod",
        "ProviderName": "AWS",
        "ServiceName": "Amazon EC2",
        "RegionId": "us-east-1",
        "ResourceId": None,
        "ResourceName": None,
        "ResourceType": None,
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": start,
        "ChargePeriodEnd": start + timedelta(days=1),
        "BilledCost": str(cost),
        "EffectiveCost": str(cost),
        "BillingCurrency": "USD",
        "CommitmentDiscountId": None,
        "CommitmentDiscountName": None,
        "CommitmentDiscountStatus": None,
        "Tags": {},
        "PricingQuantity": None,
        "PricingUnit": None,
    }
    effective = fields.pop("effective", None)
    if effective is not None:
        r["EffectiveCost"] = str(effective)
    r.update(fields)
    return r


def utc_day(r: dict[str, Any]) -> date:
    start: datetime = r["ChargePeriodStart"]
    return start.astimezone(UTC).date()


# ---------------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------------


def _rename(r: dict[str, Any], provider_col: str) -> dict[str, Any]:
    out = dict(r)
    if provider_col != "ProviderName":
        out[provider_col] = out.pop("ProviderName")
    return out


def write_csv(
    path: Path,
    rows: Sequence[dict[str, Any]],
    *,
    provider_col: str = "ProviderName",
    drop: Iterable[str] = (),
) -> Path:
    """Plain or (path ending .gz) gzipped CSV; Tags as JSON text, timestamps ISO with offset or Z."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dropped = set(drop)
    columns = [provider_col if c == "ProviderName" else c for c in COLUMNS if c not in dropped]
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            out = _rename(r, provider_col)
            for key in ("ChargePeriodStart", "ChargePeriodEnd"):
                ts: datetime = out[key]
                out[key] = ts.isoformat().replace("+00:00", "Z")
            out["Tags"] = json.dumps(out["Tags"]) if out["Tags"] else ""
            writer.writerow({k: ("" if v is None else v) for k, v in out.items()})
    return path


def write_parquet(
    path: Path,
    rows: Sequence[dict[str, Any]],
    *,
    tags: str = "map",  # map | json | struct
    timestamps: str = "tz",  # tz | naive | text
    money: str = "decimal",  # decimal | double | text
    provider_col: str = "ProviderName",
    drop: Iterable[str] = (),
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    dropped = set(drop)
    arrays: dict[str, pa.Array] = {}
    for col in COLUMNS:
        if col in dropped:
            continue
        name = provider_col if col == "ProviderName" else col
        values = [r[col] for r in rows]
        if col in TEXT:
            arrays[name] = pa.array(values, pa.string())
        elif col in ("ChargePeriodStart", "ChargePeriodEnd"):
            utc = [v.astimezone(UTC) for v in values]
            if timestamps == "tz":
                arrays[name] = pa.array(utc, pa.timestamp("us", tz="UTC"))
            elif timestamps == "naive":
                arrays[name] = pa.array([v.replace(tzinfo=None) for v in utc], pa.timestamp("us"))
            else:
                arrays[name] = pa.array([v.isoformat() for v in values], pa.string())
        elif col == "PricingQuantity":
            arrays[name] = pa.array(
                [None if v is None else Decimal(v) for v in values], pa.decimal128(38, 10)
            )
        elif col in ("BilledCost", "EffectiveCost"):
            if money == "decimal":
                arrays[name] = pa.array([Decimal(v) for v in values], pa.decimal128(38, 10))
            elif money == "double":
                arrays[name] = pa.array([float(v) for v in values], pa.float64())
            else:
                arrays[name] = pa.array(values, pa.string())
        elif col == "Tags":
            if tags == "map":
                arrays[name] = pa.array([list(v.items()) for v in values], pa.map_(pa.string(), pa.string()))
            elif tags == "json":
                arrays[name] = pa.array([json.dumps(v) if v else None for v in values], pa.string())
            else:
                keys = sorted({k for v in values for k in v})
                struct = pa.struct([(k, pa.string()) for k in keys])
                arrays[name] = pa.array([{k: v.get(k) for k in keys} for v in values], struct)
    pq.write_table(pa.table(arrays), path)
    return path


def write_contract_commitments(path: Path) -> Path:
    """A FOCUS 1.3 contract-commitments file: no BilledCost / ChargePeriodStart. Must be skipped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["ContractId", "ContractCommitmentId", "ContractCommitmentCost", "ContractCommitmentPeriodStart",
             "BillingCurrency"]
        )  # fmt: skip
        w.writerow(["c-1", "cc-1", "1000000.00", "2024-01-01T00:00:00Z", "USD"])
        w.writerow(["c-1", "cc-2", "2500000.00", "2024-01-01T00:00:00Z", "USD"])
    return path


# ---------------------------------------------------------------------------------------------
# the main mixed dataset
# ---------------------------------------------------------------------------------------------

WEIRD_TAG = "a'b\"c); DROP TABLE focus_cost; --"
WEIRD_VALUE = "1' OR '1'='1"
FIRST = date(2024, 3, 1)
LAST = date(2024, 5, 31)


def _days(first: date, last: date) -> Iterable[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def acme_rows(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Rows of a mixed multi-cloud dataset, keyed by the part they are written to."""
    rng = random.Random(seed)
    parts: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def money(lo: int, hi: int) -> str:
        return f"{Decimal(rng.randint(lo * 10000, hi * 10000)) / 10000:.4f}"

    aws_services: dict[str, list[str | None]] = {
        "Amazon EC2": ["i-0001", "i-0002", "i-0003"],
        "Amazon S3": ["bucket-logs", "bucket-data"],
        "AWS Lambda": [None],
    }
    for day in _days(FIRST, LAST):
        part = f"aws-{day:%m}"
        for service, resources in aws_services.items():
            for res in resources:
                account = "012345678901" if res != "i-0003" else "000123456789"
                tags: dict[str, str] = {}
                if res != "i-0002":
                    tags["team"] = rng.choice(["data", "web"])
                if rng.random() < 0.6:
                    tags["env"] = rng.choice(["prod", "dev", ""])
                if res == "bucket-logs" and day.day == 15:
                    tags[WEIRD_TAG] = WEIRD_VALUE
                billed = money(1, 40)
                parts[part].append(
                    row(
                        day,
                        billed,
                        ServiceName=service,
                        SubAccountId=account,
                        RegionId="eu-west-1" if res == "bucket-data" else "us-east-1",
                        ResourceId=res,
                        ResourceName=f"name-{res}" if res else None,
                        ResourceType="Instance" if service == "Amazon EC2" else None,
                        Tags=tags,
                    )
                )
        # a savings plan: used in the morning (covers EC2 cost: billed 0), unused share most days
        start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
        parts[part].append(
            row(start, "0", effective=money(5, 9), ServiceName="Amazon EC2", ResourceId="i-0001",
                CommitmentDiscountId="sp-1", CommitmentDiscountStatus="Used", Tags={"team": "data"})
        )  # fmt: skip
        if day.day % 3:
            parts[part].append(
                row(start, "0", effective=money(1, 3), ServiceName="Amazon EC2", ResourceId=None,
                    CommitmentDiscountId="sp-1", CommitmentDiscountStatus="Unused", RegionId=None)
            )  # fmt: skip
        # tiny amounts with many decimals; an evening row west of UTC that falls on the next UTC day
        parts[part].append(row(day, "0.0000012345", ServiceName="AWS Lambda", Tags={"team": "web"}))
        if day < LAST:
            evening = datetime(day.year, day.month, day.day, 21, tzinfo=timezone(timedelta(hours=-5)))
            parts[part].append(row(evening, "0.5", ServiceName="AWS Lambda", Tags={"team": "web"}))
        if day.day == 1:
            parts[part].append(
                row(day, "123.45", ServiceName="Tax", ChargeCategory="Tax", ChargeFrequency="Recurring",
                    RegionId=None)
            )  # fmt: skip
            parts[part].append(
                row(day, "-50.10", effective="-50.10", ServiceName="Amazon EC2", ChargeCategory="Credit",
                    ChargeFrequency="One-Time")
            )  # fmt: skip
        # Azure, FOCUS 1.3 style (ServiceProviderName), EUR
        for service in ("Virtual Machines", "Storage"):
            parts[f"azure-{day:%m}"].append(
                row(
                    day,
                    money(2, 20),
                    ProviderName="Microsoft",
                    ServiceName=service,
                    BillingAccountId="ba-77",
                    SubAccountId="00000000-aaaa-bbbb-cccc-000000000001",
                    SubAccountName="sub-one",
                    RegionId="westeurope",
                    ResourceId=f"/subscriptions/x/{service.replace(' ', '')}",
                    BillingCurrency="EUR",
                    Tags={"team": "data", "env": "prod"} if service == "Storage" else {"env": "dev"},
                )
            )
        # Google: no SubAccountId column and no EffectiveCost column in its file
        parts["gcp"].append(
            row(day, money(1, 5), ProviderName="Google Cloud", ServiceName="Compute Engine",
                BillingAccountId="0ABCDE-012345", SubAccountId=None, RegionId="europe-west1",
                ResourceId="vm-g1", Tags={"team": "web"})
        )  # fmt: skip
    return dict(parts)


def write_acme(root: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Write the mixed dataset in many shapes under root/acme; return (folder, all rows)."""
    base = root / "acme"
    parts = acme_rows()
    march, april, may = parts["aws-03"], parts["aws-04"], parts["aws-05"]
    write_parquet(base / "aws/2024-03/part-0.parquet", march[: len(march) // 2], tags="map")
    write_parquet(base / "aws/2024-03/part-1.parquet", march[len(march) // 2 :], tags="map")
    write_csv(base / "aws/2024-04/data/part-0.csv", april[:200])
    write_csv(base / "aws/2024-04/data/part-1.csv", april[200:])
    write_csv(base / "aws/2024-05/part-0.csv.gz", may[:100])
    write_parquet(
        base / "aws/2024-05/part-1.parquet", may[100:], tags="json", timestamps="text", money="text"
    )
    write_contract_commitments(base / "aws/2024-05/contract_commitments.csv")
    (base / "aws/2024-05/manifest.json").write_text("{}")
    write_parquet(
        base / "azure/2024-03.parquet", parts["azure-03"], tags="struct", timestamps="naive",
        money="double", provider_col="ServiceProviderName",
    )  # fmt: skip
    write_parquet(
        base / "azure/2024-04.parquet", parts["azure-04"], tags="json", provider_col="ServiceProviderName"
    )
    write_csv(base / "azure/2024-05.csv.gz", parts["azure-05"], provider_col="ServiceProviderName")
    write_csv(base / "gcp/export.csv", parts["gcp"], drop=("SubAccountId", "EffectiveCost", "SubAccountName"))
    rows = march + april + may + parts["azure-03"] + parts["azure-04"] + parts["azure-05"]
    # the GCP file has no EffectiveCost / SubAccountId: effective = billed, account = BillingAccountId
    rows += [dict(r, EffectiveCost=r["BilledCost"], SubAccountId=r["BillingAccountId"]) for r in parts["gcp"]]
    return base, rows


# ---------------------------------------------------------------------------------------------
# truth
# ---------------------------------------------------------------------------------------------

DIMENSION_FIELDS = {
    "service": "ServiceName",
    "account": "SubAccountId",
    "region": "RegionId",
    "resource": "ResourceId",
    "charge_category": "ChargeCategory",
}


def dim_value(r: dict[str, Any], dim: str) -> str:
    if dim.startswith("tag:"):
        return str(r["Tags"].get(dim[4:]) or "")
    value = r[DIMENSION_FIELDS[dim]]
    if dim == "account" and not value:
        value = r["BillingAccountId"]
    return str(value or "")


def matches(r: dict[str, Any], filters: Filters, providers: Sequence[str] = ()) -> bool:
    if filters.services and r["ServiceName"] not in filters.services:
        return False
    if filters.accounts and dim_value(r, "account") not in filters.accounts:
        return False
    if filters.regions and r["RegionId"] not in filters.regions:
        return False
    if providers and r["ProviderName"] not in providers:
        return False
    return all(str(r["Tags"].get(key) or "") in values for key, values in filters.tags)


def truth_cost(
    rows: Iterable[dict[str, Any]],
    start: date,
    end: date,
    group_by: Sequence[str] = ("service",),
    granularity: str = "total",
    cost_type: str = "billed",
    filters: Filters = Filters(),
    providers: Sequence[str] = (),
) -> dict[tuple[tuple[tuple[str, str], ...], date | None, str], Decimal]:
    money = "BilledCost" if cost_type == "billed" else "EffectiveCost"
    out: dict[tuple[tuple[tuple[str, str], ...], date | None, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        day = utc_day(r)
        if not start <= day <= end or not matches(r, filters, providers):
            continue
        bucket = None if granularity == "total" else day if granularity == "daily" else day.replace(day=1)
        keys = tuple((d, dim_value(r, d)) for d in group_by)
        out[(keys, bucket, r["BillingCurrency"])] += Decimal(r[money])
    return dict(out)


def total(rows: Iterable[dict[str, Any]], start: date, end: date, currency: str, **kw: Any) -> Decimal:
    return sum(
        (v for (_, _, cur), v in truth_cost(rows, start, end, group_by=(), **kw).items() if cur == currency),
        Decimal(0),
    )
