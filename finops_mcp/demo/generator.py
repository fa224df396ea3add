"""Deterministic demo data: a realistic multi-cloud FOCUS 1.2 dataset and a budgets file.

`generate(out_dir, end=..., months=7, seed=7, scale=1.0)` writes::

    <out_dir>/
      exports/
        aws/<YYYY-MM>/part-0.parquet            AWS, main organization (Parquet)
        aws/contract-commitments/part-0.csv     FOCUS 1.3 contract commitments: not cost rows
        aws-acme-labs/<YYYY-MM>/part-0.csv      AWS, an acquired company's own payer (plain CSV)
        azure/<YYYY-MM>/part-0.csv.gz           Azure (gzipped CSV)
        gcp/<YYYY-MM>/part-0.parquet            Google Cloud (Parquet)
      budgets.yaml                              one budget per status (see `DemoBudget`)
      manifest.json                             what was generated; written last

Files are split by billing period (the month). CSV timestamps are ISO-8601 with `Z`, account ids
are quoted text (leading zeros), Tags is JSON text; Parquet timestamps are TIMESTAMPTZ (UTC) and
Tags a MAP. Costs have at most 6 decimals. `paths_setting` (`demo=<out_dir>/exports/**/*`) matches
the data files and the non-cost file, never budgets.yaml or the manifest.

Everything is computed in DuckDB SQL from a small resource plan (`resources.build_plan`); the
noise is an integer hash of (resource line, day, seed) in SQL, so the same arguments give the same
rows; with the same DuckDB version the files are identical byte for byte (each file is written by a
single-threaded query: a stable row order without a costly sort). No pyarrow, numpy or pandas.

Size: about 735 rows per day per unit of `scale` (~148,000 rows at scale 1 and months=7, 24 s for
10M rows on 2 cores); `rows_for_scale` gives the count for given arguments.

The story a FinOps practitioner finds in it:

- ~8% of resources miss one or more of the required tags (`REQUIRED_TAGS`), some have no tags;
- an AWS Compute Savings Plan, an RDS Reserved Instance (partial upfront, bought ~45 days into the
  data) and an Azure VM reservation (monthly payment). Two Savings Plan instances were retired 12
  days before `end` and two reserved Azure VMs 25 days before: their commitments show `Unused`
  rows since then;
- spikes (`DemoDataset.spikes`): AWS Lambda in acme-data at 5x for 3 days about two weeks before
  `end`, and BigQuery analysis in acme-data-platform at 6x for the last 4 days (still ongoing);
- monthly Tax rows (AWS and Google Cloud, complete months), a Google Cloud promotional credit
  (daily) and an AWS MAP credit (monthly), and two `Correction` rows.

`ensure_demo()` generates the dataset once per day into a cache directory and reuses it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import duckdb
import yaml

from finops_mcp.demo import catalog as cat
from finops_mcp.demo.resources import Plan, build_plan, sku_ids
from finops_mcp.periods import Span, add_months, calendar_span, month_end, month_start

GENERATOR_VERSION = "1"
DEFAULT_MONTHS = 7
DEFAULT_SEED = 7
REQUIRED_TAGS: tuple[str, ...] = cat.REQUIRED_TAGS
MANIFEST = "manifest.json"
BUDGETS_FILE = "budgets.yaml"
EXPORTS_DIR = "exports"
# Rows per unit of `scale` at months=7: ~735 rows a day x 183-215 days (148,052 for end 2026-11-20).
# `rows_for_scale` gives the count for given arguments.
ROWS_PER_SCALE_UNIT = 148_000

_COST = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
_TIMES = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
_QUANTITIES = ("PricingQuantity", "ConsumedQuantity")
_UNIT_PRICES = ("ListUnitPrice", "ContractedUnitPrice")
COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ServiceName",
    "ServiceCategory",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "SubAccountId",
    "SubAccountName",
    "RegionId",
    "RegionName",
    "AvailabilityZone",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "Tags",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountType",
    "CommitmentDiscountCategory",
    "CommitmentDiscountStatus",
    "PricingQuantity",
    "PricingUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "SkuId",
    "SkuPriceId",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "PricingCategory",
)
_DOUBLE_COLUMNS = frozenset(_COST + _QUANTITIES + _UNIT_PRICES)


# ============================================================================================ results
@dataclass(frozen=True)
class DemoSpike:
    """An injected cost spike: SEASONAL usage of `service` in `account` multiplied by `factor`."""

    provider: str
    account: str
    account_name: str
    service: str
    first_day: date
    last_day: date
    factor: float
    ongoing: bool  # still on at `end`


@dataclass(frozen=True)
class DemoBudget:
    """A generated budget and the status it has as of `end` (run-rate forecast, see `budget_status`)."""

    name: str
    status: str  # exceeded | forecast_exceeded | warning | ok
    period: str
    period_start: date
    period_end: date
    amount: Decimal
    actual: Decimal
    forecast: Decimal
    thresholds: tuple[float, ...]
    cost_type: str
    filters: dict[str, Any]
    why: str


@dataclass
class DemoDataset:
    root: Path
    files: list[Path]  # cost data files (CSV, gzipped CSV, Parquet)
    rows: int  # cost rows over all files
    start: date
    end: date
    budgets_file: Path
    required_tags: list[str]
    paths_setting: str  # for FINOPS_FOCUS_PATHS
    other_files: list[Path] = field(default_factory=list)  # non-cost FOCUS files in the export tree
    spikes: list[DemoSpike] = field(default_factory=list)
    budgets: list[DemoBudget] = field(default_factory=list)
    seed: int = DEFAULT_SEED
    scale: float = 1.0
    months: int = DEFAULT_MONTHS
    seconds: float = 0.0  # generation time

    @property
    def exports_dir(self) -> Path:
        return self.root / EXPORTS_DIR


# ========================================================================================= periods
def _bounds(span: Span) -> tuple[date, date]:
    return span.start, span.end


def data_start(end: date, months: int = DEFAULT_MONTHS) -> date:
    """First day of the data: the 1st of the month `months - 1` before `end`'s month."""
    return add_months(month_start(end), -(months - 1))


# ========================================================================================= SQL
_MACROS = """
CREATE OR REPLACE MACRO _mix(x) AS xor(x, x >> 16);
CREATE OR REPLACE MACRO _u01(a, b, c) AS
    _mix((_mix((_mix((a::BIGINT * 73856093 + b::BIGINT * 19349663 + c::BIGINT * 83492791) % 4294967296)
        * 73244475) % 4294967296) * 73244475) % 4294967296) / 4294967296.0;
"""
# weekly seasonality by ISO day of week (Mon=1 ... Sun=7)
_WEEK = "[1.04, 1.07, 1.08, 1.06, 0.99, 0.74, 0.72]"


