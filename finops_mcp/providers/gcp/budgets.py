"""GCP budgets (Budget API) with actual spend and a forecast computed from the billing export.

The Budget API returns amounts, thresholds and filters but no spend. For every budget of the
billing account we measure, in ONE BigQuery statement for all budgets:

- period: the budget's calendar period containing today (MONTH, the default, QUARTER, YEAR) or its
  custom period (an open end runs to today);
- filter: `projects/<number>` -> project.number, `services/<id>` -> service.id, labels -> the row's
  label has one of the values; credits per `credit_types_treatment` (INCLUDE_ALL_CREDITS, the
  default: cost + all credits; EXCLUDE_ALL_CREDITS: cost; INCLUDE_SPECIFIED_CREDITS: cost + credits
  of the listed types);
- limit: `specified_amount`, or for `last_period_amount` the previous period's spend with the same
  filter;
- actual: spend from the period start through today in the budget's currency (the specified
  amount's currency, else the export's main currency);
- forecast: the run-rate projection `finops_mcp.forecast.run_rate` (actual / elapsed days x days in the
  period, elapsed days ending at the last usage day present in the export).

Budgets with filters the export cannot evaluate (subaccounts, resource ancestors; on the FOCUS
export any project / service / label filter or credit treatment other than all credits) are left
out with a note rather than reported with a wrong number. Threshold rules become percentages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finops_mcp.forecast import run_rate
from finops_mcp.periods import Span, calendar_span
from finops_mcp.providers.base import BudgetLine
from finops_mcp.providers.gcp.export import Params, Restriction, SqlBuilder, to_decimal

_PERIODS = {"MONTH": "monthly", "QUARTER": "quarterly", "YEAR": "annually"}


@dataclass(frozen=True)
class GcpBudget:
    name: str
    period: str  # monthly | quarterly | annually | custom
    span: Span
    amount: Decimal | None  # None: last period's spend
    currency: str | None
    previous: Span | None = None
    project_numbers: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    credits: str | tuple[str, ...] = "all"  # "all" | "none" | credit types
    thresholds: tuple[float, ...] = ()
    unsupported: tuple[str, ...] = ()

    @property
    def filtered(self) -> bool:
        return bool(self.project_numbers or self.services or self.labels or self.credits != "all")


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value) or "")


def _date(value: Any) -> date | None:
    if value is None or not getattr(value, "year", 0):
        return None
    return date(int(value.year), int(value.month), int(value.day))


def _label_values(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else getattr(value, "values", value)
    out = []
    for item in items or ():
        out.append(str(getattr(item, "string_value", item)))
    return tuple(sorted(out))


def from_api(budget: Any, today: date) -> GcpBudget:
    """A budgets_v1 `Budget` (proto-plus) to a `GcpBudget` for the period containing `today`."""

    f = budget.budget_filter
    if "custom_period" in f:
        start = _date(f.custom_period.start_date) or today
        end = _date(f.custom_period.end_date) or max(today, start)
        period, span, previous = "custom", Span(start, end), None
    else:
        period = _PERIODS.get(_enum_name(f.calendar_period), "monthly")
        span = calendar_span(period, today)
        previous = calendar_span(period, span.start - timedelta(days=1))
    money = budget.amount.specified_amount if "specified_amount" in budget.amount else None
    amount = (
        Decimal(int(money.units or 0)) + Decimal(int(money.nanos or 0)) / Decimal(10**9)
        if money is not None
        else None
    )
    treatment = _enum_name(f.credit_types_treatment)
    credits: str | tuple[str, ...] = "all"
    if treatment == "EXCLUDE_ALL_CREDITS":
        credits = "none"
    elif treatment == "INCLUDE_SPECIFIED_CREDITS":
        credits = tuple(sorted(f.credit_types))
    unsupported = tuple(
        name
        for name, values in (("subaccounts", f.subaccounts), ("resource_ancestors", f.resource_ancestors))
        if values
    )
    if amount is None and period == "custom":
        unsupported += ("last_period_amount with a custom period",)
    return GcpBudget(
        name=budget.display_name or str(budget.name).rsplit("/", 1)[-1],
        period=period,
        span=span,
        amount=amount,
        currency=(money.currency_code or None) if money is not None else None,
        previous=previous if amount is None else None,
        project_numbers=tuple(sorted(p.rsplit("/", 1)[-1] for p in f.projects)),
        services=tuple(sorted(s.rsplit("/", 1)[-1] for s in f.services)),
        labels=tuple(sorted((str(k), _label_values(v)) for k, v in dict(f.labels).items())),
        credits=credits,
        thresholds=tuple(sorted(float(r.threshold_percent) * 100 for r in budget.threshold_rules)),
        unsupported=unsupported,
    )


def budgets_sql(
    builder: SqlBuilder, budgets: Sequence[GcpBudget], restriction: Restriction, today: date
) -> tuple[str, Params]:
    """One statement for all budgets. Columns: currency, a<i> (actual), l<i> (previous period, for
    last-period budgets), last_day. Rows per currency."""
    params = Params()
    d = builder.d
    starts = [b.span.start for b in budgets] + [b.previous.start for b in budgets if b.previous]
    span = Span(min(starts), max(today, min(starts)))
    inner = [f"IFNULL({d.currency}, '') AS currency", f"{builder.day()} AS day"]
    outer = ["currency"]
    for i, b in enumerate(budgets):
        conds: list[str] = []
        if b.project_numbers and d.project_number:
            conds.append(f"CAST({d.project_number} AS STRING) IN UNNEST({params.strings(b.project_numbers)})")
        if b.services and d.service_id:
            conds.append(f"{d.service_id} IN UNNEST({params.strings(b.services)})")
        for key, values in b.labels:
            k, v = params.add(key, "STRING"), params.strings(values)
            conds.append(
                f"EXISTS(SELECT 1 FROM UNNEST({d.labels}) AS l WHERE l.key = {k} AND l.value IN UNNEST({v}))"
            )
        if not builder.schema.credits:
            amount = builder.amount("billed", params)
        elif isinstance(b.credits, tuple):
            amount = builder.with_credits(f"c.type IN UNNEST({params.strings(b.credits)})", params)
        else:
            amount = builder.with_credits(b.credits, params)
        inner.append(f"IF({' AND '.join(conds) or 'TRUE'}, {amount}, 0) AS b{i}")
        through = min(today, b.span.end)
        s, t = params.add(b.span.start, "DATE"), params.add(through, "DATE")
        outer.append(f"SUM(IF(day BETWEEN {s} AND {t}, b{i}, 0)) AS a{i}")
        if b.previous is not None:
            ps, pe = params.add(b.previous.start, "DATE"), params.add(b.previous.end, "DATE")
            outer.append(f"SUM(IF(day BETWEEN {ps} AND {pe}, b{i}, 0)) AS l{i}")
    where = builder.base_where(span, restriction, params)
    sql = (
        f"SELECT {', '.join(outer)}, MAX(day) AS last_day FROM (SELECT {', '.join(inner)} "
        f"FROM {builder.table.ref} WHERE {' AND '.join(where)}) GROUP BY currency"
    )
    return sql, params


def supported(budget: GcpBudget, export_kind: str) -> str | None:
    """Why a budget cannot be measured on this export (None: it can)."""
    if budget.unsupported:
        return f"its filter uses {', '.join(budget.unsupported)}, which the billing export cannot evaluate"
    if export_kind == "focus" and budget.filtered:
        return "project, service, label and credit filters need the standard or detailed billing export"
    return None


def budget_lines(
    budgets: Sequence[GcpBudget], rows: Sequence[dict[str, Any]], today: date
) -> tuple[list[BudgetLine], list[str]]:
    """Budget lines from `budgets_sql` rows (by column name)."""

    notes: list[str] = []
    by_currency = {str(r["currency"]): r for r in rows}
    days = [r["last_day"] for r in rows if r.get("last_day") is not None]
    last_day: date | None = max(days) if days else None

    def size(currency: str) -> Decimal:
        return abs(sum((to_decimal(v) for k, v in by_currency[currency].items() if k[:1] == "a"), Decimal(0)))

    main = max(by_currency, key=size, default=None)
    lines: list[BudgetLine] = []
    for i, b in enumerate(budgets):
        currency = b.currency or main or "USD"
        row = by_currency.get(currency, {})
        actual = to_decimal(row.get(f"a{i}"))
        limit = b.amount if b.amount is not None else to_decimal(row.get(f"l{i}"))
        others = [c for c in by_currency if c != currency and to_decimal(by_currency[c].get(f"a{i}")) != 0]
        if others:
            notes.append(
                f"GCP budget {b.name!r} counts {currency} cost only; cost in {', '.join(others)} is left out"
            )
        if b.amount is None and b.previous is not None:
            notes.append(
                f"GCP budget {b.name!r} tracks last period's spend: limit = spend "
                f"{b.previous.start}..{b.previous.end} from the billing export"
            )
        forecast = run_rate(actual, b.span, last_day, min(today, b.span.end))
        if forecast is None:
            notes.append(
                f"GCP budget {b.name!r}: no billing export rows since {b.span.start}, so no forecast"
            )
        lines.append(
            BudgetLine(
                name=b.name,
                period=b.period,
                span=b.span,
                limit=limit,
                actual=actual,
                currency=currency,
                forecast=forecast,
                thresholds=b.thresholds,
            )
        )
    return lines, notes
