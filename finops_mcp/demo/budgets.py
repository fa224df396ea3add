"""The demo budgets: one per status as of `end` (exceeded, forecast_exceeded, warning, ok), their
amounts derived from the generated data, and the budgets.yaml that describes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import duckdb
import yaml

from finops_mcp.demo.dataset import DemoBudget, _bounds
from finops_mcp.models import budget_state
from finops_mcp.periods import calendar_span


def _nice(lo: Decimal, hi: Decimal, target: Decimal) -> Decimal:
    """A round amount strictly between lo and hi: the roundest within 5% of target, else the roundest."""
    near = (max(lo, target * Decimal("0.95")), min(hi, target * Decimal("1.05")))
    for low, high in (near, (lo, hi)):
        for step in ("10000", "5000", "1000", "500", "100", "50", "10", "5", "1", "0.1", "0.01"):
            s = Decimal(step)
            first = (low / s).to_integral_value(rounding=ROUND_FLOOR) + 1
            last = (high / s).to_integral_value(rounding=ROUND_CEILING) - 1
            if first <= last:
                k = min(max((target / s).to_integral_value(), first), last)
                return (k * s).quantize(Decimal(1) if s >= 1 else s)
    return target.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class _Scope:
    name: str
    cost_type: str
    filters: dict[str, Any]
    where: str  # over `daily`
    extra_where: str  # over `extra`


_EC2 = "'Amazon Elastic Compute Cloud'"
_SCOPES = {
    "exceeded": _Scope(
        "Platform team",
        "effective",
        {"tags": {"team": ["platform"]}},
        "team = 'platform'",
        "team = 'platform'",
    ),
    "forecast_exceeded": _Scope(
        "Azure",
        "effective",
        {"providers": ["Microsoft"]},
        "provider = 'Microsoft'",
        "ProviderName = 'Microsoft'",
    ),
    "warning": _Scope(
        "Amazon EC2",
        "effective",
        {"services": ["Amazon Elastic Compute Cloud"]},
        f"service = {_EC2}",
        f"ServiceName = {_EC2}",
    ),
    "ok": _Scope("All clouds", "billed", {}, "TRUE", "TRUE"),
}
_WARN_LADDER = (80.0, 50.0, 25.0, 10.0, 5.0, 2.0, 1.0)


@dataclass(frozen=True)
class _Pick:
    """What a scenario chose: the budget's period, its actual and forecast, amount and thresholds."""

    period: str
    first: date
    last: date
    actual: Decimal
    forecast: Decimal
    amount: Decimal
    thresholds: tuple[float, ...]
    why: str


@dataclass(frozen=True)
class _Plan:
    """What every scenario reads: the data's actual cost per scope since a day, and `end`."""

    actual_of: Callable[[_Scope, date], Decimal]
    end: date

    def month(self) -> tuple[date, date]:
        return _bounds(calendar_span("monthly", self.end))

    def forecast(self, actual: Decimal, first: date, last: date, extra_day: int = 0) -> Decimal:
        """Run-rate: actual / elapsed days x days in the period."""
        elapsed = (self.end - first).days + 1 + extra_day
        total = (last - first).days + 1
        return actual * total / min(elapsed, total)


def _exceeded(plan: _Plan, sc: _Scope) -> _Pick:
    """amount ~ 0.8 x actual."""
    first, last = plan.month()
    a = plan.actual_of(sc, first)
    amount = _nice(a * Decimal("0.70"), a * Decimal("0.92"), a * Decimal("0.8"))
    f = plan.forecast(a, first, last)
    return _Pick(
        "monthly", first, last, a, f, amount, (80.0, 100.0), "actual month-to-date is above the amount"
    )


def _forecast_exceeded(plan: _Plan, sc: _Scope) -> _Pick:
    """actual < amount < forecast. Uses the forecast with one more elapsed day when that still leaves
    room (so the status holds if the engine counts `end + 1` as elapsed). On the last day of a month
    forecast == actual, so the budget is quarterly (or annual) instead; on Dec 31 every period ends
    and no budget can be forecast_exceeded: it becomes a warning."""
    why = "below the amount so far, but the run-rate forecast for the period is above it"
    for period in ("monthly", "quarterly", "annually"):
        first, last = _bounds(calendar_span(period, plan.end))
        a = plan.actual_of(sc, first)
        f_hi, f_lo = plan.forecast(a, first, last), plan.forecast(a, first, last, 1)
        f_use = f_lo if f_lo >= a * Decimal("1.05") else f_hi
        lo, hi = a * Decimal("1.005"), f_use * Decimal("0.995")
        if a > 0 and hi > lo:
            return _Pick(period, first, last, a, f_hi, _nice(lo, hi, (lo + hi) / 2), (80.0, 100.0), why)
    first, last = plan.month()  # Dec 31: every period is over, forecast == actual
    a = plan.actual_of(sc, first)
    amount = _nice(a * Decimal("1.01"), a * Decimal("1.1"), a)
    return _Pick("monthly", first, last, a, plan.forecast(a, first, last), amount, (80.0, 100.0), why)


