"""The demo's cost rows in DuckDB SQL: the FOCUS columns, the resource plan loaded as tables,
the hashed noise macros, and the per-file slice queries (usage rows and extra rows of one export
and month).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import duckdb

from finops_mcp.demo import catalog as cat
from finops_mcp.demo.resources import Plan

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
