"""Cost Explorer's answers on commitments, read for the `aws.commitment.*` checks.

Per account, $0.01 a request: every page is counted in `meta.billed_requests` as `aws.ce`.
Savings Plans and reservation utilization and Savings Plans coverage over the last 30 complete
days, and purchase recommendations (Compute Savings Plans; RIs for the database / cache / search /
warehouse services, which Savings Plans do not cover), all filtered to the scope's own account
(`LINKED_ACCOUNT`) so a management account and its members never report the same commitment
twice. The parts' names, the page sizes and the window are shared with the rightsizing readers in
`optimization`.

Reference: AWS Billing and Cost Management API Reference (Cost Explorer Get*Utilization,
Get*Coverage, Get*PurchaseRecommendation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext, Cancelled
from finops_mcp.money import to_decimal as dec
from finops_mcp.providers.aws.api import api_call, api_pages
from finops_mcp.providers.aws.cost import BILLED_API
from finops_mcp.providers.aws.optimization import (
    CE_RI_PURCHASE,
    CE_RI_UTILIZATION,
    CE_SP_COVERAGE,
    CE_SP_PURCHASE,
    CE_SP_UTILIZATION,
    PAGE_SIZE,
    RI_SERVICES,
    WINDOW_DAYS,
    failure_text,
)


@dataclass(frozen=True)
class Utilization:
    """A commitment's (or all Savings Plans') use over the window."""

    resource_id: str
    name: str | None
    utilization_pct: Decimal
    unused_cost: Decimal  # the window's cost of the unused part
    total_cost: Decimal
    region: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Coverage:
    coverage_pct: Decimal
    on_demand_cost: Decimal  # eligible spend not covered over the window
    total_cost: Decimal


@dataclass(frozen=True)
class Purchase:
    resource_id: str
    what: str
    monthly_saving: Decimal
    saving_pct: Decimal | None
    currency: str
    upfront: Decimal = Decimal(0)
    region: str | None = None


@dataclass
class Commitments:
    """What Cost Explorer said about one account's commitments (only the parts asked for)."""

    window_start: date
    window_end: date  # inclusive
    sp_utilization: Utilization | None = None
    ri_utilization: list[Utilization] = field(default_factory=list)
    sp_coverage: Coverage | None = None
    sp_purchases: list[Purchase] = field(default_factory=list)
    ri_purchases: list[Purchase] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # part -> why it did not answer

    @property
    def window(self) -> str:
        return f"{self.window_start}..{self.window_end}"


def _account_filter(account_id: str) -> dict[str, Any]:
    return {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account_id]}}


def _no_data(exc: BaseException) -> bool:
    response = getattr(exc, "response", None) or {}
    return (response.get("Error") or {}).get("Code") == "DataUnavailableException"


def _sp_utilization(ce: Any, account_id: str, period: dict[str, str], ctx: CallContext) -> Utilization | None:
    try:
        answer = api_call(
            ctx, ce, "get_savings_plans_utilization", TimePeriod=period, Filter=_account_filter(account_id)
        )
    except Exception as exc:
        if _no_data(exc):
            return None
        raise
    ctx.count_billed(BILLED_API)
    total = answer.get("Total") or {}
    use = total.get("Utilization") or {}
    if not use.get("TotalCommitment") or dec(use.get("TotalCommitment")) <= 0:
        return None
    return Utilization(
        resource_id=f"savings-plans:{account_id}",
        name="Savings Plans",
        utilization_pct=dec(use.get("UtilizationPercentage")),
        unused_cost=dec(use.get("UnusedCommitment")),
        total_cost=dec(use.get("TotalCommitment")),
    )


