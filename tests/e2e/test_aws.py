"""All three tools on the emulated AWS estate through a real `mcp.client.Client`, in-process, in
both protocol eras: moto on 127.0.0.1 behind a proxy that refuses one member account's role."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from mcp.client import Client

from finops_mcp.providers.aws.checks import CHECKS
from finops_mcp.server import build_server
from finops_mcp.settings import Settings, load_settings
from tests.fakes.aws_advice import FakeAwsAdvice, seed_estate_advice
from tests.fakes.aws_estate import (
    Estate,
    apply_env,
    ce_page,
    estate_env,
    inject_ce,
    shared_estate,
)

MODES = ["legacy", "auto"]


@pytest.fixture(scope="module")
def estate() -> Estate:
    return shared_estate()


@pytest.fixture(scope="module")
def proxy(estate: Estate) -> Iterator[FakeAwsAdvice]:
    """Refuses AssumeRole into the empty 'sandbox' account: its scope must fail alone. Answers AWS's
    optimization APIs (which moto lacks) with one recommendation for every native check."""
    with FakeAwsAdvice(estate.url, deny_accounts=tuple(estate.empty_members)) as p:
        today = date.today()
        p.expected = seed_estate_advice(
            p, estate, today.isoformat(), (today - timedelta(days=30)).isoformat()
        )
        yield p


@pytest.fixture()
def settings(
    estate: Estate, proxy: FakeAwsAdvice, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    monkeypatch.chdir(tmp_path)
    env = estate_env(estate, proxy.url, aws_discover_accounts="true", aws_account_ids="", max_retries="1")
    apply_env(monkeypatch, env)
    return load_settings()


def scope(account: str) -> str:
    return f"aws:{account}"


@pytest.mark.parametrize("mode", MODES)
async def test_get_cost_follows_pages_across_accounts_and_caches(
    settings: Settings, estate: Estate, mode: str
) -> None:
    # one month per mode: each mode's question is new to the (process-wide) emulator
    start, last, ce_end = (
        ("2025-06-01", "2025-06-30", "2025-07-01")
        if mode == "legacy"
        else ("2025-08-01", "2025-08-31", "2025-09-01")
    )
    inject_ce(
        estate.url,
        estate.management,
        [
            ce_page({("Amazon EC2",): "300", ("Tax",): "30"}, start, ce_end, token="next"),
            ce_page({("Amazon EC2",): "20", ("Credit",): "-50"}, start, ce_end),
        ],
    )
    inject_ce(estate.url, estate.members[0], [ce_page({("Amazon S3",): "12.34"}, start, ce_end)])
    args = {
        "start_date": start,
        "end_date": last,
        "compare_previous": False,
        "scopes": [scope(a) for a in estate.accounts],
    }
    async with Client(build_server(settings), mode=mode) as client:
        first = await client.call_tool("get_cost", args)
        again = await client.call_tool("get_cost", args)
    assert not first.is_error, first.content
    report = first.structured_content
    assert report["total"] == 312.34 and report["currency"] == "USD" and report["errors"] == []
    rows = {(r["scope"], r["keys"]["service"]): r["cost"] for r in report["rows"]}
    assert rows == {
        (scope(estate.management), "Amazon EC2"): 320.0,
        (scope(estate.management), "Tax"): 30.0,
        (scope(estate.management), "Credit"): -50.0,
        (scope(estate.members[0]), "Amazon S3"): 12.34,
    }
    assert report["meta"]["billed_requests"] == {"aws.ce": 3}
    cached = again.structured_content
    assert cached["meta"]["cached"] is True and cached["meta"]["billed_requests"] == {}
    assert cached["total"] == report["total"]


@pytest.mark.parametrize("mode", MODES)
async def test_budget_status_of_every_reachable_account(
    settings: Settings, estate: Estate, mode: str
) -> None:
    async with Client(build_server(settings), mode=mode) as client:
        result = await client.call_tool("get_budget_status", {})
    assert not result.is_error, result.content
    report = result.structured_content
    status = {(b["scope"], b["name"]): b["status"] for b in report["budgets"]}
    for account in estate.accounts:
        assert status[(scope(account), "over")] == "exceeded"
        assert status[(scope(account), "heading-over")] == "forecast_exceeded"
        assert status[(scope(account), "planned-later")] == "ok"
    assert [b["limit"] for b in report["budgets"] if b["name"] == "planned-later"] == [None, None]
    [error] = report["errors"]
    assert error["scope"] == scope(estate.empty_members[0]) and error["code"] == "forbidden"


@pytest.mark.parametrize("mode", MODES)
async def test_audit_over_accounts_and_regions(
    settings: Settings, estate: Estate, proxy: FakeAwsAdvice, mode: str
) -> None:
    async with Client(build_server(settings), mode=mode) as client:
        result = await client.call_tool("run_finops_audit", {"checks": ["aws"], "limit": 500})
        assert not result.is_error, result.content
        report = result.structured_content
        page = report
        while page["next_cursor"]:  # pages are cut to the answer budget: read them all
            more = await client.call_tool(
                "run_finops_audit", {"checks": ["aws"], "limit": 500, "cursor": page["next_cursor"]}
            )
            page = more.structured_content
            report["findings"] += page["findings"]
    assert len(report["findings"]) == report["summary"]["findings"]
    checks = {f["check"] for f in report["findings"]}
    assert checks == set(report["checks_run"]) == {c.id for c in CHECKS}
    native = proxy.expected  # type: ignore[attr-defined]
    for check in checks:
        got = {(f["scope"], f["region"], f["resource_id"]) for f in report["findings"] if f["check"] == check}
        if check in native:  # AWS's own recommendations: each once, priced, with its source
            assert got == native[check], check
        else:
            assert {(s, r, i) for s, r, i in got} == estate.expected(check), check
    mine = [f for f in report["findings"] if f["check"] not in native]
    theirs = [f for f in report["findings"] if f["check"] in native]
    assert not {f["resource_id"] for f in mine} & estate.healthy_ids()
    assert all(f["cost_basis"] == "list_price" and f["source"] is None for f in mine)
    assert all(f["source"].startswith("AWS ") and f["estimated_monthly_cost"] > 0 for f in theirs)
    assert all(f["currency"] == "USD" for f in report["findings"])
    keys = [
        (f["scope"], f["region"], f["resource_id"]) for f in report["findings"] if f["category"] == "waste"
    ]
    assert not [k for k, n in Counter(keys).items() if n > 1]  # one resource, one finding
    orphans = [f for f in mine if f["check"] == "aws.ebs.unattached_volume"]
    assert orphans and all("Also reported by aws.rightsizing.idle" in f["detail"] for f in orphans)
    assert report["summary"]["scopes_scanned"] == 3 and report["summary"]["regions_scanned"] == 2
    assert report["summary"]["estimated_monthly_waste"] > 0
    assert report["meta"]["billed_requests"]["aws.ce"] > 0  # Cost Explorer commitment calls are billed
    denied = scope(estate.empty_members[0])
    assert {e["scope"] for e in report["errors"]} == {denied}
    assert {e["code"] for e in report["errors"]} == {"forbidden"}
