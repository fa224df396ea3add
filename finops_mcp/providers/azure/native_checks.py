"""The `azure.advisor.*` and `azure.commitment.*` checks: Azure's own recommendations (Advisor's Cost
category, Consumption reservation recommendations, Cost Management savings plan recommendations;
see `advice`) as findings priced per month
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
from finops_mcp.providers.azure import advice, reservations
from finops_mcp.providers.base import Check, Param, native_check

if TYPE_CHECKING:
    from finops_mcp.providers.azure.checks import AzureCheckContext

ADVISOR_PERMISSION = "Microsoft.Advisor/recommendations/read"
# with FINOPS_AZURE_MANAGEMENT_GROUP, Advisor is read by a Resource Graph query
ADVISOR_PERMISSIONS = (ADVISOR_PERMISSION, "Microsoft.ResourceGraph/resources/read")
RESERVATION_PERMISSION = "Microsoft.Consumption/reservationRecommendations/read"
SAVINGS_PLAN_PERMISSION = "Microsoft.CostManagement/benefitRecommendations/read"


def _advisor_check(
    check_id: str, title: str, about: str, resource_type: str, vms: bool, recommendation: str
) -> Check[AzureCheckContext]:
    """A check reporting Advisor's Cost recommendations for VMs (`vms`) or for everything else."""

    def evaluate(ctx: AzureCheckContext) -> Iterator[Finding]:
        for item in ctx.advisor or ():
            if item.is_vm != vms:
                continue
            change = (
                f" ({item.current_sku} -> {item.target_sku})" if item.current_sku and item.target_sku else ""
            )
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

    check = native_check(
        check_id,
        title,
        f"Advisor Cost recommendations for {about}: one paged call per subscription, or one Resource "
        "Graph query per management group when FINOPS_AZURE_MANAGEMENT_GROUP is set; priced with Advisor's "
        "monthly savingsAmount.",
        resource_type,
        recommendation,
        evaluate,
        advice.ADVISOR,
        ADVISOR_PERMISSIONS,
        advice.ADVISOR_SOURCE,
        category="waste",
    )
    return check


