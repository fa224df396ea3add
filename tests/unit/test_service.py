"""The service layer over a fake provider: merging, comparison, folding, errors, cache, budgets, audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from finops_mcp.errors import InputError, ScopeFailure
from finops_mcp.models import GetBudgetStatusRequest, GetCostRequest, RunAuditRequest
from finops_mcp.providers import Registry
from finops_mcp.service import FinOpsService, all_failed
from finops_mcp.settings import load_settings
from tests.fakes.provider import FakeProvider

TODAY = date(2026, 11, 21)
YESTERDAY = date(2026, 11, 20)


def make(provider: FakeProvider | None = None, **settings: object) -> tuple[FinOpsService, FakeProvider]:
    fake = provider or FakeProvider()
    svc = FinOpsService(load_settings(**settings), today=lambda: TODAY, registry=Registry.of({"fake": fake}))
    return svc, fake


def truth(fake: FakeProvider, scope: str, start: date, end: date, services=None) -> Decimal:
    total, day = Decimal(0), start
    while day <= end:
        for service in services or fake.services:
            total += fake.daily_cost(scope, service, day)
        day += timedelta(days=1)
    return total


async def test_cost_totals_previous_period_and_change() -> None:
    svc, fake = make()
    report = await svc.get_cost(GetCostRequest())
    assert (report.period.start, report.period.end) == (date(2026, 11, 1), YESTERDAY)
    assert (report.previous_period.start, report.previous_period.end) == (
        date(2026, 10, 1),
        date(2026, 10, 20),
    )
    expected = truth(fake, "a", date(2026, 11, 1), YESTERDAY) + truth(fake, "b", date(2026, 11, 1), YESTERDAY)
    assert report.total == expected
    prev = truth(fake, "a", date(2026, 10, 1), date(2026, 10, 20)) + truth(
        fake, "b", date(2026, 10, 1), date(2026, 10, 20)
    )
    assert report.previous_total == prev
    assert report.change_pct == pytest.approx(float((expected - prev) / prev * 100))
    assert sum(r.cost for r in report.rows) == expected
    assert all(r.previous_cost is not None for r in report.rows)
    assert report.meta.scopes_queried == 2 and report.errors == []
    assert report.meta.billed_requests == {"fake.cost": 4}  # 2 scopes x (current + previous)


async def test_top_n_folds_the_rest_into_other_and_keeps_the_total() -> None:
    svc, _fake = make()
    report = await svc.get_cost(GetCostRequest(top_n=3, compare_previous=False))
    assert len(report.rows) == 4
    other = report.rows[-1]
    assert other.keys == {"service": "(other)"} and other.scope == "*"
    assert sum(r.cost for r in report.rows) == report.total
    assert [r.cost for r in report.rows[:3]] == sorted((r.cost for r in report.rows[:3]), reverse=True)
    assert any("folded" in n for n in report.meta.notes)


async def test_daily_granularity_has_one_row_per_day_and_key() -> None:
    svc, fake = make(FakeProvider(scope_ids=("a",)))
    report = await svc.get_cost(
        GetCostRequest(
            start_date=date(2026, 10, 1),
            end_date=date(2026, 10, 3),
            granularity="daily",
            top_n=100,
            compare_previous=False,
        )
    )
    assert {r.period_start for r in report.rows} == {date(2026, 10, d) for d in (1, 2, 3)}
    day2 = [r for r in report.rows if r.period_start == date(2026, 10, 2)]
    assert len(day2) == len(fake.services)
    assert report.total == truth(fake, "a", date(2026, 10, 1), date(2026, 10, 3))


async def test_currencies_are_never_added_together() -> None:
    svc, fake = make(FakeProvider(currency={"b": "EUR"}))
    report = await svc.get_cost(GetCostRequest(compare_previous=False))
    a = truth(fake, "a", date(2026, 11, 1), YESTERDAY)
    b = truth(fake, "b", date(2026, 11, 1), YESTERDAY)
    assert {report.currency, report.other_currencies[0].currency} == {"USD", "EUR"}
    assert {report.total, report.other_currencies[0].total} == {a, b}


async def test_one_failing_scope_gives_partial_result_with_structured_error() -> None:
    svc, _fake = make(FakeProvider(scope_ids=("a", "b", "c"), fail={"b": ("forbidden", False)}))
    report = await svc.get_cost(GetCostRequest())
    assert {r.scope for r in report.rows} == {"focus:a", "focus:c"}
    assert [(e.scope, e.code) for e in report.errors] == [("focus:b", "forbidden")]
    assert not all_failed(report)


async def test_every_scope_failing_is_a_total_failure() -> None:
    svc, _ = make(FakeProvider(scope_ids=("a",), fail={"a": ("auth", False)}))
    report = await svc.get_cost(GetCostRequest())
    assert all_failed(report) and report.rows == []


async def test_repeated_question_is_served_from_cache() -> None:
    svc, fake = make()
    first = await svc.get_cost(GetCostRequest(group_by=["service"], filters={"services": ["db", "ai"]}))
    calls = len(fake.calls)
    second = await svc.get_cost(GetCostRequest(filters={"services": ["ai", "db"]}, group_by=["service"]))
    assert not first.meta.cached and second.meta.cached
    assert len(fake.calls) == calls and second.meta.billed_requests == {}
    assert second.total == first.total


async def test_cache_ttl_zero_disables_it() -> None:
    svc, fake = make(cache_ttl_seconds=0)
    await svc.get_cost(GetCostRequest())
    calls = len(fake.calls)
    report = await svc.get_cost(GetCostRequest())
    assert not report.meta.cached and len(fake.calls) == 2 * calls


async def test_failures_are_not_cached() -> None:
    fake = FakeProvider(scope_ids=("a",), fail={"a": ("throttled", True)})
    svc, _ = make(fake, max_retries=0)
    await svc.get_cost(GetCostRequest(compare_previous=False))
    fake.fail.clear()
    report = await svc.get_cost(GetCostRequest(compare_previous=False))
    assert report.errors == [] and report.total > 0


async def test_unknown_scope_is_reported_not_invented() -> None:
    svc, _ = make()
    report = await svc.get_cost(GetCostRequest(scopes=["focus:a", "focus:zzz"]))
    assert {r.scope for r in report.rows} == {"focus:a"}
    assert report.errors[0].code == "not_found" and "focus:zzz" in report.errors[0].message


async def test_forecast_is_included_for_the_current_month() -> None:
    svc, _ = make()
    report = await svc.get_cost(GetCostRequest(include_forecast=True))
    assert report.forecast is not None and report.forecast.amount == Decimal(2000)
    assert report.forecast.period.start == date(2026, 11, 1)


async def test_budgets_status_summary_and_name_filter() -> None:
    svc, _ = make(FakeProvider(scope_ids=("a",)))
    report = await svc.get_budget_status(GetBudgetStatusRequest())
    status = {b.name: b.status for b in report.budgets}
    assert status == {
        "a-over": "exceeded",
        "a-fcst": "forecast_exceeded",
        "a-warn": "warning",
        "a-ok": "ok",
        "a-nolimit": "ok",
    }
    assert (
        report.summary.exceeded,
        report.summary.forecast_exceeded,
        report.summary.warning,
        report.summary.ok,
    ) == (1, 1, 1, 2)
    over = next(b for b in report.budgets if b.name == "a-over")
    assert over.percent_used == 150.0 and over.forecast_percent == 200.0
    nolimit = next(b for b in report.budgets if b.name == "a-nolimit")
    assert nolimit.limit is None and nolimit.percent_used is None
    only = await svc.get_budget_status(GetBudgetStatusRequest(names=["a-ok", "missing"]))
    assert [b.name for b in only.budgets] == ["a-ok"] and any("missing" in n for n in only.meta.notes)


async def test_audit_fans_out_scope_by_region_and_summarises() -> None:
    svc, _fake = make()
    report = await svc.run_audit(RunAuditRequest())
    assert report.summary.scopes_scanned == 2 and report.summary.regions_scanned == 2
    assert report.summary.by_check["fake.disk.idle"].count == 8
    # governance findings are reported but are not "waste"
    assert report.summary.estimated_monthly_waste == Decimal(8 * 45 // 2)
    assert report.findings[0].estimated_monthly_cost >= report.findings[-1].estimated_monthly_cost
    assert sorted(report.checks_run) == ["fake.disk.idle", "fake.tagging.untagged"]


async def test_audit_filters_by_check_prefix_region_and_min_cost() -> None:
    svc, _ = make()
    report = await svc.run_audit(RunAuditRequest(checks=["fake.disk"], regions=["r1"], min_monthly_cost=10))
    assert report.checks_run == ["fake.disk.idle"]
    assert {f.region for f in report.findings} == {"r1"}
    assert all(f.estimated_monthly_cost >= 10 for f in report.findings) and len(report.findings) == 2


async def test_unknown_check_is_an_input_error_naming_the_field() -> None:
    svc, _ = make()
    with pytest.raises(InputError) as info:
        await svc.run_audit(RunAuditRequest(checks=["fake.nope"]))
    assert info.value.field == "checks" and "fake.disk.idle" in info.value.message


async def test_audit_partial_failure_names_scope_and_region() -> None:
    svc, _ = make(FakeProvider(fail={"b": ("forbidden", False)}))
    report = await svc.run_audit(RunAuditRequest())
    assert {f.scope for f in report.findings} == {"focus:a"}
    assert {e.scope for e in report.errors} == {"focus:b"} and all(
        e.code == "forbidden" for e in report.errors
    )


async def test_progress_is_reported_per_scope_call() -> None:
    svc, _ = make()
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int, what: str) -> None:
        seen.append((done, total))

    await svc.get_cost(GetCostRequest(), progress=progress)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


async def test_no_provider_configured_is_a_clear_error() -> None:
    svc = FinOpsService(load_settings(focus_paths=[]), today=lambda: TODAY)
    report = await svc.get_cost(GetCostRequest())
    assert all_failed(report)
    assert "FINOPS_FOCUS_PATHS" in report.errors[0].message


async def test_a_provider_that_is_not_enabled_is_a_not_configured_error() -> None:
    svc = FinOpsService(
        load_settings(providers=["focus"], focus_paths=["/nonexistent/*.csv"]), today=lambda: TODAY
    )
    report = await svc.get_cost(GetCostRequest(providers=["aws"]))
    assert report.errors[0].code == "not_configured" and "aws" in report.errors[0].message
    assert "FINOPS_PROVIDERS" in report.errors[0].message


class OneRegionFails(FakeProvider):
    def audit(self, unit, checks, ctx):  # type: ignore[no-untyped-def]
        if unit.region == "r2":
            raise ScopeFailure("forbidden", "not allowed in r2")
        return super().audit(unit, checks, ctx)


async def test_a_region_failing_is_partial_not_total_failure() -> None:
    svc, _ = make(OneRegionFails(scope_ids=("a",)))
    report = await svc.run_audit(RunAuditRequest())
    assert report.findings and {f.region for f in report.findings} == {"r1"}
    assert report.errors[0].message.endswith("in r2")
    assert not all_failed(report)
