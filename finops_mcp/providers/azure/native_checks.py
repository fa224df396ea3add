"""The `azure.advisor.*` and `azure.commitment.*` checks: Azure's own recommendations (Advisor's Cost
category, Consumption reservation recommendations; see `advice`) as findings priced per month
with Azure's estimate and naming their `source` API. The provider de-duplicates them against the
inventory checks (`base.one_per_resource`): an Advisor "shut down" for a VM we already report as
stopped is one finding, with the larger saving.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from finops_mcp.models import Finding
from finops_mcp.money import money
from finops_mcp.providers.azure import advice
from finops_mcp.providers.base import Check, Ladder

if TYPE_CHECKING:
    from finops_mcp.providers.azure.checks import AzureCheckContext

BY_SAVING = Ladder(((Decimal(100), "high"), (Decimal(20), "medium")), "low")
ADVISOR_PERMISSION = "Microsoft.Advisor/recommendations/read"
RESERVATION_PERMISSION = "Microsoft.Consumption/reservationRecommendations/read"


def _advisor_findings(
    check: Check[AzureCheckContext], ctx: AzureCheckContext, vms: bool
) -> Iterator[Finding]:
    for item in ctx.advisor or ():
        if item.is_vm != vms:
            continue
        change = f" ({item.current_sku} -> {item.target_sku})" if item.current_sku and item.target_sku else ""
        detail = (
            f"{item.problem or 'Advisor cost recommendation'}: {item.solution}{change}. Saves ~"
            f"{money(item.monthly_saving, item.currency)} per month per {advice.ADVISOR_SOURCE}"
            + (f", impact {item.impact.lower()}" if item.impact else "")
            + "."
        )
        yield check.finding(
            scope=ctx.scope,
            region=item.region,
            resource_id=item.resource_id or item.id,
            resource_name=item.impacted_value,
            resource_type=None if vms else item.impacted_field or "resource",
            detail=detail,
            cost=item.monthly_saving,
            currency=item.currency,
        )


def evaluate_vm_rightsizing(ctx: AzureCheckContext) -> Iterator[Finding]:
    yield from _advisor_findings(VM_RIGHTSIZING, ctx, vms=True)


def evaluate_advisor_cost(ctx: AzureCheckContext) -> Iterator[Finding]:
    yield from _advisor_findings(ADVISOR_COST, ctx, vms=False)


VM_RIGHTSIZING: Check[AzureCheckContext] = Check(
    id="azure.advisor.vm_rightsizing",
    title="VM to resize or shut down (Azure Advisor)",
    description="Advisor Cost recommendations for virtual machines and scale sets (right-size or shut down "
    "underutilized), one paged call per subscription, priced with Advisor's savingsAmount per month.",
    resource_type="virtual_machine",
    severity="medium",
    cost_basis="recommender",
    recommendation="Resize to the recommended SKU or shut the VM down (deallocate) if it is not needed.",
    evaluate=evaluate_vm_rightsizing,
    ladder=BY_SAVING,
    needs=frozenset({advice.ADVISOR}),
    permissions=(ADVISOR_PERMISSION,),
    source=advice.ADVISOR_SOURCE,
)
ADVISOR_COST: Check[AzureCheckContext] = Check(
    id="azure.advisor.cost",
    title="Other cost recommendation (Azure Advisor)",
    description="Advisor Cost recommendations for every other resource type (idle gateways, unused "
    "disks, App Service, databases...), priced with Advisor's savingsAmount per month. Reservation and "
    "savings plan purchase advice is left to azure.commitment.*.",
    resource_type="resource",
    severity="medium",
    cost_basis="recommender",
    recommendation="Apply Advisor's recommended action after checking the resource's owner and workload.",
    evaluate=evaluate_advisor_cost,
    ladder=BY_SAVING,
    needs=frozenset({advice.ADVISOR}),
    permissions=(ADVISOR_PERMISSION,),
    source=advice.ADVISOR_SOURCE,
)


def evaluate_reservation_purchase(ctx: AzureCheckContext) -> Iterator[Finding]:
    for rec in ctx.reservations or ():
        where = f" in {rec.location}" if rec.location else ""
        detail = (
            f"Reserve {rec.quantity:g} x {rec.sku or rec.resource_type}{where} ({rec.term}, single "
            "subscription): "
            f"~{money(rec.cost_without, rec.currency)} on demand vs ~{money(rec.cost_with, rec.currency)} "
            f"reserved per 30 days, saving ~{money(rec.monthly_saving, rec.currency)} per month "
            f"({advice.RESERVATION_SOURCE}, {advice.LOOKBACK} lookback)."
        )
        yield RESERVATION_PURCHASE.finding(
            scope=ctx.scope,
            region=rec.location,
            resource_id=rec.id,
            resource_name=rec.sku or None,
            detail=detail,
            cost=rec.monthly_saving,
            currency=rec.currency,
        )


RESERVATION_PURCHASE: Check[AzureCheckContext] = Check(
    id="azure.commitment.reservation_purchase",
    title="Reservation to buy (Azure recommendation)",
    description="Consumption reservation recommendations for the subscription (scope Single, 30-day "
    "lookback, 1-year term), priced with their net savings scaled to 30 days (category commitment: "
    "shown, not counted as waste).",
    resource_type="reservation",
    severity="medium",
    cost_basis="recommender",
    recommendation="Buy the recommended reservation (or an Azure savings plan) for the steady part of the "
    "usage, after rightsizing.",
    evaluate=evaluate_reservation_purchase,
    category="commitment",
    ladder=BY_SAVING,
    needs=frozenset({advice.RESERVATIONS}),
    permissions=(RESERVATION_PERMISSION,),
    source=advice.RESERVATION_SOURCE,
)

NATIVE_CHECKS: tuple[Check[AzureCheckContext], ...] = (VM_RIGHTSIZING, ADVISOR_COST, RESERVATION_PURCHASE)
