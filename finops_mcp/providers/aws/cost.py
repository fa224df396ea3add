"""Cost Explorer: `get_cost` and the forecast, for one account.

Mapping (finops-mcp -> Cost Explorer):
- group_by: service -> SERVICE, account -> LINKED_ACCOUNT, region -> REGION, charge_category ->
  RECORD_TYPE (Usage, Tax, Credit, Refund, SavingsPlanCoveredUsage, ...), `tag:<k>` -> TAG k (CE
  answers `k$value`; the `k$` prefix is removed and an untagged line becomes ''), resource ->
  RESOURCE_ID through GetCostAndUsageWithResources, which only holds the last 14 days (and needs
  resource-level data enabled in the Cost Explorer settings).
- filters -> one Expression: an `And` of Dimensions (SERVICE, LINKED_ACCOUNT, REGION) and Tags.
  Every query is also restricted to the scope's own account (LINKED_ACCOUNT = account id) so a
  management account and its members never count the same cost twice.
- cost_type: billed -> UnblendedCost (what the invoice shows: credits and refunds are separate
  negative lines, RECORD_TYPE Credit / Refund, and reduce the total); effective -> AmortizedCost
  (Reserved Instance and Savings Plans upfront / recurring fees spread over the usage they cover).
- dates: our end is inclusive, CE's End is exclusive (end + 1 day).
- granularity: daily -> DAILY, monthly -> MONTHLY, total -> MONTHLY summed into one line per key
  (CE has no total; a MONTHLY answer covers partial months as asked).

- quantity (for the drivers' volume / rate split): the UsageQuantity metric in the same request (no
  extra billed call). CE sums quantities of different units and answers Unit "N/A" then: such a
  quantity is dropped, as is one whose unit differs between pages or periods of the same line.

Every page (NextPageToken) is followed and counted: CE bills $0.01 per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finops_mcp import periods
from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import tag_key
from finops_mcp.periods import Span
from finops_mcp.providers.aws.api import api_call, api_pages
from finops_mcp.providers.base import CostLine, CostQuery, Filters, ForecastLine

BILLED_API = "aws.ce"
RESOURCE_DAYS = 14
DIMENSIONS = {
    "service": "SERVICE",
    "account": "LINKED_ACCOUNT",
    "region": "REGION",
    "charge_category": "RECORD_TYPE",
    "resource": "RESOURCE_ID",
}
METRICS = {"billed": "UnblendedCost", "effective": "AmortizedCost"}
FORECAST_METRICS = {"billed": "UNBLENDED_COST", "effective": "AMORTIZED_COST"}
QUANTITY_METRIC = "UsageQuantity"
NO_UNIT = ("", "N/A")


def group_by(dims: Iterable[str]) -> list[dict[str, str]]:
    """CE GroupBy entries for our dimensions, in order."""
    return [
        {"Type": "TAG", "Key": key}
        if (key := tag_key(dim)) is not None
        else {"Type": "DIMENSION", "Key": DIMENSIONS[dim]}
        for dim in dims
    ]


def expression(filters: Filters, account_id: str) -> dict[str, Any]:
    """The CE Filter: the scope's account AND each requested filter."""
    parts: list[dict[str, Any]] = [{"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account_id]}}]
    for key, values in (("SERVICE", filters.services), ("REGION", filters.regions)):
        if values:
            parts.append({"Dimensions": {"Key": key, "Values": list(values)}})
    for tag, values in filters.tags:
        parts.append({"Tags": {"Key": tag, "Values": list(values)}})
    return parts[0] if len(parts) == 1 else {"And": parts}


def build_request(query: CostQuery, account_id: str) -> dict[str, Any]:
    """The GetCostAndUsage(WithResources) parameters for one query (without the page token)."""
    request: dict[str, Any] = {
        "TimePeriod": {"Start": query.span.start.isoformat(), "End": query.span.end_exclusive.isoformat()},
        "Granularity": "DAILY" if query.granularity == "daily" else "MONTHLY",
        "Metrics": [METRICS[query.cost_type], *([QUANTITY_METRIC] if query.quantity else [])],
        "Filter": expression(query.filters, account_id),
    }
    if query.group_by:
        request["GroupBy"] = group_by(query.group_by)
    return request


def key_value(dim: str, raw: str) -> str:
    """A CE group key as our row value: tags come as `key$value` (untagged: `key$`)."""
    if tag_key(dim) is not None:
        _, sep, value = raw.partition("$")
        return value if sep else raw
    if dim == "resource" and raw in ("NoResourceId", "No resource id"):
        return ""
    return raw


def bucket(start: str, granularity: str) -> date | None:
    day = date.fromisoformat(start[:10])
    if granularity == "daily":
        return day
    if granularity == "monthly":
        return periods.month_start(day)
    return None


def parse_pages(pages: Iterable[Mapping[str, Any]], query: CostQuery) -> list[CostLine]:
    """Cost lines from CE answers, summed per (keys, bucket, currency), with the usage quantity
    when asked for and known in one unit."""
    metric = METRICS[query.cost_type]
    Key = tuple[tuple[tuple[str, str], ...], date | None, str]
    sums: dict[Key, Decimal] = defaultdict(Decimal)
    quantities: dict[Key, list[tuple[Decimal, str]]] = defaultdict(list)

    def add(keys: tuple[tuple[str, str], ...], start: date | None, metrics: Mapping[str, Any]) -> None:
        amount = metrics.get(metric)
        if not amount:
            return
        key = (keys, start, amount.get("Unit") or "USD")
        sums[key] += Decimal(str(amount["Amount"]))
        usage = metrics.get(QUANTITY_METRIC) if query.quantity else None
        if usage and "Amount" in usage:
            quantities[key].append((Decimal(str(usage["Amount"])), str(usage.get("Unit") or "")))
        elif query.quantity:
            quantities[key].append((Decimal(0), ""))

    for page in pages:
        for result in page.get("ResultsByTime", []):
            start = bucket(result["TimePeriod"]["Start"], query.granularity)
            if query.group_by:
                for group in result.get("Groups", []):
                    raw = list(group.get("Keys", []))
                    raw += [""] * (len(query.group_by) - len(raw))
                    keys = tuple((d, key_value(d, v)) for d, v in zip(query.group_by, raw, strict=False))
                    add(keys, start, group.get("Metrics", {}))
            else:
                add((), start, result.get("Total", {}))
    lines: list[CostLine] = []
    for (keys, start, currency), cost in sums.items():
        parts = quantities.get((keys, start, currency), [])
        units = {unit for _, unit in parts}
        known = len(units) == 1 and not units & set(NO_UNIT)
        lines.append(
            CostLine(
                keys=keys,
                cost=cost,
                currency=currency,
                period_start=start,
                quantity=sum((q for q, _ in parts), Decimal(0)) if known else None,
                unit=units.pop() if known else None,
            )
        )
    return lines


def check_resource_window(query: CostQuery, today: date) -> None:
    """GetCostAndUsageWithResources only holds the last 14 days: say so before asking."""
    oldest = today - timedelta(days=RESOURCE_DAYS)
    if query.span.start < oldest:
        raise ScopeFailure(
            "invalid_query",
            f"group_by 'resource' uses Cost Explorer resource-level data, which only covers the last "
            f"{RESOURCE_DAYS} days (from {oldest}); the period starts {query.span.start}. Ask for "
            "period 'last_7_days' or start_date >= " + oldest.isoformat() + " (and compare_previous=false), "
            "or group by service instead.",
        )


def cost_lines(
    client: Any, query: CostQuery, account_id: str, today: date, ctx: CallContext
) -> list[CostLine]:
    """Every page of the query's answer, as cost lines."""
    if query.filters.accounts and account_id not in query.filters.accounts:
        return []
    request = build_request(query, account_id)
    op = "get_cost_and_usage"
    if "resource" in query.group_by:
        check_resource_window(query, today)
        op = "get_cost_and_usage_with_resources"
    pages = api_pages(
        ctx, client, op, token_in="NextPageToken", token_out="NextPageToken", billed=BILLED_API, **request
    )
    return parse_pages(pages, query)


def forecast(
    client: Any, query: CostQuery, account_id: str, today: date, ctx: CallContext
) -> ForecastLine | None:
    """The month containing `query.span.end`: actual cost so far + CE's forecast for the rest.

    CE forecasts start today at the earliest, so the days before today come from GetCostAndUsage.
    None when the month is already over (nothing left to forecast).
    """
    if query.filters.accounts and account_id not in query.filters.accounts:
        return None
    month = periods.month_span(query.span.end)
    if month.end < today:
        return None
    actual = Decimal(0)
    currency = "USD"
    if today > month.start:
        past = CostQuery(
            Span(month.start, today - timedelta(days=1)), "total", (), query.cost_type, query.filters
        )
        for line in cost_lines(client, past, account_id, today, ctx):
            actual += line.cost
            currency = line.currency
    answer = api_call(
        ctx,
        client,
        "get_cost_forecast",
        TimePeriod={"Start": today.isoformat(), "End": month.end_exclusive.isoformat()},
        Metric=FORECAST_METRICS[query.cost_type],
        Granularity="MONTHLY",
        Filter=expression(query.filters, account_id),
    )
    ctx.count_billed(BILLED_API)
    total = answer.get("Total") or {}
    rest = Decimal(str(total.get("Amount", "0")))
    return ForecastLine(
        span=month, amount=actual + rest, currency=total.get("Unit") or currency, method="aws_cost_explorer"
    )