def _lit(value: object) -> str:
    """A SQL literal for trusted, generator-internal values."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, Decimal)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _const(**cols: object) -> str:
    return ", ".join(f"{_lit(v)} AS {k}" for k, v in cols.items())


_RES_COLUMNS = (
    "rid", "export", "provider", "billing_id", "billing_name", "sub_id", "sub_name", "region_id",
    "region_name", "az", "service", "category", "resource_id", "resource_name", "resource_type", "tags_json",
    "team", "pricing_category", "start_i", "end_i", "spike_from", "spike_to", "spike_mult",
)  # fmt: skip
_LINE_COLUMNS = (
    "rid", "line", "profile", "base_qty", "cap", "per_month", "growth", "list_up", "contracted_up", "eff_up",
    "commitment", "commit_from", "sku_id", "sku_price_id", "descr", "pricing_unit", "consumed_unit",
    "consumed_mult",
)  # fmt: skip


def _load_plan(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    con.execute("SET TimeZone = 'UTC'")
    con.execute(_MACROS)
    res_cols: dict[str, list[Any]] = {k: [] for k in _RES_COLUMNS}
    line_cols: dict[str, list[Any]] = {k: [] for k in _LINE_COLUMNS}
    for r in plan.resources:
        ex = cat.EXPORT_BY_KEY[r.export]
        spike = r.spike or (None, None, None)
        values = (
            r.rid,
            r.export,
            ex.provider,
            ex.billing_account_id,
            ex.billing_account_name,
            r.account.id,
            r.account.name,
            r.region,
            cat.REGIONS[r.region][0] if r.region else None,
            r.zone,
            r.service,
            r.category,
            r.resource_id,
            r.resource_name,
            r.resource_type,
            json.dumps(r.tags, separators=(",", ":")) if r.tags is not None else None,
            (r.tags or {}).get("team"),
            r.pricing_category,
            r.start_i,
            r.end_i,
            *spike,
        )
        for key, value in zip(res_cols, values, strict=True):
            res_cols[key].append(value)
        for ln in r.lines:
            values = (
                r.rid,
                ln.line,
                ln.profile,
                ln.base_qty,
                ln.cap,
                ln.per_month,
                ln.growth,
                ln.list_unit_price,
                ln.contracted_unit_price,
                ln.effective_unit_price,
                ln.commitment,
                ln.commitment_from,
                ln.sku_id,
                ln.sku_price_id,
                ln.description,
                ln.pricing_unit,
                ln.consumed_unit,
                ln.consumed_per_pricing,
            )
            for key, value in zip(line_cols, values, strict=True):
                line_cols[key].append(value)
    _table_from_lists(con, "res_raw", res_cols)
    con.execute(
        "CREATE TABLE res AS SELECT * REPLACE (rid::INTEGER AS rid, start_i::INTEGER AS start_i, "
        "end_i::INTEGER AS end_i, spike_from::INTEGER AS spike_from, spike_to::INTEGER AS spike_to, "
        "spike_mult::DOUBLE AS spike_mult), "
        "CAST(CAST(tags_json AS JSON) AS MAP(VARCHAR, VARCHAR)) AS tags_map FROM res_raw"
    )
    _table_from_lists(con, "lines_raw", line_cols)
    con.execute(
        "CREATE TABLE lines AS SELECT * REPLACE (rid::INTEGER AS rid, line::INTEGER AS line, "
        "profile::INTEGER AS profile, base_qty::DOUBLE AS base_qty, cap::DOUBLE AS cap, "
        "growth::DOUBLE AS growth, "
        "list_up::DOUBLE AS list_up, contracted_up::DOUBLE AS contracted_up, eff_up::DOUBLE AS eff_up, "
        "commit_from::INTEGER AS commit_from, consumed_mult::DOUBLE AS consumed_mult) FROM lines_raw"
    )
    con.execute("DROP TABLE res_raw")
    con.execute("DROP TABLE lines_raw")
    con.execute(
        f"""
        CREATE TABLE days AS
        SELECT i::INTEGER AS i, d AS day, {_WEEK}[isodow(d)] AS wk,
               day(last_day(d))::INTEGER AS dim,
               strftime(d, '%Y-%m') AS mkey,
               date_trunc('month', d)::DATE AS mstart,
               (date_trunc('month', d) + INTERVAL 1 MONTH)::DATE AS mnext,
               CAST(d AS TIMESTAMPTZ) AS cps, CAST(d + 1 AS TIMESTAMPTZ) AS cpe,
               CAST(date_trunc('month', d)::DATE AS TIMESTAMPTZ) AS bps,
               CAST((date_trunc('month', d) + INTERVAL 1 MONTH)::DATE AS TIMESTAMPTZ) AS bpe,
               strftime(d, '%Y-%m-%dT00:00:00Z') AS cps_s, strftime(d + 1, '%Y-%m-%dT00:00:00Z') AS cpe_s,
               strftime(date_trunc('month', d), '%Y-%m-%dT00:00:00Z') AS bps_s,
               strftime(date_trunc('month', d) + INTERVAL 1 MONTH, '%Y-%m-%dT00:00:00Z') AS bpe_s
        FROM (SELECT i, DATE '{plan.start.isoformat()}' + i::INTEGER AS d FROM range({plan.days}) t(i))
        """
    )
    con.execute(
        f"""
        CREATE TABLE months AS
        SELECT mkey, min(mstart) AS mstart, min(mnext) AS mnext, min(bps) AS bps, min(bpe) AS bpe,
               min(i) AS first_i, max(i) AS last_i, max(dim) AS dim,
               (min(mnext) - 1) <= DATE '{plan.end.isoformat()}' AS complete
        FROM days GROUP BY mkey
        """
    )
    con.execute(
        "CREATE TABLE accounts AS "
        "SELECT DISTINCT export, provider, billing_id, billing_name, sub_id, sub_name FROM res"
    )
    con.execute("CREATE TABLE services AS SELECT DISTINCT service, category FROM res")
    commit_cols: dict[str, list[Any]] = {k: [] for k in ("key", "id", "name", "type", "category")}
    for c in cat.COMMITMENTS:
        for key, value in zip(commit_cols, (c.key, c.id, c.name, c.type, c.category), strict=True):
            commit_cols[key].append(value)
    _table_from_lists(con, "commitments", commit_cols)


def _table_from_lists(con: duckdb.DuckDBPyConnection, name: str, cols: dict[str, list[Any]]) -> None:
    select = ", ".join(f"unnest(${i + 1}) AS {k}" for i, k in enumerate(cols))
    con.execute(f"CREATE TABLE {name} AS SELECT {select}", list(cols.values()))


def _narrow(seed: int, where: str = "TRUE", carry: str = "") -> str:
    """Usage rows with quantity and costs, one per resource line and active day.

    `carry` adds columns of `r` (res), `l` (lines), `d` (days) and `c` (commitments) to the output.
    """
    noise = f"_u01(l.rid * 8 + l.line, d.i, {seed})"
    more = f", {carry}" if carry else ""
    return f"""
        SELECT * EXCLUDE (list_up, contracted_up, eff_up),
               round(qty * list_up, 6) AS list,
               round(qty * contracted_up, 6) AS contracted,
               CASE WHEN committed THEN 0.0 ELSE round(qty * contracted_up, 6) END AS billed,
               CASE WHEN committed THEN round(qty * eff_up, 6)
                    ELSE round(qty * contracted_up, 6) END AS effective
        FROM (
            SELECT l.rid, l.line, d.i, r.export, r.provider, r.sub_id, r.service, r.team, l.commitment,
                   l.list_up, l.contracted_up, l.eff_up,
                   l.commitment IS NOT NULL AND d.i >= l.commit_from AS committed,
                   round(least(
                       l.base_qty / (CASE WHEN l.per_month THEN d.dim ELSE 1 END) * CASE l.profile
                           WHEN 0 THEN 1.0
                           WHEN 1 THEN d.wk * (1 + l.growth * d.i / 30.0) * (0.92 + 0.16 * {noise})
                               * (CASE WHEN d.i BETWEEN r.spike_from AND r.spike_to
                                       THEN r.spike_mult ELSE 1.0 END)
                           ELSE (1 + l.growth * d.i / 30.0) * (0.995 + 0.01 * {noise})
                       END,
                       coalesce(l.cap, 1e18)), 6) AS qty{more}
            FROM lines l
            JOIN res r ON r.rid = l.rid
            JOIN days d ON d.i BETWEEN r.start_i AND r.end_i
            LEFT JOIN commitments c ON c.key = l.commitment
            WHERE {where}
        )
    """


def _usage_full(seed: int, export: str, mkey: str, csv_out: bool) -> str:
    """Complete FOCUS usage rows of one export and month."""
    ts = ("d.bps_s", "d.bpe_s", "d.cps_s", "d.cpe_s") if csv_out else ("d.bps", "d.bpe", "d.cps", "d.cpe")
    tags = "r.tags_json" if csv_out else "r.tags_map"
    where = f"r.export = {_lit(export)} AND d.mkey = {_lit(mkey)}"
    carry = f"""
        r.billing_id, r.billing_name, {ts[0]} AS bps_x, {ts[1]} AS bpe_x, {ts[2]} AS cps_x, {ts[3]} AS cpe_x,
        l.descr, r.category, r.sub_name, r.region_id, r.region_name, r.az, r.resource_id, r.resource_name,
        r.resource_type, {tags} AS tags_x, c.id AS c_id, c.name AS c_name, c.type AS c_type,
        c.category AS c_category, l.pricing_unit, l.consumed_mult, l.consumed_unit, l.sku_id, l.sku_price_id,
        l.list_up AS list_up_x, l.contracted_up AS contracted_up_x, r.pricing_category
    """
    return f"""
        SELECT billed AS BilledCost, effective AS EffectiveCost, list AS ListCost,
               contracted AS ContractedCost,
               'USD' AS BillingCurrency, billing_id AS BillingAccountId, billing_name AS BillingAccountName,
               bps_x AS BillingPeriodStart, bpe_x AS BillingPeriodEnd, cps_x AS ChargePeriodStart,
               cpe_x AS ChargePeriodEnd, 'Usage' AS ChargeCategory, NULL::VARCHAR AS ChargeClass,
               descr AS ChargeDescription, 'Usage-Based' AS ChargeFrequency, service AS ServiceName,
               category AS ServiceCategory, provider AS ProviderName, provider AS PublisherName,
               provider AS InvoiceIssuerName, sub_id AS SubAccountId, sub_name AS SubAccountName,
               region_id AS RegionId, region_name AS RegionName, az AS AvailabilityZone,
               resource_id AS ResourceId,
               resource_name AS ResourceName, resource_type AS ResourceType, tags_x AS Tags,
               CASE WHEN committed THEN c_id END AS CommitmentDiscountId,
               CASE WHEN committed THEN c_name END AS CommitmentDiscountName,
               CASE WHEN committed THEN c_type END AS CommitmentDiscountType,
               CASE WHEN committed THEN c_category END AS CommitmentDiscountCategory,
               CASE WHEN committed THEN 'Used' END AS CommitmentDiscountStatus,
               qty AS PricingQuantity, pricing_unit AS PricingUnit,
               round(qty * consumed_mult, 6) AS ConsumedQuantity, consumed_unit AS ConsumedUnit,
               sku_id AS SkuId, sku_price_id AS SkuPriceId, list_up_x AS ListUnitPrice,
               contracted_up_x AS ContractedUnitPrice,
               CASE WHEN committed THEN 'Committed' ELSE pricing_category END AS PricingCategory
        FROM ({_narrow(seed, where, carry)})
    """


def _extra_full(export: str, mkey: str, csv_out: bool) -> str:
    cols = []
    for name in COLUMNS:
        if csv_out and name in _TIMES:
            cols.append(f"strftime({name}, '%Y-%m-%dT%H:%M:%SZ') AS {name}")
        elif not csv_out and name == "Tags":
            cols.append("CAST(CAST(Tags AS JSON) AS MAP(VARCHAR, VARCHAR)) AS Tags")
        else:
            cols.append(name)
    return (
        f"SELECT {', '.join(cols)} FROM (SELECT * FROM extra "
        f"WHERE export = {_lit(export)} AND mkey = {_lit(mkey)} "
        "ORDER BY _k1, _k2, charge_day, SubAccountId, ServiceName, ChargeDescription)"
    )


def _slice_query(seed: int, export: str, mkey: str, csv_out: bool) -> str:
    """All rows of one file. No ORDER BY: `_write_slices` runs each query on one thread, which gives
    the same row order on every run (a sort of these wide rows would cost ~40% of the write time)."""
    outer = []
    for name in COLUMNS:
        if csv_out and name in _COST + _QUANTITIES:
            outer.append(f"CAST({name} AS DECIMAL(18,6)) AS {name}")
        elif csv_out and name in _UNIT_PRICES:
            outer.append(f"CAST({name} AS DECIMAL(20,10)) AS {name}")
        else:
            outer.append(name)
    return f"""
        SELECT {", ".join(outer)} FROM (
            {_usage_full(seed, export, mkey, csv_out)}
            UNION ALL
            {_extra_full(export, mkey, csv_out)}
        )
    """


# ====================================================================================== extra rows
_EXTRA_DDL = (
    "CREATE TABLE extra (export VARCHAR, mkey VARCHAR, team VARCHAR, charge_day DATE, "
    "_k1 BIGINT, _k2 BIGINT, "
    + ", ".join(
        f"{c} {'DOUBLE' if c in _DOUBLE_COLUMNS else 'TIMESTAMPTZ' if c in _TIMES else 'VARCHAR'}"
        for c in COLUMNS
    )
    + ")"
)
_COMMIT_TAGS = json.dumps(cat.COMMITMENT_TAGS, separators=(",", ":"))


def _acct_cols(account_id: str) -> dict[str, object]:
    a = cat.ACCOUNT_BY_ID[account_id]
    ex = cat.EXPORT_BY_KEY[a.export]
    return {
        "export": ex.key,
        "BillingCurrency": "USD",
        "BillingAccountId": ex.billing_account_id,
        "BillingAccountName": ex.billing_account_name,
        "ProviderName": ex.provider,
        "PublisherName": ex.provider,
        "InvoiceIssuerName": ex.provider,
        "SubAccountId": a.id,
        "SubAccountName": a.name,
    }


def _commit_cols(key: str, *, unused: bool = False) -> dict[str, object]:
    """Columns of a commitment's own rows: purchases, or (`unused`) its unused-commitment rows."""
    c = cat.COMMITMENT_BY_KEY[key]
    cols: dict[str, object] = _acct_cols(c.account)
    cols.update(
        {
            "ServiceName": c.unused_service if unused else c.service,
            "ServiceCategory": c.service_category,
            "RegionId": c.region,
            "RegionName": cat.REGIONS[c.region][0] if c.region else None,
            "ResourceId": c.id,
            "ResourceName": c.resource_name,
            "ResourceType": c.resource_type,
            "Tags": _COMMIT_TAGS,
            "team": cat.COMMITMENT_TAGS["team"],
            "CommitmentDiscountId": c.id,
            "CommitmentDiscountName": c.name,
            "CommitmentDiscountType": c.type,
            "CommitmentDiscountCategory": c.category,
        }
    )
    return cols


