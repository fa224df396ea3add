"""Cost Management query bodies, rows read by column name, and `nextLink` paging.

Mapping of the request (see docs/providers/azure.md):
- cost_type billed -> `ActualCost`, effective -> `AmortizedCost`;
- group_by service -> ServiceName, account -> SubscriptionId, region -> ResourceLocation,
  resource -> ResourceId, charge_category -> ChargeType (Dimension groupings), `tag:<key>` -> a
  TagKey grouping (answered as TagKey/TagValue columns); the API allows at most 2 groupings;
- granularity daily -> `Daily`; monthly -> `Daily` folded into calendar months here (the API's
  `Monthly` answers per billing month, which is not a calendar month for every agreement);
  total -> no granularity;
- the span -> timeframe `Custom` from the first day 00:00 to the last day 23:59:59 UTC.

Rows are read by the names in `columns` (never by position: the order differs between scopes,
cost types and API versions). Results are paged: the SDK returns the first page only, so the same
body is POSTed to `nextLink` until there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from finops_mcp.models import tag_key
from finops_mcp.money import to_decimal
from finops_mcp.periods import Span, month_start
from finops_mcp.providers.base import CostLine, CostQuery, Filters

DIMENSIONS: dict[str, str] = {
    "service": "ServiceName",
    "account": "SubscriptionId",
    "region": "ResourceLocation",
    "resource": "ResourceId",
    "charge_category": "ChargeType",
}
COST_TYPES = {"billed": "ActualCost", "effective": "AmortizedCost"}
COST_ALIAS = "Cost"
QUANTITY_ALIAS = "UsageQuantity"
USAGE_ONLY = {"dimensions": {"name": "ChargeType", "operator": "In", "values": ["Usage"]}}
COST_COLUMNS = ("Cost", "PreTaxCost", "CostUSD", "PreTaxCostUSD")
CURRENCY_COLUMNS = ("Currency", "BillingCurrency", "BillingCurrencyCode")
DATE_COLUMNS = ("UsageDate", "BillingMonth", "Date")
MAX_GROUPINGS = 2


def scope_path(kind: str, key: str) -> str:
    """The ARM scope of a `Scope` (subscription or management group)."""
    if kind == "azure-mg":
        return f"/providers/Microsoft.Management/managementGroups/{key}"
    return f"/subscriptions/{key}"


def _time_period(span: Span) -> dict[str, str]:
    return {
        "from": f"{span.start.isoformat()}T00:00:00+00:00",
        "to": f"{span.end.isoformat()}T23:59:59+00:00",
    }


def _in(kind: str, name: str, values: Sequence[str]) -> dict[str, Any]:
    return {kind: {"name": name, "operator": "In", "values": list(values)}}


def query_filter(filters: Filters, *, accounts: bool = True, extra: Iterable[dict[str, Any]] = ()) -> Any:
    """The `filter` expression for the request's filters (None when there is none). `accounts`
    False leaves the subscription filter out (a subscription scope is already one account)."""
    parts: list[dict[str, Any]] = list(extra)
    if filters.services:
        parts.append(_in("dimensions", "ServiceName", filters.services))
    if accounts and filters.accounts:
        parts.append(_in("dimensions", "SubscriptionId", filters.accounts))
    if filters.regions:
        parts.append(_in("dimensions", "ResourceLocation", filters.regions))
    for key, values in filters.tags:
        parts.append(_in("tags", key, values))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"and": parts}


def groupings(group_by: Sequence[str]) -> list[dict[str, str]]:
    out = [
        {"type": "TagKey", "name": key}
        if (key := tag_key(dim)) is not None
        else {"type": "Dimension", "name": DIMENSIONS[dim]}
        for dim in group_by
    ]
    if len(out) > MAX_GROUPINGS:
        raise ValueError(f"Cost Management allows at most {MAX_GROUPINGS} groupings")
    return out


def query_body(query: CostQuery, *, accounts_filter: bool = True) -> dict[str, Any]:
    dataset: dict[str, Any] = {
        "aggregation": {COST_ALIAS: {"name": "Cost", "function": "Sum"}},
        "grouping": groupings(query.group_by),
    }
    if query.granularity != "total":
        dataset["granularity"] = "Daily"
    flt = query_filter(query.filters, accounts=accounts_filter)
    if flt is not None:
        dataset["filter"] = flt
    return {
        "type": COST_TYPES[query.cost_type],
        "timeframe": "Custom",
        "timePeriod": _time_period(query.span),
        "dataset": dataset,
    }


def forecast_body(span: Span, cost_type: str, filters: Filters, *, accounts_filter: bool) -> dict[str, Any]:
    """Daily actual + forecast cost over `span` (the whole month being forecast)."""
    dataset: dict[str, Any] = {
        "granularity": "Daily",
        "aggregation": {COST_ALIAS: {"name": "Cost", "function": "Sum"}},
    }
    flt = query_filter(filters, accounts=accounts_filter)
    if flt is not None:
        dataset["filter"] = flt
    return {
        "type": COST_TYPES[cost_type],
        "timeframe": "Custom",
        "timePeriod": _time_period(span),
        "dataset": dataset,
        "includeActualCost": True,
        "includeFreshPartialCost": False,
    }


def usage_body(
    span: Span,
    groups: Sequence[str],
    *,
    services: Sequence[str] = (),
    regions: Sequence[str] = (),
    quantity: bool = False,
) -> dict[str, Any]:
    """Daily effective (AmortizedCost) usage cost (ChargeType Usage) grouped by the Dimension
    `groups` (at most 2), optionally for some services / regions only and with the summed UsageQuantity:
    the anomaly series (ServiceName) and their drivers (ServiceName x Meter: one meter, one unit)."""
    aggregation = {COST_ALIAS: {"name": "Cost", "function": "Sum"}}
    if quantity:
        aggregation[QUANTITY_ALIAS] = {"name": "UsageQuantity", "function": "Sum"}
    parts: list[dict[str, Any]] = [USAGE_ONLY]
    if services:
        parts.append(_in("dimensions", "ServiceName", services))
    if regions:
        parts.append(_in("dimensions", "ResourceLocation", regions))
    if len(groups) > MAX_GROUPINGS:
        raise ValueError(f"Cost Management allows at most {MAX_GROUPINGS} groupings")
    return {
        "type": COST_TYPES["effective"],
        "timeframe": "Custom",
        "timePeriod": _time_period(span),
        "dataset": {
            "granularity": "Daily",
            "aggregation": aggregation,
            "grouping": [{"type": "Dimension", "name": g} for g in groups],
            "filter": parts[0] if len(parts) == 1 else {"and": parts},
        },
    }


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    columns: tuple[str, ...]
    rows: list[list[Any]]
    next_link: str | None


def page_of(result: Any) -> Page:
    """A query/forecast result (SDK model or plain JSON dict) as column names, rows, nextLink."""
    if result is None:
        return Page((), [], None)
    props = result.get("properties") if isinstance(result, dict) else getattr(result, "properties", None)
    if props is None:
        props = result
    get = props.get if isinstance(props, dict) else (lambda k, d=None: getattr(props, k, d))
    raw_columns = get("columns") or []
    columns = tuple(
        str(c.get("name") if isinstance(c, dict) else getattr(c, "name", "")) for c in raw_columns
    )
    next_link = get("nextLink") if isinstance(props, dict) else get("next_link")
    return Page(columns, [list(r) for r in (get("rows") or [])], next_link or None)


class Columns:
    """Finds columns by name (case-insensitive) in a page's header."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.index = {name.lower(): i for i, name in enumerate(columns)}

    def find(self, *names: str) -> int | None:
        for name in names:
            i = self.index.get(name.lower())
            if i is not None:
                return i
        return None

    def require(self, *names: str) -> int:
        i = self.find(*names)
        if i is None:
            raise ValueError(f"the Cost Management answer has no {' / '.join(names)} column")
        return i


