"""Budgets file (YAML / JSON) and budget actual / forecast against an independent computation."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span, calendar_span
from finops_mcp.providers.base import Filters
from finops_mcp.providers.focus.budgets import parse_budgets
from finops_mcp.providers.focus.provider import FocusProvider
from tests.unit.focus.conftest import Acme, make_settings
from tests.unit.focus.focusdata import total

YAML = """
budgets:
  - name: monthly-total
    amount: 12000
    thresholds: [50, 80, 100]
  - name: azure-eur
    amount: 700.50
    currency: eur
    dataset: acme
    filters:
      providers: [Microsoft]
  - name: ec2-data-quarter
    amount: 5000
    period: quarterly
    cost_type: effective
    filters:
      services: [Amazon EC2]
      accounts: ["012345678901"]
      regions: us-east-1
      tags: {team: data}
  - name: year
    amount: 100000
    period: annually
  - name: other-dataset
    amount: 1
    dataset: elsewhere
"""


def provider_with(acme: Acme, tmp_path: Path, text: str, suffix: str = ".yaml") -> FocusProvider:
    path = tmp_path / f"budgets{suffix}"
    path.write_text(text)
    return FocusProvider(make_settings(focus_paths=[f"acme={acme.base}/**/*"], focus_budgets=str(path)))


def rate(actual: Decimal, days: int, elapsed: int) -> Decimal:
    return (actual * days / elapsed).quantize(Decimal("1e-10"))


def test_yaml_budgets_actual_and_forecast(acme: Acme, tmp_path: Path) -> None:
    provider = provider_with(acme, tmp_path, YAML)
    ctx = CallContext()
    today = date(2024, 5, 20)
    lines = {b.name: b for b in provider.budgets(acme.scope, today, ctx)}
    assert set(lines) == {"monthly-total", "azure-eur", "ec2-data-quarter", "year"}

    may = lines["monthly-total"]
    assert may.span == Span(date(2024, 5, 1), date(2024, 5, 31)) and may.period == "monthly"
    assert may.currency == "USD" and may.limit == Decimal(12000) and may.thresholds == (50.0, 80.0, 100.0)
    actual = total(acme.rows, date(2024, 5, 1), today, "USD")
    assert may.actual == actual and may.forecast == rate(actual, 31, 20)
    assert any("monthly-total" in n and "USD cost only" in n and "EUR" in n for n in ctx.notes)

    eur = lines["azure-eur"]
    assert eur.currency == "EUR" and eur.limit == Decimal("700.50")
    eur_actual = total(acme.rows, date(2024, 5, 1), today, "EUR", providers=("Microsoft",))
    assert eur.actual == eur_actual and eur_actual > 0

    q = lines["ec2-data-quarter"]
    assert q.span == Span(date(2024, 4, 1), date(2024, 6, 30))
    filters = Filters(
        services=("Amazon EC2",),
        accounts=("012345678901",),
        regions=("us-east-1",),
        tags=(("team", ("data",)),),
    )
    q_actual = total(acme.rows, date(2024, 4, 1), today, "USD", cost_type="effective", filters=filters)
    assert q.actual == q_actual and q.forecast == rate(q_actual, 91, 50)

    year = lines["year"]
    assert year.span == Span(date(2024, 1, 1), date(2024, 12, 31))
    y_actual = total(acme.rows, date(2024, 1, 1), today, "USD")
    assert year.actual == y_actual and year.forecast == rate(y_actual, 366, 141)
    assert any("'other-dataset' names dataset 'elsewhere'" in n for n in ctx.notes)
    assert any("contract_commitments.csv" in n for n in ctx.notes)  # dataset notes reach budgets too


def test_forecast_uses_the_last_day_with_data_when_the_export_lags(acme: Acme, tmp_path: Path) -> None:
    provider = provider_with(acme, tmp_path, "[{name: q, amount: 1, period: quarterly}]")
    today = date(2024, 6, 10)  # data ends 2024-05-31
    (line,) = provider.budgets(acme.scope, today, CallContext())
    actual = total(acme.rows, date(2024, 4, 1), today, "USD")
    assert line.actual == actual and line.forecast == rate(actual, 91, 61)


def test_no_data_in_the_period_means_no_forecast(acme: Acme, tmp_path: Path) -> None:
    provider = provider_with(acme, tmp_path, json.dumps({"budgets": [{"name": "m", "amount": 10}]}), ".json")
    ctx = CallContext()
    (line,) = provider.budgets(acme.scope, date(2024, 7, 3), ctx)
    assert line.actual == 0 and line.forecast is None and line.currency == "USD"
    assert any("no forecast" in n for n in ctx.notes)


def test_json_bare_list_and_budget_currency_filters_rows(acme: Acme, tmp_path: Path) -> None:
    text = json.dumps([{"name": "eur-only", "amount": 99.99, "currency": "EUR", "period": "monthly"}])
    provider = provider_with(acme, tmp_path, text, ".json")
    (line,) = provider.budgets(acme.scope, date(2024, 4, 30), CallContext())
    actual = total(acme.rows, date(2024, 4, 1), date(2024, 4, 30), "EUR")
    assert line.currency == "EUR" and line.actual == actual and line.forecast == actual
    assert line.limit == Decimal("99.99")


def test_without_a_budgets_file_there_are_no_budgets_and_a_note(acme: Acme) -> None:
    ctx = CallContext()
    assert acme.provider.budgets(acme.scope, date(2024, 5, 1), ctx) == []
    assert any("FINOPS_FOCUS_BUDGETS" in n for n in ctx.notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "budgets:\n  - name: a\n    amount: 10\n    servics: [x]\n",
            ["budgets[0] ('a').servics", "Extra inputs"],
        ),
        ("budgets:\n  - name: a\n    amount: 10\n    filters: {accounts: [0123]}\n", ["accounts", "quoted"]),
        ("budgets:\n  - name: b\n    amount: 10\n    period: weekly\n", ["budgets[0] ('b').period"]),
        ("budgets:\n  - name: c\n    amount: -5\n", ["budgets[0] ('c').amount", "greater than 0"]),
        ("budgets:\n  - amount: 5\n", ["budgets[0].name", "required"]),
        ("budgets:\n  - {name: a, amount: 1}\n  - {name: a, amount: 2}\n", ["'a' appears twice"]),
        ("budgets: [name: a\n", ["not valid YAML/JSON"]),
        ("just text\n", ["expected a 'budgets:' list"]),
        ("budgets:\n  - {name: d, amount: 1, thresholds: [0]}\n", ["thresholds"]),
    ],
)
def test_budget_file_errors_name_the_file_and_field(text: str, expected: list[str]) -> None:
    with pytest.raises(ScopeFailure) as err:
        parse_budgets(text, "/etc/finops/budgets.yaml")
    assert err.value.code == "not_configured"
    assert "FINOPS_FOCUS_BUDGETS file /etc/finops/budgets.yaml" in err.value.message
    for part in expected:
        assert part in err.value.message


def test_amounts_are_exact_and_empty_files_have_no_budgets() -> None:
    (b,) = parse_budgets("- {name: a, amount: 1234.56, thresholds: 90}", "b.yaml")
    assert b.amount == Decimal("1234.56") and b.thresholds == [90.0] and b.cost_type == "billed"
    assert parse_budgets("", "b.yaml") == [] and parse_budgets("", "b.json") == []


def test_a_missing_budgets_file_is_not_configured(acme: Acme, tmp_path: Path) -> None:
    provider = FocusProvider(
        make_settings(focus_paths=[f"acme={acme.base}/**/*"], focus_budgets=str(tmp_path / "nope.yaml"))
    )
    with pytest.raises(ScopeFailure) as err:
        provider.budgets(acme.scope, date(2024, 5, 1), CallContext())
    assert err.value.code == "not_configured" and "nope.yaml" in err.value.message


def test_budget_file_is_reread_when_it_changes(acme: Acme, tmp_path: Path) -> None:
    provider = provider_with(acme, tmp_path, "- {name: a, amount: 1}")
    assert [b.name for b in provider.budgets(acme.scope, date(2024, 5, 1), CallContext())] == ["a"]
    (tmp_path / "budgets.yaml").write_text("- {name: a, amount: 1}\n- {name: bb, amount: 2}\n")
    assert [b.name for b in provider.budgets(acme.scope, date(2024, 5, 1), CallContext())] == ["a", "bb"]


def test_period_spans() -> None:
    assert calendar_span("monthly", date(2024, 2, 10)) == Span(date(2024, 2, 1), date(2024, 2, 29))
    assert calendar_span("quarterly", date(2024, 12, 31)) == Span(date(2024, 10, 1), date(2024, 12, 31))
    assert calendar_span("quarterly", date(2024, 2, 1)) == Span(date(2024, 1, 1), date(2024, 3, 31))
    assert calendar_span("annually", date(2024, 7, 4)) == Span(date(2024, 1, 1), date(2024, 12, 31))