def _daily_row_times(alias: str = "d") -> str:
    return (
        f"{alias}.mkey AS mkey, {alias}.day AS charge_day, {alias}.cps AS ChargePeriodStart, "
        f"{alias}.cpe AS ChargePeriodEnd, {alias}.bps AS BillingPeriodStart, {alias}.bpe AS BillingPeriodEnd"
    )


def _monthly_row_times(alias: str = "m") -> str:
    return (
        f"{alias}.mkey AS mkey, {alias}.mstart AS charge_day, {alias}.bps AS ChargePeriodStart, "
        f"{alias}.bpe AS ChargePeriodEnd, {alias}.bps AS BillingPeriodStart, {alias}.bpe AS BillingPeriodEnd"
    )


def _insert(con: duckdb.DuckDBPyConnection, select: str) -> None:
    con.execute(f"INSERT INTO extra BY NAME {select}")


def _costs(billed: object, effective: object = None, listed: object = None) -> str:
    """The four cost columns; ListCost = ContractedCost = `listed` (default: billed)."""
    e = billed if effective is None else effective
    lc = billed if listed is None else listed
    return f"{billed} AS BilledCost, {e} AS EffectiveCost, {lc} AS ListCost, {lc} AS ContractedCost"


def _unused_description(prefix: str, quantity: str, tail: str) -> str:
    return f"{_lit(prefix)} || {quantity} || {_lit(tail)} AS ChargeDescription"