def _ri_utilization(ce: Any, account_id: str, period: dict[str, str], ctx: CallContext) -> list[Utilization]:
    found: list[Utilization] = []
    try:
        for page in api_pages(
            ctx,
            ce,
            "get_reservation_utilization",
            token_in="NextPageToken",
            token_out="NextPageToken",
            billed=BILLED_API,
            TimePeriod=period,
            GroupBy=[{"Type": "DIMENSION", "Key": "SUBSCRIPTION_ID"}],
            Filter=_account_filter(account_id),
            MaxResults=PAGE_SIZE["ce"],
        ):
            for by_time in page.get("UtilizationsByTime", []):
                for group in by_time.get("Groups", []):
                    use = group.get("Utilization") or {}
                    attrs = group.get("Attributes") or {}
                    fee = dec(use.get("TotalAmortizedFee"))
                    found.append(
                        Utilization(
                            resource_id=str(attrs.get("leaseId") or group.get("Value") or ""),
                            name=attrs.get("instanceType"),
                            utilization_pct=dec(use.get("UtilizationPercentage")),
                            unused_cost=_unused(use, fee),
                            total_cost=fee,
                            region=attrs.get("region"),
                            detail=" ".join(
                                str(attrs[k]) for k in ("service", "instanceType", "platform") if attrs.get(k)
                            ),
                        )
                    )
    except Exception as exc:
        if _no_data(exc):
            return []
        raise
    return found


def _unused(use: Mapping[str, Any], fee: Decimal) -> Decimal:
    """The cost of a reservation's unused hours: AWS's own figure, else the fee's unused share."""
    if use.get("RICostForUnusedHours"):
        return dec(use.get("RICostForUnusedHours"))
    return fee * (100 - dec(use.get("UtilizationPercentage"))) / 100


def _sp_coverage(ce: Any, account_id: str, period: dict[str, str], ctx: CallContext) -> Coverage | None:
    covered = on_demand = total = Decimal(0)
    try:
        for page in api_pages(
            ctx,
            ce,
            "get_savings_plans_coverage",
            billed=BILLED_API,
            TimePeriod=period,
            Granularity="MONTHLY",
            Filter=_account_filter(account_id),
            MaxResults=PAGE_SIZE["ce"],
        ):
            for item in page.get("SavingsPlansCoverages", []):
                data = item.get("Coverage") or {}
                covered += dec(data.get("SpendCoveredBySavingsPlans"))
                on_demand += dec(data.get("OnDemandCost"))
                total += dec(data.get("TotalCost"))
    except Exception as exc:
        if _no_data(exc):
            return None
        raise
    if total <= 0:
        return None
    return Coverage(coverage_pct=covered * 100 / total, on_demand_cost=on_demand, total_cost=total)


# What both purchase recommendations are asked for: this linked account's last 30 days of usage,
# 1-year terms, no upfront payment (the findings' details say so).
PURCHASE_TERMS = {
    "AccountScope": "LINKED",
    "LookbackPeriodInDays": "THIRTY_DAYS",
    "TermInYears": "ONE_YEAR",
    "PaymentOption": "NO_UPFRONT",
}


def _sp_purchases(ce: Any, account_id: str, ctx: CallContext) -> list[Purchase]:
    found: list[Purchase] = []
    for page in api_pages(
        ctx,
        ce,
        "get_savings_plans_purchase_recommendation",
        token_in="NextPageToken",
        token_out="NextPageToken",
        billed=BILLED_API,
        SavingsPlansType="COMPUTE_SP",
        Filter=_account_filter(account_id),
        **PURCHASE_TERMS,
        PageSize=PAGE_SIZE["ce"],
    ):
        rec = page.get("SavingsPlansPurchaseRecommendation") or {}
        for detail in rec.get("SavingsPlansPurchaseRecommendationDetails", []):
            if detail.get("AccountId") not in (None, account_id):
                continue
            saving = dec(detail.get("EstimatedMonthlySavingsAmount"))
            if saving <= 0:
                continue
            hourly = dec(detail.get("HourlyCommitmentToPurchase"))
            detail_id = detail.get("RecommendationDetailId") or account_id
            found.append(
                Purchase(
                    resource_id=f"savings-plans-recommendation:{detail_id}",
                    what=f"a 1-year no-upfront Compute Savings Plan of {hourly:,.3f} "
                    f"{detail.get('CurrencyCode') or 'USD'}/hour",
                    monthly_saving=saving,
                    saving_pct=dec(detail.get("EstimatedSavingsPercentage")) or None,
                    currency=str(detail.get("CurrencyCode") or "USD"),
                    upfront=dec(detail.get("UpfrontCost")),
                )
            )
    return found