def parse_day(value: Any) -> date | None:
    """UsageDate comes as an int 20261031, BillingMonth as '2026-10-01T00:00:00'."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit() and len(text) == 8:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return date.fromisoformat(text[:10])


def _key_reader(dim: str, cols: Columns) -> Callable[[list[Any]], str]:
    """How to read one requested dimension from a row."""
    if (name := tag_key(dim)) is not None:
        key = name.lower()
        ki, vi = cols.require("TagKey"), cols.require("TagValue")

        def tag(row: list[Any]) -> str:
            return str(row[vi] or "") if str(row[ki] or "").lower() == key else ""

        return tag
    i = cols.require(DIMENSIONS[dim])
    return lambda row: "" if row[i] is None else str(row[i])


def priced_rows(
    pages: Iterable[Page], default_currency: str = "USD"
) -> Iterator[tuple[Columns, list[Any], Decimal, str]]:
    """Every row of every page with its page's columns, its cost and its currency."""
    for page in pages:
        if not page.rows:
            continue
        cols = Columns(page.columns)
        cost_i = cols.require(*COST_COLUMNS)
        cur_i = cols.find(*CURRENCY_COLUMNS)
        for row in page.rows:
            currency = str(row[cur_i] or default_currency) if cur_i is not None else default_currency
            yield cols, row, to_decimal(row[cost_i]), currency