def _build_extra(con: duckdb.DuckDBPyConnection, plan: Plan) -> dict[str, Any]:
    """Purchases, unused commitments, taxes, credits and corrections. Returns commitment facts."""
    con.execute(_EXTRA_DDL)
    facts: dict[str, Any] = {}
    lines_of = {key: [ln for r in plan.resources for ln in r.lines if ln.commitment == key] for key in
                cat.COMMITMENT_BY_KEY}  # fmt: skip

    def used(commitment: str, measure: str) -> str:
        """Per day: the covered usage (`measure`: qty or effective), 0 on days without any."""
        return (
            f"FROM days d JOIN (SELECT d2.i, coalesce(sum(c.{measure}), 0) AS used FROM days d2 "
            f"LEFT JOIN commit_daily c ON c.i = d2.i AND c.commitment = '{commitment}' GROUP BY d2.i) u "
            "ON u.i = d.i"
        )

    # ---- AWS Compute Savings Plan: daily recurring fee; unused commitment once instances retired
    if lines_of["aws-sp"]:
        full = sum(round(24 * (ln.effective_unit_price or 0), 6) for ln in lines_of["aws-sp"])
        hourly = (Decimal(str(full)) / 24).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)
        daily = hourly * 24
        facts["aws-sp"] = {"hourly": hourly, "daily": daily}
        sku, price_id = sku_ids("AWS", "savingsplan", "compute", "1yr", "no-upfront")
        common = f"{_const(**_commit_cols('aws-sp'), SkuId=sku, SkuPriceId=price_id)}, {_daily_row_times()}"
        fee = f"Savings Plan recurring fee: ${hourly}/hour commitment x 24 hours"
        _insert(con, f"""
            SELECT {common}, 10 AS _k1, 0 AS _k2, {_costs(daily, 0.0)}, 'Purchase' AS ChargeCategory,
                   'Recurring' AS ChargeFrequency, {_lit(fee)} AS ChargeDescription, 24.0 AS PricingQuantity,
                   'Hours' AS PricingUnit, {hourly} AS ListUnitPrice, {hourly} AS ContractedUnitPrice,
                   'Standard' AS PricingCategory
            FROM days d
        """)  # fmt: skip
        hours = f"printf('%.2f', ({daily} - u.used) / {hourly})"
        text = _unused_description(
            "Unused Savings Plan commitment: ", hours, " of 24 committed hours not used"
        )
        # unused commitment is charged to the service it covers (EC2), not to the Savings Plan "service"
        unused = f"{_const(**_commit_cols('aws-sp', unused=True), SkuId=sku, SkuPriceId=price_id)}"
        _insert(con, f"""
            SELECT {unused}, {_daily_row_times()}, 11 AS _k1, 0 AS _k2,
                   {_costs(0.0, f"round({daily} - u.used, 6)", 0.0)},
                   'Usage' AS ChargeCategory, 'Usage-Based' AS ChargeFrequency, {text},
                   'Unused' AS CommitmentDiscountStatus,
                   round(({daily} - u.used) / {hourly}, 6) AS PricingQuantity,
                   'Hours' AS PricingUnit, 'Committed' AS PricingCategory
            {used("aws-sp", "effective")}
            WHERE {daily} - u.used > 0.01
        """)  # fmt: skip
    # ---- AWS RDS Reserved Instance: partial upfront (one-time) + daily recurring fee from purchase day
    if lines_of["aws-rds-ri"]:
        rate = Decimal(str(lines_of["aws-rds-ri"][0].effective_unit_price))
        count = len(lines_of["aws-rds-ri"])
        upfront = (rate * 24 * 365 * count / 2).quantize(Decimal("0.01"))
        recurring_hourly = (rate * count / 2).quantize(Decimal("0.000001"))
        recurring = recurring_hourly * 24
        sku, price_id = sku_ids("AWS", "rds-ri", "db.r6g.xlarge", "partial-upfront")
        common = (
            f"{_const(**_commit_cols('aws-rds-ri'), SkuId=sku, SkuPriceId=price_id)}, {_daily_row_times()}, "
            "'Purchase' AS ChargeCategory, 'Standard' AS PricingCategory"
        )
        what = f"{count} x db.r6g.xlarge PostgreSQL"
        _insert(con, f"""
            SELECT {common}, 12 AS _k1, 0 AS _k2, {_costs(upfront, 0.0)}, 'One-Time' AS ChargeFrequency,
                   {_lit(f"Reserved Instance upfront fee: {what}, 1 year, Partial Upfront")}
                       AS ChargeDescription,
                   {count}.0 AS PricingQuantity, 'Instances' AS PricingUnit
            FROM days d WHERE d.i = {plan.ri_purchase_i}
        """)  # fmt: skip
        fee = f"Reserved Instance recurring fee: {what} x 24 hours at ${recurring_hourly}/hour"
        _insert(con, f"""
            SELECT {common}, 13 AS _k1, 0 AS _k2, {_costs(recurring, 0.0)}, 'Recurring' AS ChargeFrequency,
                   {_lit(fee)} AS ChargeDescription, {24 * count}.0 AS PricingQuantity,
                   'Hours' AS PricingUnit,
                   {recurring_hourly} AS ListUnitPrice, {recurring_hourly} AS ContractedUnitPrice
            FROM days d WHERE d.i >= {plan.ri_purchase_i}
        """)  # fmt: skip
        facts["aws-rds-ri"] = {
            "upfront": upfront,
            "recurring_daily": recurring,
            "purchase_day": plan.ri_purchase_i,
        }
    # ---- Azure VM reservation: monthly payment on the 1st; unused hours once two VMs were deleted
    if lines_of["azure-ri"]:
        az_rate = round(lines_of["azure-ri"][0].effective_unit_price or 0, 10)
        reserved = 24 * cat.AZURE_RI_INSTANCES
        sku, price_id = sku_ids("Microsoft", "reservation", "Standard_D8s_v5", "westeurope", "P1Y")
        common = f"{_const(**_commit_cols('azure-ri'), SkuId=sku, SkuPriceId=price_id)}, {_daily_row_times()}"
        fee = (
            f"Reservation monthly payment: Standard_D8s_v5 West Europe, {cat.AZURE_RI_INSTANCES} instances, "
            "1 year"
        )
        _insert(con, f"""
            SELECT {common}, 14 AS _k1, 0 AS _k2, {_costs(f"round({az_rate} * {reserved} * d.dim, 2)", 0.0)},
                   'Purchase' AS ChargeCategory, 'Recurring' AS ChargeFrequency,
                   {_lit(fee)} AS ChargeDescription,
                   ({reserved} * d.dim)::DOUBLE AS PricingQuantity, 'Hours' AS PricingUnit,
                   {az_rate} AS ListUnitPrice, {az_rate} AS ContractedUnitPrice, 'Standard' AS PricingCategory
            FROM days d WHERE d.day = d.mstart
        """)  # fmt: skip
        text = _unused_description(
            "Unused reservation hours: ", f"printf('%g', {reserved} - u.used)",
            f" of {reserved} reserved hours (Standard_D8s_v5, West Europe)",
        )  # fmt: skip
        _insert(con, f"""
            SELECT {common}, 15 AS _k1, 0 AS _k2,
                   {_costs(0.0, f"round(({reserved} - u.used) * {az_rate}, 6)", 0.0)},
                   'Usage' AS ChargeCategory, 'Usage-Based' AS ChargeFrequency, {text},
                   'Unused' AS CommitmentDiscountStatus, ({reserved} - u.used)::DOUBLE AS PricingQuantity,
                   'Hours' AS PricingUnit, 'Committed' AS PricingCategory
            {used("azure-ri", "qty")}
            WHERE u.used < {reserved} - 0.001
        """)  # fmt: skip
        facts["azure-ri"] = {"hourly_az_rate": az_rate, "reserved_hours_per_day": reserved}
    # ---- Tax: per account and service, monthly, for complete months (AWS and Google Cloud)
    for ex in cat.EXPORTS:
        if ex.tax_rate <= 0:
            continue
        label = f"{'Tax: ' if ex.provider == 'Google Cloud' else ''}US sales tax ({ex.tax_rate * 100:g}%) on "
        _insert(con, f"""
            SELECT a.export, a.billing_id AS BillingAccountId, a.billing_name AS BillingAccountName,
                   'USD' AS BillingCurrency, a.provider AS ProviderName, a.provider AS PublisherName,
                   a.provider AS InvoiceIssuerName, a.sub_id AS SubAccountId, a.sub_name AS SubAccountName,
                   {_monthly_row_times()}, 20 AS _k1, 0 AS _k2,
                   {_costs(f"round(t.billed * {ex.tax_rate}, 2)::DOUBLE")}, 'Tax' AS ChargeCategory,
                   'Recurring' AS ChargeFrequency, t.service AS ServiceName, s.category AS ServiceCategory,
                   {_lit(label)} || t.service || ' charges, ' || strftime(m.mstart, '%B %Y')
                       AS ChargeDescription
            FROM (
                SELECT dl.sub_id, dl.service, d.mkey, sum(dl.billed) AS billed
                FROM daily dl JOIN days d ON d.i = dl.i
                WHERE dl.export = {_lit(ex.key)} GROUP BY ALL
            ) t
            JOIN months m ON m.mkey = t.mkey AND m.complete
            JOIN accounts a ON a.export = {_lit(ex.key)} AND a.sub_id = t.sub_id
            JOIN services s ON s.service = t.service
            WHERE round(t.billed * {ex.tax_rate}, 2) > 0
        """)  # fmt: skip
    # ---- Credits: a Google Cloud promotion (daily, 40% of the sandbox's Compute Engine) and an AWS
    # MAP credit (monthly, 15% of acme-data's EC2)
    promo = "Promotional credit: Google Cloud AI/ML innovators program (PROMO-AIML-2026)"
    sandbox = _const(**_acct_cols("acme-ml-sandbox"), ServiceName="Compute Engine", ServiceCategory="Compute")
    _insert(con, f"""
        SELECT {sandbox}, {_daily_row_times()}, 30 AS _k1, 0 AS _k2,
               {_costs("-round(t.billed * 0.4, 6)::DOUBLE")},
               'Credit' AS ChargeCategory, 'Usage-Based' AS ChargeFrequency,
               {_lit(promo)} AS ChargeDescription
        FROM (SELECT i, sum(billed) AS billed FROM daily WHERE export = 'gcp' AND sub_id = 'acme-ml-sandbox'
              AND service = 'Compute Engine' GROUP BY i) t
        JOIN days d ON d.i = t.i
        WHERE t.billed > 0
    """)  # fmt: skip
    ec2 = "Amazon Elastic Compute Cloud"
    _insert(con, f"""
        SELECT {_const(**_acct_cols("310957286644"), ServiceName=ec2, ServiceCategory="Compute")},
               {_monthly_row_times()}, 31 AS _k1, 0 AS _k2, {_costs("-round(t.billed * 0.15, 2)::DOUBLE")},
               'Credit' AS ChargeCategory, 'Recurring' AS ChargeFrequency,
               'AWS Migration Acceleration Program (MAP) credit: migrated EC2 workloads, '
                   || strftime(m.mstart, '%B %Y') AS ChargeDescription
        FROM (SELECT d.mkey, sum(dl.billed) AS billed FROM daily dl JOIN days d ON d.i = dl.i
              WHERE dl.export = 'aws' AND dl.sub_id = '310957286644' AND dl.service = {_lit(ec2)}
              GROUP BY ALL) t
        JOIN months m ON m.mkey = t.mkey AND m.complete
        WHERE t.billed > 0
    """)  # fmt: skip
    # ---- Corrections (ChargeClass 'Correction'): billed last month for a day of the month before
    months = con.execute("SELECT mkey, mstart FROM months ORDER BY mkey").fetchall()
    if len(months) >= 3:
        billing_key, billing_start = months[-2]
        charge_day = add_months(billing_start, -1).replace(day=14)
        corrections = [
            ("b3c1e5a2-4f6d-4e8b-9a7c-1d2e3f4a5b6c", "Bandwidth", "Networking", "westeurope", -38.42, 0.087,
             "GB", f"Correction: Standard Data Transfer Out billed twice on {charge_day} (meter fix)"),
            ("acme-data-platform", "BigQuery", "Analytics", "us", 57.3, 6.25, "Tebibytes",
             f"Correction: BigQuery on-demand analysis under-billed on {charge_day}"),
        ]  # fmt: skip
        for n, (acct, service, category, region, amount, price, unit, text) in enumerate(corrections):
            cols = _acct_cols(acct)
            cols.update({
                "mkey": billing_key, "charge_day": charge_day, "_k1": 40, "_k2": n, "ChargeCategory": "Usage",
                "ChargeClass": "Correction", "ChargeDescription": text, "ChargeFrequency": "Usage-Based",
                "ServiceName": service, "ServiceCategory": category, "RegionId": region,
                "RegionName": cat.REGIONS[region][0], "PricingQuantity": round(amount / price, 6),
                "PricingUnit": unit, "ListUnitPrice": price, "ContractedUnitPrice": price,
                "PricingCategory": "Standard",
            })  # fmt: skip
            day = charge_day.isoformat()
            _insert(con, f"""
                SELECT {_const(**cols)}, {_costs(amount)},
                       CAST(DATE '{day}' AS TIMESTAMPTZ) AS ChargePeriodStart,
                       CAST(DATE '{day}' + 1 AS TIMESTAMPTZ) AS ChargePeriodEnd, m.bps AS BillingPeriodStart,
                       m.bpe AS BillingPeriodEnd
                FROM months m WHERE m.mkey = {_lit(billing_key)}
            """)  # fmt: skip
    return facts


