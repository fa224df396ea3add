"""FOCUS datasets in Athena: the provider over an Athena table answers exactly as over the same
rows as local Parquet (`warehouse_cases.answers`: get_cost in every shape, periods, forecast,
budgets, every focus.* check, to the cent). The Athena side is the real boto3 client against the
executing fake (tests/fakes/athena.py), which also FAILS SQL that Trino would refuse, so every
rendered query is checked for Athena on the way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostQuery
from finops_mcp.providers.focus.provider import FocusProvider
from tests.fakes.athena import AthenaFake, WorkGroup
from tests.fakes.aws_estate import base_env, moto_server
from tests.unit.focus.conftest import make_settings, scope
from tests.unit.focus.focusdata import WEIRD_TAG, write_parquet
from tests.unit.focus.warehouse_cases import (
    BUDGETS,
    REQUIRED_TAGS,
    TABLES,
    assert_same_answers,
    first_last,
    write_local,
)

OUTPUT = "s3://athena-results/focus/"


@dataclass
class Athena:
    fake: AthenaFake
    local: dict[str, str]  # dataset name -> FINOPS_FOCUS_PATHS entry of the local Parquet
    budgets: Path

    @staticmethod
    def url(name: str) -> str:
        return f"{name}=athena://AwsDataCatalog/cur/{name}?workgroup=finops&output={OUTPUT}"


@pytest.fixture(scope="module")
def athena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Athena]:
    """Each planted table in moto's S3 as AWS Data Exports lays it out (one folder per billing
    period, Tags a map), catalogued in the fake as AwsDataCatalog.cur.<name>."""
    import boto3

    tmp = tmp_path_factory.mktemp("athena-focus")
    mp = pytest.MonkeyPatch()
    with moto_server() as s3_url, AthenaFake(s3_url) as fake:
        for key, value in {**base_env(s3_url), "AWS_ENDPOINT_URL_ATHENA": fake.url}.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        s3 = boto3.client("s3", endpoint_url=s3_url)
        for bucket in ("cur-exports", "athena-results"):
            s3.create_bucket(Bucket=bucket)
        for name, rows in TABLES.items():
            by_month: dict[str, list[dict[str, Any]]] = {}
            for r in rows():
                by_month.setdefault(r["ChargePeriodStart"].strftime("%Y-%m"), []).append(r)
            for month, part in sorted(by_month.items()):
                path = write_parquet(tmp / name / f"BILLING_PERIOD={month}" / "part-0.parquet", part)
                s3.upload_file(str(path), "cur-exports", f"{name}/data/BILLING_PERIOD={month}/part-0.parquet")
            fake.tables[("AwsDataCatalog", "cur", name)] = f"s3://cur-exports/{name}/data/"
        fake.workgroups["finops"] = WorkGroup("finops", cutoff=10**9)
        budgets = tmp / "budgets.yaml"
        budgets.write_text(BUDGETS)
        yield Athena(fake, write_local(tmp / "local"), budgets)
    mp.undo()


def provider(athena: Athena, entry: str) -> FocusProvider:
    return FocusProvider(
        make_settings(focus_paths=[entry], focus_budgets=str(athena.budgets), required_tags=REQUIRED_TAGS)
    )


@pytest.mark.parametrize("name", list(TABLES))
def test_athena_answers_equal_local_answers_to_the_cent(athena: Athena, name: str) -> None:
    local, remote = provider(athena, athena.local[name]), provider(athena, athena.url(name))
    assert_same_answers(local, remote, name, before_remote=athena.fake.executions.clear)
    # what went to Athena: every query ran (none refused as Trino-invalid), values bound or escaped
    executions = list(athena.fake.executions.values())
    assert executions
    assert all(e.state == "SUCCEEDED" for e in executions), [e.reason for e in executions if e.reason]
    assert all(
        p.startswith(("'", "DATE '", "DECIMAL '")) or p.isdigit() for e in executions for p in e.params
    )
    assert not any("Amazon EC2" in e.query for e in executions)  # a filter value: bound in WHERE
    if name == "acme":  # a tag key read in the select list: the escaped literal, never raw text
        quoted = "'" + WEIRD_TAG.replace("'", "''") + "'"
        assert any(quoted in e.query for e in executions)
        assert all(WEIRD_TAG not in e.query.replace(quoted, "") for e in executions)


def test_bytes_scanned_are_reported_and_the_cutoff_bounds_a_dataset(athena: Athena) -> None:
    first, last = first_last("acme")
    q = CostQuery(Span(first, last), "total", ("service",), "billed")
    ok = provider(athena, athena.url("acme"))
    ctx = CallContext()
    try:
        assert ok.cost(scope("acme"), q, ctx)
    finally:
        ok.close()
    assert ctx.scanned.snapshot()["focus.athena"] > 0 and ctx.billed.snapshot()["aws.athena"] >= 1
    assert any("Athena scanned" in n for n in ctx.notes)
    athena.fake.workgroups["tight"] = WorkGroup("tight", cutoff=1000)
    capped = provider(athena, athena.url("acme").replace("workgroup=finops", "workgroup=tight"))
    try:
        with pytest.raises(ScopeFailure, match="scan limit of 1000 bytes") as err:
            capped.cost(scope("acme"), q, CallContext())
    finally:
        capped.close()
    assert err.value.code == "invalid_query"
