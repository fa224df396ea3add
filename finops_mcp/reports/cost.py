"""The cost report from plain data: period comparison, top-N folding into "(other)", currencies
and the forecast. Pure: no provider calls, no cache, no fan-out (the service gathers the lines)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from finops_mcp import periods
from finops_mcp.models import (
    CostForecast,
    CostReport,
    CostRow,
    CurrencyTotal,
    DateRange,
    GetCostRequest,
    Meta,
    ScopeError,
)
from finops_mcp.providers.base import CostLine, ForecastLine

NONE_KEY = "(none)"
OTHER_KEY = "(other)"


class SeriesKey(NamedTuple):
    """One cost series: whose (provider, scope), in which currency, and its group-by values."""

    provider: str
    scope: str
    currency: str
    values: tuple[str, ...]


class ScopedLine(NamedTuple):
    """A provider's cost line with the provider and scope it came from."""

    provider: str
    scope: str
    line: CostLine


@dataclass
class CostInputs:
    """What the service gathered for one get_cost request."""

    span: periods.Span
    prev_span: periods.Span | None = None
    current: Sequence[ScopedLine] = ()
    previous: Sequence[ScopedLine] = ()
    forecasts: Sequence[ForecastLine] = ()
    no_previous: frozenset[str] = frozenset()  # scopes whose previous cost is unknown (null)
    has_previous: bool = True  # some scope's previous cost is known (else previous_total is null)
    notes: list[str] = field(default_factory=list)  # what building the report adds

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)


def pct(value: Decimal, base: Decimal | None) -> float | None:
    if base is None or base == 0:
        return None
    return float((value - base) / abs(base) * 100)


def series(lines: Iterable[ScopedLine], dims: Sequence[str]) -> dict[tuple[SeriesKey, date | None], Decimal]:
    """Cost per (series, period start)."""
    out: dict[tuple[SeriesKey, date | None], Decimal] = defaultdict(Decimal)
    for provider, scope, line in lines:
        keys = dict(line.keys)
        key = SeriesKey(provider, scope, line.currency, tuple(keys.get(d) or NONE_KEY for d in dims))
        out[(key, line.period_start)] += line.cost
    return out


def _summed(by_period: dict[tuple[SeriesKey, date | None], Decimal]) -> dict[SeriesKey, Decimal]:
    out: dict[SeriesKey, Decimal] = defaultdict(Decimal)
    for (key, _start), cost in by_period.items():
        out[key] += cost
    return out


