"""Azure's own recommendations, read for the `azure.advisor.*` and `azure.commitment.*` checks.

- Advisor: `recommendations.list(filter="Category eq 'Cost'")` per subscription, one paged call
  (azure-mgmt-advisor); with FINOPS_AZURE_MANAGEMENT_GROUP, ONE Azure Resource Graph query over the
  management group instead (`advisorresources`, `properties.category == 'Cost'`, paged by
  `$skipToken`), its rows shared out by `subscriptionId` (`AdvisorByGroup`). Both give the same
  resource shape (id, properties), parsed once by `advisor_item`. The monthly saving is
  `extendedProperties.savingsAmount` in `savingsCurrency`: Advisor's MONTHLY figure (Microsoft's own
  "cost savings summary" Resource Graph sample sums `savingsAmount` as the monthly saving:
  learn.microsoft.com/azure/advisor/resource-graph-samples); `annualSavingsAmount` / 12 only when
  that is missing. Advisor's reservation and savings plan purchase advice is left out: the
  Consumption and Cost Management recommendations below report it.
- Reservation purchase recommendations: Consumption `reservationRecommendations` at the
  subscription scope (`properties/scope eq 'Single'`, 30-day lookback, 1-year term), paged. Net
  savings are over the lookback period and are scaled to 30 days.
- Savings plan purchase recommendations: Cost Management `benefitRecommendations` at the
  subscription scope (same filter), paged. `recommendationDetails.savingsAmount` is over the
  `totalHours` of the lookback period and is scaled to a month of 730 hours; `commitmentAmount` is
  the hourly commitment (`commitmentGranularity` Hourly).

Sources: Azure Advisor REST API 2025-01-01 (Recommendations - List, ResourceRecommendationBase);
Azure Resource Graph REST API 2024-04-01 (Resources - Resources); Azure Consumption REST API
2024-08-01 (Reservation Recommendations - List, legacy and modern kinds); Cost Management REST API
2025-03-01 (Benefit Recommendations - List, BenefitRecommendationProperties, AllSavingsBenefitDetails).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.money import HOURS_PER_MONTH, to_decimal
from finops_mcp.providers.azure import arm
from finops_mcp.providers.azure.costquery import scope_path
from finops_mcp.providers.azure.inventory import enum_text, norm_location, paged

ADVISOR = "advisor_cost"  # Check.needs
RESERVATIONS = "reservation_recommendations"
SAVINGS_PLANS = "benefit_recommendations"
ADVISOR_SOURCE = "Azure Advisor recommendations (category Cost)"
RESERVATION_SOURCE = "Azure Consumption reservationRecommendations"
SAVINGS_PLAN_SOURCE = "Azure Cost Management benefitRecommendations (savings plan)"
VM_FIELDS = frozenset({"microsoft.compute/virtualmachines", "microsoft.compute/virtualmachinescalesets"})
LOOKBACK = "Last30Days"
LOOKBACK_DAYS = {"last7days": 7, "last30days": 30, "last60days": 60}
PURCHASE_FILTER = (
    f"properties/scope eq 'Single' AND properties/lookBackPeriod eq '{LOOKBACK}' AND properties/term eq 'P1Y'"
)
ADVISOR_GRAPH_QUERY = (
    "advisorresources | where type == 'microsoft.advisor/recommendations' "
    "| where properties.category == 'Cost' | project id, name, subscriptionId, properties"
)


def dec(value: Any) -> Decimal:
    """A number, or a Consumption `Amount` ({currency, value}), as Decimal."""
    return to_decimal(value.get("value") if isinstance(value, Mapping) else value)


def per_month(lookback: Any) -> Decimal:
    """The factor turning an amount over a lookback period ('Last30Days'...) into one per 30 days."""
    return Decimal(30) / Decimal(LOOKBACK_DAYS.get(str(lookback or LOOKBACK).lower(), 30))


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


def is_commitment_advice(ext: Mapping[str, str], impacted_field: str) -> bool:
    """Advisor's reservation / savings plan purchase advice (reported by azure.commitment.*)."""
    keys = {k.lower() for k in ext}
    return bool(keys & {"reservedresourcetype", "term", "lookbackperiod"}) or impacted_field.lower() in (
        "microsoft.subscriptions/subscriptions",
        "microsoft.billing/billingaccounts",
    )


