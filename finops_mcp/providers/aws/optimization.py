"""AWS's own optimization engines, read for the `aws.rightsizing.*` and `aws.commitment.*` checks.

Rightsizing (per account x region, free): Cost Optimization Hub `ListRecommendations` (a global
API answered from us-east-1, filtered to the account and the audit unit's region, paged by
`nextToken`). Where the hub refuses (not enrolled, or not permitted) Compute Optimizer answers
instead for EC2 instances, EBS volumes and Lambda functions (`GetEC2InstanceRecommendations`,
`GetEBSVolumeRecommendations`, `GetLambdaFunctionRecommendations`, regional, paged), and a note
says how to enable the hub. Commitment
purchase actions of the hub are left out: Cost Explorer's purchase recommendations report them.

Commitments (per account, Cost Explorer, $0.01 a request: every page is counted in
`meta.billed_requests` as `aws.ce`): Savings Plans and reservation utilization and Savings Plans
coverage over the last 30 complete days, and purchase recommendations (Compute Savings Plans; RIs
for the database / cache / search / warehouse services, which Savings Plans do not cover), all
filtered to the scope's own account (`LINKED_ACCOUNT`) so a management account and its members
never report the same commitment twice.

Reference: AWS Cost Optimization Hub API Reference (ListRecommendations, Recommendation), AWS
Compute Optimizer API Reference (GetEC2InstanceRecommendations, GetEBSVolumeRecommendations,
SavingsOpportunity), AWS Billing and Cost Management API Reference (Cost Explorer Get*Utilization,
Get*Coverage, Get*PurchaseRecommendation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext, Cancelled
from finops_mcp.errors import ScopeFailure
from finops_mcp.money import to_decimal as dec
from finops_mcp.providers.aws.api import api_call, api_pages
from finops_mcp.providers.aws.cost import BILLED_API

HUB = "cost_optimization_hub"  # Check.needs: the rightsizing recommendations of the unit
CE_SP_UTILIZATION, CE_RI_UTILIZATION, CE_SP_COVERAGE, CE_SP_PURCHASE, CE_RI_PURCHASE = (
    "ce_savings_plans_utilization",
    "ce_reservation_utilization",
    "ce_savings_plans_coverage",
    "ce_savings_plans_purchase",
    "ce_reservation_purchase",
)
ACCOUNT_WIDE = frozenset(
    {CE_SP_UTILIZATION, CE_RI_UTILIZATION, CE_SP_COVERAGE, CE_SP_PURCHASE, CE_RI_PURCHASE}
)
HUB_SOURCE = "AWS Cost Optimization Hub ListRecommendations"
CO_SOURCE = "AWS Compute Optimizer"
CE_SOURCE = "AWS Cost Explorer"
PURCHASE_ACTIONS = frozenset({"PurchaseSavingsPlans", "PurchaseReservedInstances"})
WINDOW_DAYS = 30
PAGE_SIZE = {"hub": 1000, "co": 1000, "ce": 20}  # tests make them small
# Reserved-instance purchase recommendations are asked for these services (EC2 is covered by the
# Compute Savings Plans recommendation; asking both would double the saving).
RI_SERVICES = (
    "Amazon Relational Database Service",
    "Amazon ElastiCache",
    "Amazon OpenSearch Service",
    "Amazon Redshift",
)
HUB_HOWTO = (
    "enable Cost Optimization Hub (Billing and Cost Management console > Cost Optimization Hub > "
    "Enable, or `aws cost-optimization-hub update-enrollment-status --status Active` in the "
    "management account) and allow cost-optimization-hub:ListRecommendations"
)


@dataclass(frozen=True)
class Rightsizing:
    """One rightsizing / idle / Graviton recommendation for one resource."""

    recommendation_id: str
    resource_id: str
    resource_type: str  # the hub's currentResourceType (Ec2Instance, EbsVolume, ...)
    action: str  # the hub's actionType (Rightsize, Stop, Delete, MigrateToGraviton, ...)
    monthly_saving: Decimal
    currency: str
    source: str
    current: str = ""
    recommended: str = ""
    monthly_cost: Decimal | None = None
    effort: str | None = None
    restart_needed: bool | None = None
    lookback_days: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RightsizingAnswer:
    recommendations: tuple[Rightsizing, ...]
    source: str  # the engine that answered
    covers: frozenset[str] | None = None  # resource types answered (None: every type)
    notes: tuple[str, ...] = ()


def _tags(raw: Any) -> dict[str, str]:
    return {str(t.get("key") or t.get("Key")): str(t.get("value") or t.get("Value") or "") for t in raw or ()}


def _refusal(exc: BaseException) -> str | None:
    """The error code when `exc` is a refusal (not enabled / not permitted), else None."""
    from finops_mcp.providers.aws.errors import classify_error

    code = classify_error(exc)
    if code is None or code[0] != "forbidden":
        return None
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or type(exc).__name__)


def _message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Message") or exc)[:200]


def hub_recommendations(hub: Any, account_id: str, region: str, ctx: CallContext) -> list[Rightsizing]:
    found: list[Rightsizing] = []
    pages = api_pages(
        ctx,
        hub,
        "list_recommendations",
        token_in="nextToken",
        token_out="nextToken",
        filter={"accountIds": [account_id], "regions": [region]},
        maxResults=PAGE_SIZE["hub"],
    )
    for page in pages:
        for item in page.get("items", []):
            if item.get("actionType") in PURCHASE_ACTIONS:
                continue
            found.append(
                Rightsizing(
                    recommendation_id=str(item.get("recommendationId", "")),
                    resource_id=str(item.get("resourceId") or item.get("resourceArn") or ""),
                    resource_type=str(item.get("currentResourceType", "")),
                    action=str(item.get("actionType", "")),
                    monthly_saving=dec(item.get("estimatedMonthlySavings")),
                    currency=str(item.get("currencyCode") or "USD"),
                    source=HUB_SOURCE,
                    current=str(item.get("currentResourceSummary") or ""),
                    recommended=str(item.get("recommendedResourceSummary") or ""),
                    monthly_cost=dec(item["estimatedMonthlyCost"])
                    if "estimatedMonthlyCost" in item
                    else None,
                    effort=item.get("implementationEffort"),
                    restart_needed=item.get("restartNeeded"),
                    lookback_days=item.get("recommendationLookbackPeriodInDays"),
                    tags=_tags(item.get("tags")),
                )
            )
    return found


def _best_option(options: list[dict[str, Any]]) -> dict[str, Any] | None:
    ranked = sorted(options, key=lambda o: o.get("rank", 99))
    return ranked[0] if ranked else None


def _saving(option: Mapping[str, Any]) -> tuple[Decimal, str]:
    money = (option.get("savingsOpportunity") or {}).get("estimatedMonthlySavings") or {}
    return dec(money.get("value")), str(money.get("currency") or "USD")


def _optimizer_items(optimizer: Any, op: str, key: str, account_id: str, ctx: CallContext) -> Iterator[Any]:
    """Every recommendation of one Compute Optimizer listing for the account (paged)."""
    for page in api_pages(
        ctx,
        optimizer,
        op,
        token_in="nextToken",
        token_out="nextToken",
        accountIds=[account_id],
        maxResults=PAGE_SIZE["co"],
    ):
        yield from page.get(key, [])


def _not_optimized(finding: str) -> bool:
    return finding == "NotOptimized"


def _last_path_part(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _OptimizerListing:
    """One Compute Optimizer listing and how its items read as a `Rightsizing`."""

    op: str
    api: str
    items_key: str
    options_key: str
    arn_key: str
    resource_type: str
    current: Callable[[Mapping[str, Any]], str]  # from the item
    recommended: Callable[[Mapping[str, Any]], str]  # from its best option
    is_candidate: Callable[[str], bool] = _not_optimized  # on the item's `finding`
    resource_id: Callable[[str], str] = _last_path_part  # from its ARN
    lookback_key: str = "lookBackPeriodInDays"


def _volume(conf: Mapping[str, Any]) -> str:
    return f"{conf.get('volumeType', '')} {conf.get('volumeSize', '')} GiB".strip()


OPTIMIZER_LISTINGS = (
    _OptimizerListing(
        op="get_ec2_instance_recommendations",
        api="GetEC2InstanceRecommendations",
        items_key="instanceRecommendations",
        options_key="recommendationOptions",
        arn_key="instanceArn",
        resource_type="Ec2Instance",
        current=lambda rec: str(rec.get("currentInstanceType", "")),
        recommended=lambda option: str(option.get("instanceType", "")),
        is_candidate=lambda finding: finding.upper() in ("OVERPROVISIONED", "OVER_PROVISIONED"),
    ),
    _OptimizerListing(
        op="get_ebs_volume_recommendations",
        api="GetEBSVolumeRecommendations",
        items_key="volumeRecommendations",
        options_key="volumeRecommendationOptions",
        arn_key="volumeArn",
        resource_type="EbsVolume",
        current=lambda rec: _volume(rec.get("currentConfiguration") or {}),
        recommended=lambda option: _volume(option.get("configuration") or {}),
    ),
    _OptimizerListing(
        op="get_lambda_function_recommendations",
        api="GetLambdaFunctionRecommendations",
        items_key="lambdaFunctionRecommendations",
        options_key="memorySizeRecommendationOptions",
        arn_key="functionArn",
        resource_type="LambdaFunction",
        current=lambda rec: f"{rec.get('currentMemorySize', '?')} MB",
        recommended=lambda option: f"{option.get('memorySize', '?')} MB",
        resource_id=lambda arn: arn.split(":function:", 1)[-1].split(":", 1)[0] or arn,
        lookback_key="lookbackPeriodInDays",  # sic: Lambda's listing spells it with a lower-case b
    ),
)


def optimizer_recommendations(optimizer: Any, account_id: str, ctx: CallContext) -> list[Rightsizing]:
    """EC2, EBS and Lambda recommendations of Compute Optimizer (its best-ranked option of each)."""
    found: list[Rightsizing] = []
    for listing in OPTIMIZER_LISTINGS:
        source = f"{CO_SOURCE} {listing.api}"
        for rec in _optimizer_items(optimizer, listing.op, listing.items_key, account_id, ctx):
            option = _best_option(rec.get(listing.options_key) or [])
            if option is None or not listing.is_candidate(str(rec.get("finding", ""))):
                continue
            saving, currency = _saving(option)
            arn = str(rec.get(listing.arn_key, ""))
            found.append(
                Rightsizing(
                    recommendation_id=arn,
                    resource_id=listing.resource_id(arn),
                    resource_type=listing.resource_type,
                    action="Rightsize",
                    monthly_saving=saving,
                    currency=currency,
                    source=source,
                    current=listing.current(rec),
                    recommended=listing.recommended(option),
                    lookback_days=int(rec.get(listing.lookback_key) or 0) or None,
                    tags=_tags(rec.get("tags")),
                )
            )
    return [r for r in found if r.monthly_saving > 0]


def rightsizing(
    client_for: Callable[[str, str], Any], account_id: str, region: str, hub_region: str, ctx: CallContext
) -> RightsizingAnswer:
    """The unit's recommendations: the hub's, else Compute Optimizer's (with a note), else
    a ScopeFailure('forbidden') naming both refusals."""
    where = f"aws:{account_id} {region}"
    try:
        found = hub_recommendations(client_for("cost-optimization-hub", hub_region), account_id, region, ctx)
        return RightsizingAnswer(tuple(found), HUB_SOURCE)
    except Exception as exc:
        hub_code = _refusal(exc)
        if hub_code is None:
            raise
        hub_message = _message(exc)
    try:
        found = optimizer_recommendations(client_for("compute-optimizer", region), account_id, ctx)
    except Exception as exc:
        co_code = _refusal(exc)
        if co_code is None:
            raise
        raise ScopeFailure(
            "forbidden",
            f"{where}: no rightsizing recommendations: Cost Optimization Hub refused ({hub_code}: "
            f"{hub_message}) and Compute Optimizer refused ({co_code}: {_message(exc)}); {HUB_HOWTO}, or "
            "opt in to Compute Optimizer and allow compute-optimizer:GetEC2InstanceRecommendations / "
            "GetEBSVolumeRecommendations",
        ) from exc
    note = (
        f"{where}: Cost Optimization Hub refused ({hub_code}: {hub_message}); EC2, EBS and Lambda "
        "rightsizing came from Compute Optimizer instead (no ECS, RDS, idle or Graviton "
        f"recommendations): {HUB_HOWTO}"
    )
    covers = frozenset({"Ec2Instance", "EbsVolume", "LambdaFunction"})
    return RightsizingAnswer(tuple(found), CO_SOURCE, covers, (note,))


# ---------------------------------------------------------------------------------------------- CE


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


def failure_text(exc: BaseException) -> str:
    """`<error code>: <message>` of a failed call, for a note (never a traceback)."""
    from finops_mcp.providers.aws.errors import classify_error

    if isinstance(exc, ScopeFailure):
        return f"{exc.code}: {exc.message[:300]}"
    response = getattr(exc, "response", None) or {}
    code = (response.get("Error") or {}).get("Code") or (classify_error(exc) or ("upstream",))[0]
    return f"{code}: {_message(exc)}"
