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


def resolve(period: str | None, start: date | None, end: date | None, today: date) -> Span:
    """The span a request asks for. `today` is the current UTC day (it may be partial)."""
    if start is not None and end is not None:
        return Span(start, end)
    name = period or "month_to_date"
    if name == "month_to_date":
        return Span(month_start(today), today)
    if name == "last_month":
        last = month_start(today) - timedelta(days=1)
        return month_span(last)
    if name in ("last_7_days", "last_30_days", "last_90_days"):
        n = int(name.split("_")[1])
        # The last n complete days: today is partial, so it is not one of them.
        return Span(today - timedelta(days=n), today - timedelta(days=1))
    if name == "year_to_date":
        return Span(date(today.year, 1, 1), today)
    raise ValueError(f"unknown period {name!r}")


def previous(span: Span, period: str | None) -> Span:
    """The comparison span: the same days of the previous month/year for calendar periods,
    otherwise the equally long span just before."""
    if period == "last_month" or (
        span.start == month_start(span.start) and span.end == month_end(span.end)
    ):
        months = (span.end.year - span.start.year) * 12 + span.end.month - span.start.month + 1
        first = add_months(span.start, -months)
        return Span(first, month_end(add_months(span.end, -months)))
    if period == "month_to_date" or (span.start == month_start(span.start) and span.days <= 31):
        first = add_months(span.start, -1)
        return Span(first, min(add_months(span.end, -1), month_end(first)))
    if period == "year_to_date":
        return Span(date(span.start.year - 1, 1, 1), add_months(span.end, -12))
    return Span(span.start - timedelta(days=span.days), span.start - timedelta(days=1))


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
