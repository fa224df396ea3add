"""The FOCUS provider over an Athena table answers exactly as over the same rows as local Parquet:
get_cost (groupings, tags, filters, granularities, forecast), budgets and every focus.* check, to
the cent. The Athena side is the real boto3 client against the executing fake (tests/fakes/athena.py),
which also refuses SQL that Trino would (so the rendered queries are checked for Athena on the way)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.periods import Span
from finops_mcp.providers.base import AuditUnit, CostQuery, Filters
from finops_mcp.providers.focus.provider import FocusProvider
from tests.fakes.athena import AthenaFake, WorkGroup
from tests.fakes.aws_estate import base_env, moto_server
from tests.unit.focus.conftest import make_settings, scope
from tests.unit.focus.focusdata import acme_rows, row, write_parquet
from tests.unit.focus.planted import planted_rows

OUTPUT = "s3://athena-results/focus/"
URL = f"athena://AwsDataCatalog/cur/focus?workgroup=finops&output={OUTPUT}"
BUDGETS = """
budgets:
  - {name: monthly-total, amount: 12000, thresholds: [50, 80, 100]}
  - {name: azure-eur, amount: 700.50, currency: eur, filters: {providers: [Microsoft]}}
  - name: ec2-data-quarter
    amount: 5000
    period: quarterly
    cost_type: effective
    filters: {services: [Amazon EC2], accounts: ["012345678901"], regions: us-east-1, tags: {team: data}}
  - {name: year, amount: 100000, period: annually}
"""
SETTINGS: dict[str, Any] = {"required_tags": ["team"], "spike_min_daily_cost": "5"}


@dataclass
class Pair:
    local: FocusProvider
    athena: FocusProvider
    fake: AthenaFake


def all_rows() -> list[dict[str, Any]]:
    rows = [r for part in acme_rows().values() for r in part] + planted_rows()
    rows.append(row(date(2024, 4, 2), "3.33", ServiceName="Amazon S3", Tags={"o'brien": "it's"}))
    return rows


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    import boto3

    base = tmp_path_factory.mktemp("athena-focus")
    rows = all_rows()
    months = sorted({r["ChargePeriodStart"].strftime("%Y-%m") for r in rows})
    for month in months:  # the AWS Data Exports layout: one folder per billing period
        part = [r for r in rows if r["ChargePeriodStart"].strftime("%Y-%m") == month]
        write_parquet(base / f"BILLING_PERIOD={month}" / "part-0.parquet", part, tags="map")
    budgets = base.parent / "budgets.yaml"
    budgets.write_text(BUDGETS)
    mp = pytest.MonkeyPatch()
    with moto_server() as s3_url, AthenaFake(s3_url) as fake:
        for key, value in {**base_env(s3_url), "AWS_ENDPOINT_URL_ATHENA": fake.url}.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        s3 = boto3.client("s3", endpoint_url=s3_url)
        s3.create_bucket(Bucket="cur-exports")
        s3.create_bucket(Bucket="athena-results")
        for path in sorted(base.rglob("*.parquet")):
            s3.upload_file(str(path), "cur-exports", f"focus/data/{path.relative_to(base).as_posix()}")
        fake.tables[("AwsDataCatalog", "cur", "focus")] = "s3://cur-exports/focus/data/"
        fake.workgroups["finops"] = WorkGroup("finops", cutoff=10**9)
        common = {**SETTINGS, "focus_budgets": str(budgets)}
        local = FocusProvider(make_settings(focus_paths=[f"acme={base}/**/*.parquet"], **common))
        athena = FocusProvider(make_settings(focus_paths=[f"acme={URL}"], **common))
        yield Pair(local, athena, fake)
        local.close()
        athena.close()
    mp.undo()


ALL = Span(date(2024, 1, 1), date(2024, 5, 31))
MARCH_APRIL = Span(date(2024, 3, 1), date(2024, 4, 30))
QUERIES = (
    CostQuery(ALL, "total", ("service",), "billed"),
    CostQuery(ALL, "monthly", ("account", "tag:team"), "effective"),
    CostQuery(ALL, "daily", ("region",), "billed"),
    CostQuery(MARCH_APRIL, "monthly", ("tag:o'brien", "charge_category"), "billed"),
    CostQuery(
        ALL, "total", ("resource",), "billed",
        filters=Filters(services=("Amazon EC2", "Amazon S3"), tags=(("team", ("data", "")),)),
    ),
    CostQuery(ALL, "monthly", ("service",), "billed",
              filters=Filters(regions=("us-east-1",), accounts=("012345678901",))),
)  # fmt: skip


def cost(provider: FocusProvider, q: CostQuery) -> dict[Any, Any]:
    lines = provider.cost(scope("acme"), q, CallContext())
    return {(line.keys, line.period_start, line.currency): line.cost for line in lines}


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: f"{q.granularity}-{'-'.join(q.group_by)}")
def test_cost_equals_the_local_answer_to_the_cent(pair: Pair, q: CostQuery) -> None:
    local = cost(pair.local, q)
    assert local  # never a vacuous match
    assert cost(pair.athena, q) == local


def test_forecast_and_budgets_equal_the_local_answer(pair: Pair) -> None:
    q = CostQuery(Span(date(2024, 5, 1), date(2024, 5, 31)), "total", (), "billed")
    assert pair.athena.forecast(scope("acme"), q, CallContext()) == pair.local.forecast(
        scope("acme"), q, CallContext()
    )
    today = date(2024, 5, 20)
    local = pair.local.budgets(scope("acme"), today, CallContext())
    assert len(local) == 4
    assert pair.athena.budgets(scope("acme"), today, CallContext()) == local


@pytest.mark.parametrize("region", [None, "us-east-1"])
def test_every_focus_check_finds_the_same_findings(pair: Pair, region: str | None) -> None:
    checks = list(pair.local.checks())
    unit = AuditUnit(scope("acme"), region)
    local = pair.local.audit(unit, checks, CallContext())
    ctx = CallContext()
    remote = pair.athena.audit(unit, checks, ctx)
    assert remote.checks_run == local.checks_run
    found = {f.check for f in local.findings}
    if region is None:  # every check has something to find in these rows
        assert found >= {c.id for c in checks} - {"focus.commitment_coverage"}, found
    key = lambda f: (f.check, f.resource_id, f.region)  # noqa: E731
    assert sorted(remote.findings, key=key) == sorted(local.findings, key=key)
    assert any("Athena scanned" in n for n in ctx.notes)


def test_the_queries_are_bound_and_valid_for_athena(pair: Pair) -> None:
    """Every query the provider sent ran (the fake refuses Trino-invalid SQL), values travelled as
    ExecutionParameters or escaped literals, and bytes were counted."""
    executions = list(pair.fake.executions.values())
    assert executions and all(e.state == "SUCCEEDED" for e in executions), [
        e.reason for e in executions if e.state != "SUCCEEDED"
    ]
    assert any("'o''brien'" in e.query for e in executions)  # a tag key in the select list
    assert any("'Amazon EC2'" in e.params for e in executions)  # a filter in WHERE, bound
    assert all("Amazon EC2" not in e.query for e in executions)