# ========================================================================================== budgets
def budget_status(amount: Decimal, actual: Decimal, forecast: Decimal, thresholds: Sequence[float]) -> str:
    """The status rule of finops_mcp.models.budget_state (mirrored so the generator stays standalone)."""
    if amount <= 0:
        return "ok"
    if actual >= amount:
        return "exceeded"
    if forecast >= amount:
        return "forecast_exceeded"
    warn_at = min(thresholds) if thresholds else 80.0
    if actual * 100 >= amount * Decimal(str(warn_at)):
        return "warning"
    return "ok"


def _nice(lo: Decimal, hi: Decimal, target: Decimal) -> Decimal:
    """A round amount strictly between lo and hi: the roundest within 5% of target, else the roundest."""
    near = (max(lo, target * Decimal("0.95")), min(hi, target * Decimal("1.05")))
    for low, high in (near, (lo, hi)):
        for step in ("10000", "5000", "1000", "500", "100", "50", "10", "5", "1", "0.1", "0.01"):
            s = Decimal(step)
            first = (low / s).to_integral_value(rounding=ROUND_FLOOR) + 1
            last = (high / s).to_integral_value(rounding=ROUND_CEILING) - 1
            if first <= last:
                k = min(max((target / s).to_integral_value(), first), last)
                return (k * s).quantize(Decimal(1) if s >= 1 else s)
    return target.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class _Scope:
    name: str
    cost_type: str
    filters: dict[str, Any]
    where: str  # over `daily`
    extra_where: str  # over `extra`


_EC2 = "'Amazon Elastic Compute Cloud'"
_SCOPES = {
    "exceeded": _Scope(
        "Platform team",
        "effective",
        {"tags": {"team": ["platform"]}},
        "team = 'platform'",
        "team = 'platform'",
    ),
    "forecast_exceeded": _Scope(
        "Azure",
        "effective",
        {"providers": ["Microsoft"]},
        "provider = 'Microsoft'",
        "ProviderName = 'Microsoft'",
    ),
    "warning": _Scope(
        "Amazon EC2",
        "effective",
        {"services": ["Amazon Elastic Compute Cloud"]},
        f"service = {_EC2}",
        f"ServiceName = {_EC2}",
    ),
    "ok": _Scope("All clouds", "billed", {}, "TRUE", "TRUE"),
}
_WARN_LADDER = (80.0, 50.0, 25.0, 10.0, 5.0, 2.0, 1.0)


