"""Never a silent zero: what the data covers, and what a zero or a null really means.

Pure helpers the service uses to turn "0.00" into an answer a person can trust:
- a period outside a scope's data says the data's span;
- a previous period before the data starts is unknown (null), not 0;
- a filter or tag value that matched nothing is named, with close matches from the data
  (case-insensitive hits first, then the nearest names);
- `basis`: which amount is summed, whether credits and refunds are in, how fresh the data is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from finops_mcp.models import Basis
from finops_mcp.periods import Span
from finops_mcp.providers.base import Filters

# Whether credits and refunds are in the amounts, per provider and cost type (see each provider's
# cost module docstring for the mapping to the cloud's own measure).
_CREDITS: Mapping[tuple[str, str], str] = {
    ("aws", "billed"): "credits and refunds in (negative lines)",
    ("aws", "effective"): "credits and refunds in; commitments amortized",
    ("azure", "billed"): "ActualCost: credits and prepayment applied at invoicing not in",
    ("azure", "effective"): "AmortizedCost: credits and prepayment applied at invoicing not in",
    ("gcp", "billed"): "every credit in",
    ("gcp", "effective"): "credits in except promotional ones",
    ("focus", "billed"): "Credit and Adjustment rows in, as exported",
    ("focus", "effective"): "Credit and Adjustment rows in, as exported; commitments amortized",
}
_CLOSE = 3
MIN_FORECAST_DAYS = 7  # a run rate over fewer days of the period is called thin


@dataclass(frozen=True)
class FilterDim:
    """One filter of a cost request as a dimension: `field` names it in the request."""

    field: str  # filters.services, filters.tags.team, ...
    dimension: str  # service, account, region, tag:<key>
    values: tuple[str, ...]


def filter_dims(filters: Filters) -> list[FilterDim]:
    dims = [
        FilterDim("filters.services", "service", filters.services),
        FilterDim("filters.accounts", "account", filters.accounts),
        FilterDim("filters.regions", "region", filters.regions),
    ]
    dims += [FilterDim(f"filters.tags.{key}", f"tag:{key}", values) for key, values in filters.tags]
    return [d for d in dims if any(d.values)]


def close_matches(value: str, known: Iterable[str]) -> list[str]:
    """Values in the data a person probably meant: case-insensitive hits, else the nearest."""
    names = sorted({k for k in known if k})
    folded = value.casefold()
    same = [k for k in names if k.casefold() == folded]
    if same:
        return same[:_CLOSE]
    by_lower = {k.casefold(): k for k in names}
    near = difflib.get_close_matches(folded, list(by_lower), n=_CLOSE, cutoff=0.45)
    contains = [k for k in names if folded in k.casefold() or k.casefold() in folded]
    return list(dict.fromkeys([*(by_lower[n] for n in near), *contains]))[:_CLOSE]


def unmatched_note(dim: FilterDim, value: str, known: Iterable[str], span: Span, scopes: str) -> str:
    hint = close_matches(value, known)
    tail = f"; close matches: {', '.join(map(repr, hint))}" if hint else "; no similar value in the data"
    return f"{dim.field} {value!r} matched no cost in {scopes} during {span.start}..{span.end}{tail}"


def outside_note(scope: str, data: Span, period: Span, what: str = "the period") -> str | None:
    """A note when `period` lies wholly or partly outside `data`, else None."""
    where = f"{scope} holds data from {data.start} to {data.end}"
    asked = f"{what} {period.start}..{period.end}"
    if period.end < data.start or period.start > data.end:
        return f"{where}; {asked} lies outside it, so nothing was counted"
    if period.start < data.start:
        return f"{where}; {asked} is counted from {data.start} only"
    if period.end > data.end:
        return f"{where}; {asked} is counted through {data.end} only"
    return None


def previous_unknown(data: Span, previous: Span) -> bool:
    """True when the previous period ends before the data starts: its cost is unknown, not 0."""
    return previous.end < data.start


def previous_note(starts: Mapping[str, date], previous: Span) -> str:
    """`starts`: scope -> first day of its data, for the scopes whose data starts after `previous`."""
    which = ", ".join(f"{scope} (data from {day})" for scope, day in sorted(starts.items()))
    return (
        f"previous period {previous.start}..{previous.end} is before the data of {which}: "
        "its previous cost is unknown (null), not 0"
    )


def forecast_days(period_start: date, through: date) -> int:
    """Days of the period a forecast can rest on: its start through `through` (the last data day)."""
    return max(0, (through - period_start).days + 1)


def thin_forecast_note(what: str, days: int) -> str | None:
    if days >= MIN_FORECAST_DAYS:
        return None
    return (
        f"{what} rests on only {days} day(s) of the period (fewer than {MIN_FORECAST_DAYS}): a thin "
        "run rate, read it as a rough guess"
    )


def credits_text(providers: Iterable[str], cost_type: str) -> str:
    names = sorted(set(providers))
    return "; ".join(f"{p}: {_CREDITS.get((p, cost_type), 'as the provider reports it')}" for p in names)


def basis(metric: str, credits: str, spans: Mapping[str, Span | None], billed: Mapping[str, int]) -> Basis:
    return Basis(
        metric=metric,
        credits=credits,
        data_through={scope: span.end for scope, span in sorted(spans.items()) if span is not None},
        billed_requests=sum(billed.values()),
    )
