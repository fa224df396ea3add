"""Query bodies and result parsing, without a server: the mapping of the request, rows read by
column name whatever the column order, tag groupings, monthly folding, paging guard."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finops_mcp.periods import Span
from finops_mcp.providers.azure import costquery
from finops_mcp.providers.azure.costquery import Page
from finops_mcp.providers.base import CostQuery, Filters

SPAN = Span(date(2026, 10, 1), date(2026, 10, 31))


def test_body_maps_cost_type_groupings_granularity_and_filters() -> None:
    q = CostQuery(
        SPAN,
        "daily",
        ("service", "tag:team"),
        "effective",
        Filters(
            services=("Storage",), accounts=("s1", "s2"), regions=("westeurope",), tags=(("env", ("prod",)),)
        ),
    )
    body = costquery.query_body(q, accounts_filter=True)
    assert body["type"] == "AmortizedCost" and body["timeframe"] == "Custom"
    assert body["timePeriod"] == {"from": "2026-10-01T00:00:00+00:00", "to": "2026-10-31T23:59:59+00:00"}
    ds = body["dataset"]
    assert ds["granularity"] == "Daily"
    assert ds["grouping"] == [
        {"type": "Dimension", "name": "ServiceName"},
        {"type": "TagKey", "name": "team"},
    ]
    assert ds["filter"] == {
        "and": [
            {"dimensions": {"name": "ServiceName", "operator": "In", "values": ["Storage"]}},
            {"dimensions": {"name": "SubscriptionId", "operator": "In", "values": ["s1", "s2"]}},
            {"dimensions": {"name": "ResourceLocation", "operator": "In", "values": ["westeurope"]}},
            {"tags": {"name": "env", "operator": "In", "values": ["prod"]}},
        ]
    }
    total = costquery.query_body(CostQuery(SPAN, "total", ("account", "charge_category"), "billed"))
    assert total["type"] == "ActualCost" and "granularity" not in total["dataset"]
    assert [g["name"] for g in total["dataset"]["grouping"]] == ["SubscriptionId", "ChargeType"]
    assert "filter" not in total["dataset"]
    one = costquery.query_body(
        CostQuery(SPAN, "total", ("region",), "billed", Filters(accounts=("s1",))), accounts_filter=False
    )
    assert "filter" not in one["dataset"]  # a subscription scope is already one account
    with pytest.raises(ValueError):
        costquery.groupings(["service", "region", "resource"])


def test_rows_are_read_by_column_name_in_any_order() -> None:
    q = CostQuery(SPAN, "total", ("service",), "billed")
    pages = [
        Page(
            ("Cost", "ServiceName", "Currency"),
            [[1.5, "Storage", "USD"], [2, "Virtual Machines", "USD"]],
            None,
        ),
        Page(("Currency", "ServiceName", "Cost"), [["USD", "Storage", 0.25], ["EUR", "Storage", 3]], None),
        Page(("ServiceName", "PreTaxCost", "Currency"), [["Storage", "1.25", "USD"]], None),
    ]
    lines = {
        (dict(line.keys)["service"], line.currency): line.cost for line in costquery.cost_lines(pages, q)
    }
    assert lines == {
        ("Storage", "USD"): Decimal("3.00"),
        ("Virtual Machines", "USD"): Decimal(2),
        ("Storage", "EUR"): Decimal(3),
    }


def test_tag_grouping_and_monthly_folding() -> None:
    q = CostQuery(Span(date(2026, 9, 29), date(2026, 10, 2)), "monthly", ("tag:Team",), "billed")
    page = Page(
        ("UsageDate", "TagKey", "TagValue", "Cost", "Currency"),
        [
            [20260929, "team", "web", 1, "USD"],
            [20260930, "team", "web", 2, "USD"],
            [20261001, "team", "web", 4, "USD"],
            [20261002, "", "", 8, "USD"],
            [20261002, "other", "x", 16, "USD"],  # a different tag key: not this tag's value
        ],
        None,
    )
    lines = {
        (line.period_start, dict(line.keys)["tag:Team"]): line.cost
        for line in costquery.cost_lines([page], q)
    }
    assert lines == {
        (date(2026, 9, 1), "web"): Decimal(3),
        (date(2026, 10, 1), "web"): Decimal(4),
        (date(2026, 10, 1), ""): Decimal(24),
    }


def test_missing_columns_are_errors_not_wrong_numbers() -> None:
    q = CostQuery(SPAN, "daily", ("service",), "billed")
    with pytest.raises(ValueError, match="UsageDate"):
        costquery.cost_lines([Page(("Cost", "ServiceName"), [[1, "x"]], None)], q)
    with pytest.raises(ValueError, match="Cost"):
        costquery.cost_lines([Page(("Amount", "ServiceName", "UsageDate"), [[1, "x", 20261001]], None)], q)


def test_dates_and_resource_costs() -> None:
    assert costquery.parse_day(20261031) == date(2026, 10, 31)
    assert costquery.parse_day("2026-10-01T00:00:00") == date(2026, 10, 1)
    page = Page(
        ("ResourceId", "Cost", "Currency"),
        [["/SUBSCRIPTIONS/S/Disk", 1, "USD"], ["/subscriptions/s/disk", 2, "USD"]],
        None,
    )
    assert costquery.costs_by_resource([page]) == {"/subscriptions/s/disk": (Decimal(3), "USD")}


def test_pages_follow_next_link_and_refuse_a_loop() -> None:
    answers = {"a": {"properties": {"columns": [{"name": "Cost"}], "rows": [[2]], "nextLink": "b"}}}
    answers["b"] = {"properties": {"columns": [{"name": "Cost"}], "rows": [[3]], "nextLink": None}}
    first = {"properties": {"columns": [{"name": "Cost"}], "rows": [[1]], "nextLink": "a"}}
    pages = list(costquery.iterate_pages(lambda: first, answers.__getitem__))
    assert [p.rows for p in pages] == [[[1]], [[2]], [[3]]]
    answers["b"]["properties"]["nextLink"] = "a"
    with pytest.raises(ValueError, match="nextLink twice"):
        list(costquery.iterate_pages(lambda: first, answers.__getitem__))