def _plan_budgets(actual_of: Callable[[_Scope, date], Decimal], end: date) -> list[DemoBudget]:
    """Amounts that give one budget per status as of `end` with a run-rate forecast
    (actual / elapsed days x days in the period), with margins.

    - exceeded: amount ~ 0.8 x actual.
    - forecast_exceeded: actual < amount < forecast. Uses the forecast with one more elapsed day when
      that still leaves room (so the status holds if the engine counts `end + 1` as elapsed). On the
      last day of a month forecast == actual, so the budget is quarterly (or annual) instead; on
      Dec 31 every period ends and no budget can be forecast_exceeded: it becomes a warning.
    - warning: forecast < amount <= actual / lowest threshold. Possible only when the lowest threshold
      is below the elapsed share of the month, so early in a month the lowest threshold steps down
      (80 -> 50 -> 25 -> 10 -> 5 -> 2 -> 1 percent).
    - ok: amount ~ 2 x forecast, thresholds [80, 100].
    """
    out: list[DemoBudget] = []

    def fc(actual: Decimal, first: date, last: date, extra_day: int = 0) -> Decimal:
        elapsed = (end - first).days + 1 + extra_day
        total = (last - first).days + 1
        return actual * total / min(elapsed, total)

    # exceeded
    sc = _SCOPES["exceeded"]
    first, last = _bounds(calendar_span("monthly", end))
    a = actual_of(sc, first)
    amount = _nice(a * Decimal("0.70"), a * Decimal("0.92"), a * Decimal("0.8"))
    out.append(
        _budget(
            sc,
            "monthly",
            first,
            last,
            amount,
            a,
            fc(a, first, last),
            (80.0, 100.0),
            "actual month-to-date is above the amount",
        )
    )
    # forecast_exceeded
    sc = _SCOPES["forecast_exceeded"]
    chosen = None
    for period in ("monthly", "quarterly", "annually"):
        first, last = _bounds(calendar_span(period, end))
        a = actual_of(sc, first)
        f_hi, f_lo = fc(a, first, last), fc(a, first, last, 1)
        f_use = f_lo if f_lo >= a * Decimal("1.05") else f_hi
        lo, hi = a * Decimal("1.005"), f_use * Decimal("0.995")
        if a > 0 and hi > lo:
            chosen = (period, first, last, a, f_hi, _nice(lo, hi, (lo + hi) / 2))
            break
    if chosen is None:  # Dec 31: every period is over, forecast == actual
        first, last = _bounds(calendar_span("monthly", end))
        a = actual_of(sc, first)
        chosen = (
            "monthly",
            first,
            last,
            a,
            fc(a, first, last),
            _nice(a * Decimal("1.01"), a * Decimal("1.1"), a),
        )
    period, first, last, a, f, amount = chosen
    out.append(
        _budget(
            sc,
            period,
            first,
            last,
            amount,
            a,
            f,
            (80.0, 100.0),
            "below the amount so far, but the run-rate forecast for the period is above it",
        )
    )
    # warning
    sc = _SCOPES["warning"]
    first, last = _bounds(calendar_span("monthly", end))
    a = actual_of(sc, first)
    f = fc(a, first, last)
    for t in _WARN_LADDER:
        lo, hi = f * Decimal("1.01"), a * 100 / Decimal(str(t)) * Decimal("0.99")
        if hi > lo:
            break
    amount = _nice(lo, hi, (lo * hi).sqrt())
    thresholds = (t, *(x for x in (50.0, 80.0, 100.0) if x > t))
    out.append(
        _budget(
            sc,
            "monthly",
            first,
            last,
            amount,
            a,
            f,
            thresholds,
            f"actual is above the lowest threshold ({t:g}%) of the amount, the forecast stays below it",
        )
    )
    # ok
    sc = _SCOPES["ok"]
    first, last = _bounds(calendar_span("monthly", end))
    a = actual_of(sc, first)
    f = fc(a, first, last)
    amount = _nice(f * 2, f * Decimal("2.6"), f * Decimal("2.1"))
    out.append(
        _budget(
            sc,
            "monthly",
            first,
            last,
            amount,
            a,
            f,
            (80.0, 100.0),
            "actual and forecast are well below the amount",
        )
    )
    return out


def _budget(
    sc: _Scope,
    period: str,
    first: date,
    last: date,
    amount: Decimal,
    actual: Decimal,
    forecast: Decimal,
    thresholds: tuple[float, ...],
    why: str,
) -> DemoBudget:
    status = budget_status(amount, actual, forecast, thresholds)
    return DemoBudget(
        name=f"{sc.name} ({period})",
        status=status,
        period=period,
        period_start=first,
        period_end=last,
        amount=amount,
        actual=actual.quantize(Decimal("0.01")),
        forecast=forecast.quantize(Decimal("0.01")),
        thresholds=thresholds,
        cost_type=sc.cost_type,
        filters=sc.filters,
        why=why,
    )


def _write_budgets(path: Path, budgets: list[DemoBudget], end: date) -> None:
    entries = []
    for b in budgets:
        amount: int | float = int(b.amount) if b.amount == b.amount.to_integral_value() else float(b.amount)
        entry: dict[str, Any] = {
            "name": b.name,
            "amount": amount,
            "currency": "USD",
            "period": b.period,
            "cost_type": b.cost_type,
        }
        if b.filters:
            entry["filters"] = b.filters
        entry["thresholds"] = [int(t) if t == int(t) else t for t in b.thresholds]
        entries.append(entry)
    header = [
        "# finops-mcp demo budgets (generated; amounts computed from the demo data).",
        f"# As of {end} with a run-rate forecast (actual / elapsed days x days in the period):",
    ]
    for b in budgets:
        header.append(
            f"#   {b.name}: {b.status} (actual {b.actual}, forecast {b.forecast}, amount {b.amount})"
        )
    text = (
        "\n".join(header)
        + "\n"
        + yaml.safe_dump({"budgets": entries}, sort_keys=False, default_flow_style=None)
    )
    path.write_text(text, encoding="utf-8")


