"""`aws.anomaly.cost_anomaly_detection`: the anomalies AWS Cost Anomaly Detection found, with their
root causes, as audit findings (one account-wide call, not one per region).

API: Cost Explorer `GetAnomalies` (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetAnomalies.html),
on the Cost Explorer endpoint (us-east-1 in the commercial partition), `DateInterval` = the last
`WINDOW_DAYS` days (AWS returns the anomalies whose end date falls in it; an ongoing anomaly has
none and is returned too), every page followed (`NextPageToken`) and counted as `aws.ce` (Cost
Explorer bills API requests per page). Needs `ce:GetAnomalies`; monitors must exist (the default
AWS services monitor is created for most accounts), else there is simply nothing to report.

Each anomaly (`Impact.TotalImpact` > 0, not marked by a person as "not an anomaly", Feedback NO)
becomes a finding: `resource_id` the AnomalyId, `estimated_monthly_cost` the total impact (the
spend above AWS's expectation over the anomaly so far), severity by that impact (planned activity:
low). Driver: the root cause with the largest contribution (service, region, usage type, linked
account), named as `get_cost` `explain_change` would (dimension and key, with the others as
context); anomalies with no root cause say so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.models import Finding
from finops_mcp.periods import Span
from finops_mcp.providers.aws.api import api_pages
from finops_mcp.providers.base import Check, Ladder

BILLED_API = "aws.ce"
FEED = "cost_anomaly_detection"  # Check.needs: the account's anomaly feed (account-wide unit)
WINDOW_DAYS = 30
PAGE_SIZE = 100
HIGH_IMPACT = Decimal(1000)
CURRENCY = "USD"  # Cost Anomaly Detection reports impact in USD
ROOT_CAUSE_FIELDS = (("Service", "service"), ("Region", "region"), ("UsageType", "usage type"))


@dataclass(frozen=True)
class AnomalyFeed:
    """What the check evaluates: one account's anomalies over the window."""

    account_id: str
    window: Span
    anomalies: tuple[Mapping[str, Any], ...]

    @property
    def scope(self) -> str:
        return f"aws:{self.account_id}"


def fetch(client: Any, account_id: str, today: date, ctx: CallContext) -> AnomalyFeed:
    """Every anomaly of the last WINDOW_DAYS days (all pages, each counted)."""
    window = Span(today - timedelta(days=WINDOW_DAYS), today)
    pages = api_pages(
        ctx,
        client,
        "get_anomalies",
        token_in="NextPageToken",
        token_out="NextPageToken",
        billed=BILLED_API,
        DateInterval={"StartDate": window.start.isoformat(), "EndDate": window.end.isoformat()},
        MaxResults=PAGE_SIZE,
    )
    anomalies = tuple(a for page in pages for a in page.get("Anomalies", []))
    return AnomalyFeed(account_id, window, anomalies)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def top_root_cause(causes: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The root cause contributing most (AWS lists them; `Impact.Contribution` in USD)."""
    return max(causes, key=lambda c: _money((c.get("Impact") or {}).get("Contribution")), default=None)


def describe_root_cause(cause: Mapping[str, Any]) -> str:
    """e.g. "service Amazon EC2 (region us-east-1, usage type BoxUsage:m5.xlarge, account 1111...)
    +812.40 USD"."""
    named = [(label, cause[key]) for key, label in ROOT_CAUSE_FIELDS if cause.get(key)]
    account = cause.get("LinkedAccount")
    if account:
        name = cause.get("LinkedAccountName")
        named.append(("account", f"{account} ({name})" if name else account))
    if not named:
        return "no dimension given"
    (label, key), rest = named[0], named[1:]
    text = f"{label} {key}" + (f" ({', '.join(f'{k} {v}' for k, v in rest)})" if rest else "")
    contribution = (cause.get("Impact") or {}).get("Contribution")
    return text + (f" {_money(contribution):+,.2f} {CURRENCY}" if contribution is not None else "")


def evaluate(feed: AnomalyFeed) -> Iterator[Finding]:
    for anomaly in feed.anomalies:
        impact = anomaly.get("Impact") or {}
        total = _money(impact.get("TotalImpact"))
        feedback = anomaly.get("Feedback")
        if total <= 0 or feedback == "NO":
            continue
        start, end = anomaly.get("AnomalyStartDate", "")[:10], (anomaly.get("AnomalyEndDate") or "")[:10]
        actual, expected = impact.get("TotalActualSpend"), impact.get("TotalExpectedSpend")
        score = anomaly.get("AnomalyScore") or {}
        detail = (
            f"AWS Cost Anomaly Detection: anomaly {start}..{end or 'ongoing'} on "
            f"{anomaly.get('DimensionValue') or 'the monitored spend'}, total impact +{total:,.2f} {CURRENCY}"
        )
        if actual is not None and expected is not None:
            detail += f" (actual {_money(actual):,.2f} vs expected {_money(expected):,.2f}"
            pct = impact.get("TotalImpactPercentage")
            detail += f", +{float(pct):.0f}%)" if pct is not None else ")"
        detail += f", max daily impact {_money(impact.get('MaxImpact')):,.2f} {CURRENCY}"
        if score:
            detail += f", score {score.get('CurrentScore', 0):g} (max {score.get('MaxScore', 0):g})"
        causes = anomaly.get("RootCauses") or []
        cause = top_root_cause(causes)
        detail += (
            f". Driver: {describe_root_cause(cause)}"
            + (f" (1 of {len(causes)} root causes)" if len(causes) > 1 else "")
            if cause
            else ". AWS gave no root cause"
        )
        if feedback:
            detail += f". Feedback: {feedback}"
        detail += "."
        yield COST_ANOMALY.finding(
            scope=feed.scope,
            region=(cause or {}).get("Region") or None,
            resource_id=str(anomaly.get("AnomalyId", "")),
            resource_name=(cause or {}).get("Service") or anomaly.get("DimensionValue"),
            detail=detail,
            cost=total,
            currency=CURRENCY,
            severity="low" if feedback == "PLANNED_ACTIVITY" else None,
        )


COST_ANOMALY: Check[AnomalyFeed] = Check(
    id="aws.anomaly.cost_anomaly_detection",
    title="AWS Cost Anomaly Detection anomaly",
    description="Anomalies AWS Cost Anomaly Detection found in the last 30 days (GetAnomalies, one call per "
    "account, every page), with the root cause contributing most as the driver.",
    resource_type="cost_anomaly",
    severity="medium",
    cost_basis="billed_last_30_days",
    recommendation="Open the anomaly in the AWS Cost Anomaly Detection console, check the named root cause "
    "(a new workload, a runaway job, a pricing change) and give feedback so the monitor learns.",
    evaluate=evaluate,
    category="anomaly",
    ladder=Ladder(((HIGH_IMPACT, "high"),), "medium"),
    needs=frozenset({FEED}),
    permissions=("ce:GetAnomalies",),
)