VM_RIGHTSIZING = _advisor_check(
    "azure.advisor.vm_rightsizing",
    "VM to resize or shut down (Azure Advisor)",
    "virtual machines and scale sets (right-size or shut down underutilized)",
    "virtual_machine",
    True,
    "Resize to the recommended SKU or shut the VM down (deallocate) if it is not needed.",
)
ADVISOR_COST = _advisor_check(
    "azure.advisor.cost",
    "Other cost recommendation (Azure Advisor)",
    "every other resource type (idle gateways, unused disks, App Service, databases...; reservation and "
    "savings plan purchase advice is left to azure.commitment.*)",
    "resource",
    False,
    "Apply Advisor's recommended action after checking the resource's owner and workload.",
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


RESERVATION_PURCHASE = native_check(
    "azure.commitment.reservation_purchase",
    "Reservation to buy (Azure recommendation)",
    "Consumption reservation recommendations for the subscription (scope Single, 30-day "
    "lookback, 1-year term), priced with their net savings scaled to 30 days (category commitment: "
    "shown, not counted as waste).",
    "reservation",
    "Buy the recommended reservation (or an Azure savings plan) for the steady part of the "
    "usage, after rightsizing.",
    evaluate_reservation_purchase,
    advice.RESERVATIONS,
    (RESERVATION_PERMISSION,),
    advice.RESERVATION_SOURCE,
    category="commitment",
)


def evaluate_savings_plan_purchase(ctx: AzureCheckContext) -> Iterator[Finding]:
    for rec in ctx.savings_plans or ():
        hourly = money(rec.hourly_commitment, rec.currency)
        rates = ", ".join(
            f"{label} ~{value:.0f}%"
            for label, value in (("utilization", rec.utilization_pct), ("coverage", rec.coverage_pct))
            if value is not None
        )
        detail = (
            f"Commit {hourly} per hour to an Azure savings plan ({rec.sku}, {rec.term}, single "
            f"subscription): saves ~{money(rec.monthly_saving, rec.currency)} per month"
            + (f" at an estimated {rates}" if rates else "")
            + f" ({advice.SAVINGS_PLAN_SOURCE}, {rec.lookback} lookback, scaled to 730 hours)."
        )
        yield SAVINGS_PLAN_PURCHASE.finding(
            scope=ctx.scope,
            resource_id=rec.id,
            resource_name=rec.sku,
            detail=detail,
            cost=rec.monthly_saving,
            currency=rec.currency,
        )


SAVINGS_PLAN_PURCHASE = native_check(
    "azure.commitment.savings_plan_purchase",
    "Savings plan to buy (Azure recommendation)",
    "Cost Management benefit (savings plan) recommendations for the subscription (scope "
    "Single, 30-day lookback, 1-year term): the hourly commitment to buy, priced with Azure's "
    "savingsAmount over the lookback's hours scaled to a 730-hour month (category commitment: shown, "
    "not counted as waste). A savings plan and a reservation for the same usage overlap: buy one.",
    "savings_plan",
    "Buy the recommended hourly commitment as an Azure savings plan for compute (or cover "
    "the steady usage with the recommended reservations instead), after rightsizing.",
    evaluate_savings_plan_purchase,
    advice.SAVINGS_PLANS,
    (SAVINGS_PLAN_PERMISSION,),
    advice.SAVINGS_PLAN_SOURCE,
    category="commitment",
)


def evaluate_reservation_utilization(ctx: AzureCheckContext) -> Iterator[Finding]:
    threshold = Decimal(str(ctx.min_utilization))
    for use in ctx.reservation_uses or ():
        pct = use.utilization_pct
        if pct >= threshold or use.unused_hours <= 0:
            continue
        unused, cur = use.unused_cost, use.currency
        priced = (
            f": ~{money(unused, cur)} of its {money(use.cost or Decimal(0), cur)} amortized cost paid for "
            f"nothing (hourly rate {money(use.hourly_rate or Decimal(0), cur)} from Cost Management's "
            "AmortizedCost by ReservationId)"
            if unused is not None
            else " (no amortized cost for it in Cost Management: not priced)"
        )
        window = ctx.billed_window or "the last 30 days"
        detail = (
            f"Reservation {use.sku or use.reservation_id} was {pct:.1f}% used over {window} (threshold "
            f"{ctx.min_utilization:g}%): {use.unused_hours:,.0f} of {use.reserved_hours:,.0f} reserved hours "
            f"unused{priced} ({reservations.SOURCE})."
        )
        yield RESERVATION_UTILIZATION.finding(
            scope=ctx.scope,
            resource_id=use.resource_id,
            resource_name=use.sku or None,
            detail=detail,
            cost=unused if unused is not None else Decimal(0),
            cost_basis=None if unused is not None else "unknown",
            currency=use.currency,
            severity="high" if pct < 50 else None,
        )


RESERVATION_UTILIZATION = native_check(
    "azure.commitment.reservation_utilization",
    "Reservation used below the threshold",
    "Reservations of the billing account FINOPS_AZURE_BILLING_ACCOUNT_ID (its azure-billing "
    "scope) used less than FINOPS_COMMITMENT_MIN_UTILIZATION_PCT over the last 30 complete days "
    "(Consumption reservationSummaries, daily grain: used / reserved hours); priced at the unused hours x "
    "the reservation's hourly rate (its AmortizedCost in Cost Management over the same days / its reserved "
    "hours).",
    "reservation",
    "Move matching usage onto the reservation (instance size flexibility, scope Shared), or "
    "exchange it for the size / region actually used; size the next purchase on the usage covered.",
    evaluate_reservation_utilization,
    reservations.NEEDS,
    ("Microsoft.Consumption/reservationSummaries/read", "Microsoft.CostManagement/query/action"),
    reservations.SOURCE,
    category="waste",
    basis="billed_last_30_days",
    params=(Param("commitment_min_utilization_pct", "Report reservations used less than this percent."),),
)

NATIVE_CHECKS: tuple[Check[AzureCheckContext], ...] = (
    VM_RIGHTSIZING,
    ADVISOR_COST,
    RESERVATION_PURCHASE,
    SAVINGS_PLAN_PURCHASE,
    RESERVATION_UTILIZATION,
)
