"""Request validation, Money serialization and the budget status rule."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from finops_mcp.models import (
    BudgetState,
    CostReport,
    CostRow,
    DateRange,
    GetBudgetStatusRequest,
    GetCostRequest,
    RunAuditRequest,
    budget_state,
    to_cents,
)


def error_text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.value.errors())


# ------------------------------------------------------------------------------ GetCostRequest


def test_defaults() -> None:
    req = GetCostRequest()
    assert req.period is None and req.start_date is None and req.end_date is None
    assert req.granularity == "total"
    assert req.group_by == ["service"]
    assert req.cost_type == "billed"
    assert req.compare_previous is True
    assert req.include_forecast is False
    assert req.top_n == 20


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest.model_validate({"period": "last_month", "perod": "x"})
    assert "perod" in error_text(info)


def test_explicit_dates() -> None:
    req = GetCostRequest(start_date="2026-10-01", end_date="2026-10-31")  # type: ignore[arg-type]
    assert (req.start_date, req.end_date) == (date(2026, 10, 1), date(2026, 10, 31))
    same_day = GetCostRequest(start_date=date(2026, 10, 1), end_date=date(2026, 10, 1))
    assert same_day.start_date == same_day.end_date


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest(start_date=date(2026, 10, 31), end_date=date(2026, 10, 1))
    assert "end_date is before start_date" in error_text(info)


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [({"start_date": date(2026, 10, 1)}, "end_date"), ({"end_date": date(2026, 10, 1)}, "start_date")],
)
def test_only_one_date_is_rejected(kwargs: dict[str, Any], missing: str) -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest(**kwargs)
    assert f"{missing} is required" in error_text(info)


def test_period_and_dates_together_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest(period="last_month", start_date=date(2026, 10, 1), end_date=date(2026, 10, 31))
    assert "either period or start_date/end_date" in error_text(info)


def test_range_longer_than_two_years_is_rejected() -> None:
    with pytest.raises(ValidationError, match="longer than 2 years"):
        GetCostRequest(start_date=date(2023, 1, 1), end_date=date(2025, 12, 31))


def test_unknown_period_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest(period="last_week")  # type: ignore[arg-type]
    assert "period" in error_text(info)


def test_top_n_bounds() -> None:
    for bad in (0, -1, 1001):
        with pytest.raises(ValidationError):
            GetCostRequest(top_n=bad)
    assert GetCostRequest(top_n=1000).top_n == 1000


@pytest.mark.parametrize(
    "group_by",
    [
        [],
        ["service"],
        ["service", "region"],
        ["account", "charge_category"],
        ["resource"],
        ["tag:team"],
        ["service", "tag:cost-center"],
        ["tag:aws:createdBy", "tag:Project Name"],
        ["tag:k8s.io/cluster=x+y@z"],
    ],
)
def test_valid_group_by(group_by: list[str]) -> None:
    assert GetCostRequest(group_by=group_by).group_by == group_by


@pytest.mark.parametrize(
    ("group_by", "message"),
    [
        (["service", "region", "account"], "at most 2"),
        (["service", "service"], "must differ"),
        (["tag:team", "tag:team"], "must differ"),
        (["sku"], "is not a dimension"),
        (["Service"], "is not a dimension"),
        (["tag:"], "is not a dimension"),
        (["tag:x'; DROP TABLE t;--"], "is not a dimension"),
        (['tag:a"b'], "is not a dimension"),
        (["tag:x) OR 1=1 --"], "is not a dimension"),
        (["tag:" + "k" * 129], "is not a dimension"),
    ],
)
def test_invalid_group_by(group_by: list[str], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest(group_by=group_by)
    text = error_text(info)
    assert "group_by" in text and message in text


def test_lists_passed_as_json_strings_are_accepted() -> None:
    req = GetCostRequest.model_validate(
        {
            "providers": '["aws", "focus"]',
            "scopes": '["aws:123456789012", "focus:demo"]',
            "group_by": '["service", "tag:team"]',
            "filters": {"services": '["Amazon EC2"]', "regions": "us-east-1", "tags": '{"team": "data"}'},
        }
    )
    assert req.providers == ["aws", "focus"]
    assert req.scopes == ["aws:123456789012", "focus:demo"]
    assert req.group_by == ["service", "tag:team"]
    assert req.filters is not None
    assert req.filters.services == ["Amazon EC2"]
    assert req.filters.regions == ["us-east-1"]
    assert req.filters.tags == {"team": ["data"]}


def test_single_values_become_lists() -> None:
    req = GetCostRequest.model_validate({"providers": "aws", "group_by": "region", "scopes": "focus:demo"})
    assert req.providers == ["aws"] and req.group_by == ["region"] and req.scopes == ["focus:demo"]


def test_unknown_provider_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest.model_validate({"providers": ["aws", "oracle"]})
    assert "providers" in error_text(info)


@pytest.mark.parametrize(
    "scope",
    [
        "aws:123456789012",
        "azure:00000000-0000-0000-0000-000000000000",
        "azure-mg:my-group",
        "gcp:01ABCD-234567-89EFGH",
        "gcp-project:my-project",
        "focus:demo",
    ],
)
def test_valid_scopes(scope: str) -> None:
    assert GetCostRequest(scopes=[scope]).scopes == [scope]


@pytest.mark.parametrize(
    "scope",
    [
        "123456789012",
        "aws:",
        "oracle:1",
        "aws:1;DROP",
        "focus:../../etc/passwd'",
        "aws:" + "1" * 201,
        "AWS:1",
    ],
)
def test_invalid_scopes(scope: str) -> None:
    with pytest.raises(ValidationError) as info:
        GetCostRequest(scopes=[scope])
    assert "is not a scope" in error_text(info) or "scopes" in error_text(info)


def test_filters_reject_unknown_fields_and_bad_tag_keys() -> None:
    with pytest.raises(ValidationError):
        GetCostRequest.model_validate({"filters": {"service": ["x"]}})
    with pytest.raises(ValidationError, match="tag key"):
        GetCostRequest.model_validate({"filters": {"tags": {"x'; DROP TABLE t;--": ["a"]}}})
    req = GetCostRequest.model_validate({"filters": {"tags": {"team": ["a", "b"]}}})
    assert req.filters is not None and req.filters.tags == {"team": ["a", "b"]}
    assert not req.filters.is_empty()


def test_every_request_field_is_described() -> None:
    for model in (GetCostRequest, RunAuditRequest, GetBudgetStatusRequest):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


# ------------------------------------------------------------------------------ RunAuditRequest


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        (["aws"], ["aws"]),
        (["aws.ebs"], ["aws.ebs"]),
        (["aws.ebs.unattached_volume"], ["aws.ebs.unattached_volume"]),
        (["focus.cost_spike", "gcp.compute"], ["focus.cost_spike", "gcp.compute"]),
        ('["aws.ebs", "azure.disk"]', ["aws.ebs", "azure.disk"]),
        ("aws.ec2", ["aws.ec2"]),
    ],
)
def test_valid_check_selectors(checks: Any, expected: list[str]) -> None:
    assert RunAuditRequest.model_validate({"checks": checks}).checks == expected


@pytest.mark.parametrize(
    "selector", ["aws.", ".ebs", "AWS.EBS", "aws..ebs", "aws.ebs;rm", "a.b.c.d.e", "aws ebs", "*"]
)
def test_invalid_check_selectors(selector: str) -> None:
    with pytest.raises(ValidationError) as info:
        RunAuditRequest(checks=[selector])
    assert "is not a check id or prefix" in error_text(info)


def test_audit_min_monthly_cost() -> None:
    assert RunAuditRequest().min_monthly_cost == Decimal(0)
    assert RunAuditRequest.model_validate({"min_monthly_cost": "12.5"}).min_monthly_cost == Decimal("12.5")
    with pytest.raises(ValidationError):
        RunAuditRequest.model_validate({"min_monthly_cost": -1})
    with pytest.raises(ValidationError):
        RunAuditRequest.model_validate({"region": ["us-east-1"]})  # unknown field (regions is right)


def test_budget_request_names() -> None:
    assert GetBudgetStatusRequest.model_validate({"names": '["a", "b"]'}).names == ["a", "b"]
    assert GetBudgetStatusRequest.model_validate({"names": "only"}).names == ["only"]


# ------------------------------------------------------------------------------ Money


def test_money_rounds_to_cents_in_json_only() -> None:
    row = CostRow(
        provider="aws",
        scope="aws:1",
        keys={"service": "EC2"},
        cost=Decimal("1234.5650001"),
        previous_cost=Decimal("0.004999"),
        change_pct=12.3456,
        currency="USD",
    )
    assert row.cost == Decimal("1234.5650001")  # the Python value stays exact
    assert row.model_dump()["cost"] == Decimal("1234.5650001")
    dumped = row.model_dump(mode="json")
    assert dumped["cost"] == 1234.57
    assert dumped["previous_cost"] == 0.0
    assert dumped["change_pct"] == 12.35
    assert json.loads(row.model_dump_json())["cost"] == 1234.57


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("2.675", 2.68), ("1.005", 1.01), ("-1.005", -1.01), ("0.004", 0.0), ("10", 10.0), ("99.999", 100.0)],
)
def test_to_cents_rounds_half_up_on_the_decimal(amount: str, cents: float) -> None:
    # 2.675 as a float is 2.67499..., so rounding must happen on the Decimal
    assert to_cents(Decimal(amount)) == cents


def test_report_totals_are_summed_before_rounding() -> None:
    parts = [Decimal("0.004")] * 3
    report = CostReport(
        period=DateRange(start=date(2026, 10, 1), end=date(2026, 10, 31)),
        granularity="total",
        group_by=["service"],
        cost_type="billed",
        currency="USD",
        total=sum(parts, Decimal(0)),
        rows=[],
    )
    assert report.model_dump(mode="json")["total"] == 0.01  # not 3 x 0.00
    assert report.model_dump(mode="json")["previous_total"] is None


def test_money_schema_is_a_number() -> None:
    schema = CostRow.model_json_schema(mode="serialization")
    assert schema["properties"]["cost"]["type"] == "number"


# ------------------------------------------------------------------------------ budget_state


D = Decimal


@pytest.mark.parametrize(
    ("limit", "actual", "forecast", "thresholds", "expected"),
    [
        (None, D(500), D(900), [], "ok"),  # no limit
        (None, D(0), None, [50.0], "ok"),
        (D(100), D(100), None, [], "exceeded"),  # actual >= limit
        (D(100), D("100.01"), D(50), [], "exceeded"),
        (D(100), D(120), D(200), [50.0], "exceeded"),  # exceeded wins over forecast
        (D(100), D(10), D(100), [], "forecast_exceeded"),  # forecast >= limit
        (D(100), D(90), D(150), [80.0], "forecast_exceeded"),  # forecast wins over warning
        (D(100), D("99.99"), D("99.99"), [], "warning"),
        (D(100), D(80), None, [], "warning"),  # 80 % by default
        (D(100), D("79.99"), None, [], "ok"),
        (D(100), D(50), D(90), [50.0, 90.0], "warning"),  # lowest threshold counts
        (D(100), D("49.99"), D(90), [90.0, 50.0], "ok"),
        (D(100), D(85), None, [90.0], "ok"),  # its own threshold replaces the 80 % default
        (D(100), D(90), None, [90.0], "warning"),
        (D(200), D(25), None, [12.5], "warning"),  # fractional percent
        (D(200), D("24.99"), None, [12.5], "ok"),
        (D(100), D(0), None, [], "ok"),
    ],
)
def test_budget_state_rule(
    limit: Decimal | None,
    actual: Decimal,
    forecast: Decimal | None,
    thresholds: list[float],
    expected: BudgetState,
) -> None:
    assert budget_state(limit, actual, forecast, thresholds) == expected