def _instance_text(details: Mapping[str, Any]) -> tuple[str, str | None]:
    """(a description, region) from a recommendation's InstanceDetails (one service key)."""
    for value in details.values():
        if isinstance(value, Mapping):
            kind = value.get("InstanceType") or value.get("NodeType") or value.get("InstanceClass") or ""
            extra = value.get("DatabaseEngine") or value.get("ProductDescription") or ""
            return f"{kind} {extra}".strip(), value.get("Region")
    return "", None


def _ri_purchases(ce: Any, account_id: str, ctx: CallContext) -> list[Purchase]:
    found: list[Purchase] = []
    for service in RI_SERVICES:
        try:
            pages = list(
                api_pages(
                    ctx,
                    ce,
                    "get_reservation_purchase_recommendation",
                    token_in="NextPageToken",
                    token_out="NextPageToken",
                    billed=BILLED_API,
                    AccountId=account_id,
                    Service=service,
                    PageSize=PAGE_SIZE["ce"],
                    **PURCHASE_TERMS,
                )
            )
        except Exception as exc:
            if _no_data(exc):
                continue
            raise
        for page in pages:
            for rec in page.get("Recommendations", []):
                for detail in rec.get("RecommendationDetails", []):
                    saving = dec(detail.get("EstimatedMonthlySavingsAmount"))
                    if saving <= 0 or detail.get("AccountId") not in (None, account_id):
                        continue
                    text, region = _instance_text(detail.get("InstanceDetails") or {})
                    count = detail.get("RecommendedNumberOfInstancesToPurchase") or "?"
                    found.append(
                        Purchase(
                            resource_id=f"ri-recommendation:{service}:{text or '?'}:{region or '-'}",
                            what=f"{count} x {text} 1-year no-upfront reservation(s) of {service}",
                            monthly_saving=saving,
                            saving_pct=dec(detail.get("EstimatedMonthlySavingsPercentage")) or None,
                            currency=str(detail.get("CurrencyCode") or "USD"),
                            upfront=dec(detail.get("UpfrontCost")),
                            region=region,
                        )
                    )
    return found


def commitments(
    ce: Any, account_id: str, wanted: frozenset[str], today: date, ctx: CallContext
) -> Commitments:
    """Cost Explorer's commitment answers for `account_id` (only the `wanted` parts). A part that
    fails (refused, or any other error once retries are spent) is recorded in `failed` with the
    reason; the others still answer. Only cancellation propagates."""
    end = today  # CE's End is exclusive: the window is the 30 complete days before today
    start = end - timedelta(days=WINDOW_DAYS)
    period = {"Start": start.isoformat(), "End": end.isoformat()}
    out = Commitments(window_start=start, window_end=end - timedelta(days=1))
    parts: dict[str, Callable[[], None]] = {
        CE_SP_UTILIZATION: lambda: setattr(
            out, "sp_utilization", _sp_utilization(ce, account_id, period, ctx)
        ),
        CE_RI_UTILIZATION: lambda: setattr(
            out, "ri_utilization", _ri_utilization(ce, account_id, period, ctx)
        ),
        CE_SP_COVERAGE: lambda: setattr(out, "sp_coverage", _sp_coverage(ce, account_id, period, ctx)),
        CE_SP_PURCHASE: lambda: setattr(out, "sp_purchases", _sp_purchases(ce, account_id, ctx)),
        CE_RI_PURCHASE: lambda: setattr(out, "ri_purchases", _ri_purchases(ce, account_id, ctx)),
    }
    for part, run in parts.items():
        if part not in wanted:
            continue
        try:
            run()
        except Cancelled:
            raise
        except Exception as exc:
            out.failed[part] = failure_text(exc)
    return out