def advisor_item(rec: Mapping[str, Any]) -> AdvisorItem | None:
    """An Advisor recommendation resource (REST shape: id, name, properties) as an `AdvisorItem`;
    None for other categories and for purchase advice."""
    props: Mapping[str, Any] = rec.get("properties") or {}
    if str(props.get("category") or "Cost").lower() != "cost":
        return None
    ext = {str(k): str(v) for k, v in dict(props.get("extendedProperties") or {}).items() if v is not None}
    field = str(props.get("impactedField") or "")
    if is_commitment_advice(ext, field):
        return None
    monthly = dec(ext.get("savingsAmount"))
    if monthly <= 0 and ext.get("annualSavingsAmount"):
        monthly = dec(ext.get("annualSavingsAmount")) / 12
    rec_id = str(rec.get("id") or rec.get("name") or "")
    resource_id = (
        str((props.get("resourceMetadata") or {}).get("resourceId") or "")
        or rec_id.split("/providers/Microsoft.Advisor/", 1)[0]
    )
    short: Mapping[str, Any] = props.get("shortDescription") or {}
    return AdvisorItem(
        id=rec_id,
        resource_id=resource_id,
        impacted_field=field,
        impacted_value=str(props.get("impactedValue") or resource_id.rsplit("/", 1)[-1]),
        problem=str(short.get("problem") or ""),
        solution=str(short.get("solution") or ""),
        monthly_saving=monthly,
        currency=ext.get("savingsCurrency") or "USD",
        impact=enum_text(props.get("impact")),
        current_sku=ext.get("currentSku"),
        target_sku=ext.get("targetSku"),
        region=norm_location(ext["regionId"]) if ext.get("regionId") else None,
    )


def _items(recs: Any) -> list[AdvisorItem]:
    return [item for item in map(advisor_item, recs) if item is not None]


def advisor_items(clients: Any, subscription_id: str, ctx: CallContext) -> list[AdvisorItem]:
    """One subscription's Advisor Cost recommendations: one paged Advisor call."""
    client = clients.client("advisor", subscription_id)
    what = f"listing Advisor cost recommendations of subscription {subscription_id}"
    recs = paged(ctx, lambda: client.recommendations.list(filter="Category eq 'Cost'"), what)
    return _items(rec.serialize(keep_readonly=True) for rec in recs)


class AdvisorByGroup:
    """Advisor Cost recommendations of every subscription under a management group from ONE
    Resource Graph query, run by the first subscription that asks and shared with the others (the
    audit units of one request run in parallel). A refused or failed query is remembered too: each
    subscription then falls back to its own Advisor call, with a note."""

    def __init__(self, management_group: str) -> None:
        self.management_group = management_group
        self._lock = threading.Lock()
        self._by_subscription: dict[str, list[AdvisorItem]] | None = None
        self._failure: ScopeFailure | None = None

    def items(self, clients: Any, subscription_id: str, ctx: CallContext) -> list[AdvisorItem]:
        with self._lock:
            if self._by_subscription is None and self._failure is None:
                try:
                    self._by_subscription = self._query(clients, ctx)
                except ScopeFailure as exc:
                    self._failure = exc
            failure, found = self._failure, self._by_subscription
        if failure is not None:
            ctx.note(
                f"azure:{subscription_id}: the Resource Graph query for Advisor over management group "
                f"{self.management_group} failed ({failure.code}: {failure.message[:200]}); asked Advisor "
                "for this subscription instead"
            )
            return advisor_items(clients, subscription_id, ctx)
        return list((found or {}).get(subscription_id.lower(), ()))

    def _query(self, clients: Any, ctx: CallContext) -> dict[str, list[AdvisorItem]]:
        client = clients.client("subscriptions")
        what = f"querying Resource Graph for the Advisor cost recommendations of {self.management_group}"
        found: dict[str, list[AdvisorItem]] = {}
        rows = arm.graph_rows(
            ctx, client, ADVISOR_GRAPH_QUERY, what, management_groups=[self.management_group]
        )
        for row in rows:
            item = advisor_item(row)
            if item is not None:
                found.setdefault(str(row.get("subscriptionId") or "").lower(), []).append(item)
        return found