def _by_currency(costs: Iterable[tuple[SeriesKey, Decimal]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for key, cost in costs:
        out[key.currency] += cost
    return out


def cost_rows(
    req: GetCostRequest,
    data: CostInputs,
    cur: dict[tuple[SeriesKey, date | None], Decimal],
    prev_by_series: dict[SeriesKey, Decimal],
) -> list[CostRow]:
    """The top_n series of `cur` as rows (with their previous cost when compared), the rest folded
    into one "(other)" row per currency and period."""
    dims = tuple(req.group_by)
    compared = data.prev_span is not None and req.granularity == "total"

    # Rank series by total cost; fold the rest into "other".
    series_total = _summed(cur)
    ranked = sorted(series_total, key=lambda k: (-abs(series_total[k]), k))
    keep = set(ranked[: req.top_n])
    folded = ranked[req.top_n :]

    rows: list[CostRow] = []
    other: dict[tuple[str, date | None], _Folded] = {}
    for (key, start), cost in cur.items():
        if key not in keep:
            slot = other.setdefault((key.currency, start), _Folded())
            slot.cost += cost
            slot.where.add((key.provider, key.scope))
            continue
        prev_cost = prev_by_series.get(key) if compared else None
        if compared and prev_cost is None and key.scope not in data.no_previous:
            prev_cost = Decimal(0)
        rows.append(
            CostRow(
                provider=key.provider,
                scope=key.scope,
                period_start=start,
                keys=dict(zip(dims, key.values, strict=True)),
                cost=cost,
                previous_cost=prev_cost,
                change_pct=pct(cost, prev_cost),
                currency=key.currency,
            )
        )
    if folded and compared:
        for key in folded:
            if (key.currency, None) in other:
                other[(key.currency, None)].prev += prev_by_series.get(key, Decimal(0))
    for (currency, start), slot in other.items():
        provs = {p for p, _ in slot.where}
        scopes = {s for _, s in slot.where}
        known = compared and any(s not in data.no_previous for _, s in slot.where)
        prev_cost = slot.prev if known else None
        rows.append(
            CostRow(
                provider=provs.pop() if len(provs) == 1 else "*",
                scope=scopes.pop() if len(scopes) == 1 else "*",
                period_start=start,
                keys={d: OTHER_KEY for d in dims},
                cost=slot.cost,
                previous_cost=prev_cost,
                change_pct=pct(slot.cost, prev_cost),
                currency=currency,
            )
        )
    if folded:
        data.note(f"{len(folded)} smaller series folded into the '{OTHER_KEY}' row(s) (top_n={req.top_n})")
    rows.sort(key=lambda r: (r.period_start or date.min, r.keys == {d: OTHER_KEY for d in dims}, -r.cost))
    return rows


@dataclass
class _Folded:
    cost: Decimal = Decimal(0)
    prev: Decimal = Decimal(0)
    where: set[tuple[str, str]] = field(default_factory=set)


def cost_report(
    req: GetCostRequest,
    data: CostInputs,
    *,
    errors: Sequence[ScopeError] = (),
    meta: Meta | None = None,
) -> CostReport:
    """The whole cost report; the notes building it adds (also kept in `data.notes`) follow
    `meta`'s own."""
    dims = tuple(req.group_by)
    cur = series(data.current, dims)
    prev_by_series = _summed(series(data.previous, dims))
    rows = cost_rows(req, data, cur, prev_by_series)
    totals = _by_currency((k, c) for (k, _start), c in cur.items())
    prev_totals = _by_currency(prev_by_series.items())
    currencies = sorted(set(totals) | set(prev_totals), key=lambda c: (-abs(totals.get(c, Decimal(0))), c))
    primary = currencies[0] if currencies else "USD"
    total = totals.get(primary, Decimal(0))
    with_previous = data.prev_span is not None and data.has_previous
    prev_total = prev_totals.get(primary, Decimal(0)) if with_previous else None
    others = [
        CurrencyTotal(
            currency=c,
            total=totals.get(c, Decimal(0)),
            previous_total=prev_totals.get(c, Decimal(0)) if with_previous else None,
        )
        for c in currencies[1:]
    ]
    if others:
        data.note("costs in several currencies: `total` is in " + primary + "; see other_currencies")

    forecast = None
    in_primary = [f for f in data.forecasts if f.currency == primary]
    if in_primary:
        forecast = CostForecast(
            period=DateRange(start=in_primary[0].span.start, end=in_primary[0].span.end),
            amount=sum((f.amount for f in in_primary), Decimal(0)),
            currency=primary,
            method=",".join(sorted({f.method for f in in_primary})),
        )
    elif req.include_forecast:
        data.note("no forecast could be computed for the requested scopes")

    span, prev_span = data.span, data.prev_span
    return CostReport(
        period=DateRange(start=span.start, end=span.end),
        previous_period=DateRange(start=prev_span.start, end=prev_span.end) if prev_span else None,
        granularity=req.granularity,
        group_by=list(dims),
        cost_type=req.cost_type,
        currency=primary,
        total=total,
        previous_total=prev_total,
        change_pct=pct(total, prev_total),
        other_currencies=others,
        forecast=forecast,
        rows=rows,
        errors=list(errors),
        meta=with_notes(meta or Meta(), data.notes),
    )


def with_notes(meta: Meta, notes: Sequence[str]) -> Meta:
    """`meta` with `notes` appended (each once)."""
    merged = list(meta.notes)
    merged += [n for n in dict.fromkeys(notes) if n and n not in merged]
    return meta.model_copy(update={"notes": merged})
