"""A FOCUS dataset in BigQuery end to end: the installed server over stdio, reached by the official
MCP client, answers get_cost / run_finops_audit / get_budget_status from a table shaped like
Google's FOCUS export in the executing BigQuery fake, equal to the same rows queried locally."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finops_mcp.demo.generator import DemoDataset
from tests.e2e.test_athena import answers, comparable, server_env
from tests.fakes.gcp import FakeGcp, service_account_file
from tests.fakes.gcp_bigquery import FOCUS_EXPORT_SCHEMA, FakeBigQuery
from tests.fakes.http import FakeHTTPServer

TABLE = "finops-ci.gcp_billing_immutable_0ABCDE_us.gcp_billing_export_focus_0ABCDE"
NINE = Decimal("0.000000001")
MONEY = ("BilledCost", "EffectiveCost", "PricingQuantity")


def export_rows(demo_data: DemoDataset) -> list[dict[str, Any]]:
    """The demo's AWS rows with the export's columns, amounts as NUMERIC holds them (9 decimals)."""
    folder = Path(demo_data.paths_setting.split("=", 1)[1].split("*")[0])
    names = [f["name"] for f in FOCUS_EXPORT_SCHEMA]
    rows = []
    for path in sorted(folder.glob("aws/*/part-0.parquet")):
        for r in pq.read_table(path).to_pylist():
            row = {n: r.get(n) for n in names}
            for k in MONEY:
                row[k] = None if row[k] is None else Decimal(repr(row[k])).quantize(NINE)
            row["Tags"] = dict(r.get("Tags") or [])
            rows.append(row)
    assert rows
    return rows


def write_local(rows: list[dict[str, Any]], path: Path) -> Path:
    cols: dict[str, pa.Array] = {}
    for f in FOCUS_EXPORT_SCHEMA:
        name, values = f["name"], [r[f["name"]] for r in rows]
        if name in MONEY:
            cols[name] = pa.array(values, pa.decimal128(38, 9))
        elif f["type"] == "TIMESTAMP":
            cols[name] = pa.array(values, pa.timestamp("us", tz="UTC"))
        elif name == "Tags":
            cols[name] = pa.array([list(v.items()) for v in values], pa.map_(pa.string(), pa.string()))
        else:
            cols[name] = pa.array(values, pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path)
    return path


@pytest.fixture(scope="module")
def bigquery(
    demo_data: DemoDataset, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], Path, FakeBigQuery]]:
    tmp = tmp_path_factory.mktemp("bq-e2e")
    rows = export_rows(demo_data)
    local = write_local(rows, tmp / "local" / "focus.parquet")
    with FakeHTTPServer() as api_server, FakeHTTPServer() as bq_server:
        api = FakeGcp(api_server)
        bq = FakeBigQuery(bq_server, page_size=200)
        bq.add_table(
            TABLE,
            FOCUS_EXPORT_SCHEMA,
            [dict(r, Tags=[{"key": k, "value": v} for k, v in r["Tags"].items()]) for r in rows],
            partitioned=False,
        )
        env = {
            "GOOGLE_APPLICATION_CREDENTIALS": str(service_account_file(tmp, api.url + "/token")),
            "FINOPS_GCP_BIGQUERY_ENDPOINT": bq.url,
            "CLOUDSDK_CONFIG": str(tmp / "gcloud"),
        }
        yield env, local, bq
        bq.close()


async def test_the_three_tools_answer_from_bigquery_as_from_the_files(
    demo_env: dict[str, str],
    bigquery: tuple[dict[str, str], Path, FakeBigQuery],
    tmp_path: Path,
) -> None:
    env, local, bq = bigquery
    project, dataset, table = TABLE.split(".")
    remote = await answers(
        server_env(demo_env, f"demo=bigquery://{project}/{dataset}/{table}", env), tmp_path
    )
    here = await answers(server_env(demo_env, f"demo={local}", {}), tmp_path)
    cost, audit, budgets = remote
    assert cost["total"] > 0 and cost["rows"] and audit["summary"]["findings"] > 0
    assert budgets["summary"]["total"] >= 1
    for mine, theirs in zip(remote, here, strict=True):
        assert comparable(mine) == comparable(theirs)
    assert cost["meta"]["bytes_scanned"]  # BigQuery's totalBytesProcessed, reported
    assert any("BigQuery scanned" in n for n in cost["meta"]["notes"])
    assert bq.queries and all("@p" in sql or "?" not in sql for sql, _ in bq.queries)
