"""A FOCUS dataset in Athena end to end: the installed server over stdio, reached by the official
MCP client, answers get_cost / run_finops_audit / get_budget_status from an Athena table (the
executing fake over moto-S3 Parquet), equal to the same files queried locally."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters
from mcp.client import Client

from finops_mcp.demo.generator import DemoDataset
from tests.e2e.conftest import installed_cli
from tests.fakes.athena import AthenaFake, WorkGroup
from tests.fakes.aws_estate import base_env, moto_server

URL = "athena://AwsDataCatalog/cur/focus?workgroup=finops&output=s3://athena-results/mcp/"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_cost", {"period": "last_90_days", "group_by": ["service", "tag:team"], "granularity": "monthly"}),
    ("run_finops_audit", {"checks": ["focus"], "limit": 50}),
    ("get_budget_status", {}),
]


@pytest.fixture(scope="module")
def athena(demo_data: DemoDataset) -> Iterator[tuple[dict[str, str], AthenaFake]]:
    import boto3

    files = sorted(Path(demo_data.paths_setting.split("=", 1)[1].split("*")[0]).glob("aws/*/part-0.parquet"))
    assert files
    with moto_server() as s3_url, AthenaFake(s3_url) as fake:
        env = {**base_env(s3_url), "AWS_ENDPOINT_URL_ATHENA": fake.url}
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        s3.create_bucket(Bucket="cur-exports")
        s3.create_bucket(Bucket="athena-results")
        for path in files:
            s3.upload_file(
                str(path), "cur-exports", f"focus/data/BILLING_PERIOD={path.parent.name}/part-0.parquet"
            )
        fake.tables[("AwsDataCatalog", "cur", "focus")] = "s3://cur-exports/focus/data/"
        fake.workgroups["finops"] = WorkGroup("finops", cutoff=10**9)
        yield env, fake


def server_env(demo_env: dict[str, str], paths: str, extra: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "FINOPS_FOCUS_CACHE_DIR", "TMPDIR")}
    return {**keep, **demo_env, "FINOPS_FOCUS_PATHS": paths, **extra}


async def answers(env: dict[str, str], tmp_path: Path) -> list[dict[str, Any]]:
    params = StdioServerParameters(command=installed_cli(), args=[], env=env, cwd=str(tmp_path))
    out = []
    async with Client(params, mode="legacy", read_timeout_seconds=120) as client:
        for name, arguments in CALLS:
            result = await client.call_tool(name, arguments)
            assert not result.is_error, (name, result.content)
            out.append(result.structured_content)
    return out


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs by where it ran (timings, cache flags, notes, bytes)."""
    return {k: v for k, v in report.items() if k not in ("meta", "notes", "report_uri")}


def assert_same_reports(remote: list[dict[str, Any]], local: list[dict[str, Any]]) -> dict[str, Any]:
    """The three tools' reports (`CALLS` order) from a warehouse equal those from the files, and
    are not empty; returns the remote cost report."""
    cost, audit, budgets = remote
    assert cost["total"] > 0 and cost["rows"] and audit["summary"]["findings"] > 0
    assert budgets["summary"]["total"] >= 1
    for mine, theirs in zip(remote, local, strict=True):
        assert comparable(mine) == comparable(theirs)
    return cost


async def test_the_three_tools_answer_from_athena_as_from_the_files(
    demo_env: dict[str, str],
    demo_data: DemoDataset,
    athena: tuple[dict[str, str], AthenaFake],
    tmp_path: Path,
) -> None:
    env, fake = athena
    folder = demo_data.paths_setting.split("=", 1)[1].split("*")[0].rstrip("/")
    remote = await answers(server_env(demo_env, f"demo={URL}", env), tmp_path)
    local = await answers(server_env(demo_env, f"demo={folder}/aws/*/*.parquet", {}), tmp_path)
    cost = assert_same_reports(remote, local)
    assert cost["meta"]["bytes_scanned"]["focus.athena"] > 0  # Athena's DataScannedInBytes, reported
    assert any("Athena scanned" in n for n in cost["meta"]["notes"])
    assert fake.executions and all(e.state == "SUCCEEDED" for e in fake.executions.values())
