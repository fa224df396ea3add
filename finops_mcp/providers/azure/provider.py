"""`AzureProvider`: Cost Management, Consumption budgets and a waste audit across subscriptions.

Scopes (see docs/providers/azure.md):
- `azure:<subscription id>` for each subscription in FINOPS_AZURE_SUBSCRIPTION_IDS, or else each
  visible (enabled) subscription, or else, with a management group, each subscription under it;
- `azure-mg:<management group>` when FINOPS_AZURE_MANAGEMENT_GROUP is set. Cost and forecast are
  then answered by the management-group scope alone, with ONE query for all its subscriptions
  (Cost Management throttles per tenant: one query instead of one per subscription); its rows
  carry `account` = subscription id when grouped by account, and the subscription scopes answer
  no cost rows (so nothing is counted twice) with a note pointing at the management group. Budgets
  are answered per scope (management-group budgets by the `azure-mg` scope, subscription budgets
  by each subscription) and audits fan out per subscription, so a subscription that refuses
  access fails alone with a `forbidden` error for its own scope.

Construction reads settings only: the azure SDKs are imported, and the credential and clients
built, on the first call that needs them (`clients.AzureClients`), then reused.

Cost Management is not billed per request (nothing is counted in `billed_requests`); it is
throttled per tenant, which the engine's retry policy handles with the server's wait hints.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

from cachetools import TTLCache

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import ErrorCode
from finops_mcp.periods import Span, add_months, month_span
from finops_mcp.providers.azure import advice, arm, costquery, errors, prices, reservations
from finops_mcp.providers.azure.checks import ACCOUNT_WIDE, CHECKS, PRICED_RESOURCE_TYPES, AzureCheckContext
from finops_mcp.providers.azure.clients import AzureClients
from finops_mcp.providers.azure.inventory import Inventory, enum_text, list_inventory, norm_location, paged
from finops_mcp.providers.base import (
    AuditResult,
    AuditUnit,
    BudgetLine,
    Check,
    CostLine,
    CostQuery,
    Filters,
    ForecastLine,
    Scope,
    checks_of,
    needs_of,
    run_checks,
)
from finops_mcp.settings import Settings

MG_DESCENDANTS_API = "2020-05-01"
USABLE_STATES = {"enabled", "warned", "pastdue"}
# A consumption client needs a subscription id even for management-group budgets (unused there).
NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
BILLED_WINDOW_DAYS = 30
_GRAIN_MONTHS = {
    "monthly": 1,
    "billingmonth": 1,
    "quarterly": 3,
    "billingquarter": 3,
    "annually": 12,
    "billingannual": 12,
}
_PERIOD_NAMES = {1: "monthly", 3: "quarterly", 12: "annually"}


class AzureProvider:
    name: ClassVar[str] = "azure"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.management_group = (settings.azure_management_group or "").strip() or None
        self.billing_account = (settings.azure_billing_account_id or "").strip() or None
        self.allowlist = tuple(dict.fromkeys(s.strip() for s in settings.azure_subscription_ids if s.strip()))
        self.clients = AzureClients(settings)
        self._advisor_lock = threading.Lock()
        self._advisor_cache: TTLCache[str, advice.AdvisorByGroup] = TTLCache(
            maxsize=4, ttl=max(60, settings.cache_ttl_seconds)
        )

    # -- scopes ----------------------------------------------------------------------------

    def scopes(self, ctx: CallContext) -> Sequence[Scope]:
        found: list[Scope] = []
        if self.management_group:
            found.append(Scope(self.name, "azure-mg", self.management_group, name=self.management_group))
        if self.billing_account:
            found.append(
                Scope(self.name, reservations.SCOPE_KIND, self.billing_account, name="billing account")
            )
        found.extend(self._subscriptions(ctx))
        return found

    def _subscriptions(self, ctx: CallContext) -> list[Scope]:
        if self.allowlist:
            return [Scope(self.name, "azure", sub) for sub in self.allowlist]
        if self.management_group:
            return self._management_group_subscriptions(ctx)
        client = self.clients.client("subscriptions")
        scopes: list[Scope] = []
        skipped: list[str] = []
        for sub in paged(ctx, client.subscriptions.list, "listing subscriptions"):
            state = (enum_text(sub.state) or "").lower()
            if state and state not in USABLE_STATES:
                skipped.append(f"{sub.subscription_id} ({state})")
                continue
            scopes.append(Scope(self.name, "azure", str(sub.subscription_id), name=sub.display_name))
        if skipped:
            ctx.note(f"Azure subscriptions skipped (not enabled): {', '.join(skipped)}")
        return scopes

    def _management_group_subscriptions(self, ctx: CallContext) -> list[Scope]:
        """Subscriptions anywhere under the management group (its `descendants`, paged)."""
        client = self.clients.client("subscriptions")
        url = (
            f"/providers/Microsoft.Management/managementGroups/{self.management_group}/descendants"
            f"?api-version={MG_DESCENDANTS_API}"
        )
        what = f"listing the subscriptions of management group {self.management_group}"
        scopes: list[Scope] = []
        for item in arm.get_pages(ctx, self.clients, client, url, what):
            if str(item.get("type", "")).lower().endswith("/subscriptions"):
                display = (item.get("properties") or {}).get("displayName")
                scopes.append(Scope(self.name, "azure", str(item["name"]), name=display))
        return scopes

    def _pages(self, ctx: CallContext, scope: Scope, body: dict[str, Any], op: str) -> Iterator[Any]:
        """Every page of a Cost Management query/forecast: the SDK call, then the same body POSTed
        to each nextLink."""
        client = self.clients.client("cost")
        path = self._path(scope)
        what = f"Cost Management {op} for {scope.id}"
        operations = client.query if op == "query" else client.forecast

        def first() -> Any:
            return errors.call(ctx, lambda: operations.usage(path, body), what)

        def follow(link: str) -> Any:
            ctx.raise_if_cancelled()
            return arm.send(ctx, client, "POST", arm.next_link(self.clients, link) or link, body, what)

        return costquery.iterate_pages(first, follow)

    @staticmethod
    def _path(scope: Scope) -> str:
        if scope.kind == reservations.SCOPE_KIND:
            return reservations.billing_path(scope.key)
        return costquery.scope_path(scope.kind, scope.key)

    # -- cost ------------------------------------------------------------------------------

    def _cost_filters(self, scope: Scope, filters: Filters, ctx: CallContext) -> Filters | None:
        """The filters to send for `scope`, or None when the scope has nothing to answer."""
        if scope.kind == reservations.SCOPE_KIND:
            ctx.note(
                f"{scope.id} answers the reservation checks of the audit only: cost comes from the "
                "subscription or management group scopes"
            )
            return None
        if scope.kind == "azure":
            if self.management_group:
                ctx.note(
                    f"Azure cost is queried once for management group azure-mg:{self.management_group}; "
                    "subscription scopes add no cost rows (group by account to split it per subscription)"
                )
                return None
            if filters.accounts and scope.key.lower() not in {a.lower() for a in filters.accounts}:
                return None
            return filters
        if self.allowlist and not filters.accounts:
            return replace(filters, accounts=self.allowlist)
        return filters

    def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]:
        filters = self._cost_filters(scope, query.filters, ctx)
        if filters is None:
            return []
        query = replace(query, filters=filters)
        body = costquery.query_body(query, accounts_filter=scope.kind == "azure-mg")
        return costquery.cost_lines(self._pages(ctx, scope, body, "query"), query)

    def forecast(self, scope: Scope, query: CostQuery, ctx: CallContext) -> ForecastLine | None:
        filters = self._cost_filters(scope, query.filters, ctx)
        if filters is None:
            return None
        month = month_span(query.span.end)
        body = costquery.forecast_body(
            month, query.cost_type, filters, accounts_filter=scope.kind == "azure-mg"
        )
        totals = costquery.totals_by_currency(self._pages(ctx, scope, body, "forecast"))
        if not totals:
            return None
        currency = max(totals, key=lambda c: (totals[c], c))
        if len(totals) > 1:
            ctx.note(f"{scope.id}: forecast in several currencies; showing {currency}")
        return ForecastLine(month, totals[currency], currency, "azure_cost_management_forecast")

    # -- budgets ---------------------------------------------------------------------------

    def budgets(self, scope: Scope, today: date, ctx: CallContext) -> list[BudgetLine]:
        if scope.kind == reservations.SCOPE_KIND:
            return []  # budgets are read per subscription and management group
        client = self.clients.client("consumption", scope.key if scope.kind == "azure" else NO_SUBSCRIPTION)
        path = costquery.scope_path(scope.kind, scope.key)
        lines: list[BudgetLine] = []
        for budget in paged(ctx, lambda: client.budgets.list(path), f"listing budgets of {scope.id}"):
            category = (enum_text(getattr(budget, "category", None)) or "Cost").lower()
            if category != "cost":
                ctx.note(f"{scope.id}: budget {budget.name!r} tracks usage quantities, not cost: skipped")
                continue
            lines.append(budget_line(budget, today))
        return lines

    # -- audit -----------------------------------------------------------------------------

    def checks(self) -> Sequence[Check[Any]]:
        return (*CHECKS, *ACCOUNT_WIDE)

    def audit_units(self, scope: Scope, regions: Sequence[str] | None, ctx: CallContext) -> list[AuditUnit]:
        """One unit per subscription (its resource lists are subscription-wide; the requested
        regions travel in the scope's detail and filter resources by location). A management
        group scope has no unit of its own: its subscriptions are scopes too."""
        if scope.kind == reservations.SCOPE_KIND:
            return [AuditUnit(scope)]
        if scope.kind != "azure":
            return []
        wanted = tuple(sorted({norm_location(r) for r in regions or () if r}))
        return [AuditUnit(replace(scope, detail={**scope.detail, "regions": wanted}))]

    def audit(self, unit: AuditUnit, checks: Sequence[Check[Any]], ctx: CallContext) -> AuditResult:
        on_billing = unit.scope.kind == reservations.SCOPE_KIND
        mine = [c for c in checks_of(self.name, checks) if (reservations.NEEDS in c.needs) == on_billing]
        if on_billing:
            return self._audit_billing(unit.scope, mine, ctx)
        series_checks = [c for c in mine if c in ACCOUNT_WIDE]
        mine = [c for c in mine if c not in ACCOUNT_WIDE]
        subscription = unit.scope.key
        regions = frozenset(unit.scope.detail.get("regions", ()))
        kinds = needs_of(mine)
        inventory = list_inventory(self.clients, subscription, ctx, kinds).in_regions(regions)
        now = datetime.now(timezone.utc)
        billed: dict[str, tuple[Decimal, str]] = {}
        window: str | None = None
        if any(True for _ in inventory.resources()):
            billed, window = self._billed_by_resource(unit.scope, now.date(), ctx)
        native: dict[str, Any] = {}
        refused: set[str] = set()
        for need, field, fetch in (
            (advice.ADVISOR, "advisor", advice.advisor_fetcher(self._advisor_group())),
            (advice.RESERVATIONS, "reservations", advice.reservation_advice),
            (advice.SAVINGS_PLANS, "savings_plans", advice.savings_plan_advice),
        ):
            if need not in kinds:
                continue
            try:
                items = fetch(self.clients, subscription, ctx)
            except ScopeFailure as exc:  # one API refused never sinks the subscription's other checks
                skipped = [c.id for c in mine if need in c.needs]
                ctx.note(f"{unit.scope.id}: {exc.message[:300]} ({exc.code}); skipped {', '.join(skipped)}")
                refused.add(need)
                continue
            native[field] = tuple(i for i in items if not regions or not i.region or i.region in regions)
        context = AzureCheckContext(
            scope=unit.scope.id,
            inventory=inventory,
            now=now,
            billed=billed,
            billed_window=window,
            deallocated_days=self.settings.azure_deallocated_vm_days,
            snapshot_days=self.settings.azure_snapshot_max_age_days,
            min_utilization=self.settings.commitment_min_utilization_pct,
            **native,
        )
        result = run_checks(mine, context, ctx, refused=refused)
        result.regions = sorted({r.location for r in inventory.resources() if r.location})
        return result.extend(self._cost_series_checks(unit.scope, series_checks, ctx))

    def _cost_series_checks(
        self, scope: Scope, checks: Sequence[Check[Any]], ctx: CallContext
    ) -> AuditResult | None:
        """`azure.anomaly.*` for one subscription: a daily query per service, plus one per meter
        when a service has anomalies (see `providers.azure.anomalies`). A refused or failed query
        leaves the checks out with a note; the subscription's other checks still answer."""
        if not checks:
            return None
        from finops_mcp.periods import utc_today
        from finops_mcp.providers.azure import anomalies

        window, span = anomalies.windows(utc_today())
        regions = tuple(scope.detail.get("regions", ()))  # a region-narrowed audit: those regions' cost

        def meter_days(services: Sequence[str], days: Span) -> list[costquery.DailyRow]:
            body = costquery.usage_body(
                days, anomalies.DRIVER_GROUPS, services=services, regions=regions, quantity=True
            )
            return costquery.daily_rows(self._pages(ctx, scope, body, "query"), anomalies.DRIVER_GROUPS)

        try:
            body = costquery.usage_body(span, anomalies.SERIES_GROUPS, regions=regions)
            rows = costquery.daily_rows(self._pages(ctx, scope, body, "query"), anomalies.SERIES_GROUPS)
            data = anomalies.CostSeries(
                scope.id, window, rows, self.settings.spike_min_daily_cost, meter_days
            )
            return run_checks(checks, data, ctx)
        except ScopeFailure as exc:
            if exc.code in ("cancelled", "auth"):
                raise
            ctx.note(
                f"{scope.id}: {', '.join(c.id for c in checks)} did not run: {exc.message[:300]} ({exc.code})"
            )
            return None

    def _audit_billing(self, scope: Scope, mine: list[Check[Any]], ctx: CallContext) -> AuditResult:
        """The billing account's unit: reservation utilization over the last 30 complete days,
        priced by ONE Cost Management query (AmortizedCost by ReservationId) when it is allowed."""
        today = datetime.now(timezone.utc).date()
        span = Span(today - timedelta(days=BILLED_WINDOW_DAYS), today - timedelta(days=1))
        uses = reservations.summaries(self.clients, scope.key, span, ctx) if mine else []
        if uses:
            try:
                pages = self._pages(ctx, scope, reservations.amortized_body(span), "query")
                uses = reservations.with_costs(uses, pages)
            except ScopeFailure as exc:
                ctx.note(
                    f"{scope.id}: reservation costs unavailable ({exc.code}: {exc.message[:200]}); "
                    "unused reservation hours are reported unpriced"
                )
        context = AzureCheckContext(
            scope=scope.id,
            inventory=Inventory(scope.key),
            now=datetime.now(timezone.utc),
            billed_window=f"{span.start}..{span.end}",
            reservation_uses=tuple(uses),
            min_utilization=self.settings.commitment_min_utilization_pct,
        )
        return run_checks(mine, context, ctx)

    def _advisor_group(self) -> advice.AdvisorByGroup | None:
        """With a management group: the one Resource Graph query for Advisor that the subscriptions
        of this audit share (kept for the cache TTL, at least a minute, then asked again)."""
        if not self.management_group:
            return None
        with self._advisor_lock:
            group = self._advisor_cache.get(self.management_group)
            if group is None:
                group = self._advisor_cache[self.management_group] = advice.AdvisorByGroup(
                    self.management_group
                )
            return group

    def _billed_by_resource(
        self, scope: Scope, today: date, ctx: CallContext
    ) -> tuple[dict[str, tuple[Decimal, str]], str | None]:
        """Each priced resource's actual cost over the last 30 complete days: ONE query for the
        subscription grouped by ResourceId (filtered to the resource types the checks price). When
        it fails (e.g. no Cost Management Reader role), list prices are used and a note says why."""
        span = Span(today - timedelta(days=BILLED_WINDOW_DAYS), today - timedelta(days=1))
        query = CostQuery(span, "total", ("resource",), "billed")
        body = costquery.query_body(query)
        body["dataset"]["filter"] = {
            "dimensions": {"name": "ResourceType", "operator": "In", "values": list(PRICED_RESOURCE_TYPES)}
        }
        try:
            billed = costquery.costs_by_resource(self._pages(ctx, scope, body, "query"))
        except ScopeFailure as exc:
            ctx.note(
                f"{scope.id}: billed costs unavailable ({exc.code}: {exc.message[:200]}); findings use "
                f"list prices (table {prices.PRICE_TABLE_VERSION})"
            )
            return {}, None
        return billed, f"{span.start}..{span.end}"

    # -- errors and description ------------------------------------------------------------

    def classify_error(self, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        return errors.ERRORS.classify(exc)

    def describe(self) -> dict[str, Any]:
        endpoints = self.clients.endpoints
        return {
            "cloud": self.settings.azure_cloud,
            "arm_endpoint": endpoints.arm,
            "authority_host": endpoints.authority,
            "credential": "DefaultAzureCredential (environment, workload identity, managed identity, "
            "Azure CLI/azd/PowerShell; no interactive browser)",
            "management_group": self.management_group,
            "billing_account": self.billing_account,
            "subscription_allowlist": list(self.allowlist),
            "cost_scope": f"azure-mg:{self.management_group}"
            if self.management_group
            else "each subscription",
            "checks": [c.id for c in (*CHECKS, *ACCOUNT_WIDE)],
            "price_table_version": prices.PRICE_TABLE_VERSION,
        }

    def close(self) -> None:
        self.clients.close()


# ---------------------------------------------------------------------------------------------
# Budgets
# ---------------------------------------------------------------------------------------------


def current_period(start: date, months: int, today: date, end: date | None = None) -> Span:
    """The budget period containing `today`: periods of `months` months from the budget's start."""
    if today < start:
        return Span(start, add_months(start, months) - timedelta(days=1))
    elapsed = (today.year - start.year) * 12 + today.month - start.month
    k = elapsed // months
    first = add_months(start, k * months)
    if first > today:
        first = add_months(start, (k - 1) * months)
    last = add_months(first, months) - timedelta(days=1)
    if end is not None and end < last:
        last = max(first, end)
    return Span(first, last)


def _to_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def budget_line(budget: Any, today: date) -> BudgetLine:
    """A consumption `Budget` as a `BudgetLine`: current spend and forecast as Azure computed
    them; thresholds are the enabled notifications on actual cost (percent of the amount)."""
    grain = (enum_text(getattr(budget, "time_grain", None)) or "Monthly").lower()
    months = _GRAIN_MONTHS.get(grain, 1)
    period = getattr(budget, "time_period", None)
    start = _to_date(getattr(period, "start_date", None)) or today.replace(day=1)
    end = _to_date(getattr(period, "end_date", None))
    current = getattr(budget, "current_spend", None)
    forecast = getattr(budget, "forecast_spend", None)
    currency = getattr(current, "unit", None) or getattr(forecast, "unit", None) or "USD"
    thresholds = sorted(
        {
            float(n.threshold)
            for n in (getattr(budget, "notifications", None) or {}).values()
            if getattr(n, "enabled", True)
            and n.threshold is not None
            and (enum_text(getattr(n, "threshold_type", None)) or "Actual").lower() == "actual"
        }
    )
    amount = getattr(budget, "amount", None)
    forecast_amount = getattr(forecast, "amount", None)
    return BudgetLine(
        name=str(budget.name),
        period=_PERIOD_NAMES[months],
        span=current_period(start, months, today, end),
        limit=None if amount is None else Decimal(str(amount)),
        actual=Decimal(str(getattr(current, "amount", None) or 0)),
        currency=str(currency),
        forecast=None if forecast_amount is None else Decimal(str(forecast_amount)),
        thresholds=tuple(thresholds),
    )
