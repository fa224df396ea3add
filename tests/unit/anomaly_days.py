"""Days to plant an anomaly on, shared by the cloud detectors' tests."""

from __future__ import annotations

from datetime import date, timedelta


def ordinary_day(day: date) -> date:
    """`day`, or the latest day before it that is neither a Sunday (the planted weekly batch) nor
    a 1st (the planted monthly fee): a spike there is judged against an ordinary baseline."""
    while day.weekday() == 6 or day.day == 1:
        day -= timedelta(days=1)
    return day
