"""FOCUS exports in object storage, read in place through fsspec, against emulators on 127.0.0.1:
S3 on moto's server, Azure Blob on Azurite (npm, installed by `.ci/emulators`), GCS on
gcp-storage-emulator (PyPI). Answers must equal the local answer on the same files, to the cent,
and the lock must allow only the configured bucket / container and prefix."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
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


# ------------------------------------------------------------------------------------- Azure / GCS

ROOT = Path(__file__).resolve().parents[3]
Upload = Callable[[Path, str], None]  # (local folder, "container/prefix")


def check_remote(tmp_path: Path, scheme: str, upload: Upload) -> None:
    """The acme dataset under <scheme>://focus/exports/acme answers as the local files do; the lock
    refuses a sibling prefix and another container."""
    base, _ = write_acme(tmp_path / "local")
    upload(base, "focus/exports/acme")
    upload(base, "focus/private/acme")
    cache = str(tmp_path / "cache")
    local = FocusProvider(make_settings(focus_paths=[f"acme={base}/**/*"], focus_cache_dir=cache))
    remote = FocusProvider(
        make_settings(focus_paths=[f"acme={scheme}://focus/exports/acme/"], focus_cache_dir=cache)
    )
    assert answers(remote, "acme") == answers(local, "acme")
    cur = remote._store.get("acme").cursor()
    for sql in (
        f"SELECT * FROM read_parquet('{scheme}://focus/private/acme/aws/2024-03/part-0.parquet')",
        f"SELECT * FROM read_parquet('{scheme}://elsewhere/acme/aws/2024-03/part-0.parquet')",
        f"SELECT * FROM read_parquet('{scheme}://focus/exports/acme/../../private/acme/aws/2024-03/part-0.parquet')",
        "SELECT * FROM read_csv('/etc/passwd')",
    ):
        with pytest.raises(duckdb.Error):
            cur.execute(sql).fetchall()
    remote.close()
    local.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _azurite_binary() -> str | None:
    local = ROOT / ".ci" / ".tools" / "node_modules" / ".bin" / "azurite-blob"
    found = str(local) if local.exists() else shutil.which("azurite-blob")
    if found is None and os.environ.get("TEST_REQUIRE_EMULATORS"):
        pytest.fail("azurite-blob is not installed: run .ci/emulators")
    return found


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _azurite_binary()
    if binary is None:
        pytest.skip("azurite-blob not installed (npm; .ci/emulators installs it)")
    folder = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [binary, "--blobHost", "127.0.0.1", "--blobPort", "0", "--loose", "--skipApiVersionCheck",
         "--location", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    port = None
    deadline = time.monotonic() + 60
    while port is None and time.monotonic() < deadline:
        match = re.search(r"listens on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
        port = int(match.group(1)) if match else None
    assert port, "Azurite did not start"
    account = "devstoreaccount1"
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{account};"
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
    yield conn
    mp.undo()
    proc.kill()  # Azurite takes its time over SIGTERM
    proc.wait(timeout=10)


def test_azure_blob_exports_answer_as_the_same_files_locally(azurite: str, tmp_path: Path) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite)
    service.create_container("focus")
    service.create_container("elsewhere")

    def upload(local: Path, target: str) -> None:
        container, prefix = target.split("/", 1)
        client = service.get_container_client(container)
        for path in sorted(local.rglob("*")):
            if path.is_file():
                with open(path, "rb") as fh:
                    client.upload_blob(f"{prefix}/{path.relative_to(local).as_posix()}", fh, overwrite=True)

    check_remote(tmp_path, "az", upload)


@pytest.fixture(scope="module")
def gcs() -> Iterator[str]:
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    yield f"http://127.0.0.1:{port}"
    mp.undo()
    server.stop()


def test_gcs_exports_answer_as_the_same_files_locally(gcs: str, tmp_path: Path) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage as gcs_storage

    client = gcs_storage.Client(project="test", credentials=AnonymousCredentials())
    client.create_bucket("focus")
    client.create_bucket("elsewhere")

    def upload(local: Path, target: str) -> None:
        bucket_name, prefix = target.split("/", 1)
        bucket = client.bucket(bucket_name)
        for path in sorted(local.rglob("*")):
            if path.is_file():
                bucket.blob(f"{prefix}/{path.relative_to(local).as_posix()}").upload_from_filename(str(path))

    check_remote(tmp_path, "gs", upload)
