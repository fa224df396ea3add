"""Reporting periods: named periods, comparison spans, buckets, Span invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from finops_mcp import periods
from finops_mcp.periods import (
    Span,
    add_months,
    bucket_of,
    buckets,
    month_span,
    month_start,
    previous,
    resolve,
)

D = date

# today -> expected span of every named period
RESOLVE_CASES: list[tuple[date, dict[str, tuple[date, date]]]] = [
    (
        D(2025, 1, 1),
        {
            "month_to_date": (D(2025, 1, 1), D(2025, 1, 1)),
            "last_month": (D(2024, 12, 1), D(2024, 12, 31)),
            "last_7_days": (D(2024, 12, 25), D(2024, 12, 31)),
            "last_30_days": (D(2024, 12, 2), D(2024, 12, 31)),
            "last_90_days": (D(2024, 10, 3), D(2024, 12, 31)),
            "year_to_date": (D(2025, 1, 1), D(2025, 1, 1)),
        },
    ),
    (
        D(2024, 3, 1),  # leap year: February has 29 days
        {
            "month_to_date": (D(2024, 3, 1), D(2024, 3, 1)),
            "last_month": (D(2024, 2, 1), D(2024, 2, 29)),
            "last_7_days": (D(2024, 2, 23), D(2024, 2, 29)),
            "last_30_days": (D(2024, 1, 31), D(2024, 2, 29)),
            "last_90_days": (D(2023, 12, 2), D(2024, 2, 29)),
            "year_to_date": (D(2024, 1, 1), D(2024, 2, 29)),
        },
    ),
    (
        D(2025, 3, 1),  # common year
        {
            "month_to_date": (D(2025, 3, 1), D(2025, 3, 1)),
            "last_month": (D(2025, 2, 1), D(2025, 2, 28)),
            "last_7_days": (D(2025, 2, 22), D(2025, 2, 28)),
            "last_30_days": (D(2025, 1, 30), D(2025, 2, 28)),
            "last_90_days": (D(2024, 12, 1), D(2025, 2, 28)),
            "year_to_date": (D(2025, 1, 1), D(2025, 2, 28)),
        },
    ),
    (
        D(2024, 2, 29),
        {
            "month_to_date": (D(2024, 2, 1), D(2024, 2, 28)),
            "last_month": (D(2024, 1, 1), D(2024, 1, 31)),
            "last_7_days": (D(2024, 2, 22), D(2024, 2, 28)),
            "last_30_days": (D(2024, 1, 30), D(2024, 2, 28)),
            "last_90_days": (D(2023, 12, 1), D(2024, 2, 28)),
            "year_to_date": (D(2024, 1, 1), D(2024, 2, 28)),
        },
    ),
    (
        D(2025, 10, 31),
        {
            "month_to_date": (D(2025, 10, 1), D(2025, 10, 30)),
            "last_month": (D(2025, 9, 1), D(2025, 9, 30)),
            "last_7_days": (D(2025, 10, 24), D(2025, 10, 30)),
            "last_30_days": (D(2025, 10, 1), D(2025, 10, 30)),
            "last_90_days": (D(2025, 8, 2), D(2025, 10, 30)),
            "year_to_date": (D(2025, 1, 1), D(2025, 10, 30)),
        },
    ),
    (
        D(2025, 12, 31),
        {
            "month_to_date": (D(2025, 12, 1), D(2025, 12, 30)),
            "last_month": (D(2025, 11, 1), D(2025, 11, 30)),
            "last_7_days": (D(2025, 12, 24), D(2025, 12, 30)),
            "last_30_days": (D(2025, 12, 1), D(2025, 12, 30)),
            "last_90_days": (D(2025, 10, 2), D(2025, 12, 30)),
            "year_to_date": (D(2025, 1, 1), D(2025, 12, 30)),
        },
    ),
]


@pytest.mark.parametrize(
    ("today", "name", "expected"),
    [
        pytest.param(today, name, exp, id=f"{today}-{name}")
        for today, cases in RESOLVE_CASES
        for name, exp in cases.items()
    ],
)
def test_resolve_named_periods(today: date, name: str, expected: tuple[date, date]) -> None:
    span = resolve(name, None, None, today)
    assert (span.start, span.end) == expected


def test_every_period_name_is_covered() -> None:
    from typing import get_args

    from finops_mcp.models import PeriodName

    for _today, cases in RESOLVE_CASES:
        assert set(cases) == set(get_args(PeriodName))


@pytest.mark.parametrize("n", [7, 30, 90])
def test_last_n_days_are_n_complete_days_before_today(n: int) -> None:
    today = D(2024, 3, 1)
    span = resolve(f"last_{n}_days", None, None, today)
    assert span.days == n
    assert span.end == today - timedelta(days=1)
    assert not span.contains(today)


def test_default_period_is_month_to_date() -> None:
    assert resolve(None, None, None, D(2025, 5, 17)) == Span(D(2025, 5, 1), D(2025, 5, 16))


def test_explicit_dates_win_and_are_inclusive() -> None:
    span = resolve(None, D(2025, 1, 10), D(2025, 1, 20), D(2025, 6, 1))
    assert span == Span(D(2025, 1, 10), D(2025, 1, 20))
    assert span.days == 11


def test_resolve_rejects_one_date_and_unknown_names() -> None:
    with pytest.raises(ValueError):
        resolve(None, D(2025, 1, 1), None, D(2025, 6, 1))
    with pytest.raises(ValueError):
        resolve(None, None, D(2025, 1, 1), D(2025, 6, 1))
    with pytest.raises(ValueError, match="unknown period"):
        resolve("last_week", None, None, D(2025, 6, 1))


# ------------------------------------------------------------------------------ previous()


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2025, 3, 15), (D(2025, 2, 1), D(2025, 2, 15))),
        (D(2025, 3, 31), (D(2025, 2, 1), D(2025, 2, 28))),  # clamped at the short month
        (D(2024, 3, 31), (D(2024, 2, 1), D(2024, 2, 29))),  # leap year
        (D(2024, 3, 30), (D(2024, 2, 1), D(2024, 2, 29))),
        (D(2025, 3, 1), (D(2025, 2, 1), D(2025, 2, 1))),
        (D(2025, 1, 1), (D(2024, 12, 1), D(2024, 12, 1))),  # across the year
        (D(2025, 1, 31), (D(2024, 12, 1), D(2024, 12, 31))),
        (D(2025, 5, 31), (D(2025, 4, 1), D(2025, 4, 30))),
        (D(2025, 4, 30), (D(2025, 3, 1), D(2025, 3, 30))),  # same days, not the whole of March
        (D(2024, 2, 29), (D(2024, 1, 1), D(2024, 1, 29))),
    ],
)
def test_previous_month_to_date_is_same_days_of_previous_month(
    today: date, expected: tuple[date, date]
) -> None:
    span = Span(month_start(today), today)  # the month-to-date shape, through `today`
    prev = previous(span, "month_to_date")
    assert (prev.start, prev.end) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2025, 3, 15), (D(2025, 1, 1), D(2025, 1, 31))),
        (D(2024, 3, 1), (D(2024, 1, 1), D(2024, 1, 31))),
        (D(2025, 1, 1), (D(2024, 11, 1), D(2024, 11, 30))),
        (D(2024, 4, 10), (D(2024, 2, 1), D(2024, 2, 29))),
        (D(2025, 4, 10), (D(2025, 2, 1), D(2025, 2, 28))),
    ],
)
def test_previous_last_month_is_the_month_before(today: date, expected: tuple[date, date]) -> None:
    span = resolve("last_month", None, None, today)
    prev = previous(span, "last_month")
    assert (prev.start, prev.end) == expected


@pytest.mark.parametrize("n", [7, 30, 90])
@pytest.mark.parametrize(
    "today",
    # incl. days where the span happens to start on the 1st or be a whole month
    [D(2025, 3, 8), D(2025, 5, 1), D(2024, 3, 1), D(2025, 1, 1), D(2025, 7, 31), D(2025, 12, 31)],
)
def test_previous_last_n_days_is_the_n_days_before(today: date, n: int) -> None:
    span = resolve(f"last_{n}_days", None, None, today)
    prev = previous(span, f"last_{n}_days")
    assert prev.days == n
    assert prev.end == span.start - timedelta(days=1)


def test_previous_last_30_days_on_a_whole_month_is_not_the_previous_month() -> None:
    span = resolve("last_30_days", None, None, D(2025, 5, 1))
    assert span == Span(D(2025, 4, 1), D(2025, 4, 30))
    assert previous(span, "last_30_days") == Span(D(2025, 3, 2), D(2025, 3, 31))


def test_previous_last_7_days_starting_on_the_first() -> None:
    span = resolve("last_7_days", None, None, D(2025, 3, 8))
    assert span == Span(D(2025, 3, 1), D(2025, 3, 7))
    assert previous(span, "last_7_days") == Span(D(2025, 2, 22), D(2025, 2, 28))


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2025, 1, 1), (D(2024, 1, 1), D(2024, 1, 1))),
        (D(2025, 1, 15), (D(2024, 1, 1), D(2024, 1, 15))),
        (D(2025, 1, 31), (D(2024, 1, 1), D(2024, 1, 31))),  # a whole month, still last year
        (D(2024, 2, 29), (D(2023, 1, 1), D(2023, 2, 28))),  # clamped: 2023 has no Feb 29
        (D(2025, 3, 1), (D(2024, 1, 1), D(2024, 3, 1))),
        (D(2025, 10, 31), (D(2024, 1, 1), D(2024, 10, 31))),
        (D(2025, 12, 31), (D(2024, 1, 1), D(2024, 12, 31))),
    ],
)
def test_previous_year_to_date_is_same_span_last_year(today: date, expected: tuple[date, date]) -> None:
    span = Span(D(today.year, 1, 1), today)  # the year-to-date shape, through `today`
    prev = previous(span, "year_to_date")
    assert (prev.start, prev.end) == expected


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (Span(D(2025, 3, 1), D(2025, 3, 31)), Span(D(2025, 2, 1), D(2025, 2, 28))),
        (Span(D(2025, 1, 1), D(2025, 3, 31)), Span(D(2024, 10, 1), D(2024, 12, 31))),
        (Span(D(2024, 3, 1), D(2024, 4, 30)), Span(D(2024, 1, 1), D(2024, 2, 29))),
        (Span(D(2024, 1, 1), D(2024, 12, 31)), Span(D(2023, 1, 1), D(2023, 12, 31))),
        (Span(D(2024, 2, 1), D(2024, 2, 29)), Span(D(2024, 1, 1), D(2024, 1, 31))),
    ],
)
def test_previous_explicit_whole_months_is_same_number_of_months_before(span: Span, expected: Span) -> None:
    assert previous(span, None) == expected


@pytest.mark.parametrize(
    "span",
    [
        Span(D(2025, 3, 10), D(2025, 3, 20)),
        Span(D(2025, 3, 2), D(2025, 3, 31)),
        Span(D(2024, 2, 15), D(2024, 3, 14)),
        Span(D(2024, 12, 20), D(2025, 1, 5)),
        Span(D(2025, 2, 1), D(2025, 3, 3)),  # starts on the 1st but crosses a month end
        Span(D(2025, 6, 6), D(2025, 6, 6)),
    ],
)
def test_previous_explicit_arbitrary_range_is_equally_long_span_before(span: Span) -> None:
    prev = previous(span, None)
    assert prev.days == span.days
    assert prev.end == span.start - timedelta(days=1)


def test_previous_explicit_month_prefix_compares_same_days_of_previous_month() -> None:
    # The shape of the default month_to_date (callers may pass period=None for the default).
    assert previous(Span(D(2025, 3, 1), D(2025, 3, 15)), None) == Span(D(2025, 2, 1), D(2025, 2, 15))


def test_previous_is_always_before_and_never_overlaps() -> None:
    names = ["month_to_date", "last_month", "last_7_days", "last_30_days", "last_90_days", "year_to_date"]
    day = D(2023, 12, 25)
    while day <= D(2025, 3, 5):
        for name in names:
            span = resolve(name, None, None, day)
            prev = previous(span, name)
            assert prev.end < span.start, (name, day)
        day += timedelta(days=1)


# ------------------------------------------------------------------------------ helpers & buckets


def test_add_months_clamps_and_crosses_years() -> None:
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2024, 2, 29), 12) == D(2025, 2, 28)
    assert add_months(D(2025, 1, 15), -1) == D(2024, 12, 15)
    assert add_months(D(2025, 3, 31), -13) == D(2024, 2, 29)
    assert add_months(D(2025, 12, 1), 1) == D(2026, 1, 1)


def test_month_span() -> None:
    assert month_span(D(2024, 2, 10)) == Span(D(2024, 2, 1), D(2024, 2, 29))
    assert month_span(D(2025, 12, 31)) == Span(D(2025, 12, 1), D(2025, 12, 31))


def test_daily_buckets_cover_every_day_inclusive() -> None:
    span = Span(D(2024, 2, 27), D(2024, 3, 2))
    assert list(buckets(span, "daily")) == [
        D(2024, 2, 27),
        D(2024, 2, 28),
        D(2024, 2, 29),
        D(2024, 3, 1),
        D(2024, 3, 2),
    ]
    assert list(buckets(Span(D(2025, 1, 1), D(2025, 1, 1)), "daily")) == [D(2025, 1, 1)]


def test_monthly_buckets_are_first_days_of_each_touched_month() -> None:
    span = Span(D(2024, 11, 15), D(2025, 2, 3))
    assert list(buckets(span, "monthly")) == [D(2024, 11, 1), D(2024, 12, 1), D(2025, 1, 1), D(2025, 2, 1)]
    assert list(buckets(Span(D(2025, 3, 31), D(2025, 3, 31)), "monthly")) == [D(2025, 3, 1)]


def test_bucket_of_matches_buckets() -> None:
    span = Span(D(2024, 12, 30), D(2025, 2, 2))
    for granularity in ("daily", "monthly"):
        keys = set(buckets(span, granularity))
        day = span.start
        while day <= span.end:
            assert bucket_of(day, granularity) in keys
            day += timedelta(days=1)
    assert bucket_of(D(2025, 1, 17), "monthly") == D(2025, 1, 1)
    assert bucket_of(D(2025, 1, 17), "daily") == D(2025, 1, 17)
    assert bucket_of(D(2025, 1, 17), "total") is None


# ------------------------------------------------------------------------------ Span


def test_span_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="before start"):
        Span(D(2025, 1, 2), D(2025, 1, 1))


def test_span_properties() -> None:
    one_day = Span(D(2025, 1, 1), D(2025, 1, 1))
    assert one_day.days == 1
    assert one_day.end_exclusive == D(2025, 1, 2)
    span = Span(D(2024, 2, 1), D(2024, 2, 29))
    assert span.days == 29
    assert span.end_exclusive == D(2024, 3, 1)
    assert span.contains(D(2024, 2, 1)) and span.contains(D(2024, 2, 29))
    assert not span.contains(D(2024, 1, 31)) and not span.contains(D(2024, 3, 1))


def test_span_is_frozen_hashable_and_ordered() -> None:
    a = Span(D(2025, 1, 1), D(2025, 1, 31))
    b = Span(D(2025, 2, 1), D(2025, 2, 28))
    assert a < b
    assert {a, Span(D(2025, 1, 1), D(2025, 1, 31))} == {a}
    with pytest.raises(AttributeError):
        a.start = D(2025, 1, 2)  # type: ignore[misc]


def test_utc_today_is_a_date() -> None:
    today = periods.utc_today()
    assert type(today) is date
