"""FOCUS exports in object storage, read in place through fsspec, against emulators on 127.0.0.1:
S3 on moto's server. Answers must equal the local answer on the same files, to the cent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostQuery
from finops_mcp.providers.focus.provider import FocusProvider
from tests.unit.focus.conftest import make_settings, scope
from tests.unit.focus.focusdata import FIRST, LAST, row, write_acme, write_parquet

ALL = Span(FIRST, LAST)
QUERIES = (
    CostQuery(ALL, "total", ("service",), "billed"),
    CostQuery(ALL, "monthly", ("account", "tag:team"), "effective"),
    CostQuery(ALL, "daily", ("region",), "billed"),
)


def answers(provider: FocusProvider, name: str) -> list[dict]:
    out = []
    for q in QUERIES:
        lines = provider.cost(scope(name), q, CallContext())
        out.append({(line.keys, line.period_start, line.currency): line.cost for line in lines})
    return out


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    mp = pytest.MonkeyPatch()
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        mp.setenv(key, value)
    mp.delenv("AWS_PROFILE", raising=False)
    yield f"http://{host}:{port}"
    mp.undo()
    server.stop()


def _upload(local: Path, bucket: str, prefix: str) -> None:
    import boto3

    client = boto3.client("s3")
    for path in sorted(local.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(local).as_posix()}")


def test_s3_exports_answer_as_the_same_files_locally_and_the_lock_holds(s3: str, tmp_path: Path) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket="focus-exports")
    boto3.client("s3").create_bucket(Bucket="other-bucket")
    base, _ = write_acme(tmp_path / "local")
    _upload(base, "focus-exports", "exports/acme")
    _upload(base, "focus-exports", "private/acme")
    _upload(base, "other-bucket", "acme")
    cache = str(tmp_path / "cache")
    local = FocusProvider(make_settings(focus_paths=[f"acme={base}/**/*"], focus_cache_dir=cache))
    remote = FocusProvider(
        make_settings(focus_paths=["acme=s3://focus-exports/exports/acme/"], focus_cache_dir=cache)
    )
    assert answers(remote, "acme") == answers(local, "acme")
    info = remote.describe()["datasets"][0]
    assert info["files"] == 10 and [Path(s["path"]).name for s in info["skipped_files"]] == [
        "contract_commitments.csv"
    ]
    cur = remote._store.get("acme").cursor()
    for sql in (
        "SELECT * FROM read_parquet('s3://focus-exports/private/acme/aws/2024-03/part-0.parquet')",
        "SELECT * FROM read_parquet('s3://other-bucket/acme/aws/2024-03/part-0.parquet')",
        "SELECT * FROM read_parquet('s3://focus-exports/exports/acme/../../private/acme/aws/2024-03/part-0.parquet')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('https://example.com/x.parquet')",
        "COPY (SELECT 1) TO 's3://focus-exports/exports/acme/x.csv'",
    ):
        with pytest.raises(duckdb.Error):
            cur.execute(sql).fetchall()
    listed = boto3.client("s3").list_objects_v2(Bucket="focus-exports", Prefix="exports/acme/x.csv")
    assert listed.get("KeyCount", 0) == 0  # COPY TO inside the allowed prefix wrote nothing
    # a new object is seen at the next call
    extra = write_parquet(tmp_path / "extra.parquet", [row(FIRST, "1000")])
    boto3.client("s3").upload_file(str(extra), "focus-exports", "exports/acme/extra/x.parquet")
    q = CostQuery(Span(FIRST, FIRST), "total", (), "billed")
    before = sum(line.cost for line in local.cost(scope("acme"), q, CallContext()) if line.currency == "USD")
    after = sum(line.cost for line in remote.cost(scope("acme"), q, CallContext()) if line.currency == "USD")
    assert after - before == 1000


def test_aws_data_exports_manifests_decide_which_files_count(s3: str, tmp_path: Path) -> None:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket="cur-bucket")
    prefix = "focus/my-export"
    runs = {"my-export-00001.snappy.parquet": "10", "my-export-00002.snappy.parquet": "5"}
    for name, cost in runs.items():
        local = write_parquet(tmp_path / name, [row(FIRST, cost)])
        client.upload_file(str(local), "cur-bucket", f"{prefix}/data/BILLING_PERIOD=2024-03/{name}")
    stale = write_parquet(tmp_path / "old.parquet", [row(FIRST, "10")])  # a superseded run
    client.upload_file(
        str(stale), "cur-bucket", f"{prefix}/data/BILLING_PERIOD=2024-03/old-00001.snappy.parquet"
    )
    manifest = {
        "exportName": "my-export",
        "billingPeriod": "2024-03",
        "dataFiles": [f"s3://cur-bucket/{prefix}/data/BILLING_PERIOD=2024-03/{n}" for n in runs],
    }
    client.put_object(
        Bucket="cur-bucket",
        Key=f"{prefix}/metadata/BILLING_PERIOD=2024-03/my-export-Manifest.json",
        Body=json.dumps(manifest).encode(),
    )
    provider = FocusProvider(
        make_settings(focus_paths=[f"cur=s3://cur-bucket/{prefix}/"], focus_cache_dir=str(tmp_path / "c"))
    )
    ctx = CallContext()
    lines = provider.cost(scope("cur"), CostQuery(Span(FIRST, FIRST), "total", (), "billed"), ctx)
    assert [line.cost for line in lines] == [15]
    assert any("superseded" in n and "old-00001" in n for n in ctx.notes)


def test_a_missing_bucket_or_prefix_is_a_clear_scope_error(s3: str, tmp_path: Path) -> None:
    provider = FocusProvider(
        make_settings(focus_paths=["x=s3://focus-exports/nothing-here/"], focus_cache_dir=str(tmp_path))
    )
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("x"), CostQuery(ALL, "total", (), "billed"), CallContext())
    assert err.value.code == "not_configured" and "s3://focus-exports/nothing-here/" in err.value.message
