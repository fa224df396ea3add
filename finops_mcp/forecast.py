"""Run-rate forecast, shared by the providers that have no forecast API (FOCUS exports, GCP).

forecast = actual / elapsed days x days in the period, where elapsed days run from the period
start through the last day with data in the period (exports lag), or `as_of` if earlier. No data
in the period: no forecast (None), never an invented number.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from finops_mcp.periods import Span

_QUANTUM = Decimal("0.0000000001")


def run_rate(actual: Decimal, period: Span, last_day: date | None, as_of: date) -> Decimal | None:
    """Projected cost of `period`. `actual` is the cost from the period start through `as_of`;
    `last_day` the latest charge day with data in the period (None: no data, no forecast)."""
    if last_day is None:
        return None
    through = min(last_day, as_of, period.end)
    if through < period.start:
        return None
    elapsed = (through - period.start).days + 1
    return (actual * period.days / elapsed).quantize(_QUANTUM)
