"""Reporting periods as UTC calendar days with inclusive ends.

`resolve` turns a named period or explicit dates into a `Span`; `previous` gives the comparison
span of the same shape; `month_span` and `buckets` serve budgets, forecasts and granularity.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


@dataclass(frozen=True, order=True)
class Span:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"span end {self.end} is before start {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def end_exclusive(self) -> date:
        return self.end + timedelta(days=1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_span(day: date) -> Span:
    return Span(month_start(day), month_end(day))


def _last_complete_day(start: date, today: date) -> date:
    """Periods "to date" end with yesterday, the last complete day (billing data for today is
    partial and exports lag), so they compare fairly with the same days of the previous period.
    On their first day they hold that day alone."""
    return max(start, today - timedelta(days=1))


def resolve(period: str | None, start: date | None, end: date | None, today: date) -> Span:
    """The span a request asks for. `today` is the current UTC day, which is partial: named
    periods end with the last complete day (yesterday), except on the first day of a to-date period.

    Explicit dates win; giving only one of them is an error (the request models reject it too).
    """
    if start is not None and end is not None:
        return Span(start, end)
    if start is not None or end is not None:
        raise ValueError("give both start and end dates, or neither")
    name = period or "month_to_date"
    if name == "month_to_date":
        return Span(month_start(today), _last_complete_day(month_start(today), today))
    if name == "last_month":
        last = month_start(today) - timedelta(days=1)
        return month_span(last)
    if name in ("last_7_days", "last_30_days", "last_90_days"):
        n = int(name.split("_")[1])
        # The last n complete days: today is partial, so it is not one of them.
        return Span(today - timedelta(days=n), today - timedelta(days=1))
    if name == "year_to_date":
        return Span(date(today.year, 1, 1), _last_complete_day(date(today.year, 1, 1), today))
    raise ValueError(f"unknown period {name!r}")


def previous(span: Span, period: str | None) -> Span:
    """The comparison span for `span`, which was resolved from the named `period`.

    - month_to_date: the same days of the previous month, clamped at its end
      (Mar 1..31 -> Feb 1..28/29; Mar 1..15 -> Feb 1..15).
    - last_month: the month before.
    - year_to_date: the same span last year (Jan 1..Feb 29 2024 -> Jan 1..Feb 28 2023).
    - last_N_days and any other name: the N days just before.
    - None (explicit dates, or a caller passing the default): whole calendar months -> the same
      number of months before; a span starting on the 1st and ending inside that month (the shape
      of the default month_to_date) -> the same days of the previous month; anything else -> the
      equally long span just before.

    A named period is never re-interpreted by its shape: last_30_days ending on the 30th of April
    is still the 30 days before, and year_to_date in January is still compared with last January.
    """
    if period == "month_to_date" or (
        period is None and _is_month_prefix(span) and not _is_whole_months(span)
    ):
        first = add_months(span.start, -1)
        return Span(first, min(add_months(span.end, -1), month_end(first)))
    if period == "last_month" or (period is None and _is_whole_months(span)):
        months = (span.end.year - span.start.year) * 12 + span.end.month - span.start.month + 1
        return Span(add_months(span.start, -months), month_end(add_months(span.end, -months)))
    if period == "year_to_date":
        return Span(add_months(span.start, -12), add_months(span.end, -12))
    return Span(span.start - timedelta(days=span.days), span.start - timedelta(days=1))


def _is_whole_months(span: Span) -> bool:
    return span.start == month_start(span.start) and span.end == month_end(span.end)


def _is_month_prefix(span: Span) -> bool:
    """Starts on the 1st and ends within the same month."""
    return span.start.day == 1 and (span.end.year, span.end.month) == (span.start.year, span.start.month)


def buckets(span: Span, granularity: str) -> Iterator[date]:
    """Bucket keys covering the span: each day (daily) or each month's first day (monthly)."""
    if granularity == "daily":
        day = span.start
        while day <= span.end:
            yield day
            day += timedelta(days=1)
    elif granularity == "monthly":
        day = month_start(span.start)
        while day <= span.end:
            yield day
            day = add_months(day, 1)


def bucket_of(day: date, granularity: str) -> date | None:
    """The bucket a day falls into. Monthly buckets are keyed by the first day of the month."""
    if granularity == "daily":
        return day
    if granularity == "monthly":
        return month_start(day)
    return None


def calendar_span(kind: str, day: date) -> Span:
    """The calendar month, quarter or year (`monthly`, `quarterly`, `annually`) containing `day`."""
    if kind == "monthly":
        return month_span(day)
    if kind == "quarterly":
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return Span(first, month_end(add_months(first, 2)))
    if kind == "annually":
        return Span(date(day.year, 1, 1), date(day.year, 12, 31))
    raise ValueError(f"unknown budget period {kind!r}")