# ========================================================================== contract commitments
def _write_contract_commitments(path: Path, plan: Plan, facts: dict[str, Any]) -> None:
    """A FOCUS 1.3 contract-commitments dataset next to the cost data: not cost rows."""

    def ts(d: date) -> str:
        return f"{d.isoformat()}T00:00:00Z"

    def year_after(d: date) -> date:
        return d.replace(year=d.year + 1) if (d.month, d.day) != (2, 29) else date(d.year + 1, 3, 1)

    header = [
        "ContractId",
        "ContractPeriodStart",
        "ContractPeriodEnd",
        "ContractCommitmentId",
        "ContractCommitmentType",
        "ContractCommitmentCategory",
        "ContractCommitmentDescription",
        "ContractCommitmentPeriodStart",
        "ContractCommitmentPeriodEnd",
        "ContractCommitmentCost",
        "ContractCommitmentQuantity",
        "ContractCommitmentUnit",
        "BillingCurrency",
    ]
    edp = date(plan.start.year - 1, 1, 1)
    rows = [
        [
            "EDP-ACME",
            ts(edp),
            ts(date(edp.year + 3, 1, 1)),
            f"EDP-ACME-{edp.year + 1}",
            "Enterprise Discount Program",
            "Spend",
            "Annual committed AWS spend, year 2 of 3 (5% discount)",
            ts(date(edp.year + 1, 1, 1)),
            ts(date(edp.year + 2, 1, 1)),
            "1500000.00",
            "",
            "",
            "USD",
        ],
    ]
    if "aws-sp" in facts:
        sp = cat.COMMITMENT_BY_KEY["aws-sp"]
        first = add_months(plan.start, -5)
        last = year_after(first)
        hourly = facts["aws-sp"]["hourly"]
        cost = (hourly * 24 * (last - first).days).quantize(Decimal("0.01"))
        rows.append(
            [
                f"SP-{first:%Y%m}",
                ts(first),
                ts(last),
                sp.id,
                sp.type,
                sp.category,
                sp.name,
                ts(first),
                ts(last),
                str(cost),
                str(hourly),
                "USD/Hour",
                "USD",
            ]
        )
    if "aws-rds-ri" in facts:
        ri = cat.COMMITMENT_BY_KEY["aws-rds-ri"]
        first = plan.start + timedelta(days=facts["aws-rds-ri"]["purchase_day"])
        last = year_after(first)
        cost = facts["aws-rds-ri"]["upfront"] + facts["aws-rds-ri"]["recurring_daily"] * (last - first).days
        rows.append(
            [
                f"RI-{first:%Y%m%d}",
                ts(first),
                ts(last),
                ri.id,
                ri.type,
                ri.category,
                ri.name,
                ts(first),
                ts(last),
                str(cost.quantize(Decimal("0.01"))),
                "2",
                "Instances",
                "USD",
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# ========================================================================================= generate
def _workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


_GZIP_CHUNK = 4 << 20


def _gzip(src: Path, dst: Path) -> None:
    """gzip at level 1 (DuckDB's own gzip writer is ~3x slower); zlib releases the GIL, so the
    workers compress in parallel. The gzip header carries no name or time: same bytes every run."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(_GZIP_CHUNK):
            fout.write(comp.compress(chunk))
        fout.write(comp.flush())
    src.unlink()


def _write_slices(
    con: duckdb.DuckDBPyConnection, seed: int, exports_dir: Path, slices: list[tuple[cat.Export, str]]
) -> list[tuple[Path, int]]:
    """One file per (export, month), written by a pool of workers; each query runs on one thread
    (deterministic row order), the files are written in parallel."""

    def job(cursor: duckdb.DuckDBPyConnection, export: cat.Export, mkey: str) -> tuple[Path, int]:
        folder = exports_dir / export.folder / mkey
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-0.{export.fmt}"
        csv_out = export.fmt != "parquet"
        target = path.with_name("part-0.csv.tmp") if export.fmt == "csv.gz" else path
        if export.fmt == "parquet":
            options = "FORMAT parquet, COMPRESSION snappy"
        else:
            options = "FORMAT csv, HEADER true, FORCE_QUOTE (BillingAccountId, SubAccountId)"
        query = _slice_query(seed, export.key, mkey, csv_out)
        quoted = str(target).replace("'", "''")
        try:
            row = cursor.execute(f"COPY ({query}) TO '{quoted}' ({options})").fetchone()
        finally:
            cursor.close()
        if target != path:
            _gzip(target, path)
        return path, int(row[0]) if row else 0

    con.execute("SET threads = 1")
    # the biggest files first, so that the pool does not end on one long job
    ordered = sorted(slices, key=lambda s: (-s[0].fleet, s[0].key, s[1]))
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        futures = [pool.submit(job, con.cursor(), ex, mkey) for ex, mkey in ordered]
        results = [f.result() for f in futures]
    con.execute("RESET threads")
    return sorted(results, key=lambda r: str(r[0]))


def _validate(end: date, months: int, seed: int, scale: float) -> None:
    if not isinstance(end, date) or isinstance(end, datetime):
        raise TypeError("end must be a datetime.date")
    if not 1 <= months <= 36:
        raise ValueError("months must be between 1 and 36")
    if not 0 < scale <= 10_000:
        raise ValueError("scale must be > 0")
    if not isinstance(seed, int):
        raise TypeError("seed must be an int")


def generate(
    out_dir: Path, *, end: date, months: int = DEFAULT_MONTHS, seed: int = DEFAULT_SEED, scale: float = 1.0
) -> DemoDataset:
    """Write the demo dataset into `out_dir` (see the module docstring). Deterministic for the arguments.

    `out_dir` may exist; a previous demo dataset in it is replaced. It must not hold an `exports`
    folder that the generator did not write.
    """
    _validate(end, months, seed, scale)
    began = time.perf_counter()
    root = Path(out_dir)
    exports_dir = root / EXPORTS_DIR
    if exports_dir.exists():
        if not (root / MANIFEST).exists():
            raise FileExistsError(
                f"{exports_dir} exists and is not a demo dataset; choose an empty directory"
            )
        shutil.rmtree(exports_dir)
        (root / MANIFEST).unlink()
    exports_dir.mkdir(parents=True, exist_ok=True)
    start = data_start(end, months)
    sql_seed = seed % 2_147_483_647
    plan = build_plan(start, end, seed, scale)

    con = duckdb.connect(":memory:")
    try:
        _load_plan(con, plan)
        con.execute(f"""
            CREATE TABLE daily AS
            SELECT export, provider, sub_id, service, team, i,
                   sum(CAST(billed AS DECIMAL(18,6))) AS billed,
                   sum(CAST(effective AS DECIMAL(18,6))) AS effective
            FROM ({_narrow(sql_seed)}) GROUP BY ALL
        """)
        con.execute(f"""
            CREATE TABLE commit_daily AS
            SELECT commitment, i, sum(qty) AS qty, sum(CAST(effective AS DECIMAL(18,6))) AS effective
            FROM ({_narrow(sql_seed, "l.commitment IS NOT NULL AND d.i >= l.commit_from")}) GROUP BY ALL
        """)
        facts = _build_extra(con, plan)
        present = {
            (str(e), str(m))
            for e, m in con.execute(
                "SELECT DISTINCT dl.export, d.mkey FROM daily dl JOIN days d ON d.i = dl.i "
                "UNION SELECT DISTINCT export, mkey FROM extra"
            ).fetchall()
        }
        slices = [(ex, mkey) for ex in cat.EXPORTS for mkey in sorted({m for e, m in present if e == ex.key})]
        written = _write_slices(con, sql_seed, exports_dir, slices)
        budgets = _plan_budgets(lambda sc, first: _actual(con, sc, first, end), end)
    finally:
        con.close()

    other = exports_dir / "aws" / "contract-commitments" / "part-0.csv"
    _write_contract_commitments(other, plan, facts)
    budgets_file = root / BUDGETS_FILE
    _write_budgets(budgets_file, budgets, end)
    _check_budgets(budgets, end)
    acct = cat.ACCOUNT_BY_ID
    spikes = [
        DemoSpike(
            cat.EXPORT_BY_KEY[s.export].provider,
            s.account,
            acct[s.account].name,
            s.service,
            s.first,
            s.last,
            s.factor,
            s.ongoing,
        )
        for s in plan.spikes
        if s.first >= start
    ]
    dataset = DemoDataset(
        root=root,
        files=[p for p, _ in written],
        rows=sum(n for _, n in written),
        start=start,
        end=end,
        budgets_file=budgets_file,
        required_tags=list(REQUIRED_TAGS),
        paths_setting=paths_setting_for(root),
        other_files=[other],
        spikes=spikes,
        budgets=budgets,
        seed=seed,
        scale=scale,
        months=months,
        seconds=round(time.perf_counter() - began, 3),
    )
    _write_manifest(dataset)
    return dataset


def paths_setting_for(root: Path) -> str:
    return f"demo={Path(root) / EXPORTS_DIR}/**/*"


def _actual(con: duckdb.DuckDBPyConnection, sc: _Scope, first: date, end: date) -> Decimal:
    column = "billed" if sc.cost_type == "billed" else "effective"
    extra_col = "BilledCost" if sc.cost_type == "billed" else "EffectiveCost"
    extra_where = sc.extra_where
    row = con.execute(f"""
        SELECT (SELECT coalesce(sum(dl.{column}), 0) FROM daily dl JOIN days d ON d.i = dl.i
                WHERE d.day BETWEEN DATE '{first}' AND DATE '{end}' AND {sc.where})
             + (SELECT coalesce(sum(CAST({extra_col} AS DECIMAL(18,6))), 0) FROM extra
                WHERE charge_day BETWEEN DATE '{first}' AND DATE '{end}' AND {extra_where})
    """).fetchone()
    return Decimal(row[0]) if row and row[0] is not None else Decimal(0)


def _check_budgets(budgets: Sequence[DemoBudget], end: date) -> None:
    """One budget per status, unless `end` is Dec 31 (no period has a forecast above its actual)."""
    statuses = [b.status for b in budgets]
    wanted = ["exceeded", "forecast_exceeded", "warning", "ok"]
    if (end.month, end.day) == (12, 31):
        wanted[1] = "warning"
    if statuses != wanted:
        raise AssertionError(f"demo budgets as of {end} have statuses {statuses}, expected {wanted}")


# ========================================================================================= manifest
def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _write_manifest(ds: DemoDataset) -> None:
    data = {
        "generator_version": GENERATOR_VERSION,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "start": ds.start.isoformat(),
        "end": ds.end.isoformat(),
        "months": ds.months,
        "seed": ds.seed,
        "scale": ds.scale,
        "rows": ds.rows,
        "seconds": ds.seconds,
        "files": [p.relative_to(ds.root).as_posix() for p in ds.files],
        "other_files": [p.relative_to(ds.root).as_posix() for p in ds.other_files],
        "budgets_file": ds.budgets_file.relative_to(ds.root).as_posix(),
        "required_tags": ds.required_tags,
        "spikes": [_jsonable(asdict(s)) for s in ds.spikes],
        "budgets": [_jsonable(asdict(b)) for b in ds.budgets],
    }
    tmp = ds.root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, ds.root / MANIFEST)


def load_dataset(root: Path) -> DemoDataset:
    """The DemoDataset of a generated folder (paths relative to where the folder is now)."""
    root = Path(root)
    data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    spikes = [
        DemoSpike(
            s["provider"],
            s["account"],
            s["account_name"],
            s["service"],
            date.fromisoformat(s["first_day"]),
            date.fromisoformat(s["last_day"]),
            float(s["factor"]),
            bool(s["ongoing"]),
        )
        for s in data["spikes"]
    ]
    budgets = [
        DemoBudget(
            name=b["name"],
            status=b["status"],
            period=b["period"],
            period_start=date.fromisoformat(b["period_start"]),
            period_end=date.fromisoformat(b["period_end"]),
            amount=Decimal(b["amount"]),
            actual=Decimal(b["actual"]),
            forecast=Decimal(b["forecast"]),
            thresholds=tuple(b["thresholds"]),
            cost_type=b["cost_type"],
            filters=b["filters"],
            why=b["why"],
        )
        for b in data["budgets"]
    ]
    return DemoDataset(
        root=root,
        files=[root / p for p in data["files"]],
        rows=int(data["rows"]),
        start=date.fromisoformat(data["start"]),
        end=date.fromisoformat(data["end"]),
        budgets_file=root / data["budgets_file"],
        required_tags=list(data["required_tags"]),
        paths_setting=paths_setting_for(root),
        other_files=[root / p for p in data["other_files"]],
        spikes=spikes,
        budgets=budgets,
        seed=int(data["seed"]),
        scale=float(data["scale"]),
        months=int(data["months"]),
        seconds=float(data.get("seconds", 0.0)),
    )


# ========================================================================================= sizing
def rows_for_scale(
    scale: float = 1.0, *, end: date | None = None, months: int = DEFAULT_MONTHS, seed: int = DEFAULT_SEED
) -> int:
    """Cost rows `generate` writes for these arguments (exact for usage rows, +-0.1% overall).

    Rows grow linearly with `scale` (about `ROWS_PER_SCALE_UNIT` per unit at months=7), so
    `scale = target / rows_for_scale(1.0)` gives about `target` rows. `end` defaults to yesterday (UTC).
    """
    end = end or (datetime.now(timezone.utc).date() - timedelta(days=1))
    _validate(end, months, seed, scale)
    start = data_start(end, months)
    plan = build_plan(start, end, seed, scale)
    complete = sum(1 for m in range(months) if month_end(add_months(start, m)) <= end)
    taxed: set[tuple[str, str, str]] = set()
    for r in plan.resources:
        if cat.EXPORT_BY_KEY[r.export].tax_rate > 0:
            taxed.add((r.export, r.account.id, r.service))
    extras = (
        plan.days  # Savings Plan fee
        + (plan.days - plan.sp_decommission_i)  # unused Savings Plan
        + 1
        + (plan.days - plan.ri_purchase_i)  # RDS RI fees
        + months  # Azure reservation payments
        + (plan.days - plan.azure_decommission_i)  # unused reservation
        + len(taxed) * complete  # taxes
        + plan.days
        + complete  # credits
        + (2 if months >= 3 else 0)  # corrections
    )
    return plan.usage_rows + extras


# ===================================================================================== ensure_demo
def default_cache_dir() -> Path:
    """$FINOPS_DEMO_DIR, else $XDG_CACHE_HOME/finops-mcp/demo, else ~/.cache/finops-mcp/demo."""
    explicit = os.environ.get("FINOPS_DEMO_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "finops-mcp" / "demo"


def dataset_key(end: date, seed: int = DEFAULT_SEED) -> str:
    return f"v{GENERATOR_VERSION}-{end.isoformat()}-seed{seed}"


def ensure_demo(cache_dir: Path | None = None, *, today: date | None = None) -> DemoDataset:
    """The demo dataset ending yesterday (UTC), generated once into `cache_dir` and reused.

    The data is generated in a temporary folder next to the final one and renamed into place when
    complete, so a crash never leaves half a dataset, and concurrent callers either reuse the
    finished folder or race to rename identical data (the loser's copy is removed). Datasets of
    other days or generator versions older than 3 days are pruned.
    """
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    today = today or datetime.now(timezone.utc).date()
    end = today - timedelta(days=1)
    key = dataset_key(end)
    final = base / key
    if (final / MANIFEST).is_file():
        return load_dataset(final)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=base))
    try:
        generate(tmp, end=end, months=DEFAULT_MONTHS, seed=DEFAULT_SEED, scale=1.0)
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(base, keep=key)
    return load_dataset(final)


def _publish(tmp: Path, final: Path) -> None:
    for _ in range(3):
        try:
            os.rename(tmp, final)
            return
        except OSError:
            if (final / MANIFEST).is_file():
                return  # another process published the same dataset first
            if final.exists():  # a leftover without a manifest (not ours to trust): replace it
                stale = final.with_name(f".stale-{final.name}-{os.getpid()}-{time.monotonic_ns()}")
                try:
                    os.rename(final, stale)
                except OSError:
                    continue
                shutil.rmtree(stale, ignore_errors=True)
    raise OSError(f"could not move the demo dataset into {final}")


def _prune(base: Path, keep: str, *, max_age_days: float = 3.0, tmp_age_hours: float = 6.0) -> None:
    """Remove datasets older than `max_age_days` (but never `keep` nor the newest other one, which a
    server started before midnight may still read) and temporary folders older than `tmp_age_hours`."""
    now = time.time()
    datasets: list[tuple[float, Path]] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name == keep or not entry.is_dir():
                continue
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        if entry.name.startswith((".tmp-v", ".stale-v")):
            if age > tmp_age_hours * 3600:
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith("v") and "-seed" in entry.name:
            datasets.append((age, entry))
    for age, entry in sorted(datasets)[1:]:
        if age > max_age_days * 86400:
            shutil.rmtree(entry, ignore_errors=True)
