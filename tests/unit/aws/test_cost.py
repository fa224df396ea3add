"""Cost Explorer: request mapping, answer parsing, paging and billing, the resource window, and the
forecast (moto has no GetCostForecast: botocore's Stubber answers it)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span, utc_today
from finops_mcp.providers.aws import cost, guard
from finops_mcp.providers.aws.provider import AwsProvider
from finops_mcp.providers.base import CostQuery, Filters
from tests.fakes.aws_estate import Estate, ce_page, inject_ce
from tests.unit.aws.conftest import aws_scope

OCT = Span(date(2026, 10, 1), date(2026, 10, 31))


def test_request_maps_dimensions_filters_metric_and_exclusive_end() -> None:
    query = CostQuery(
        OCT,
        "daily",
        ("charge_category", "tag:team"),
        "effective",
        Filters(services=("Amazon EC2",), regions=("eu-west-1",), tags=(("team", ("data", "web")),)),
    )
    request = cost.build_request(query, "111122223333")
    assert request["TimePeriod"] == {"Start": "2026-10-01", "End": "2026-11-01"}
    assert request["Granularity"] == "DAILY" and request["Metrics"] == ["AmortizedCost"]
    assert request["GroupBy"] == [{"Type": "DIMENSION", "Key": "RECORD_TYPE"}, {"Type": "TAG", "Key": "team"}]
    assert request["Filter"] == {
        "And": [
            {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111122223333"]}},
            {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon EC2"]}},
            {"Dimensions": {"Key": "REGION", "Values": ["eu-west-1"]}},
            {"Tags": {"Key": "team", "Values": ["data", "web"]}},
        ]
    }
    plain = cost.build_request(CostQuery(OCT, "total", ("service", "account"), "billed"), "1")
    assert plain["Granularity"] == "MONTHLY" and plain["Metrics"] == ["UnblendedCost"]
    assert plain["Filter"] == {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["1"]}}
    assert [g["Key"] for g in plain["GroupBy"]] == ["SERVICE", "LINKED_ACCOUNT"]


def test_parse_sums_months_for_total_and_strips_tag_prefixes() -> None:
    query = CostQuery(Span(date(2026, 9, 15), date(2026, 10, 10)), "total", ("tag:team",), "billed")
    pages = [
        ce_page({("team$data",): "10.5", ("team$",): "1"}, "2026-09-15", "2026-10-01", token="p2"),
        ce_page({("team$data",): "4.5"}, "2026-10-01", "2026-10-11"),
    ]
    lines = {ln.keys: ln for ln in cost.parse_pages(pages, query)}
    assert lines[(("tag:team", "data"),)].cost == Decimal("15.0")
    assert lines[(("tag:team", "data"),)].period_start is None
    assert lines[(("tag:team", ""),)].cost == Decimal("1")
    monthly = cost.parse_pages(pages, CostQuery(query.span, "monthly", ("tag:team",), "billed"))
    assert {ln.period_start for ln in monthly} == {date(2026, 9, 1), date(2026, 10, 1)}


def test_parse_ungrouped_uses_the_total() -> None:
    page = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-10-01"},
                "Total": {"UnblendedCost": {"Amount": "-3", "Unit": "USD"}},
            }
        ]
    }
    [line] = cost.parse_pages([page], CostQuery(OCT, "daily", (), "billed"))
    assert line.keys == () and line.cost == Decimal(-3) and line.period_start == date(2026, 10, 1)


def test_every_page_is_followed_and_billed_per_account(provider: AwsProvider, estate: Estate) -> None:
    query = CostQuery(Span(date(2025, 1, 1), date(2025, 1, 31)), "total", ("service",), "billed")
    start, end = "2025-01-01", "2025-02-01"
    inject_ce(
        estate.url,
        estate.management,
        [
            ce_page({("Amazon EC2",): "100.25", ("AWS Lambda",): "1"}, start, end, token="page-2"),
            ce_page({("Amazon EC2",): "0.75", ("Tax",): "20"}, start, end),
        ],
    )
    member = estate.members[0]
    inject_ce(estate.url, member, [ce_page({("Amazon S3",): "7"}, start, end)])
    ctx = CallContext()
    lines = {ln.keys[0][1]: ln.cost for ln in provider.cost(aws_scope(estate.management), query, ctx)}
    assert lines == {"Amazon EC2": Decimal("101.00"), "AWS Lambda": Decimal(1), "Tax": Decimal(20)}
    assert ctx.billed.snapshot() == {"aws.ce": 2}
    member_ctx = CallContext()
    member_lines = provider.cost(aws_scope(member), query, member_ctx)  # through the assumed role
    assert [(ln.keys, ln.cost) for ln in member_lines] == [((("service", "Amazon S3"),), Decimal(7))]
    assert member_ctx.billed.snapshot() == {"aws.ce": 1}


def test_account_filter_excluding_the_scope_costs_nothing(provider: AwsProvider, estate: Estate) -> None:
    ctx = CallContext()
    query = CostQuery(OCT, "total", ("service",), "billed", Filters(accounts=("999999999999",)))
    assert provider.cost(aws_scope(estate.management), query, ctx) == []
    assert ctx.billed.snapshot() == {}


def test_resource_grouping_older_than_14_days_is_refused_before_any_request(
    provider: AwsProvider, estate: Estate
) -> None:
    ctx = CallContext()
    query = CostQuery(Span(utc_today() - timedelta(days=30), utc_today()), "total", ("resource",), "billed")
    with pytest.raises(ScopeFailure) as err:
        provider.cost(aws_scope(estate.management), query, ctx)
    assert err.value.code == "invalid_query" and "14 days" in err.value.message
    assert ctx.billed.snapshot() == {}


def stubbed_ce() -> tuple[Any, Any]:
    import boto3
    from botocore.stub import Stubber

    client = guard.install(
        boto3.client(
            "ce",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            endpoint_url="http://127.0.0.1:9",  # never reached: the Stubber answers
        )
    )
    return client, Stubber(client)


def test_resource_grouping_uses_the_with_resources_api() -> None:
    client, stub = stubbed_ce()
    today = date(2026, 11, 20)
    query = CostQuery(Span(date(2026, 11, 13), date(2026, 11, 19)), "total", ("resource",), "billed")
    stub.add_response(
        "get_cost_and_usage_with_resources",
        ce_page({("i-0abc",): "12", ("NoResourceId",): "3"}, "2026-11-13", "2026-11-20"),
        cost.build_request(query, "111122223333")
        | {"GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]},
    )
    ctx = CallContext()
    with stub:
        lines = cost.cost_lines(client, query, "111122223333", today, ctx)
    stub.assert_no_pending_responses()
    assert {ln.keys[0][1]: ln.cost for ln in lines} == {"i-0abc": Decimal(12), "": Decimal(3)}
    assert ctx.billed.snapshot() == {"aws.ce": 1}


def test_forecast_is_month_to_date_actual_plus_the_ce_forecast_of_the_rest() -> None:
    client, stub = stubbed_ce()
    today = date(2026, 11, 20)
    query = CostQuery(Span(date(2026, 11, 1), today), "total", ("service",), "effective")
    account_filter = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111122223333"]}}
    stub.add_response(
        "get_cost_and_usage",
        {
            "ResultsByTime": [
                {
                    "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-20"},
                    "Total": {"AmortizedCost": {"Amount": "190", "Unit": "USD"}},
                }
            ]
        },
        {
            "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-20"},
            "Granularity": "MONTHLY",
            "Metrics": ["AmortizedCost"],
            "Filter": account_filter,
        },
    )
    stub.add_response(
        "get_cost_forecast",
        {"Total": {"Amount": "110.5", "Unit": "USD"}, "ForecastResultsByTime": []},
        {
            "TimePeriod": {"Start": "2026-11-20", "End": "2026-12-01"},
            "Metric": "AMORTIZED_COST",
            "Granularity": "MONTHLY",
            "Filter": account_filter,
        },
    )
    ctx = CallContext()
    with stub:
        line = cost.forecast(client, query, "111122223333", today, ctx)
    stub.assert_no_pending_responses()
    assert line is not None
    assert line.amount == Decimal("300.5") and line.currency == "USD" and line.method == "aws_cost_explorer"
    assert line.span == Span(date(2026, 11, 1), date(2026, 11, 30))
    assert ctx.billed.snapshot() == {"aws.ce": 2}


def test_no_forecast_for_a_month_already_over() -> None:
    client, _ = stubbed_ce()
    query = CostQuery(OCT, "total", (), "billed")
    assert cost.forecast(client, query, "1", date(2026, 11, 20), CallContext()) is None


def test_quantity_rides_in_the_same_request_and_mixed_units_are_dropped(
    provider: AwsProvider, estate: Estate
) -> None:
    query = CostQuery(
        Span(date(2025, 3, 1), date(2025, 3, 31)), "total", ("service",), "billed", quantity=True
    )
    assert cost.build_request(query, "1")["Metrics"] == ["UnblendedCost", "UsageQuantity"]
    page = ce_page({("Amazon S3",): "23", ("Amazon EC2",): "50"}, "2025-03-01", "2025-04-01")
    for group in page["ResultsByTime"][0]["Groups"]:
        s3 = group["Keys"] == ["Amazon S3"]
        # CE adds quantities of different units and says "N/A" (EC2: hours + GB here)
        group["Metrics"]["UsageQuantity"] = {
            "Amount": "1000" if s3 else "812.5",
            "Unit": "GB-Mo" if s3 else "N/A",
        }
    inject_ce(estate.url, estate.management, [page])
    ctx = CallContext()
    lines = {ln.keys[0][1]: ln for ln in provider.cost(aws_scope(estate.management), query, ctx)}
    assert (lines["Amazon S3"].cost, lines["Amazon S3"].quantity, lines["Amazon S3"].unit) == (
        Decimal(23),
        Decimal(1000),
        "GB-Mo",
    )
    assert lines["Amazon EC2"].quantity is None and lines["Amazon EC2"].unit is None
    assert ctx.billed.snapshot() == {"aws.ce": 1}