def cost_lines(pages: Iterable[Page], query: CostQuery, default_currency: str = "USD") -> list[CostLine]:
    """Sum the rows of every page into `CostLine`s keyed exactly by `query.group_by` (rows of a
    tag grouping whose key differs from the tag asked for count under an empty value)."""
    totals: dict[tuple[tuple[tuple[str, str], ...], str, date | None], Decimal] = {}
    header: Columns | None = None
    readers: list[tuple[str, Callable[[list[Any]], str]]] = []
    day_i: int | None = None
    for cols, row, cost, currency in priced_rows(pages, default_currency):
        if cols is not header:  # a new page: find its columns once
            header = cols
            readers = [(dim, _key_reader(dim, cols)) for dim in query.group_by]
            day_i = cols.require(*DATE_COLUMNS) if query.granularity != "total" else None
        keys = tuple((dim, read(row)) for dim, read in readers)
        start: date | None = None
        if day_i is not None:
            day = parse_day(row[day_i])
            start = month_start(day) if day and query.granularity == "monthly" else day
        slot = (keys, currency, start)
        totals[slot] = totals.get(slot, Decimal(0)) + cost
    return [
        CostLine(keys=keys, cost=cost, currency=currency, period_start=start)
        for (keys, currency, start), cost in totals.items()
    ]


@dataclass(frozen=True)
class DailyRow:
    """One row of a `usage_body` answer."""

    keys: tuple[str, ...]  # the grouping columns' values, in `groups` order
    day: date
    cost: Decimal
    currency: str
    quantity: Decimal | None = None


def daily_rows(pages: Iterable[Page], groups: Sequence[str], default_currency: str = "USD") -> list[DailyRow]:
    """The rows of a Daily query grouped by `groups`, read by column name."""
    out: list[DailyRow] = []
    for cols, row, cost, currency in priced_rows(pages, default_currency):
        day = parse_day(row[cols.require(*DATE_COLUMNS)])
        if day is None:
            continue
        keys = tuple("" if row[cols.require(g)] is None else str(row[cols.require(g)]) for g in groups)
        qi = cols.find(QUANTITY_ALIAS)
        quantity = to_decimal(row[qi]) if qi is not None and row[qi] is not None else None
        out.append(DailyRow(keys, day, cost, currency, quantity))
    return out


def totals_by_currency(pages: Iterable[Page], default_currency: str = "USD") -> dict[str, Decimal]:
    """Sum every row's cost per currency (forecast answers: actual + forecast days)."""
    out: dict[str, Decimal] = {}
    for _cols, _row, cost, currency in priced_rows(pages, default_currency):
        out[currency] = out.get(currency, Decimal(0)) + cost
    return out


def costs_by_resource(pages: Iterable[Page], default_currency: str = "USD") -> dict[str, tuple[Decimal, str]]:
    """ResourceId (lower-cased: ARM ids are case-insensitive and come back in mixed case) ->
    (cost, currency), from a query grouped by ResourceId."""
    out: dict[str, tuple[Decimal, str]] = {}
    for cols, row, cost, currency in priced_rows(pages, default_currency):
        rid = str(row[cols.require("ResourceId")] or "").lower()
        if rid:
            previous, _ = out.get(rid, (Decimal(0), currency))
            out[rid] = (previous + cost, currency)
    return out


def iterate_pages(first: Callable[[], Any], follow: Callable[[str], Any]) -> Iterator[Page]:
    """The first page, then each `nextLink` page (`follow(next_link)` re-POSTs the same body)."""
    page = page_of(first())
    yield page
    seen: set[str] = set()
    while page.next_link:
        if page.next_link in seen:  # a server repeating a link must not loop us forever
            raise ValueError("Cost Management returned the same nextLink twice")
        seen.add(page.next_link)
        page = page_of(follow(page.next_link))
        yield page
