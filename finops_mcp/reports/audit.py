"""The audit report from plain data: findings over the minimum cost, most expensive first, the
primary currency and the per-check and waste totals. Pure: no provider calls, no fan-out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from finops_mcp.models import AuditReport, AuditSummary, CheckCategory, CheckTotal, Finding, Meta, ScopeError
from finops_mcp.providers.base import AuditResult


def primary_currency(findings: Sequence[Finding]) -> str:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for f in findings:
        totals[f.currency] += f.estimated_monthly_cost
    return max(totals, key=lambda c: (totals[c], c)) if totals else "USD"


def audit_report(
    results: Iterable[AuditResult],
    categories: Mapping[str, CheckCategory],
    *,
    min_monthly_cost: Decimal = Decimal(0),
    scopes_scanned: int = 0,
    errors: Sequence[ScopeError] = (),
    meta: Meta | None = None,
) -> AuditReport:
    """The whole audit answer (paging cuts it later). `categories`: each selected check's category."""
    findings: list[Finding] = []
    checks_run: set[str] = set()
    regions: set[str] = set()
    for result in results:
        checks_run.update(result.checks_run)
        regions.update(result.regions)
        findings.extend(f for f in result.findings if f.estimated_monthly_cost >= min_monthly_cost)

    findings.sort(key=lambda f: (-f.estimated_monthly_cost, f.check, f.resource_id))
    currency = primary_currency(findings)
    by_check: dict[str, CheckTotal] = {}
    for check_id in sorted(checks_run):
        mine = [f for f in findings if f.check == check_id and f.currency == currency]
        by_check[check_id] = CheckTotal(
            count=sum(f.check == check_id for f in findings),
            estimated_monthly_cost=sum((f.estimated_monthly_cost for f in mine), Decimal(0)),
            category=categories.get(check_id, "waste"),
        )
    waste = sum(
        (f.estimated_monthly_cost for f in findings if f.category == "waste" and f.currency == currency),
        Decimal(0),
    )
    summary = AuditSummary(
        findings=len(findings),
        estimated_monthly_waste=waste,
        currency=currency,
        by_check=by_check,
        scopes_scanned=scopes_scanned,
        regions_scanned=len(regions),
    )
    return AuditReport(
        findings=findings,
        summary=summary,
        checks_run=sorted(checks_run),
        errors=list(errors),
        meta=meta or Meta(),
    )
