"""The BigQuery billing export: which kind it is (from its schema) and the SQL we run on it.

Pure module (no SDK): the SQL text is built from fixed fragments only. Every value - dates, project
ids, service names, label keys and values, credit types, the billing account - is a bound query
parameter (`@p0`, `@p1`...); the table name comes from configuration, is validated strictly
(`ExportTable.parse`) and quoted with backticks. Tool arguments never become SQL text.

Export kinds (detected from the table's schema, `detect_schema`):

- `standard` (`gcp_billing_export_v1_<ACCOUNT>`): service, sku, project, labels, location, cost,
  currency, credits, cost_type, usage_start_time, ingestion-time partitioned (`_PARTITIONTIME`).
- `detailed` (`gcp_billing_export_resource_v1_<ACCOUNT>`): the standard columns plus `resource.name`,
  so `group_by: resource` works only here.
- `focus` (`gcp_billing_export_focus_<ACCOUNT>`): FOCUS column names (BilledCost, EffectiveCost,
  ChargePeriodStart, ServiceName, SubAccountId, RegionId, ResourceId, ChargeCategory, Tags).

Money (standard / detailed):

- billed = `cost` + every credit (`SUM(credits.amount)`, credits are negative): the invoiced net.
- effective = `cost` + every credit except promotional ones (`type` PROMOTION: free trial,
  marketing and grant credits): what the consumption costs after sustained-use, committed-use,
  negotiated, free-tier, subscription-benefit and reseller discounts, before one-off funding.
- FOCUS export: BilledCost and EffectiveCost as Google computes them.

Dimensions: service -> service.description (ServiceName), account -> project.id (SubAccountId),
region -> location.region (RegionId), resource -> resource.name (ResourceId; detailed and FOCUS
only), charge_category -> cost_type (ChargeCategory), `tag:<key>` -> the value of resource label
`<key>` (FOCUS: Tags, when it is an array of key/value records). Missing values are ''.

Time: usage days are UTC calendar days of `usage_start_time` (ChargePeriodStart). Partition
pruning: `_PARTITIONTIME` (or the table's partition column) from one day before the start to
`PARTITION_LAG_DAYS` days after the end, because rows for a usage day keep landing in later
partitions; the `usage_start_time` filter then keeps exactly the requested days. Rows exported
more than `PARTITION_LAG_DAYS` days after their usage day are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from finops_mcp.errors import ScopeFailure
from finops_mcp.models import tag_key
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostLine, CostQuery, Filters

PARTITION_LAG_DAYS = 7
PROMOTIONAL_CREDIT_TYPES = ("PROMOTION",)
ENABLE_EXPORT_HINT = (
    "enable the Cloud Billing export to BigQuery (Console: Billing > Billing export > BigQuery export; "
    "standard usage cost, detailed usage cost or FOCUS) and set FINOPS_GCP_BILLING_EXPORT_TABLE to its "
    "project.dataset.table, e.g. my-billing-proj.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01 "
    "(see docs/providers/gcp.md)"
)

# project ids (optionally domain-scoped `example.com:proj`), dataset ids, table ids: no dots, quotes,
# backticks, spaces or partition decorators, so the quoted reference can never be anything but a table.
_TABLE_RE = re.compile(
    r"^(?P<project>(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"\.(?P<dataset>[A-Za-z_][A-Za-z0-9_]{0,1023})"
    r"\.(?P<table>[A-Za-z0-9_][A-Za-z0-9_-]{0,1023})$"
)

ExportKind = Literal["standard", "detailed", "focus"]
ParamType = Literal["STRING", "INT64", "DATE", "TIMESTAMP", "ARRAY<STRING>", "ARRAY<DATE>"]


@dataclass(frozen=True)
class ExportTable:
    project: str
    dataset: str
    table: str

    @classmethod
    def parse(cls, text: str | None) -> ExportTable:
        if not text:
            raise ScopeFailure(
                "not_configured", f"FINOPS_GCP_BILLING_EXPORT_TABLE is not set: {ENABLE_EXPORT_HINT}"
            )
        m = _TABLE_RE.match(text.strip())
        if m is None:
            raise ScopeFailure(
                "not_configured",
                "FINOPS_GCP_BILLING_EXPORT_TABLE must be project.dataset.table (letters, digits, '_' and "
                "'-'), e.g. my-billing-proj.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01",
            )
        return cls(m["project"], m["dataset"], m["table"])

    @property
    def ref(self) -> str:
        """The quoted table reference for SQL text (safe: see `_TABLE_RE`)."""
        return f"`{self.project}.{self.dataset}.{self.table}`"

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"


@dataclass(frozen=True)
class Column:
    """A schema field, flattened from BigQuery's SchemaField (type RECORD has `fields`)."""

    name: str
    type: str
    mode: str = "NULLABLE"
    fields: tuple[Column, ...] = ()

    def child(self, name: str) -> Column | None:
        return next((f for f in self.fields if f.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class Dialect:
    """Column expressions of one export kind."""

    service: str
    account: str
    region: str
    resource: str | None
    charge_category: str
    time: str
    currency: str
    billing_account: str | None
    labels: str | None  # an ARRAY<STRUCT<key, value>> column
    billed: str  # row amount expressions (FOCUS); the billing exports build theirs from credits
    effective: str
    service_id: str | None
    project_number: str | None
    sku: str | None  # the SKU a row bills (the anomaly drivers' level)
    usage_amount: str | None  # usage quantity and its unit (the drivers' volume / rate split)
    usage_unit: str | None
    usage_only: str  # rows that are usage (not tax, adjustment, rounding)


# Where each field lives in the two export kinds, side by side: (the standard / detailed billing
# export's column, the FOCUS export's). None: that kind has no such column; "": built elsewhere (the
# billing exports' row amounts come from cost and credits).
_COLUMNS: dict[str, tuple[Any, Any]] = {
    "service": ("service.description", "ServiceName"),
    "account": ("project.id", "SubAccountId"),
    "region": ("location.region", "RegionId"),
    "resource": (None, "ResourceId"),
    "charge_category": ("cost_type", "ChargeCategory"),
    "time": ("usage_start_time", "ChargePeriodStart"),
    "currency": ("currency", "BillingCurrency"),
    "billing_account": ("billing_account_id", "BillingAccountId"),
    "labels": ("labels", None),
    "billed": ("", "BilledCost"),
    "effective": ("", "EffectiveCost"),
    "service_id": ("service.id", None),
    "project_number": ("project.number", None),
    "sku": ("sku.description", "SkuId"),
    "usage_amount": ("usage.amount", "ConsumedQuantity"),
    "usage_unit": ("usage.unit", "ConsumedUnit"),
    "usage_only": ("cost_type = 'regular'", "ChargeCategory = 'Usage'"),
}
BILLING_DIALECT = Dialect(**{name: kinds[0] for name, kinds in _COLUMNS.items()})
FOCUS_DIALECT = Dialect(**{name: kinds[1] for name, kinds in _COLUMNS.items()})


@dataclass(frozen=True)
class ExportSchema:
    kind: ExportKind
    dialect: Dialect
    partition: Literal["ingestion", "column", "none"] = "ingestion"
    partition_column: str | None = None
    partition_type: str = "TIMESTAMP"

    @property
    def credits(self) -> bool:
        return self.kind != "focus"


def _by_name(columns: Sequence[Column]) -> dict[str, Column]:
    return {c.name.lower(): c for c in columns}


def detect_schema(
    columns: Sequence[Column], partitioning: tuple[str, str | None] | None, table: ExportTable
) -> ExportSchema:
    """The export kind from the table's columns; `partitioning` is (type, field) or None.

    Raises not_configured when the table is not a billing export."""
    cols = _by_name(columns)
    partition: Literal["ingestion", "column", "none"]
    if partitioning is None:
        partition, pcol, ptype = "none", None, "TIMESTAMP"
    elif partitioning[1]:
        pc = cols.get(partitioning[1].lower())
        partition, pcol, ptype = "column", partitioning[1], (pc.type if pc else "TIMESTAMP")
    else:
        partition, pcol, ptype = "ingestion", None, "TIMESTAMP"
    if {"billedcost", "chargeperiodstart", "billingcurrency"} <= cols.keys():
        tags = cols.get("tags")
        labels = (
            "Tags"
            if tags is not None
            and tags.mode == "REPEATED"
            and tags.child("key") is not None
            and tags.child("value") is not None
            else None
        )
        quantities = {"consumedquantity", "consumedunit"} <= cols.keys()
        dialect = replace(
            FOCUS_DIALECT,
            labels=labels,
            effective="EffectiveCost" if "effectivecost" in cols else "BilledCost",
            billing_account="BillingAccountId" if "billingaccountid" in cols else None,
            resource="ResourceId" if "resourceid" in cols else None,
            sku="SkuId" if "skuid" in cols else None,
            usage_amount=FOCUS_DIALECT.usage_amount if quantities else None,
            usage_unit=FOCUS_DIALECT.usage_unit if quantities else None,
        )
        if partition == "column" and pcol and pcol.lower() == "chargeperiodstart":
            partition, pcol = "none", None  # the time filter prunes already
        return ExportSchema("focus", dialect, partition, pcol, ptype)
    needed = {"cost", "currency", "usage_start_time", "credits", "service", "project"}
    if needed <= cols.keys():
        resource = cols.get("resource")
        detailed = resource is not None and resource.child("name") is not None
        usage = cols.get("usage")
        known = usage is not None and usage.child("amount") is not None and usage.child("unit") is not None
        dialect = replace(
            BILLING_DIALECT,
            resource="resource.name" if detailed else None,
            usage_amount=BILLING_DIALECT.usage_amount if known else None,
            usage_unit=BILLING_DIALECT.usage_unit if known else None,
        )
        if partition == "column" and pcol and pcol.lower() == "usage_start_time":
            partition, pcol = "none", None
        return ExportSchema("detailed" if detailed else "standard", dialect, partition, pcol, ptype)
    missing = ", ".join(sorted(needed - cols.keys()))
    raise ScopeFailure(
        "not_configured",
        f"BigQuery table {table} is not a Cloud Billing export (no {missing} columns, and not the FOCUS "
        f"export either): {ENABLE_EXPORT_HINT}",
    )


# ---------------------------------------------------------------------------------------------
# parameters and clauses
# ---------------------------------------------------------------------------------------------


@dataclass
class Params:
    """Bound query parameters, named p0, p1... in order of use."""

    items: list[tuple[str, ParamType, Any]] = field(default_factory=list)

    def add(self, value: Any, type_: ParamType) -> str:
        name = f"p{len(self.items)}"
        self.items.append((name, type_, value))
        return f"@{name}"

    def strings(self, values: Sequence[str]) -> str:
        return self.add(list(values), "ARRAY<STRING>")


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Restriction:
    """Which rows a scope sees: a billing account's, or some projects'."""

    billing_account: str | None = None
    projects: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SqlBuilder:
    table: ExportTable
    schema: ExportSchema

    @property
    def d(self) -> Dialect:
        return self.schema.dialect

    # -- row expressions --------------------------------------------------------------------

    def amount(self, cost_type: str, params: Params) -> str:
        """One row's cost for `cost_type` (see the module docstring)."""
        if cost_type not in ("billed", "effective"):
            raise ScopeFailure("invalid_query", f"cost_type {cost_type!r} is not one of billed, effective")
        if not self.schema.credits:
            return f"IFNULL({self.d.billed if cost_type == 'billed' else self.d.effective}, 0)"
        if cost_type == "billed":
            return self.with_credits("all", params)
        excluded = params.strings(PROMOTIONAL_CREDIT_TYPES)
        return self.with_credits(f"IFNULL(c.type, '') NOT IN UNNEST({excluded})", params)

    def with_credits(self, which: str, params: Params) -> str:
        """`cost` plus credits: which = 'all', 'none', or a condition on credit `c`."""
        if which == "none":
            return "IFNULL(cost, 0)"
        where = "" if which == "all" else f" WHERE {which}"
        return f"IFNULL(cost, 0) + IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c{where}), 0)"

    def label(self, key: str, params: Params) -> str:
        """The value of label `key` on a row (NULL when absent)."""
        if self.d.labels is None:
            raise ScopeFailure(
                "invalid_query",
                f"this {self.schema.kind} export has no key/value label column: tag dimensions and tag "
                "filters need the standard or detailed export (or a FOCUS export whose Tags is an array)",
            )
        key_param = params.add(key, "STRING")
        return f"(SELECT l.value FROM UNNEST({self.d.labels}) AS l WHERE l.key = {key_param} LIMIT 1)"

    def dimension(self, dim: str, params: Params) -> str:
        columns = {
            "service": self.d.service,
            "account": self.d.account,
            "region": self.d.region,
            "resource": self.d.resource,
            "charge_category": self.d.charge_category,
        }
        if dim in columns:
            expr = columns[dim]
            if expr is None:
                raise ScopeFailure(
                    "invalid_query",
                    "group_by 'resource' needs the detailed (resource-level) billing export "
                    "(gcp_billing_export_resource_v1_...) or the FOCUS export; this table is the "
                    f"{self.schema.kind} export",
                )
            return f"IFNULL({expr}, '')"
        if key := tag_key(dim):
            return f"IFNULL({self.label(key, params)}, '')"
        raise ScopeFailure(
            "invalid_query",
            f"{dim!r} is not a dimension; use service, account, region, resource, charge_category "
            "or 'tag:<key>'",
        )

    def day(self) -> str:
        return f"DATE({self.d.time})"

    # -- WHERE ------------------------------------------------------------------------------

    def base_where(self, span: Span, restriction: Restriction, params: Params) -> list[str]:
        """Time range (with partition pruning) and the scope's rows."""
        clauses: list[str] = []
        p_start, p_end = (
            span.start - timedelta(days=1),
            span.end_exclusive + timedelta(days=PARTITION_LAG_DAYS),
        )
        if self.schema.partition != "none":
            col = "_PARTITIONTIME" if self.schema.partition == "ingestion" else self.schema.partition_column
            if self.schema.partition_type == "DATE":
                lo, hi = params.add(p_start, "DATE"), params.add(p_end, "DATE")
            else:
                lo, hi = params.add(midnight(p_start), "TIMESTAMP"), params.add(midnight(p_end), "TIMESTAMP")
            clauses.append(f"{col} >= {lo} AND {col} < {hi}")
        start = params.add(midnight(span.start), "TIMESTAMP")
        end = params.add(midnight(span.end_exclusive), "TIMESTAMP")
        clauses.append(f"{self.d.time} >= {start} AND {self.d.time} < {end}")
        if restriction.billing_account and self.d.billing_account:
            clauses.append(f"{self.d.billing_account} = {params.add(restriction.billing_account, 'STRING')}")
        if restriction.projects is not None:
            clauses.append(f"{self.d.account} IN UNNEST({params.strings(restriction.projects)})")
        return clauses

    def filter_where(self, filters: Filters, params: Params) -> list[str]:
        """get_cost filters; a tag value '' means "label missing or empty", no values "label present"."""
        clauses: list[str] = []
        for column, values in (
            (self.d.service, filters.services),
            (self.d.account, filters.accounts),
            (self.d.region, filters.regions),
        ):
            if values:
                clauses.append(f"IFNULL({column}, '') IN UNNEST({params.strings(values)})")
        for key, values in filters.tags:
            expr = f"IFNULL({self.label(key, params)}, '')"
            clauses.append(f"{expr} IN UNNEST({params.strings(values)})" if values else f"{expr} <> ''")
        return clauses

    # -- statements -------------------------------------------------------------------------

    def _grouped(self, select: Sequence[str], where: Sequence[str], keys: Sequence[str], sums: str) -> str:
        """SELECT keys, sums FROM (SELECT select FROM table WHERE where) GROUP BY keys: the row
        expressions are computed once, inside, and the outer query only groups by their aliases."""
        group = ", ".join(keys)
        return (
            f"SELECT {group}, {sums} FROM (SELECT {', '.join(select)} FROM {self.table.ref} "
            f"WHERE {' AND '.join(where)}) GROUP BY {group}"
        )

    def _usage(self) -> list[str]:
        """The row's usage quantity `q` and unit `u` (none when the export has no usage columns)."""
        if self.d.usage_amount is None or self.d.usage_unit is None:
            return []
        return [f"{self.d.usage_amount} AS q", f"{self.d.usage_unit} AS u"]

    def cost_sql(self, query: CostQuery, restriction: Restriction, per_project: bool) -> tuple[str, Params]:
        """Columns: [kp], k0.., bucket, currency, cost [, quantity, unit]. `kp` (the project id)
        when `per_project`. `bucket` is the usage day (daily and monthly) or NULL (total).
        `quantity` / `unit` with `query.quantity` when the export has usage columns: the summed
        `usage.amount`, NULL unless every row of the group has one unit."""
        if query.granularity not in ("total", "daily", "monthly"):
            raise ScopeFailure(
                "invalid_query", f"granularity {query.granularity!r} is not one of total, daily, monthly"
            )
        params = Params()
        select: list[str] = []
        keys: list[str] = []
        if per_project:
            select.append(f"IFNULL({self.d.account}, '') AS kp")
            keys.append("kp")
        for i, dim in enumerate(query.group_by):
            select.append(f"{self.dimension(dim, params)} AS k{i}")
            keys.append(f"k{i}")
        # monthly: grouped by day here and folded into months by the caller (`fold_months`)
        bucket = "CAST(NULL AS DATE)" if query.granularity == "total" else self.day()
        select += [
            f"{bucket} AS bucket",
            f"IFNULL({self.d.currency}, '') AS currency",
            f"{self.amount(query.cost_type, params)} AS amount",
        ]
        usage = self._usage() if query.quantity else []
        where = self.base_where(query.span, restriction, params) + self.filter_where(query.filters, params)
        sums = "SUM(amount) AS cost" + (f", {ONE_UNIT}" if usage else "")
        sql = self._grouped(select + usage, where, [*keys, "bucket", "currency"], sums)
        return sql + " ORDER BY bucket, cost DESC", params

    def totals_sql(
        self, span: Span, cost_type: str, filters: Filters, restriction: Restriction, per_project: bool
    ) -> tuple[str, Params]:
        """Cost per currency (and project) with the filters, plus the latest usage day of ANY row in
        the span (export lag: the forecast's elapsed days). Columns: [kp], currency, cost, last_day."""
        params = Params()
        keep = " AND ".join(self.filter_where(filters, params)) or "TRUE"
        select = [
            f"IFNULL({self.d.currency}, '') AS currency",
            f"{self.day()} AS day",
            f"{self.amount(cost_type, params)} AS amount",
            f"({keep}) AS keep",
        ]
        keys = ["currency"]
        if per_project:
            select.insert(0, f"IFNULL({self.d.account}, '') AS kp")
            keys.insert(0, "kp")
        where = self.base_where(span, restriction, params)
        sql = self._grouped(select, where, keys, "SUM(IF(keep, amount, 0)) AS cost, MAX(day) AS last_day")
        return sql, params

    def daily_usage_sql(self, span: Span, restriction: Restriction) -> tuple[str, Params]:
        """Effective usage cost per (project, region, service, day, currency) over `span`: the
        anomaly detector's series. Columns: kp, region, service, day, currency, cost."""
        params = Params()
        select = [
            f"IFNULL({self.d.account}, '') AS kp",
            f"IFNULL({self.d.region}, '') AS region",
            f"IFNULL({self.d.service}, '') AS service",
            f"{self.day()} AS day",
            f"IFNULL({self.d.currency}, '') AS currency",
            f"{self.amount('effective', params)} AS amount",
        ]
        where = [*self.base_where(span, restriction, params), self.d.usage_only]
        sql = self._grouped(
            select, where, ["kp", "region", "service", "day", "currency"], "SUM(amount) AS cost"
        )
        return sql, params

    def sku_days_sql(
        self,
        restriction: Restriction,
        project: str,
        region: str | None,
        services: Sequence[str],
        days: Sequence[date],
    ) -> tuple[str, Params]:
        """Effective usage cost per (service, SKU, day, currency), with quantity and unit, for one
        project's `services` on `days` (optionally one region): the anomaly drivers. Columns:
        service, sku, day, currency, cost, quantity, unit."""
        params = Params()
        sku = f"IFNULL({self.d.sku}, '')" if self.d.sku else "''"
        usage = self._usage() or ["CAST(NULL AS FLOAT64) AS q", "CAST(NULL AS STRING) AS u"]
        select = [
            f"IFNULL({self.d.service}, '') AS service",
            f"{sku} AS sku",
            f"{self.day()} AS day",
            f"IFNULL({self.d.currency}, '') AS currency",
            f"{self.amount('effective', params)} AS amount",
            *usage,
        ]
        where = self.base_where(Span(min(days), max(days)), restriction, params)
        where += [self.d.usage_only, f"IFNULL({self.d.account}, '') = {params.add(project, 'STRING')}"]
        where.append(f"IFNULL({self.d.service}, '') IN UNNEST({params.strings(services)})")
        where.append(f"{self.day()} IN UNNEST({params.add(sorted(set(days)), 'ARRAY<DATE>')})")
        if region is not None:
            where.append(f"IFNULL({self.d.region}, '') = {params.add(region, 'STRING')}")
        keys = ["service", "sku", "day", "currency"]
        return self._grouped(select, where, keys, f"SUM(amount) AS cost, {ONE_UNIT}"), params


# the summed quantity and its unit, NULL unless every row of the group has one, in one unit
ONE_UNIT = (
    "CASE WHEN COUNT(*) = COUNT(q) AND COUNT(*) = COUNT(u) AND MIN(u) = MAX(u) THEN SUM(q) END AS quantity, "
    "MIN(u) AS unit"
)


def to_decimal(value: Any) -> Decimal:
    """A FLOAT64 / NUMERIC result cell as Decimal (None -> 0)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def fold_months(lines: list[CostLine]) -> list[CostLine]:
    """Daily lines summed into calendar months (bucket = the month's first day), order kept."""
    folded: dict[tuple[Any, ...], Decimal] = {}
    for line in lines:
        month = line.period_start.replace(day=1) if line.period_start else None
        key = (line.keys, line.currency, month)
        folded[key] = folded.get(key, Decimal(0)) + line.cost
    return [CostLine(keys=k, cost=v, currency=c, period_start=m) for (k, c, m), v in folded.items()]
