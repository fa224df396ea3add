"""finops_mcp.anomaly: weekly seasonality, month starts, spikes, new series, level shifts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from finops_mcp.anomaly import comparable_days, detect
from finops_mcp.periods import Span

D = Decimal
FIRST = date(2024, 1, 1)
LAST = date(2024, 5, 5)
WINDOW = Span(date(2024, 4, 6), LAST)


def series(cost: Callable[[date], Decimal | int], first: date = FIRST) -> dict[date, Decimal]:
    out, day = {}, first
    while day <= LAST:
        out[day] = D(cost(day))
        day += timedelta(days=1)
    return out


def test_a_weekly_batch_is_not_an_anomaly_but_a_trailing_mean_would_say_so() -> None:
    weekly = series(lambda d: 300 if d.weekday() == 6 else 10)
    assert detect(weekly, WINDOW, min_excess=D(25)) == []
    sunday = date(2024, 4, 14)
    trailing = sum(weekly[sunday - timedelta(days=k)] for k in range(1, 15)) / 14
    assert weekly[sunday] > 2 * trailing  # what the old trailing-mean spike check looks at


def test_month_starts_are_compared_with_month_starts() -> None:
    backup = series(lambda d: 200 if d.day == 1 else 5)
    assert detect(backup, WINDOW, min_excess=D(25)) == []
    assert comparable_days(date(2024, 5, 1), FIRST) == [date(2024, 4, 1), date(2024, 3, 1), date(2024, 2, 1)]
    # an ordinary Wednesday never borrows a month start for its baseline
    assert date(2024, 5, 1) not in comparable_days(date(2024, 5, 8), FIRST)


def test_a_one_day_spike_is_found_with_its_baseline() -> None:
    spike = date(2024, 4, 24)
    ec2 = series(lambda d: 125 if d == spike else 30)
    [found] = detect(ec2, WINDOW, min_excess=D(25))
    assert (found.day, found.cost, found.baseline, found.excess) == (spike, D(125), D(30), D(95))
    assert found.basis[0] == spike - timedelta(days=7) and not found.month_start


def test_small_excess_or_noise_is_not_an_anomaly() -> None:
    noisy = series(lambda d: 100 + (d.toordinal() * 37) % 21 - 10)  # 90..110, deterministic
    assert detect(noisy, WINDOW, min_excess=D(5)) == []
    small = series(lambda d: 30 if d != date(2024, 4, 24) else 50)
    assert detect(small, WINDOW, min_excess=D(25)) == []  # +20 is above z but below min_excess


def test_a_new_series_is_not_judged_until_it_has_history() -> None:
    new = series(lambda d: 30, first=date(2024, 4, 8))
    assert detect(new, WINDOW, min_excess=D(25)) == []
    spiky_new = series(lambda d: 500 if d == date(2024, 4, 10) else 30, first=date(2024, 4, 8))
    assert detect(spiky_new, WINDOW, min_excess=D(25)) == []  # no comparable Wednesday yet


def test_a_sustained_increase_is_flagged_until_the_baseline_absorbs_it() -> None:
    shift = date(2024, 3, 25)
    s3 = series(lambda d: 68 if d >= shift else 40)
    found = detect(s3, Span(shift, LAST), min_excess=D(25))
    assert found[0].day == shift
    # after 4-5 weeks at the new level the weekday medians moved; the 1st is below its earlier 1sts'
    # level too, but clears them only: its own weekday has absorbed the shift, so it is no anomaly
    late = [a for a in found if a.day >= shift + timedelta(weeks=5)]
    assert late == []


def test_a_first_on_the_weekly_batch_day_is_neither_kind_of_anomaly() -> None:
    # 2023-10-01 and 2024-09-01 are Sundays; weekly Sunday batch, no month-start fee
    first, last = date(2024, 5, 1), date(2024, 9, 10)
    out, day = {}, first
    while day <= last:
        out[day] = D(300 if day.weekday() == 6 else 10)
        day += timedelta(days=1)
    assert date(2024, 9, 1).weekday() == 6
    assert detect(out, Span(date(2024, 8, 15), last), min_excess=D(25)) == []
    # a real spike on that 1st clears both baselines and is named against the higher one
    out[date(2024, 9, 1)] = D(900)
    [found] = detect(out, Span(date(2024, 8, 15), last), min_excess=D(25))
    assert (found.day, found.baseline, found.month_start) == (date(2024, 9, 1), D(300), False)


def test_days_after_the_data_end_are_not_judged() -> None:
    gap = series(lambda d: 30)
    assert detect(gap, Span(date(2024, 4, 6), date(2024, 5, 31)), min_excess=D(1), data_end=LAST) == []
