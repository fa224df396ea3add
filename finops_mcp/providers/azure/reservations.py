"""Reservation utilization of a billing account, read for `azure.commitment.reservation_utilization`.

Reservations belong to a billing account (EA enrollment / MCA billing account), not to a
subscription: with FINOPS_AZURE_BILLING_ACCOUNT_ID the provider has an `azure-billing:<id>`
scope whose audit unit runs this check alone.

- Hours: Consumption `reservationsSummaries.list` at the billing account scope, daily grain over
  the last 30 complete days (`$filter=properties/usageDate ge '...' AND properties/usageDate le
  '...'`), paged; per reservation the `reservedHours` and `usedHours` of those days are summed
  (utilization = used / reserved; `avgUtilizationPercentage` when no hours are given).
- Price: ONE Cost Management query at the same scope, AmortizedCost grouped by ReservationId over
  the same days: what each reservation cost in that window (its purchase spread per hour, used or
  not). The hourly rate is that cost / reserved hours, and the unused cost = unused hours x rate
  (`billed_last_30_days`). Without it (query refused, reservation not in the answer) a finding
  still says the unused hours, priced `unknown` at 0.

Sources: Azure Consumption REST API 2024-08-01 (Reservations Summaries - List, ReservationSummary:
reservationOrderId, reservationId, skuName, kind, reservedHours, usedHours, usageDate,
avgUtilizationPercentage); Cost Management REST API 2025-03-01 (Query - Usage, dimension
ReservationId).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.money import to_decimal
from finops_mcp.periods import Span
from finops_mcp.providers.azure import costquery
from finops_mcp.providers.azure.inventory import paged

NEEDS = "reservation_summaries"  # Check.needs
SOURCE = "Azure Consumption reservationSummaries"
SCOPE_KIND = "azure-billing"


def billing_path(account: str) -> str:
    return f"/providers/Microsoft.Billing/billingAccounts/{account}"


def _guid(value: Any) -> str:
    """A reservation (order) id: a GUID, or an ARM path ending in one; lower-cased."""
    return str(value or "").rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass(frozen=True)
class ReservationUse:
    reservation_id: str  # GUID
    order_id: str  # GUID
    sku: str
    kind: str  # Reservation | SavingsPlan...
    reserved_hours: Decimal
    used_hours: Decimal
    avg_utilization: Decimal | None  # percent, when the API gives no hours
    cost: Decimal | None = None  # amortized cost in the window (Cost Management), when known
    currency: str = "USD"
    region: str | None = None  # reservations are not located here

    @property
    def resource_id(self) -> str:
        order = f"/providers/Microsoft.Capacity/reservationOrders/{self.order_id}"
        return f"{order}/reservations/{self.reservation_id}"

    @property
    def utilization_pct(self) -> Decimal:
        if self.reserved_hours > 0:
            return self.used_hours * 100 / self.reserved_hours
        return self.avg_utilization if self.avg_utilization is not None else Decimal(100)

    @property
    def unused_hours(self) -> Decimal:
        return max(Decimal(0), self.reserved_hours - self.used_hours)

    @property
    def hourly_rate(self) -> Decimal | None:
        if self.cost is None or self.reserved_hours <= 0:
            return None
        return self.cost / self.reserved_hours

    @property
    def unused_cost(self) -> Decimal | None:
        """Unused hours x hourly rate (computed as cost x unused / reserved, so it stays exact)."""
        if self.cost is None or self.reserved_hours <= 0:
            return None
        return self.cost * self.unused_hours / self.reserved_hours


def summaries(clients: Any, account: str, span: Span, ctx: CallContext) -> list[ReservationUse]:
    """Each reservation's reserved and used hours over `span` (daily grain, summed)."""
    from azure.mgmt.consumption.models import Datagrain

    client = clients.client("consumption", "00000000-0000-0000-0000-000000000000")  # id unused here
    flt = (
        f"properties/usageDate ge '{span.start.isoformat()}' AND "
        f"properties/usageDate le '{span.end.isoformat()}'"
    )
    what = f"listing reservation summaries of billing account {account}"
    pager = lambda: client.reservations_summaries.list(  # noqa: E731
        billing_path(account).lstrip("/"), grain=Datagrain.DAILY_GRAIN, filter=flt
    )
    totals: dict[str, dict[str, Any]] = {}
    for row in paged(ctx, pager, what):
        rid = _guid(row.reservation_id)
        if not rid:
            continue
        acc = totals.setdefault(
            rid,
            {
                "order": _guid(row.reservation_order_id),
                "sku": row.sku_name or "",
                "kind": row.kind or "",
                "reserved": Decimal(0),
                "used": Decimal(0),
                "avg": [],
            },
        )
        acc["reserved"] += to_decimal(row.reserved_hours)
        acc["used"] += to_decimal(row.used_hours)
        if row.avg_utilization_percentage is not None:
            acc["avg"].append(to_decimal(row.avg_utilization_percentage))
    return [
        ReservationUse(
            reservation_id=rid,
            order_id=acc["order"],
            sku=str(acc["sku"]),
            kind=str(getattr(acc["kind"], "value", acc["kind"]) or "Reservation"),
            reserved_hours=acc["reserved"],
            used_hours=acc["used"],
            avg_utilization=sum(acc["avg"], Decimal(0)) / len(acc["avg"]) if acc["avg"] else None,
        )
        for rid, acc in totals.items()
    ]


def amortized_body(span: Span) -> dict[str, Any]:
    """The Cost Management query: AmortizedCost per ReservationId over `span`."""
    return {
        "type": "AmortizedCost",
        "timeframe": "Custom",
        "timePeriod": {
            "from": f"{span.start.isoformat()}T00:00:00+00:00",
            "to": f"{span.end.isoformat()}T23:59:59+00:00",
        },
        "dataset": {
            "granularity": "None",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "Dimension", "name": "ReservationId"}],
        },
    }


def with_costs(uses: Iterable[ReservationUse], pages: Iterable[costquery.Page]) -> list[ReservationUse]:
    """`uses` with their amortized cost from the query's pages (reservations not in it keep None)."""
    costs: dict[str, tuple[Decimal, str]] = {}
    for cols, row, cost, currency in costquery.priced_rows(pages):
        rid = _guid(row[cols.require("ReservationId")])
        if rid:
            previous = costs.get(rid, (Decimal(0), currency))[0]
            costs[rid] = (previous + cost, currency)
    out = []
    for use in uses:
        found = costs.get(use.reservation_id)
        out.append(use if found is None else _priced(use, *found))
    return out


def _priced(use: ReservationUse, cost: Decimal, currency: str) -> ReservationUse:
    from dataclasses import replace

    return replace(use, cost=cost, currency=currency)
