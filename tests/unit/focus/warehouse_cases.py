"""The same FOCUS rows, local (Parquet) and in a warehouse table, must give the same answers.

`answers(provider, scope)` asks one provider everything the FOCUS provider answers (cost in every
granularity and grouping incl. tags and quantities, tag filters, several periods in one scan,
the forecast, the budgets, every focus.* check) and returns it in a comparable form, amounts to
the cent (a warehouse's NUMERIC keeps 9 decimals, the local view 10). Engine tests assert
`answers(local) == answers(warehouse)` over the two planted exports (`acme`: commitments,
untagged cost, several currencies and clouds; `planted`: anomalies and spikes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.periods import Span
from finops_mcp.providers.base import AuditUnit, CostQuery, Filters, Scope
from finops_mcp.providers.focus.checks import CHECKS
from finops_mcp.providers.focus.provider import FocusProvider
from tests.unit.focus.focusdata import WEIRD_TAG, acme_rows, write_parquet
from tests.unit.focus.planted import planted_rows

CENT = Decimal("0.01")
BUDGETS = """
budgets:
  - name: all
    amount: 5000
    period: monthly
  - name: web-eur
    amount: 300
    currency: EUR
    period: quarterly
    cost_type: effective
    filters: {tags: {env: [prod]}, providers: [Microsoft]}
  - name: ec2
    amount: 900
    filters: {services: [Amazon EC2], tags: {team: [data]}}
"""
# the same budgets without tag filters (fakesnow reads a tag as its JSON text, see the Snowflake test)
UNTAGGED_BUDGETS = BUDGETS.replace("tags: {env: [prod]}, ", "").replace(", tags: {team: [data]}", "")
REQUIRED_TAGS = ["team", "env"]


def acme_table_rows() -> list[dict[str, Any]]:
    """acme's rows as one table holds them: every column in every row (the GCP part has no
    EffectiveCost / SubAccountId of its own: effective = billed, account = its billing account)."""
    parts = acme_rows()
    rows: list[dict[str, Any]] = []
    for name, part in parts.items():
        if name == "gcp":
            part = [dict(r, EffectiveCost=r["BilledCost"], SubAccountId=r["BillingAccountId"]) for r in part]
        rows.extend(part)
    return rows


TABLES: dict[str, Any] = {"acme": acme_table_rows, "planted": planted_rows}


def write_local(root: Path) -> dict[str, str]:
    """Each table as one local Parquet file; FINOPS_FOCUS_PATHS entries by dataset name."""
    entries = {}
    for name, rows in TABLES.items():
        path = write_parquet(root / name / "export.parquet", rows())
        entries[name] = f"{name}={path}"
    return entries


def _cents(v: Decimal | None) -> Decimal | None:
    return None if v is None else Decimal(v).quantize(CENT)


def _lines(lines: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (line.keys, line.currency, line.period_start, _cents(line.cost), _cents(line.quantity), line.unit)
        for line in lines
    )


def cost_queries(first: date, last: date, tags: bool = True) -> list[CostQuery]:
    """The get_cost questions; `tags=False` leaves out those grouping or filtering by tag."""
    span = Span(first, last)
    month = Span(date(last.year, last.month, 1), last)
    queries = [
        CostQuery(span, "total", ("service",), "billed"),
        CostQuery(span, "monthly", ("service", "account"), "billed"),
        CostQuery(month, "daily", ("region",), "effective"),
        CostQuery(span, "total", ("tag:team", "tag:env"), "billed"),
        CostQuery(span, "total", (f"tag:{WEIRD_TAG}",), "billed"),
        CostQuery(span, "monthly", ("resource",), "effective", quantity=True),
        CostQuery(span, "total", ("charge_category",), "billed", Filters(tags=(("team", ("data",)),))),
        CostQuery(span, "total", ("service",), "billed", Filters(tags=(("env", ("",)),))),
        CostQuery(
            span, "total", ("account",), "billed", Filters(tags=(("env", ()),), regions=("us-east-1",))
        ),
        CostQuery(span, "total", ("service",), "billed", Filters(services=("Amazon EC2", "Storage"))),
    ]
    return [
        q for q in queries if tags or not (q.filters.tags or any(d.startswith("tag:") for d in q.group_by))
    ]


def answers(
    provider: FocusProvider, scope: Scope, first: date, last: date, tags: bool = True
) -> dict[str, Any]:
    ctx = CallContext()
    out: dict[str, Any] = {}
    for i, q in enumerate(cost_queries(first, last, tags)):
        out[f"cost{i}"] = _lines(provider.cost(scope, q, ctx))
    months = [Span(date(last.year, m, 1), date(last.year, m, 28)) for m in (first.month + 1, last.month)]
    periods = provider.cost_periods(scope, CostQuery(months[0], "total", ("service",), "billed"), months, ctx)
    out["periods"] = [_lines(p) for p in periods]
    fc = provider.forecast(scope, CostQuery(Span(first, last), "total", (), "billed"), ctx)
    out["forecast"] = None if fc is None else (fc.span, _cents(fc.amount), fc.currency)
    out["budgets"] = sorted(
        (b.name, b.span, _cents(b.limit), _cents(b.actual), _cents(b.forecast), b.currency)
        for b in provider.budgets(scope, last, ctx)
    )
    out["span"] = provider.data_span(scope, ctx)
    audit = provider.audit(AuditUnit(scope), CHECKS, ctx)
    out["checks_run"] = sorted(audit.checks_run)
    out["findings"] = sorted(
        (
            f.check, f.resource_id, f.region, f.currency, f.severity, _cents(f.estimated_monthly_cost),
            f.resource_name, f.resource_type, f.detail, tuple(sorted(f.tags.items())),
        )
        for f in audit.findings
    )  # fmt: skip
    regional = provider.audit(AuditUnit(scope, "us-east-1"), CHECKS, ctx)
    out["regional"] = sorted(
        (f.check, f.resource_id, _cents(f.estimated_monthly_cost)) for f in regional.findings
    )
    out["regions"] = sorted(regional.regions)
    return out


def first_last(name: str) -> tuple[date, date]:
    rows = TABLES[name]()
    days = [r["ChargePeriodStart"].date() for r in rows]
    return min(days), max(days)


def assert_same_answers(
    local: FocusProvider,
    remote: FocusProvider,
    name: str,
    before_remote: Callable[[], object] = lambda: None,
    tags: bool = True,
) -> None:
    """`answers` of both providers over dataset `name` (both closed afterwards) are equal key by
    key, and the planted data produced findings; `before_remote` runs between the two (e.g. to
    clear an emulator's query log); `tags=False` leaves out the tag questions."""
    first, last = first_last(name)
    scope = Scope(provider="focus", kind="focus", key=name, name=name)
    try:
        want = answers(local, scope, first, last, tags)
        before_remote()
        got = answers(remote, scope, first, last, tags)
    finally:
        local.close()
        remote.close()
    assert want["findings"], "the planted data must produce findings"
    for key in want:
        assert got[key] == want[key], key
