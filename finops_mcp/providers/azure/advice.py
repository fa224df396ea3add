"""Azure's own recommendations, read for the `azure.advisor.*` and `azure.commitment.*` checks.

- Advisor: `recommendations.list(filter="Category eq 'Cost'")` per subscription, one paged call
  (azure-mgmt-advisor). The monthly saving is `extendedProperties.savingsAmount` (Advisor's
  monthly figure, in `savingsCurrency`), else `annualSavingsAmount` / 12. Advisor's reservation
  and savings plan purchase advice is left out: the Consumption recommendations below report it.
- Reservation purchase recommendations: Consumption `reservationRecommendations` at the
  subscription scope (`properties/scope eq 'Single'`, 30-day lookback, 1-year term), paged. Net
  savings are over the lookback period and are scaled to 30 days.

Sources: Azure Advisor REST API 2025-01-01 (Recommendations - List, ResourceRecommendationBase);
Azure Consumption REST API 2024-08-01 (Reservation Recommendations - List, legacy and modern
kinds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.money import to_decimal
from finops_mcp.providers.azure.costquery import scope_path
from finops_mcp.providers.azure.inventory import enum_text, norm_location, paged

ADVISOR = "advisor_cost"  # Check.needs
RESERVATIONS = "reservation_recommendations"
ADVISOR_SOURCE = "Azure Advisor recommendations (category Cost)"
RESERVATION_SOURCE = "Azure Consumption reservationRecommendations"
VM_FIELDS = frozenset({"microsoft.compute/virtualmachines", "microsoft.compute/virtualmachinescalesets"})
LOOKBACK = "Last30Days"
LOOKBACK_DAYS = {"last7days": 7, "last30days": 30, "last60days": 60}


def dec(value: Any) -> Decimal:
    """A number, or a Consumption `Amount` ({currency, value}), as Decimal."""
    return to_decimal(value.get("value") if isinstance(value, Mapping) else value)


@dataclass(frozen=True)
class AdvisorItem:
    id: str
    resource_id: str
    impacted_field: str  # e.g. Microsoft.Compute/virtualMachines
    impacted_value: str  # the resource's name
    problem: str
    solution: str
    monthly_saving: Decimal
    currency: str
    impact: str | None = None
    current_sku: str | None = None
    target_sku: str | None = None
    region: str | None = None

    @property
    def is_vm(self) -> bool:
        return self.impacted_field.lower() in VM_FIELDS


def _ext(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(raw or {}).items() if v is not None}


def is_commitment_advice(ext: Mapping[str, str], impacted_field: str) -> bool:
    """Advisor's reservation / savings plan purchase advice (reported by azure.commitment.*)."""
    keys = {k.lower() for k in ext}
    return bool(keys & {"reservedresourcetype", "term", "lookbackperiod"}) or impacted_field.lower() in (
        "microsoft.subscriptions/subscriptions",
        "microsoft.billing/billingaccounts",
    )


def advisor_items(clients: Any, subscription_id: str, ctx: CallContext) -> list[AdvisorItem]:
    client = clients.client("advisor", subscription_id)
    what = f"listing Advisor cost recommendations of subscription {subscription_id}"
    found: list[AdvisorItem] = []
    for rec in paged(ctx, lambda: client.recommendations.list(filter="Category eq 'Cost'"), what):
        if (enum_text(rec.category) or "Cost").lower() != "cost":
            continue
        ext = _ext(rec.extended_properties)
        field = str(rec.impacted_field or "")
        if is_commitment_advice(ext, field):
            continue
        monthly = dec(ext.get("savingsAmount"))
        if monthly <= 0 and ext.get("annualSavingsAmount"):
            monthly = dec(ext.get("annualSavingsAmount")) / 12
        meta = rec.resource_metadata
        resource_id = (
            str(getattr(meta, "resource_id", None) or "")
            or str(rec.id or "").split("/providers/Microsoft.Advisor/", 1)[0]
        )
        short = rec.short_description
        found.append(
            AdvisorItem(
                id=str(rec.id or rec.name or ""),
                resource_id=resource_id,
                impacted_field=field,
                impacted_value=str(rec.impacted_value or resource_id.rsplit("/", 1)[-1]),
                problem=str(getattr(short, "problem", "") or ""),
                solution=str(getattr(short, "solution", "") or ""),
                monthly_saving=monthly,
                currency=ext.get("savingsCurrency") or "USD",
                impact=enum_text(rec.impact),
                current_sku=ext.get("currentSku"),
                target_sku=ext.get("targetSku"),
                region=norm_location(ext["regionId"]) if ext.get("regionId") else None,
            )
        )
    return found


@dataclass(frozen=True)
class ReservationAdvice:
    id: str
    sku: str
    resource_type: str
    location: str | None
    quantity: Decimal
    term: str
    monthly_saving: Decimal
    currency: str
    cost_without: Decimal  # over 30 days
    cost_with: Decimal

    @property
    def region(self) -> str | None:
        return self.location


def reservation_advice(clients: Any, subscription_id: str, ctx: CallContext) -> list[ReservationAdvice]:
    client = clients.client("consumption", subscription_id)
    path = scope_path("azure", subscription_id).lstrip("/")
    flt = (
        f"properties/scope eq 'Single' AND properties/lookBackPeriod eq '{LOOKBACK}' "
        "AND properties/term eq 'P1Y'"
    )
    what = f"listing reservation recommendations of subscription {subscription_id}"
    found: list[ReservationAdvice] = []
    for rec in paged(ctx, lambda: client.reservation_recommendations.list(path, filter=flt), what):
        props: Mapping[str, Any] = rec.get("properties") or {}
        saving = dec(props.get("netSavings"))
        if saving <= 0:
            continue
        days = LOOKBACK_DAYS.get(str(props.get("lookBackPeriod") or LOOKBACK).lower(), 30)
        per_month = Decimal(30) / Decimal(days)
        currency = (
            (props.get("netSavings") or {}).get("currency")
            if isinstance(props.get("netSavings"), Mapping)
            else None
        )
        found.append(
            ReservationAdvice(
                id=str(rec.get("id") or rec.get("name") or ""),
                sku=str(props.get("skuName") or (rec.get("sku") or "") or props.get("normalizedSize") or ""),
                resource_type=str(props.get("resourceType") or ""),
                location=norm_location(rec.get("location") or props.get("location")) or None,
                quantity=dec(props.get("recommendedQuantity")),
                term=str(props.get("term") or "P1Y"),
                monthly_saving=saving * per_month,
                currency=str(currency or props.get("currency") or "USD"),
                cost_without=dec(props.get("costWithNoReservedInstances")) * per_month,
                cost_with=dec(props.get("totalCostWithReservedInstances")) * per_month,
            )
        )
    return found