def _warning(plan: _Plan, sc: _Scope) -> _Pick:
    """forecast < amount <= actual / lowest threshold. Possible only when the lowest threshold is below
    the elapsed share of the month, so early in a month the lowest threshold steps down (80 -> 50 ->
    25 -> 10 -> 5 -> 2 -> 1 percent)."""
    first, last = plan.month()
    a = plan.actual_of(sc, first)
    f = plan.forecast(a, first, last)
    for t in _WARN_LADDER:
        lo, hi = f * Decimal("1.01"), a * 100 / Decimal(str(t)) * Decimal("0.99")
        if hi > lo:
            break
    amount = _nice(lo, hi, (lo * hi).sqrt())
    thresholds = (t, *(x for x in (50.0, 80.0, 100.0) if x > t))
    why = f"actual is above the lowest threshold ({t:g}%) of the amount, the forecast stays below it"
    return _Pick("monthly", first, last, a, f, amount, thresholds, why)


def _ok(plan: _Plan, sc: _Scope) -> _Pick:
    """amount ~ 2 x forecast, thresholds [80, 100]."""
    first, last = plan.month()
    a = plan.actual_of(sc, first)
    f = plan.forecast(a, first, last)
    amount = _nice(f * 2, f * Decimal("2.6"), f * Decimal("2.1"))
    return _Pick(
        "monthly", first, last, a, f, amount, (80.0, 100.0), "actual and forecast are well below the amount"
    )


# One row per status the demo shows: the scope it budgets and how its amount is chosen.
_SCENARIOS: tuple[tuple[str, Callable[[_Plan, _Scope], _Pick]], ...] = (
    ("exceeded", _exceeded),
    ("forecast_exceeded", _forecast_exceeded),
    ("warning", _warning),
    ("ok", _ok),
)


def _plan_budgets(actual_of: Callable[[_Scope, date], Decimal], end: date) -> list[DemoBudget]:
    """Amounts that give one budget per status as of `end` with a run-rate forecast (actual /
    elapsed days x days in the period), with margins: one scenario per row of `_SCENARIOS`."""
    plan = _Plan(actual_of, end)
    return [_budget(_SCOPES[status], choose(plan, _SCOPES[status])) for status, choose in _SCENARIOS]


def _budget(sc: _Scope, pick: _Pick) -> DemoBudget:
    status = budget_state(pick.amount, pick.actual, pick.forecast, list(pick.thresholds))
    return DemoBudget(
        name=f"{sc.name} ({pick.period})",
        status=status,
        period=pick.period,
        period_start=pick.first,
        period_end=pick.last,
        amount=pick.amount,
        actual=pick.actual.quantize(Decimal("0.01")),
        forecast=pick.forecast.quantize(Decimal("0.01")),
        thresholds=pick.thresholds,
        cost_type=sc.cost_type,
        filters=sc.filters,
        why=pick.why,
    )


def _write_budgets(path: Path, budgets: list[DemoBudget], end: date) -> None:
    entries = []
    for b in budgets:
        amount: int | float = int(b.amount) if b.amount == b.amount.to_integral_value() else float(b.amount)
        entry: dict[str, Any] = {
            "name": b.name,
            "amount": amount,
            "currency": "USD",
            "period": b.period,
            "cost_type": b.cost_type,
        }
        if b.filters:
            entry["filters"] = b.filters
        entry["thresholds"] = [int(t) if t == int(t) else t for t in b.thresholds]
        entries.append(entry)
    header = [
        "# finops-mcp demo budgets (generated; amounts computed from the demo data).",
        f"# As of {end} with a run-rate forecast (actual / elapsed days x days in the period):",
    ]
    for b in budgets:
        header.append(
            f"#   {b.name}: {b.status} (actual {b.actual}, forecast {b.forecast}, amount {b.amount})"
        )
    text = (
        "\n".join(header)
        + "\n"
        + yaml.safe_dump({"budgets": entries}, sort_keys=False, default_flow_style=None)
    )
    path.write_text(text, encoding="utf-8")


def _actual(con: duckdb.DuckDBPyConnection, sc: _Scope, first: date, end: date) -> Decimal:
    column = "billed" if sc.cost_type == "billed" else "effective"
    extra_col = "BilledCost" if sc.cost_type == "billed" else "EffectiveCost"
    extra_where = sc.extra_where
    row = con.execute(f"""
        SELECT (SELECT coalesce(sum(dl.{column}), 0) FROM daily dl JOIN days d ON d.i = dl.i
                WHERE d.day BETWEEN DATE '{first}' AND DATE '{end}' AND {sc.where})
             + (SELECT coalesce(sum(CAST({extra_col} AS DECIMAL(18,6))), 0) FROM extra
                WHERE charge_day BETWEEN DATE '{first}' AND DATE '{end}' AND {extra_where})
    """).fetchone()
    return Decimal(row[0]) if row and row[0] is not None else Decimal(0)


def _check_budgets(budgets: Sequence[DemoBudget], end: date) -> None:
    """One budget per status, unless `end` is Dec 31 (no period has a forecast above its actual)."""
    statuses = [b.status for b in budgets]
    wanted = ["exceeded", "forecast_exceeded", "warning", "ok"]
    if (end.month, end.day) == (12, 31):
        wanted[1] = "warning"
    if statuses != wanted:
        raise AssertionError(f"demo budgets as of {end} have statuses {statuses}, expected {wanted}")
