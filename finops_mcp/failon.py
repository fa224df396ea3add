"""The CLI's `--fail-on` conditions (CI gates): parsed before any work, checked on the report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from finops_mcp.models import AuditReport, BudgetReport, CostReport


@dataclass(frozen=True)
class FailOn:
    """A parsed `--fail-on` condition: budget statuses, or a waste threshold."""

    text: str
    statuses: frozenset[str] = frozenset()
    waste_over: Decimal | None = None


def parse(conditions: Sequence[str] | None, kind: str) -> list[FailOn]:
    """Every condition, for the `kind` of report (`budgets`, `audit`...); ValueError naming the bad one."""
    parsed: list[FailOn] = []
    for cond in conditions or []:
        text = cond.strip().lower()
        waste = re.fullmatch(r"waste\s*>\s*(\d+(?:\.\d+)?)", text)
        if text in ("exceeded", "forecast"):
            if kind != "budgets":
                raise ValueError(f"--fail-on {cond}: applies to `budgets`, not `{kind}`")
            statuses = {"exceeded"} if text == "exceeded" else {"exceeded", "forecast_exceeded"}
            parsed.append(FailOn(text, statuses=frozenset(statuses)))
        elif waste:
            if kind != "audit":
                raise ValueError(f"--fail-on {cond}: applies to `audit`, not `{kind}`")
            parsed.append(FailOn(text, waste_over=Decimal(waste.group(1))))
        else:
            raise ValueError(f"--fail-on {cond!r}: use 'exceeded', 'forecast' or 'waste>N' (e.g. waste>500)")
    return parsed


def met(report: AuditReport | BudgetReport | CostReport, conditions: Sequence[FailOn]) -> list[str]:
    """What each condition that holds found (empty: none holds)."""
    found: list[str] = []
    for cond in conditions:
        if cond.statuses and isinstance(report, BudgetReport):
            hits = [b for b in report.budgets if b.status in cond.statuses]
            if hits:
                found.append(f"{cond.text}: {', '.join(b.name for b in hits)}")
        if cond.waste_over is not None and isinstance(report, AuditReport):
            waste = report.summary.estimated_monthly_waste
            if waste > cond.waste_over:
                found.append(f"waste {waste:.2f} > {cond.waste_over}")
    return found