def advisor_fetcher(group: AdvisorByGroup | None) -> Callable[[Any, str, CallContext], list[AdvisorItem]]:
    """How to read Advisor: one Resource Graph query per management group, else per subscription."""
    return group.items if group is not None else advisor_items


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


def _purchase_recs(
    ctx: CallContext, operations: Any, subscription_id: str, what: str
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Each purchase recommendation of the subscription (`PURCHASE_FILTER`, paged) and its properties."""
    path = scope_path("azure", subscription_id).lstrip("/")
    pager = functools.partial(operations.list, path, filter=PURCHASE_FILTER)
    for rec in paged(ctx, pager, f"listing {what} of subscription {subscription_id}"):
        yield rec, rec.get("properties") or {}


def reservation_advice(clients: Any, subscription_id: str, ctx: CallContext) -> list[ReservationAdvice]:
    operations = clients.client("consumption", subscription_id).reservation_recommendations
    found: list[ReservationAdvice] = []
    for rec, props in _purchase_recs(ctx, operations, subscription_id, "reservation recommendations"):
        saving = dec(props.get("netSavings"))
        if saving <= 0:
            continue
        factor = per_month(props.get("lookBackPeriod"))
        net = props.get("netSavings")
        currency = net.get("currency") if isinstance(net, Mapping) else None
        found.append(
            ReservationAdvice(
                id=str(rec.get("id") or rec.get("name") or ""),
                sku=str(props.get("skuName") or (rec.get("sku") or "") or props.get("normalizedSize") or ""),
                resource_type=str(props.get("resourceType") or ""),
                location=norm_location(rec.get("location") or props.get("location")) or None,
                quantity=dec(props.get("recommendedQuantity")),
                term=str(props.get("term") or "P1Y"),
                monthly_saving=saving * factor,
                currency=str(currency or props.get("currency") or "USD"),
                cost_without=dec(props.get("costWithNoReservedInstances")) * factor,
                cost_with=dec(props.get("totalCostWithReservedInstances")) * factor,
            )
        )
    return found


@dataclass(frozen=True)
class SavingsPlanAdvice:
    id: str
    sku: str  # armSkuName, e.g. Compute_Savings_Plan
    term: str
    hourly_commitment: Decimal
    monthly_saving: Decimal
    currency: str
    utilization_pct: Decimal | None
    coverage_pct: Decimal | None
    lookback: str
    region: str | None = None  # savings plans apply across regions


def savings_plan_advice(clients: Any, subscription_id: str, ctx: CallContext) -> list[SavingsPlanAdvice]:
    operations = clients.client("cost").benefit_recommendations
    found: list[SavingsPlanAdvice] = []
    for rec, props in _purchase_recs(ctx, operations, subscription_id, "savings plan recommendations"):
        details: Mapping[str, Any] = props.get("recommendationDetails") or {}
        saving = dec(details.get("savingsAmount"))
        if saving <= 0:
            continue
        hours = dec(props.get("totalHours"))
        lookback = str(props.get("lookBackPeriod") or LOOKBACK)
        factor = HOURS_PER_MONTH / hours if hours > 0 else per_month(lookback)
        utilization, coverage = details.get("averageUtilizationPercentage"), details.get("coveragePercentage")
        found.append(
            SavingsPlanAdvice(
                id=str(rec.get("id") or rec.get("name") or ""),
                sku=str(props.get("armSkuName") or "Compute_Savings_Plan"),
                term=str(props.get("term") or "P1Y"),
                hourly_commitment=dec(details.get("commitmentAmount")),
                monthly_saving=saving * factor,
                currency=str(props.get("currencyCode") or "USD"),
                utilization_pct=None if utilization is None else dec(utilization),
                coverage_pct=None if coverage is None else dec(coverage),
                lookback=lookback,
            )
        )
    return found
