"""AWS's own optimization engines, read for the `aws.rightsizing.*` checks, and the names the
`aws.commitment.*` checks share with `commitments` (Cost Explorer's commitment readers).

Rightsizing (per account x region, free): Cost Optimization Hub `ListRecommendations` (a global
API answered from us-east-1, filtered to the account and the audit unit's region, paged by
`nextToken`). Where the hub refuses (not enrolled, or not permitted) Compute Optimizer answers
instead for EC2 instances, EBS volumes and Lambda functions (`GetEC2InstanceRecommendations`,
`GetEBSVolumeRecommendations`, `GetLambdaFunctionRecommendations`, regional, paged), and a note
says how to enable the hub. Commitment purchase actions of the hub are left out: Cost Explorer's
purchase recommendations (`commitments`) report them.

Reference: AWS Cost Optimization Hub API Reference (ListRecommendations, Recommendation), AWS
Compute Optimizer API Reference (GetEC2InstanceRecommendations, GetEBSVolumeRecommendations,
SavingsOpportunity).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.money import to_decimal as dec
from finops_mcp.providers.aws.api import api_pages

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


def failure_text(exc: BaseException) -> str:
    """`<error code>: <message>` of a failed call, for a note (never a traceback)."""
    from finops_mcp.providers.aws.errors import classify_error

    if isinstance(exc, ScopeFailure):
        return f"{exc.code}: {exc.message[:300]}"
    response = getattr(exc, "response", None) or {}
    code = (response.get("Error") or {}).get("Code") or (classify_error(exc) or ("upstream",))[0]
    return f"{code}: {_message(exc)}"
