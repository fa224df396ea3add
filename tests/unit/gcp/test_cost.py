"""get_cost / forecast through the real google-cloud-bigquery client against the SQL-executing fake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span, month_span
from finops_mcp.providers.base import CostLine, CostQuery, Filters
from tests.fakes.gcp_estate import (
    DETAILED_TABLE,
    FOCUS_TABLE,
    LATE_DAYS,
    STANDARD_TABLE,
    GcpEstate,
    label,
    reference_cost,
    row_amount,
)
from tests.unit.gcp.conftest import billing_scope, project_scope

TOLERANCE = Decimal("0.000001")


def span_of(estate: GcpEstate, back: int = 40, until: int = 3) -> Span:
    return Span(estate.today - timedelta(days=back), estate.today - timedelta(days=until))


def as_map(lines: list[CostLine]) -> dict[Any, Decimal]:
    out: dict[Any, Decimal] = {}
    for line in lines:
        key = tuple(v for _, v in line.keys) if len(line.keys) != 1 else line.keys[0][1]
        key = (line.period_start, key) if line.period_start else key
        out[key] = out.get(key, Decimal(0)) + line.cost
    return out


def assert_close(got: dict[Any, Decimal], want: dict[Any, Decimal]) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        assert abs(got[key] - value) < TOLERANCE, (key, got[key], value)


def test_cost_by_service_matches_independent_computation_with_credits_netted(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    span = span_of(estate)
    ctx = CallContext()
    lines = provider.cost(billing_scope(), CostQuery(span, "total", ("service",), "billed"), ctx)
    want = reference_cost(estate.rows, span.start, span.end, key=lambda r: r["service"]["description"])
    assert_close(as_map(lines), want)
    gross = sum(
        Decimal(str(r["cost"]))
        for r in estate.rows
        if r["credits"] and span.contains(r["usage_start_time"].date())
    )
    with_credits = sum(
        (row_amount(r) for r in estate.rows if r["credits"] and span.contains(r["usage_start_time"].date())),
        Decimal(0),
    )
    assert with_credits < gross  # the seeded credits are real, and the reference nets them like the provider
    assert ctx.billed.snapshot() == {"gcp.bigquery": 1}
    assert any("processed" in n and "KiB" in n for n in ctx.notes)
    sql, params = estate.bq.queries[-1]
    assert "_PARTITIONTIME >=" in sql and "usage_start_time >=" in sql and "billing_account_id = @" in sql
    assert all(p["name"].startswith("p") for p in params)


def test_late_rows_and_other_billing_accounts_are_not_counted(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    """A row exported LATE_DAYS after its usage day is outside the partition window; another billing
    account's rows in the same table are not this account's cost."""
    provider = make_provider()
    span = span_of(estate, back=45, until=1)
    lines = provider.cost(billing_scope(), CostQuery(span, "total", (), "billed"), CallContext())
    total = sum(line.cost for line in lines)
    assert abs(total - reference_cost(estate.rows, span.start, span.end)[None]) < TOLERANCE
    everything = sum(Decimal(str(r["cost"])) for r in estate.rows if r["cost"] in (999.0, 777.0))
    assert everything == Decimal("1776.0") and LATE_DAYS > 7


@pytest.mark.parametrize(
    ("group_by", "key"),
    [
        (("account",), lambda r: r["project"]["id"]),
        (("region",), lambda r: r["location"]["region"]),
        (("charge_category",), lambda r: r["cost_type"]),
        (("tag:env",), lambda r: label(r, "env")),
        (("service", "tag:team"), lambda r: (r["service"]["description"], label(r, "team"))),
    ],
)
def test_group_by_dimensions(
    make_provider: Callable[..., Any], estate: GcpEstate, group_by: tuple[str, ...], key: Any
) -> None:
    provider = make_provider()
    span = span_of(estate)
    lines = provider.cost(billing_scope(), CostQuery(span, "total", group_by, "billed"), CallContext())
    assert_close(as_map(lines), reference_cost(estate.rows, span.start, span.end, key=key))


def test_daily_and_monthly_buckets(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider()
    span = span_of(estate, back=60)
    daily = provider.cost(billing_scope(), CostQuery(span, "daily", (), "billed"), CallContext())
    want = reference_cost(estate.rows, span.start, span.end, key=lambda r: r["usage_start_time"].date())
    assert_close({line.period_start: line.cost for line in daily}, want)
    monthly = provider.cost(billing_scope(), CostQuery(span, "monthly", (), "billed"), CallContext())
    want_m = reference_cost(
        estate.rows, span.start, span.end, key=lambda r: r["usage_start_time"].date().replace(day=1)
    )
    assert_close({line.period_start: line.cost for line in monthly}, want_m)


def test_filters_are_bound_parameters_never_sql_text(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    span = span_of(estate)
    filters = Filters(
        services=("Compute Engine", "x' OR 1=1 --"),
        accounts=("alpha-prj", "gamma-prj"),
        regions=("us-central1",),
        tags=(("team", ("data",)), ("env", ())),
    )
    lines = provider.cost(
        billing_scope(), CostQuery(span, "total", ("account",), "billed", filters), CallContext()
    )

    def where(r: dict[str, Any]) -> bool:
        return (
            r["service"]["description"] == "Compute Engine"
            and r["project"]["id"] in ("alpha-prj", "gamma-prj")
            and r["location"]["region"] == "us-central1"
            and label(r, "team") == "data"
            and label(r, "env") != ""
        )

    assert_close(
        as_map(lines),
        reference_cost(estate.rows, span.start, span.end, key=lambda r: r["project"]["id"], where=where),
    )
    sql, _ = estate.bq.queries[-1]
    for value in ("Compute Engine", "alpha-prj", "us-central1", "team", "OR 1=1"):
        assert value not in sql


def test_missing_label_filter_value_means_absent(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    span = span_of(estate)
    filters = Filters(tags=(("env", ("",)),))
    lines = provider.cost(
        billing_scope(), CostQuery(span, "total", ("service",), "billed", filters), CallContext()
    )
    want = reference_cost(
        estate.rows,
        span.start,
        span.end,
        key=lambda r: r["service"]["description"],
        where=lambda r: label(r, "env") == "",
    )
    assert_close(as_map(lines), want)


def test_effective_cost_excludes_promotional_credits(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    span = span_of(estate)
    billed = provider.cost(billing_scope(), CostQuery(span, "total", ("account",), "billed"), CallContext())
    effective = provider.cost(
        billing_scope(), CostQuery(span, "total", ("account",), "effective"), CallContext()
    )
    want = reference_cost(
        estate.rows, span.start, span.end, key=lambda r: r["project"]["id"], cost_type="effective"
    )
    assert_close(as_map(effective), want)
    assert as_map(effective)["gamma-prj"] > as_map(billed)["gamma-prj"]  # gamma has free-trial credits
    assert abs(as_map(effective)["alpha-prj"] - as_map(billed)["alpha-prj"]) < TOLERANCE


def test_resource_needs_the_detailed_export(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    span = span_of(estate)
    standard = make_provider()
    with pytest.raises(ScopeFailure) as err:
        standard.cost(billing_scope(), CostQuery(span, "total", ("resource",), "billed"), CallContext())
    assert err.value.code == "invalid_query" and "detailed" in err.value.message
    detailed = make_provider(gcp_billing_export_table=DETAILED_TABLE)
    lines = detailed.cost(billing_scope(), CostQuery(span, "total", ("resource",), "billed"), CallContext())
    want = reference_cost(estate.rows, span.start, span.end, key=lambda r: r["resource"]["name"] or "")
    assert_close(as_map(lines), want)
    assert detailed.describe()["billing_export_kind"] == "detailed"


def test_focus_export_is_detected_and_queried(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider(gcp_billing_export_table=FOCUS_TABLE)
    span = span_of(estate)
    for cost_type in ("billed", "effective"):
        lines = provider.cost(
            billing_scope(), CostQuery(span, "total", ("account", "tag:team"), cost_type), CallContext()
        )
        want = reference_cost(
            estate.rows,
            span.start,
            span.end,
            key=lambda r: (r["project"]["id"], label(r, "team")),
            cost_type=cost_type,
        )
        assert_close(as_map(lines), want)
    sql, _ = estate.bq.queries[-1]
    assert "BilledCost" in sql or "EffectiveCost" in sql
    assert provider.describe()["billing_export_kind"] == "focus"


def test_project_scopes_share_one_query(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider(gcp_billing_account=None, gcp_projects=["alpha-prj", "beta-prj"])
    scopes = provider.scopes(CallContext())
    assert [s.id for s in scopes] == ["gcp-project:alpha-prj", "gcp-project:beta-prj"]
    span = span_of(estate, back=33)
    query = CostQuery(span, "total", ("service",), "billed")
    before = len(estate.bq.queries)
    ctx = CallContext()
    got = {s.key: as_map(provider.cost(s, query, ctx)) for s in scopes}
    assert len(estate.bq.queries) == before + 1 and ctx.billed.snapshot() == {"gcp.bigquery": 1}
    for project in ("alpha-prj", "beta-prj"):
        want = reference_cost(
            estate.rows,
            span.start,
            span.end,
            key=lambda r: r["service"]["description"],
            where=lambda r, p=project: r["project"]["id"] == p,
            account=None,
        )
        assert_close(got[project], want)
    assert provider.budgets(project_scope("alpha-prj"), estate.today, ctx) == []
    assert any("FINOPS_GCP_BILLING_ACCOUNT" in n for n in ctx.notes)


def test_forecast_is_a_run_rate_of_the_month(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider()
    today = estate.today
    month = month_span(today)
    query = CostQuery(Span(month.start, today), "total", ("service",), "billed")
    line = provider.forecast(billing_scope(), query, CallContext())
    actual = reference_cost(estate.rows, month.start, today).get(None, Decimal(0))
    days = [
        r["usage_start_time"].date()
        for r in estate.rows
        if month.start <= r["usage_start_time"].date() <= today
    ]
    if not days:
        assert line is None
        return
    elapsed = (max(days) - month.start).days + 1
    assert line is not None and line.method == "run_rate" and line.span == month
    assert abs(line.amount - actual * month.days / elapsed) < Decimal("0.0001")


def test_scan_limit_is_a_clear_error(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider(gcp_max_bytes_billed=1000)
    with pytest.raises(ScopeFailure) as err:
        provider.cost(
            billing_scope(), CostQuery(span_of(estate), "total", ("service",), "billed"), CallContext()
        )
    assert err.value.code == "invalid_query"
    assert "scan limit" in err.value.message and "FINOPS_GCP_MAX_BYTES_BILLED" in err.value.message


@pytest.mark.parametrize(
    ("table", "code", "words"),
    [
        (
            "billing-admin-prj.billing_export.no_such_table",
            "not_configured",
            "enable the Cloud Billing export",
        ),
        ("billing-admin-prj.locked.gcp_billing_export_v1_X", "forbidden", "roles/bigquery.dataViewer"),
        ("bad table; DROP", "not_configured", "project.dataset.table"),
    ],
)
def test_missing_or_refused_table_never_invents_numbers(
    make_provider: Callable[..., Any], estate: GcpEstate, table: str, code: str, words: str
) -> None:
    estate.bq.forbidden_tables.add("billing-admin-prj.locked.gcp_billing_export_v1_X")
    provider = make_provider(gcp_billing_export_table=table)
    with pytest.raises(ScopeFailure) as err:
        provider.cost(
            billing_scope(), CostQuery(span_of(estate), "total", ("service",), "billed"), CallContext()
        )
    assert err.value.code == code and words in err.value.message


def test_result_pages_are_followed(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    """More rows than one page: the client pages through getQueryResults; nothing is lost."""
    provider = make_provider()
    span = span_of(estate, back=70)
    lines = provider.cost(
        billing_scope(), CostQuery(span, "daily", ("service", "account"), "billed"), CallContext()
    )
    assert len(lines) > estate.bq.page_size
    total = sum(line.cost for line in lines)
    assert abs(total - reference_cost(estate.rows, span.start, span.end)[None]) < TOLERANCE
    assert estate.bq.server.calls("GET", r"/queries/")


def test_table_name_is_validated_and_quoted() -> None:
    from finops_mcp.providers.gcp.export import ExportTable

    t = ExportTable.parse(STANDARD_TABLE)
    assert t.ref == f"`{STANDARD_TABLE}`"
    for bad in ("a.b", "p-roject.d.t`; DELETE", "proj.d.t$20260101", "proj ect.d.t", ""):
        with pytest.raises(ScopeFailure):
            ExportTable.parse(bad)
    assert ExportTable.parse("example.com:my-project.ds.tbl").project == "example.com:my-project"
