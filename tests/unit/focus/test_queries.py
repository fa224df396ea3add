"""get_cost and the forecast against an independent Decimal computation over the same rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.forecast import run_rate
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostLine, CostQuery, Filters
from finops_mcp.providers.focus import queries
from tests.unit.focus.conftest import Acme
from tests.unit.focus.focusdata import FIRST, LAST, WEIRD_TAG, WEIRD_VALUE, total, truth_cost


def got(acme: Acme, query: CostQuery, ctx: CallContext | None = None) -> dict:
    lines = acme.provider.cost(acme.scope, query, ctx or CallContext())
    result = {(line.keys, line.period_start, line.currency): line.cost for line in lines}
    assert len(result) == len(lines), "one line per key, bucket and currency"
    for line in lines:
        assert [k for k, _ in line.keys] == list(query.group_by)
    return result


def check(acme: Acme, query: CostQuery) -> dict:
    expected = truth_cost(
        acme.rows,
        query.span.start,
        query.span.end,
        query.group_by,
        query.granularity,
        query.cost_type,
        query.filters,
    )
    assert expected, "the case must select some rows"
    assert got(acme, query) == expected
    return expected


CASES = [
    (("service",), "total", "billed", Filters()),
    (("service",), "monthly", "billed", Filters()),
    (("service",), "monthly", "effective", Filters()),
    (("account",), "monthly", "billed", Filters()),
    (("account", "service"), "monthly", "effective", Filters()),
    (("region", "service"), "total", "billed", Filters()),
    (("resource",), "daily", "billed", Filters()),
    (("charge_category",), "monthly", "billed", Filters()),
    (("tag:team",), "total", "billed", Filters()),
    (("service", "tag:env"), "monthly", "effective", Filters()),
    ((), "daily", "billed", Filters()),
    ((), "total", "effective", Filters()),
    (("service",), "total", "billed", Filters(services=("Amazon EC2", "Storage"))),
    (("account",), "daily", "billed", Filters(accounts=("000123456789", "0ABCDE-012345"))),
    (("service",), "monthly", "billed", Filters(regions=("eu-west-1", "westeurope"))),
    (("resource",), "total", "billed", Filters(tags=(("team", ("data",)),))),
    (("service",), "total", "effective", Filters(tags=(("env", ("dev", "prod")), ("team", ("web",))))),
    (("service",), "total", "billed", Filters(tags=(("team", ("",)),))),  # '' = tag missing or empty
    (
        ("tag:team",),
        "monthly",
        "effective",
        Filters(services=("Amazon EC2",), accounts=("012345678901",), regions=("us-east-1",)),
    ),
]


@pytest.mark.parametrize(("group_by", "granularity", "cost_type", "filters"), CASES)
def test_cost_matches_an_independent_computation(
    acme: Acme, group_by: tuple[str, ...], granularity: str, cost_type: str, filters: Filters
) -> None:
    check(acme, CostQuery(Span(FIRST, LAST), granularity, group_by, cost_type, filters))


def test_partial_spans_have_inclusive_ends(acme: Acme) -> None:
    q = CostQuery(Span(date(2024, 4, 10), date(2024, 4, 10)), "total", ("service",), "billed")
    one_day = check(acme, q)
    assert sum(one_day.values()) > 0
    check(acme, CostQuery(Span(date(2024, 3, 15), date(2024, 4, 14)), "monthly", ("service",), "billed"))
    daily = check(acme, CostQuery(Span(date(2024, 4, 29), date(2024, 5, 2)), "daily", (), "billed"))
    assert {k[1] for k in daily} == {date(2024, 4, 29), date(2024, 4, 30), date(2024, 5, 1), date(2024, 5, 2)}
    # the end day is counted: [d1, d2] = [d1, d1] + [d1 + 1, d2]
    d1, d2 = date(2024, 5, 10), date(2024, 5, 20)
    whole = total(acme.rows, d1, d2, "USD")
    assert whole == total(acme.rows, d1, d1, "USD") + total(acme.rows, d1 + timedelta(days=1), d2, "USD")
    lines = acme.provider.cost(acme.scope, CostQuery(Span(d1, d2), "total", (), "billed"), CallContext())
    assert {line.currency: line.cost for line in lines}["USD"] == whole


def test_currencies_are_never_added(acme: Acme) -> None:
    result = got(acme, CostQuery(Span(FIRST, LAST), "total", (), "billed"))
    assert set(result) == {((), None, "USD"), ((), None, "EUR")}
    assert result[((), None, "EUR")] == total(acme.rows, FIRST, LAST, "EUR")


def test_credits_and_taxes_are_in_billed_cost(acme: Acme) -> None:
    result = got(acme, CostQuery(Span(FIRST, LAST), "total", ("charge_category",), "billed"))
    assert result[((("charge_category", "Credit"),), None, "USD")] == Decimal("-150.30")
    assert result[((("charge_category", "Tax"),), None, "USD")] == Decimal("370.35")


def test_no_rows_in_the_span_gives_no_lines(acme: Acme) -> None:
    q = CostQuery(Span(date(2023, 1, 1), date(2023, 1, 31)), "monthly", ("service",), "billed")
    assert acme.provider.cost(acme.scope, q, CallContext()) == []


def test_sql_looking_tag_keys_and_values_are_data(acme: Acme) -> None:
    by_weird = check(acme, CostQuery(Span(FIRST, LAST), "total", (f"tag:{WEIRD_TAG}",), "billed"))
    assert ((((f"tag:{WEIRD_TAG}", WEIRD_VALUE),), None, "USD")) in by_weird
    check(
        acme,
        CostQuery(
            Span(FIRST, LAST), "total", ("service",), "billed", Filters(tags=((WEIRD_TAG, (WEIRD_VALUE,)),))
        ),
    )
    hostile = Filters(
        services=("' OR 1=1 --",),
        accounts=("x'); DROP TABLE focus_cost; --",),
        regions=("\"; COPY focus_cost TO '/tmp/x.csv'; --",),
    )
    for filters in (hostile, Filters(tags=(("team') OR 1=1 --", ("data",)),))):
        assert (
            acme.provider.cost(
                acme.scope, CostQuery(Span(FIRST, LAST), "total", (), "billed", filters), CallContext()
            )
            == []
        )
    check(acme, CostQuery(Span(FIRST, LAST), "total", ("service",), "billed"))  # the table is intact


def test_unknown_dimension_and_cost_type_are_invalid_queries(acme: Acme) -> None:
    for q in (
        CostQuery(Span(FIRST, LAST), "total", ("service; DROP TABLE focus_cost",), "billed"),
        CostQuery(Span(FIRST, LAST), "total", ("tag:",), "billed"),
        CostQuery(Span(FIRST, LAST), "total", ("service",), "amortized"),
        CostQuery(Span(FIRST, LAST), "weekly", ("service",), "billed"),
    ):
        with pytest.raises(ScopeFailure) as err:
            acme.provider.cost(acme.scope, q, CallContext())
        assert err.value.code == "invalid_query"


# ---------------------------------------------------------------------------------------------
# forecast
# ---------------------------------------------------------------------------------------------


def test_forecast_is_the_run_rate_of_the_month_containing_the_end(acme: Acme) -> None:
    ctx = CallContext()
    end = date(2024, 5, 20)
    q = CostQuery(
        Span(date(2024, 5, 1), end), "total", ("service",), "effective", Filters(services=("Amazon S3",))
    )
    line = acme.provider.forecast(acme.scope, q, ctx)
    actual = total(acme.rows, date(2024, 5, 1), end, "USD", cost_type="effective", filters=q.filters)
    assert line is not None and line.method == "run_rate" and line.currency == "USD"
    assert line.span == Span(date(2024, 5, 1), date(2024, 5, 31))
    assert line.amount == (actual * 31 / 20).quantize(Decimal("1e-10"))
    assert any("USD only" in n and "EUR" in n for n in ctx.notes) is False  # filtered to S3: USD only


def test_forecast_notes_other_currencies_and_a_complete_month_is_its_actual(acme: Acme) -> None:
    ctx = CallContext()
    q = CostQuery(Span(date(2024, 4, 1), date(2024, 4, 30)), "total", (), "billed")
    line = acme.provider.forecast(acme.scope, q, ctx)
    assert line is not None and line.currency == "USD"
    assert line.amount == total(acme.rows, date(2024, 4, 1), date(2024, 4, 30), "USD")
    assert any("covers USD only" in n and "EUR" in n for n in ctx.notes)


def test_forecast_counts_elapsed_days_through_the_last_day_with_data(acme: Acme) -> None:
    # ask for the month of June 2024 up to the 10th: no data in June at all -> no forecast
    ctx = CallContext()
    q = CostQuery(Span(date(2024, 6, 1), date(2024, 6, 10)), "total", (), "billed")
    assert acme.provider.forecast(acme.scope, q, ctx) is None
    assert any("no run-rate forecast" in n for n in ctx.notes)


def test_run_rate() -> None:
    may = Span(date(2024, 5, 1), date(2024, 5, 31))
    assert run_rate(Decimal(100), may, None, date(2024, 5, 20)) is None
    assert run_rate(Decimal(100), may, date(2024, 5, 10), date(2024, 5, 20)) == Decimal(310)  # export lag
    assert run_rate(Decimal(100), may, date(2024, 5, 31), date(2024, 5, 10)) == Decimal(310)  # today earlier
    assert run_rate(Decimal(62), may, date(2024, 5, 31), date(2024, 6, 5)) == Decimal(62)
    assert run_rate(Decimal(1), may, date(2024, 4, 30), date(2024, 5, 5)) is None


def test_several_periods_in_one_scan_equal_one_query_each(acme: Acme) -> None:
    current, previous = Span(date(2024, 4, 11), date(2024, 5, 10)), Span(date(2024, 3, 12), date(2024, 4, 10))
    query = CostQuery(current, "total", ("service", "resource"), "effective", quantity=True)
    ctx = CallContext()
    both = acme.provider.cost_periods(acme.scope, query, [current, previous], ctx)
    one_each = [acme.provider.cost(acme.scope, replace(query, span=s), ctx) for s in (current, previous)]

    def by_key(lines: list[CostLine]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        return {(ln.keys, ln.currency): (ln.cost, ln.quantity, ln.unit, ln.period_start) for ln in lines}

    assert [by_key(x) for x in both] == [by_key(x) for x in one_each]
    assert both[0] and both[1]
    sql, _ = queries.periods_sql(query, [current, previous])
    assert sql.count(f"FROM {queries.TABLE}") == 1
    with pytest.raises(ScopeFailure, match="granularity 'total'"):
        queries.periods_sql(replace(query, granularity="daily"), [current])
