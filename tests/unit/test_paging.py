"""Bounded answers: audit pages and cursors, the answer budget of get_cost and get_budget_status."""

from __future__ import annotations

from datetime import date

import pytest

from finops_mcp import paging
from finops_mcp.errors import InputError
from finops_mcp.models import GetBudgetStatusRequest, GetCostRequest, RunAuditRequest
from finops_mcp.providers import Registry
from finops_mcp.service import FinOpsService
from finops_mcp.settings import load_settings
from tests.fakes.provider import FakeProvider

TODAY = date(2026, 11, 21)


def make(**settings: object) -> tuple[FinOpsService, FakeProvider]:
    fake = FakeProvider(scope_ids=("a", "b", "c"), regions=("r1", "r2", "r3"))
    svc = FinOpsService(load_settings(**settings), today=lambda: TODAY, registry=Registry.of({"fake": fake}))
    return svc, fake


async def test_paging_yields_every_finding_once_costliest_first_with_summary_over_all() -> None:
    svc, fake = make()
    whole = await svc.run_audit(RunAuditRequest(limit=500))
    assert whole.next_cursor is None and whole.report_uri
    total = whole.summary.findings
    assert total == len(whole.findings) > 10
    keys = [(f.check, f.resource_id) for f in whole.findings]

    req = RunAuditRequest(limit=4)
    first = await svc.run_audit(req)
    assert len(first.findings) == 4 and first.summary == whole.summary and first.next_cursor
    assert any("pass cursor=next_cursor" in n for n in first.meta.notes)
    seen, page = [(f.check, f.resource_id) for f in first.findings], first
    calls_before = len(fake.calls)
    while page.next_cursor:
        page = await svc.run_audit(req.model_copy(update={"cursor": page.next_cursor}))
        seen += [(f.check, f.resource_id) for f in page.findings]
        assert page.summary == whole.summary
    assert seen == keys  # every finding once, in the same order (highest monthly cost first)
    assert len(fake.calls) == calls_before  # later pages come from the kept result
    costs = [f.estimated_monthly_cost for f in whole.findings]
    assert costs == sorted(costs, reverse=True)


async def test_a_cursor_is_bound_to_its_arguments_and_rejects_garbage() -> None:
    svc, _ = make()
    first = await svc.run_audit(RunAuditRequest(limit=2))
    assert first.next_cursor
    with pytest.raises(InputError) as info:
        await svc.run_audit(RunAuditRequest(limit=2, min_monthly_cost=10, cursor=first.next_cursor))
    assert info.value.field == "cursor" and "other arguments" in info.value.message
    # the page size may change between pages
    second = await svc.run_audit(RunAuditRequest(limit=3, cursor=first.next_cursor))
    assert len(second.findings) == 3
    for bad in ("nope", "W10", paging.Cursor("x", -1, "y").encode()):
        with pytest.raises(InputError) as info:
            await svc.run_audit(RunAuditRequest(cursor=bad))
        assert info.value.field == "cursor"


async def test_an_unknown_or_expired_result_is_a_clear_error() -> None:
    svc, _ = make()
    req = RunAuditRequest(limit=2)
    cursor = paging.Cursor("gone", 2, paging.args_digest(req)).encode()
    with pytest.raises(InputError) as info:
        await svc.run_audit(req.model_copy(update={"cursor": cursor}))
    assert "expired" in info.value.message and "without `cursor`" in info.value.message


async def test_the_same_question_reuses_the_kept_result_while_cached() -> None:
    svc, fake = make()
    a = await svc.run_audit(RunAuditRequest(limit=2))
    calls = len(fake.calls)
    b = await svc.run_audit(RunAuditRequest(limit=2))
    assert b.report_uri == a.report_uri and b.meta.cached and len(fake.calls) == calls
    off, _ = make(cache_ttl_seconds=0)
    x = await off.run_audit(RunAuditRequest(limit=2))
    y = await off.run_audit(RunAuditRequest(limit=2))
    assert x.report_uri != y.report_uri  # cache off: asked again, yet each result still pages
    assert x.next_cursor and (await off.run_audit(RunAuditRequest(limit=2, cursor=x.next_cursor))).findings


async def test_a_page_is_cut_to_the_answer_budget_and_continues_where_it_ends() -> None:
    svc, _ = make()
    whole = await svc.run_audit(RunAuditRequest(limit=500))
    small = paging.answer_chars(whole.model_copy(update={"findings": whole.findings[:3]})) + 1600
    page = await svc.run_audit(RunAuditRequest(limit=500), max_chars=small)
    assert 1 <= len(page.findings) < len(whole.findings) and page.next_cursor
    assert paging.answer_chars(page) <= small
    assert any("answer budget" in n for n in page.meta.notes)
    rest = await svc.run_audit(RunAuditRequest(limit=500, cursor=page.next_cursor))
    assert [f.resource_id for f in page.findings + rest.findings] == [f.resource_id for f in whole.findings]


async def test_the_stored_report_holds_every_finding() -> None:
    svc, _ = make()
    page = await svc.run_audit(RunAuditRequest(limit=1))
    assert page.report_uri is not None
    stored = svc.stored_report(page.report_uri.rsplit("/", 1)[1])
    assert stored is not None and len(stored.findings) == page.summary.findings
    assert svc.stored_report("unknown") is None


async def test_get_cost_over_the_budget_is_refused_naming_the_fix() -> None:
    svc, _ = make()
    req = GetCostRequest(period="last_90_days", granularity="daily", top_n=1000)
    with pytest.raises(InputError) as info:
        await svc.get_cost(req, max_chars=20_000)
    assert info.value.field == "top_n" and "FINOPS_ANSWER_MAX_CHARS" in info.value.message
    assert "granularity" in info.value.message
    report = await svc.get_cost(req)  # no budget (the CLI): the whole answer
    assert len(report.rows) > 100
    assert (await svc.get_cost(GetCostRequest(), max_chars=60_000)).rows


async def test_budgets_beyond_the_budget_are_left_out_most_urgent_kept() -> None:
    svc, _ = make()
    whole = await svc.get_budget_status(GetBudgetStatusRequest())
    limit = paging.answer_chars(whole.model_copy(update={"budgets": whole.budgets[:2]})) + 1700
    cut = await svc.get_budget_status(GetBudgetStatusRequest(), max_chars=limit)
    assert 1 <= len(cut.budgets) < len(whole.budgets)
    assert cut.budgets == whole.budgets[: len(cut.budgets)] and cut.summary == whole.summary
    assert any("left out" in n for n in cut.meta.notes)
