"""Cost, period totals and the run-rate forecast over the normalized `focus_cost` view.

SQL text here is built only from fixed fragments: dimension names map to column expressions
through an allowlist, and every user value (service names, accounts, regions, tag keys and
values, dates) is a bound `?` parameter, tag keys included (`tag_value(tags, ?)`: only the tag keys
a query names are extracted from the Tags JSON, lazily).

Every date range also bounds `partition_month` (files under a Hive-style billing period folder),
with one month of slack on each side for charges billed in a neighbouring period, so files of
months not asked for are not opened.

Dimensions: service -> ServiceName, account -> SubAccountId (else BillingAccountId),
region -> RegionId (else RegionName), resource -> ResourceId, charge_category -> ChargeCategory,
`tag:<key>` -> the Tags value for that key. A missing value is ''. Filters: services, accounts
and regions must be in their lists; each tag key must have one of its values (the value '' means
"the tag is missing or empty"; an empty list of values means "the tag is present").

Quantity (`CostQuery.quantity`): each row also carries the summed `quantity` and its `unit` when
every line of the row has both and one unit; else NULL (mixed units are never added up).

Forecast (`finops_mcp.forecast.run_rate`, used by `forecast` and by the budgets): actual cost
from the period start through the as-of day (inclusive), divided by the elapsed days, times the
days in the period.
Elapsed days run from the period start through the last charge day present in the dataset (any
row, whatever the filters) within the period up to the as-of day: exports lag, so days not yet
exported do not dilute the rate. No row in that range: no forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from finops_mcp.errors import ScopeFailure
from finops_mcp.forecast import run_rate
from finops_mcp.models import tag_key
from finops_mcp.periods import Span, add_months, month_span, month_start
from finops_mcp.providers.base import CostLine, CostQuery, Filters, ForecastLine
from finops_mcp.providers.focus.executor import Runner
from finops_mcp.providers.focus.loader import TABLE

DIMENSION_COLUMNS: dict[str, str] = {
    "service": "service",
    "account": "account",
    "region": "region",
    "resource": "resource_id",
    "charge_category": "charge_category",
}
COST_COLUMNS: dict[str, str] = {"billed": "billed_cost", "effective": "effective_cost"}
GRANULARITIES = ("total", "daily", "monthly")
ZERO = Decimal(0)
# shared by the checks: usage rows only (no tax, credit, purchase, adjustment), and no scheduled charges
USAGE_ONLY = "(charge_category IS NULL OR lower(charge_category) = 'usage')"
NOT_SCHEDULED = "(charge_frequency IS NULL OR lower(charge_frequency) NOT IN ('recurring', 'one-time'))"
MONTH_DAYS = Decimal(30)  # a month, for monthly estimates of the checks
HIGH_DAILY_EXCESS = Decimal(1000)  # a day's excess from which a spike / anomaly is high severity
Params = list[object]


def dimension_expr(dim: str) -> tuple[str, Params]:
    """SQL expression (never NULL) and its parameters for an allowed dimension."""
    column = DIMENSION_COLUMNS.get(dim)
    if column is not None:
        return f"COALESCE({column}, '')", []
    if key := tag_key(dim):
        return "COALESCE(tag_value(tags, ?), '')", [key]
    raise ScopeFailure(
        "invalid_query",
        f"{dim!r} is not a dimension; use one of {', '.join(DIMENSION_COLUMNS)} or 'tag:<key>'",
    )


def cost_column(cost_type: str) -> str:
    column = COST_COLUMNS.get(cost_type)
    if column is None:
        raise ScopeFailure("invalid_query", f"cost_type {cost_type!r} is not one of billed, effective")
    return column


def _placeholders(n: int) -> str:
    return ", ".join("?" for _ in range(n))


@dataclass
class Where:
    """A conjunction of SQL conditions and their parameters, in order."""

    clauses: list[str]
    params: Params

    @classmethod
    def days(cls, start: date, end: date) -> Where:
        return cls(
            ["charge_day BETWEEN ? AND ?", "(partition_month IS NULL OR partition_month BETWEEN ? AND ?)"],
            [start, end, add_months(month_start(start), -1), add_months(month_start(end), 1)],
        )

    def add(self, clause: str, *params: object) -> Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def among(self, column: str, values: Sequence[str]) -> Where:
        if values:
            self.add(f"{column} IN ({_placeholders(len(values))})", *values)
        return self

    def filters(self, filters: Filters, providers: Sequence[str] = ()) -> Where:
        self.among("service", filters.services)
        self.among("account", filters.accounts)
        self.among("region", filters.regions)
        self.among("provider_name", providers)
        for key, values in filters.tags:
            if values:
                self.add(f"COALESCE(tag_value(tags, ?), '') IN ({_placeholders(len(values))})", key, *values)
            else:
                self.add("COALESCE(tag_value(tags, ?), '') <> ''", key)
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def group_by(n: int) -> str:
    """`GROUP BY` of the first `n` select items, by position (explicit: never GROUP BY ALL, which
    Trino reads differently; positions, not expressions: a bound parameter in a grouped expression
    is not "the same expression" to every engine)."""
    return ", ".join(str(i) for i in range(1, n + 1))


def one_unit(quantity: str, unit: str) -> str:
    """Aggregates: the summed quantity and its unit, NULL unless every line has one and the same."""
    known = f"count(*) = count({quantity}) AND count(*) = count({unit}) AND min({unit}) = max({unit})"
    return (
        f"CASE WHEN {known} THEN SUM({quantity}) END AS quantity, "
        f"CASE WHEN {known} THEN min({unit}) END AS unit"
    )


def cost_sql(query: CostQuery) -> tuple[str, Params]:
    """One SQL statement answering a CostQuery: key columns k0.., bucket (or NULL), currency, cost
    (and quantity, unit when `query.quantity`)."""
    if query.granularity not in GRANULARITIES:
        raise ScopeFailure(
            "invalid_query", f"granularity {query.granularity!r} is not one of total, daily, monthly"
        )
    where = Where.days(query.span.start, query.span.end).filters(query.filters)
    bucket = "CAST(NULL AS DATE)" if query.granularity == "total" else "charge_day"
    inner, params = _grouped(query, bucket, [], where)
    keys = [f"k{i}" for i in range(len(query.group_by))]
    qty = f", {one_unit('quantity', 'unit')}" if query.quantity else ""
    if query.granularity != "monthly":
        return f"{inner} ORDER BY bucket NULLS FIRST, cost DESC", params
    # Group by day first (cheap DATE keys), then fold the few day rows into months.
    cols = ", ".join([*keys, "CAST(date_trunc('month', bucket) AS DATE) AS bucket", "currency"])
    return (
        f"SELECT {cols}, SUM(cost) AS cost{qty} FROM ({inner}) AS days "
        f"GROUP BY {group_by(len(keys) + 2)} ORDER BY bucket, cost DESC",
        params,
    )


def periods_sql(query: CostQuery, spans: Sequence[Span]) -> tuple[str, Params]:
    """One SQL statement answering a total-granularity CostQuery over each of `spans` (disjoint) in
    one scan: the same columns as `cost_sql`, the bucket being the start of the span a row is in."""
    if query.granularity != "total":
        raise ScopeFailure("invalid_query", "several periods in one query need granularity 'total'")
    cases: list[str] = []
    case_params: Params = []
    for span in spans:
        cases.append("WHEN charge_day BETWEEN ? AND ? THEN CAST(? AS DATE)")
        case_params.extend([span.start, span.end, span.start])
    days = [Where.days(span.start, span.end) for span in spans]
    where = Where(["(" + " OR ".join(f"({d.sql})" for d in days) + ")"], [p for d in days for p in d.params])
    sql, params = _grouped(query, f"CASE {' '.join(cases)} END", case_params, where.filters(query.filters))
    return f"{sql} ORDER BY bucket, cost DESC", params


def _grouped(query: CostQuery, bucket: str, bucket_params: Params, where: Where) -> tuple[str, Params]:
    """SELECT key columns k0.., `bucket` AS bucket, currency, cost (and quantity, unit) ... GROUP BY."""
    select: list[str] = []
    params: Params = []
    for i, dim in enumerate(query.group_by):
        expr, expr_params = dimension_expr(dim)
        select.append(f"{expr} AS k{i}")
        params.extend(expr_params)
    qty = f", {one_unit('quantity', 'unit')}" if query.quantity else ""
    sql = (
        f"SELECT {', '.join([*select, f'{bucket} AS bucket'])}, COALESCE(currency, '') AS currency, "
        f"SUM({cost_column(query.cost_type)}) AS cost{qty} FROM {TABLE} WHERE {where.sql} "
        f"GROUP BY {group_by(len(select) + 2)}"
    )
    return sql, [*params, *bucket_params, *where.params]


def cost_lines(cur: Runner, query: CostQuery) -> list[CostLine]:
    return _lines(cur, query, *cost_sql(query))


def period_lines(cur: Runner, query: CostQuery, spans: Sequence[Span]) -> list[list[CostLine]]:
    """`query` over each of `spans`, in one scan (`periods_sql`): one list of total lines per span."""
    out: dict[date, list[CostLine]] = {span.start: [] for span in spans}
    for line in _lines(cur, query, *periods_sql(query, spans)):
        if line.period_start in out:
            out[line.period_start].append(replace(line, period_start=None))
    return [out[span.start] for span in spans]


def _lines(cur: Runner, query: CostQuery, sql: str, params: Params) -> list[CostLine]:
    n = len(query.group_by)
    lines: list[CostLine] = []
    for row in cur.rows(sql, params):
        keys = tuple(zip(query.group_by, (str(v) for v in row[:n]), strict=True))
        bucket, currency, cost = row[n], row[n + 1], row[n + 2]
        quantity, unit = (row[n + 3], row[n + 4]) if query.quantity else (None, None)
        lines.append(
            CostLine(
                keys=keys,
                cost=cost if cost is not None else ZERO,
                currency=currency,
                period_start=bucket,
                quantity=quantity if unit is not None else None,
                unit=unit if quantity is not None else None,
            )
        )
    return lines


def period_totals(
    cur: Runner,
    start: date,
    end: date,
    cost_type: str,
    filters: Filters = Filters(),
    providers: Sequence[str] = (),
) -> dict[str, Decimal]:
    """Cost per currency over [start, end] (inclusive), largest first."""
    where = Where.days(start, end).filters(filters, providers)
    sql = (
        f"SELECT COALESCE(currency, '') AS currency, SUM({cost_column(cost_type)}) AS cost FROM {TABLE} "
        f"WHERE {where.sql} GROUP BY 1"
    )
    totals = {str(c): (v if v is not None else ZERO) for c, v in cur.rows(sql, where.params)}
    return dict(sorted(totals.items(), key=lambda item: (-abs(item[1]), item[0])))


def last_charge_day(cur: Runner, start: date, end: date) -> date | None:
    """The latest charge day with any row in [start, end], whatever the filters."""
    where = Where.days(start, end)
    rows = cur.rows(f"SELECT max(charge_day) FROM {TABLE} WHERE {where.sql}", where.params)
    return rows[0][0] if rows else None


@dataclass(frozen=True)
class Projection:
    period: Span
    as_of: date
    currency: str
    actual: Decimal
    forecast: Decimal | None
    other_currencies: tuple[str, ...]


def project(
    cur: Runner,
    period: Span,
    as_of: date,
    cost_type: str,
    filters: Filters = Filters(),
    providers: Sequence[str] = (),
    currency: str | None = None,
    default_currency: str | None = None,
) -> Projection:
    """Actual-to-date and run-rate forecast of `period` in one currency.

    The currency is `currency` if given, else the one with the most cost in the period, else
    `default_currency` (e.g. the dataset's main currency), else USD. Other currencies found are
    listed, never added.
    """
    until = min(as_of, period.end)
    totals = (
        period_totals(cur, period.start, until, cost_type, filters, providers)
        if until >= period.start
        else {}
    )
    chosen = currency or next(iter(totals), None) or default_currency or "USD"
    actual = totals.get(chosen, ZERO)
    last = last_charge_day(cur, period.start, until) if until >= period.start else None
    others = tuple(c for c in totals if c != chosen)
    return Projection(period, as_of, chosen, actual, run_rate(actual, period, last, as_of), others)


def forecast(
    cur: Runner, query: CostQuery, default_currency: str | None
) -> tuple[ForecastLine | None, list[str]]:
    """Run-rate forecast of the calendar month containing `query.span.end`, with the query's filters."""
    period = month_span(query.span.end)
    p = project(
        cur, period, query.span.end, query.cost_type, query.filters, default_currency=default_currency
    )
    notes: list[str] = []
    if p.forecast is None:
        notes.append(
            f"FOCUS forecast: no cost rows between {period.start} and {query.span.end}, "
            "so no run-rate forecast"
        )
        return None, notes
    if p.other_currencies:
        notes.append(
            f"FOCUS forecast covers {p.currency} only; "
            f"cost in {', '.join(p.other_currencies)} is not forecast"
        )
    return ForecastLine(span=period, amount=p.forecast, currency=p.currency, method="run_rate"), notes
