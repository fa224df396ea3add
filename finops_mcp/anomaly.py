"""Daily cost anomalies over one series (pure, no I/O): weekly seasonality and month starts.

Shared by providers that hold daily cost themselves (FOCUS exports, the GCP billing export, the
Azure Cost Management daily query); clouds with a native feed (AWS Cost Anomaly Detection) use
theirs.

Each day of the checked window is compared with a robust baseline built from days of the same
kind before it:
- an ordinary day with the same weekday in the previous `weeks` weeks (d-7, d-14, ...), leaving
  out month-start days: a Sunday batch job is compared with earlier Sundays, never with the
  quiet weekdays around it;
- a month-start day (the 1st, when monthly fees, reservations and full backups land) with the
  1st of the previous `months` months, and also with its weekday baseline when it has one (it
  must clear both: a 1st on the Sunday of a weekly batch is not an anomaly either).
Baseline = median of those values; spread = 1.4826 x their median absolute deviation, floored at
10% of the baseline (a perfectly flat history must not make every cent an anomaly). A day is an
anomaly when it exceeds the baseline by at least `z` spreads AND by at least `min_excess`. Only
increases are reported (a drop in spend is rarely an incident). Values before the series' first
day with cost are not history: a series needs `min_points` comparable days after it started
before it is judged, so a new service is not an anomaly on its first days (explain_change names
it `new`), and a sustained change stops being one once the baseline has absorbed it (after about
half of `weeks`).

`worst_day_driver` names where an anomalous day's excess happened: each child of the series (a
resource, a SKU) on that day against its median day over the baseline days, ranked by the
`get_cost` `explain_change` rules (`reports.drivers`), with the volume / rate split when the
quantities are known in one unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import Any, Generic, TypeVar

from finops_mcp.models import CostDriver, Finding
from finops_mcp.money import money
from finops_mcp.periods import Span, add_months
from finops_mcp.providers.base import Check, Ladder, Param, inventory_check
from finops_mcp.reports import drivers

ZERO = Decimal(0)
MAD_TO_SIGMA = Decimal("1.4826")
FLOOR_SHARE = Decimal("0.1")
WEEKS = 8
MONTHS = 3
MIN_POINTS = 3
Z = Decimal(4)
MONTH_DAYS = Decimal(30)
LOOKBACK_DAYS = max(7 * WEEKS, 31 * MONTHS)  # how far back the baselines of a day reach
HIGH_DAILY_EXCESS = Decimal(1000)
LADDER = Ladder(((HIGH_DAILY_EXCESS, "high"),), "medium", "the worst day's excess")
MIN_EXCESS = Param(
    "spike_min_daily_cost", "An anomalous day must exceed its baseline by at least this amount."
)
K = TypeVar("K", bound=Hashable)
WINDOW_DAYS = 30  # the cloud detectors' audit window: the last 30 days of data


def audit_window(end: date) -> Span:
    """The `WINDOW_DAYS` days ending at `end` (the last day with data)."""
    return Span(end - timedelta(days=WINDOW_DAYS - 1), end)


def with_baselines(window: Span) -> Span:
    """The days a series must cover to judge every day of `window`: it and the `LOOKBACK_DAYS`
    before it."""
    return Span(window.start - timedelta(days=LOOKBACK_DAYS), window.end)


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


def comparable_days(
    day: date, first: date, *, weeks: int = WEEKS, months: int = MONTHS, monthly: bool | None = None
) -> list[date]:
    """The earlier days `day` is compared with, from `first` (the series' first day) on: the
    previous months' 1sts (`monthly`; by default for a 1st), else the same weekday of the previous
    weeks, month starts left out."""
    if monthly if monthly is not None else is_month_start(day):
        days = [add_months(day, -k) for k in range(1, months + 1)]
    else:
        days = [day - timedelta(days=7 * k) for k in range(1, weeks + 1)]
        days = [d for d in days if not is_month_start(d)]
    return [d for d in days if d >= first]


def _median(values: Sequence[Decimal]) -> Decimal:
    return Decimal(median(values))


def _baseline(series: Mapping[date, Decimal], basis: Sequence[date]) -> tuple[Decimal, Decimal]:
    """(median, spread) of the series on `basis` (a missing day is 0)."""
    values = [series.get(d, ZERO) for d in basis]
    base = _median(values)
    mad = _median([abs(v - base) for v in values])
    return base, max(mad * MAD_TO_SIGMA, abs(base) * FLOOR_SHARE)


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
    day order. Days after `data_end` (the last day the dataset has any data) are not judged.

    A month-start day must clear the previous months' 1sts AND, when it has enough of them, the
    same weekday of the previous weeks: a 1st that falls on the Sunday of a weekly batch is
    neither a month-start anomaly nor a weekly one. The finding names the higher baseline."""
    costs = {d: c for d, c in series.items() if c != 0}
    if not costs:
        return []
    first = min(costs)
    last = min(window.end, data_end) if data_end else window.end
    found: list[AnomalyDay] = []
    day = max(window.start, first)
    while day <= last:
        bases: list[tuple[Decimal, Decimal, tuple[date, ...], bool]] = []
        kinds = (True, False) if is_month_start(day) else (False,)
        for monthly in kinds:
            basis = comparable_days(day, first, weeks=weeks, months=months, monthly=monthly)
            if len(basis) >= min_points:
                bases.append((*_baseline(series, basis), tuple(basis), monthly))
            elif monthly:
                break  # a 1st is judged only once the previous months' 1sts are known
        else:
            if bases:
                base, spread, basis_days, monthly = max(bases, key=lambda b: b[0])
                cost = series.get(day, ZERO)
                excess = cost - base
                clears = all(cost - b >= min_excess and cost - b >= z * s for b, s, _, _ in bases)
                if clears and excess >= min_excess:
                    found.append(AnomalyDay(day, cost, base, spread, basis_days, monthly))
        day += timedelta(days=1)
    return found


@dataclass(frozen=True)
class Flagged(Generic[K]):
    """One series' anomalous days (in day order) and its worst one."""

    key: K
    days: tuple[AnomalyDay, ...]

    @property
    def worst(self) -> AnomalyDay:
        return max(self.days, key=lambda d: (d.excess, d.day))


def flag(
    series: Mapping[K, Mapping[date, Decimal]], window: Span, *, min_excess: Decimal, data_end: date | None
) -> list[Flagged[K]]:
    """`detect` over many series: those with anomalous days, in key order."""
    found: list[Flagged[K]] = []
    for key in sorted(series, key=repr):
        days = detect(series[key], window, min_excess=min_excess, data_end=data_end)
        if days:
            found.append(Flagged(key, tuple(days)))
    return found


def describe(
    label: str, flagged: Flagged[K], window: Span, currency: str, driver: CostDriver | None, child: str
) -> tuple[str, Decimal]:
    """A finding's detail and estimated monthly cost: if still elevated on the window's last day,
    that day's excess x 30; otherwise the total excess over the anomalous days."""
    days, worst = flagged.days, flagged.worst
    kind = (
        "the 1st of the previous months"
        if worst.month_start
        else f"the same weekday of up to {WEEKS} weeks before"
    )
    detail = (
        f"{label}: {len(days)} anomalous day(s) in {window.start}..{window.end} (first {days[0].day}); "
        f"worst {worst.day}: {money(worst.cost, currency)} vs a baseline of "
        f"{money(worst.baseline, currency)} (median of {kind}, {len(worst.basis)} days), "
        f"+{money(worst.excess, currency)}."
    )
    if driver is not None:
        detail += f" Driver: {drivers.describe(driver)} against its median on those days."
    else:
        detail += f" No {child} breakdown of that day was answered, so no driver is named."
    last = days[-1]
    if last.day == window.end:
        detail += f" Still elevated on {last.day}, the last day of data: estimate = that day's excess x 30."
        return detail, last.excess * MONTH_DAYS
    detail += " Estimate = the total excess over the anomalous days."
    return detail, sum((d.excess for d in days), ZERO)


def finding(
    check: Check[Any],
    flagged: Flagged[K],
    *,
    label: str,
    window: Span,
    currency: str,
    driver: CostDriver | None,
    child: str,
    scope: str,
    resource_id: str,
    region: str | None = None,
) -> Finding:
    """The one finding of an anomalous series (detail and price from `describe`, severity by the
    worst day's excess)."""
    detail, estimate = describe(label, flagged, window, currency, driver, child)
    return check.finding(
        scope=scope,
        region=region,
        resource_id=resource_id,
        resource_name=label,
        detail=detail,
        cost=estimate,
        currency=currency,
        severity=LADDER.grade(flagged.worst.excess),
    )


def daily_anomaly_check(
    id: str,
    title: str,
    description: str,
    recommendation: str,
    evaluate: Any,
    *,
    needs: frozenset[str] = frozenset(),
    permissions: tuple[str, ...] = (),
) -> Check[Any]:
    """The declaration every detector-based anomaly check shares (category, ladder, price basis,
    the FINOPS_SPIKE_MIN_DAILY_COST threshold)."""
    return inventory_check(
        id,
        title,
        description,
        "service",
        "medium",
        recommendation,
        evaluate,
        needs,
        permissions,
        basis="billed_last_30_days",
        ladder=LADDER,
        category="anomaly",
        params=(MIN_EXCESS,),
    )


def median_usage(parts: Sequence[drivers.Usage], days: int) -> drivers.Usage:
    """A child's typical day over `days` baseline days (absent days cost 0): the median cost, and
    the median quantity when every day has one, in one unit."""
    costs = [p.cost for p in parts] + [ZERO] * (days - len(parts))
    units = {p.unit for p in parts}
    known = len(parts) == days and None not in units and len(units) == 1
    known = known and all(p.quantity is not None for p in parts)
    quantity = _median([p.quantity for p in parts if p.quantity is not None]) if known else None
    return drivers.Usage(_median(costs), quantity, units.pop() if known else None)


def worst_day_driver(
    series: tuple[str, str, str],
    parent: tuple[str, str],
    child: str,
    on_day: Mapping[str, drivers.Usage],
    before: Mapping[str, Sequence[drivers.Usage]],
    days: int,
) -> CostDriver | None:
    """The driver of one anomalous day. `series` = (provider, scope, currency); `parent` = the
    series' (dimension, value), e.g. ("service", "BigQuery"); `child` the dimension below it;
    `on_day` each child's usage that day; `before` each child's usage on the baseline days it had
    any (`days` baseline days in all)."""
    provider, scope, currency = series
    dim, value = parent
    now: dict[drivers.SeriesKey, drivers.Usage] = {
        (provider, scope, currency, (value, name)): usage for name, usage in on_day.items()
    }
    typical: dict[drivers.SeriesKey, drivers.Usage] = {
        (provider, scope, currency, (value, name)): median_usage(parts, days)
        for name, parts in before.items()
    }
    children = drivers.Level((dim, child), now, typical)
    parent_now, parent_before = drivers.total(now.values()), drivers.total(typical.values())
    key = (provider, scope, currency, (value,))
    parents = drivers.Level(
        (dim,), {key: parent_now} if parent_now else {}, {key: parent_before} if parent_before else {}
    )
    found = drivers.explain(parents, [children], currency=currency, limit=1).drivers
    return found[0] if found else None


def driver_of_day(
    series: tuple[str, str, str],
    parent: tuple[str, str],
    child: str,
    worst: AnomalyDay,
    rows: Iterable[tuple[str, date, drivers.Usage]],
) -> CostDriver | None:
    """`worst_day_driver` from (child, day, usage) rows covering the worst day and its baseline
    days (rows of other days are ignored; a child's rows of one day are summed)."""
    basis = set(worst.basis)
    on_day: dict[str, drivers.Usage] = {}
    before: dict[tuple[str, date], drivers.Usage] = {}
    for name, day, usage in rows:
        if day == worst.day:
            on_day[name] = on_day[name] + usage if name in on_day else usage
        elif day in basis:
            before[(name, day)] = before[(name, day)] + usage if (name, day) in before else usage
    by_child: dict[str, list[drivers.Usage]] = defaultdict(list)
    for (name, _day), usage in sorted(before.items()):
        by_child[name].append(usage)
    return worst_day_driver(series, parent, child, on_day, by_child, len(basis))
