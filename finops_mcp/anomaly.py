"""Daily cost anomalies over one series (pure, no I/O): weekly seasonality and month starts.

Shared by providers that hold daily cost themselves (FOCUS exports); clouds with a native feed
(AWS Cost Anomaly Detection) use theirs.

Each day of the checked window is compared with a robust baseline built from days of the same
kind before it:
- an ordinary day with the same weekday in the previous `weeks` weeks (d-7, d-14, ...), leaving
  out month-start days: a Sunday batch job is compared with earlier Sundays, never with the
  quiet weekdays around it;
- a month-start day (the 1st, when monthly fees, reservations and full backups land) with the
  1st of the previous `months` months.
Baseline = median of those values; spread = 1.4826 x their median absolute deviation, floored at
10% of the baseline (a perfectly flat history must not make every cent an anomaly). A day is an
anomaly when it exceeds the baseline by at least `z` spreads AND by at least `min_excess`. Only
increases are reported (a drop in spend is rarely an incident). Values before the series' first
day with cost are not history: a series needs `min_points` comparable days after it started
before it is judged, so a new service is not an anomaly on its first days (explain_change names
it `new`), and a sustained change stops being one once the baseline has absorbed it (after about
half of `weeks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from finops_mcp.periods import Span, add_months

ZERO = Decimal(0)
MAD_TO_SIGMA = Decimal("1.4826")
FLOOR_SHARE = Decimal("0.1")
WEEKS = 8
MONTHS = 3
MIN_POINTS = 3
Z = Decimal(4)


@dataclass(frozen=True)
class AnomalyDay:
    day: date
    cost: Decimal
    baseline: Decimal
    spread: Decimal
    basis: tuple[date, ...]  # the days the baseline was built from
    month_start: bool

    @property
    def excess(self) -> Decimal:
        return self.cost - self.baseline


def is_month_start(day: date) -> bool:
    return day.day == 1


def comparable_days(day: date, first: date, *, weeks: int = WEEKS, months: int = MONTHS) -> list[date]:
    """The earlier days `day` is compared with, from `first` (the series' first day) on."""
    if is_month_start(day):
        days = [add_months(day, -k) for k in range(1, months + 1)]
    else:
        days = [day - timedelta(days=7 * k) for k in range(1, weeks + 1)]
        days = [d for d in days if not is_month_start(d)]
    return [d for d in days if d >= first]


def _median(values: Sequence[Decimal]) -> Decimal:
    return Decimal(median(values))


def detect(
    series: Mapping[date, Decimal],
    window: Span,
    *,
    min_excess: Decimal,
    data_end: date | None = None,
    z: Decimal = Z,
    weeks: int = WEEKS,
    months: int = MONTHS,
    min_points: int = MIN_POINTS,
) -> list[AnomalyDay]:
    """The anomalous days of `series` (cost per day; a missing day is 0) within `window`, in
    day order. Days after `data_end` (the last day the dataset has any data) are not judged."""
    costs = {d: c for d, c in series.items() if c != 0}
    if not costs:
        return []
    first = min(costs)
    last = min(window.end, data_end) if data_end else window.end
    found: list[AnomalyDay] = []
    day = max(window.start, first)
    while day <= last:
        basis = comparable_days(day, first, weeks=weeks, months=months)
        if len(basis) >= min_points:
            values = [series.get(d, ZERO) for d in basis]
            base = _median(values)
            mad = _median([abs(v - base) for v in values])
            spread = max(mad * MAD_TO_SIGMA, abs(base) * FLOOR_SHARE)
            cost = series.get(day, ZERO)
            excess = cost - base
            if excess >= min_excess and excess >= z * spread:
                found.append(AnomalyDay(day, cost, base, spread, tuple(basis), is_month_start(day)))
        day += timedelta(days=1)
    return found
