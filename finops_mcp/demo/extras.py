"""The demo's rows that are not resource usage: commitments (purchases, usage covered, unused
capacity), taxes, credits and corrections (`_build_extra`, into the `extra` table), and the FOCUS
1.3 contract commitments file (not cost rows).
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import duckdb

from finops_mcp.demo import catalog as cat
from finops_mcp.demo.resources import Plan, sku_ids
from finops_mcp.demo.rows import _DOUBLE_COLUMNS, _TIMES, COLUMNS, _const, _lit
from finops_mcp.periods import add_months

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
