"""The Athena backend (finops_mcp/providers/focus/warehouse/athena.py) driven through the real boto3
client against the executing Athena fake (tests/fakes/athena.py) over Parquet in moto's S3 server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext, Cancelled
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus.warehouse.athena import AthenaBackend, literal, prepare
from finops_mcp.providers.focus.warehouse.base import WarehouseTable
from tests.fakes.athena import AthenaFake, WorkGroup
from tests.fakes.aws_estate import base_env, moto_server
from tests.unit.focus.conftest import make_settings
from tests.unit.focus.focusdata import FIRST, row, write_parquet

TABLE = ("AwsDataCatalog", "cur", "focus")
OUTPUT = "s3://athena-results/finops/"
FQN = '"AwsDataCatalog"."cur"."focus"'


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def planted(s3_url: str, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """2,500 FOCUS rows in s3://focus-exports/focus/ (3 files), one service name that looks like SQL."""
    import boto3

    rows = [row(FIRST, f"{i}.25", ServiceName="Amazon EC2" if i % 2 else "Amazon S3") for i in range(2500)]
    rows[7]["ServiceName"] = "x' OR '1'='1"
    rows[8]["Tags"] = {"team": "o'brien"}
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="focus-exports")
    s3.create_bucket(Bucket="athena-results")
    base = tmp_path_factory.mktemp("athena")
    for i, chunk in enumerate((rows[:1000], rows[1000:2000], rows[2000:])):
        path = write_parquet(base / f"part-{i}.parquet", chunk)
        s3.upload_file(str(path), "focus-exports", f"focus/data/BILLING_PERIOD=2024-03/part-{i}.parquet")
    return rows


@pytest.fixture()
def fake(s3_url: str, planted: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Iterator[AthenaFake]:
    with AthenaFake(s3_url) as athena:
        athena.tables[TABLE] = "s3://focus-exports/focus/"
        for key, value in {**base_env(s3_url), "AWS_ENDPOINT_URL_ATHENA": athena.url}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield athena


def backend(**options: str) -> AthenaBackend:
    opts = {"workgroup": "primary", "output": OUTPUT, **options}
    query = "&".join(f"{k}={v}" for k, v in opts.items())
    table = WarehouseTable("athena", TABLE, opts, f"athena://{'/'.join(TABLE)}?{query}")
    return AthenaBackend(table, make_settings())


def retrying() -> CallContext:
    return CallContext(retry_policy=RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.02))


# --- parameters ----------------------------------------------------------------------------------
def test_parameters_are_sent_as_the_literals_athena_substitutes() -> None:
    assert literal("o'brien") == "'o''brien'"
    assert literal("x' OR '1'='1") == "'x'' OR ''1''=''1'"
    assert literal(date(2024, 3, 1)) == "DATE '2024-03-01'"
    assert literal(Decimal("1.50")) == "DECIMAL '1.50'"
    assert literal(Decimal("1E+3")) == "DECIMAL '1000'"
    assert literal(42) == "42" and literal(True) == "TRUE"
    assert literal(datetime(2024, 3, 1, 2, tzinfo=timezone.utc)) == "TIMESTAMP '2024-03-01 02:00:00.000000'"
    with pytest.raises(ScopeFailure):
        literal(Decimal("NaN"))
    with pytest.raises(ScopeFailure):
        literal(1.5)
    # `?` in WHERE is bound; elsewhere (Athena refuses it there) it becomes the same literal
    sql, bound = prepare(
        "SELECT element_at(tags, ?) AS t, '?' AS q FROM focus WHERE d >= ? AND s IN (?, ?) GROUP BY 1",
        ["te'am", date(2024, 3, 1), "a", "b"],
    )
    assert (
        sql == "SELECT ELEMENT_AT(tags, 'te''am') AS t, '?' AS q FROM focus "
        "WHERE d >= ? AND s IN (?, ?) GROUP BY 1"
    )
    assert bound == ["DATE '2024-03-01'", "'a'", "'b'"]
    with pytest.raises(ScopeFailure, match="2 placeholders for 1"):
        prepare("SELECT 1 FROM t WHERE a = ? AND b = ?", ["x"])


def test_sql_looking_values_are_values(fake: AthenaFake, planted: list[dict[str, Any]]) -> None:
    sql = f'SELECT count(*), sum("BilledCost") FROM {FQN} WHERE "ServiceName" = ?'
    tricky = backend().run(sql, ["x' OR '1'='1"], CallContext())
    assert tricky.rows == [(1, Decimal("7.25"))]
    assert backend().run(sql, ["Amazon EC2' OR '1'='1"], CallContext()).rows == [(0, None)]
    tag = backend().run(
        f'SELECT element_at("Tags", ?) FROM {FQN} WHERE element_at("Tags", ?) = ?',
        ["team", "team", "o'brien"],
        CallContext(),
    )
    assert tag.rows == [("o'brien",)]
    sent = [e for e in fake.executions.values()][-1]
    assert sent.params == ["'team'", "'o''brien'"] and "ELEMENT_AT(\"Tags\", 'team')" in sent.query


# --- results ---------------------------------------------------------------------------------------
def test_results_page_past_1000_rows_with_the_header_skipped(
    fake: AthenaFake, planted: list[dict[str, Any]]
) -> None:
    result = backend().run(
        f'SELECT "BilledCost" FROM {FQN} WHERE "BillingCurrency" = ?', ["USD"], CallContext()
    )
    assert len(result.rows) == 2500
    assert sorted(Decimal(str(r[0])) for r in result.rows) == sorted(
        Decimal(r["BilledCost"]) for r in planted
    )
    assert fake.actions.count("GetQueryResults") == 3  # 1000 (header + 999), 1000, 501
    assert result.bytes_scanned == sum(
        o["Size"] for o in fake.s3().list_objects_v2(Bucket="focus-exports")["Contents"]
    )
    (qid,) = fake.executions
    output = fake.s3().get_object(Bucket="athena-results", Key=f"finops/{qid}.csv")  # where output= said
    assert output["Body"].read().decode().count("\n") == 2501


def test_values_are_converted_by_column_type(fake: AthenaFake) -> None:
    sql = (
        f'SELECT sum("BilledCost") AS cost, count(*) AS n, min(CAST("ChargePeriodStart" AS date)) AS day, '
        'max("ServiceName") AS service, min("ChargePeriodStart") AS start, '
        'CAST(min("ChargePeriodStart") AS timestamp) AS naive, count(*) > 1 AS many, '
        f'max("ResourceId") AS missing, CAST(1.5 AS double) AS ratio, CAST(7 AS integer) AS small FROM {FQN} '
        'WHERE "ChargePeriodStart" >= ?'
    )
    (got,) = backend().run(sql, [datetime(2024, 1, 1)], CallContext()).rows
    start = datetime.combine(FIRST, datetime.min.time())
    assert got == (
        sum(Decimal(f"{i}.25") for i in range(2500)),
        2500,
        FIRST,
        "x' OR '1'='1",
        start.replace(tzinfo=timezone.utc),
        start,
        True,
        None,
        1.5,
        7,
    )
    assert isinstance(got[0], Decimal) and type(got[1]) is int


# --- failures ------------------------------------------------------------------------------------
def test_the_workgroup_scan_cutoff_is_a_clear_scan_limit_error(fake: AthenaFake) -> None:
    fake.workgroups["capped"] = WorkGroup("capped", cutoff=1000)
    with pytest.raises(ScopeFailure) as err:
        backend(workgroup="capped").run(f"SELECT count(*) FROM {FQN}", [], CallContext())
    assert err.value.code == "invalid_query" and "scan limit of 1000 bytes" in err.value.message
    fake.workgroups["roomy"] = WorkGroup("roomy", cutoff=10**9)  # a generous cutoff: runs
    assert backend(workgroup="roomy").run(f"SELECT count(*) FROM {FQN}", [], CallContext()).rows == [(2500,)]


def test_a_refused_workgroup_is_forbidden_with_the_iam_actions(fake: AthenaFake) -> None:
    fake.workgroups["locked"] = WorkGroup("locked")
    fake.denied.add("locked")
    with pytest.raises(ScopeFailure) as err:
        backend(workgroup="locked").run(f"SELECT count(*) FROM {FQN}", [], retrying())
    assert err.value.code == "forbidden" and "athena:StartQueryExecution" in err.value.message
    assert fake.actions == ["StartQueryExecution"]  # not retried


def test_throttling_is_retried_then_reported(fake: AthenaFake) -> None:
    fake.throttle = 2
    assert backend().run(f"SELECT count(*) FROM {FQN}", [], retrying()).rows == [(2500,)]
    assert fake.actions[:3] == ["StartQueryExecution"] * 3
    fake.throttle = 50
    with pytest.raises(ScopeFailure) as err:
        backend().run(f"SELECT count(*) FROM {FQN}", [], retrying())
    assert err.value.code == "throttled" and err.value.retryable


def test_a_failed_query_and_a_missing_output_location_are_named(fake: AthenaFake) -> None:
    with pytest.raises(ScopeFailure) as err:
        backend().run('SELECT count(*) FROM "AwsDataCatalog"."cur"."nope"', [], CallContext())
    assert err.value.code == "invalid_query" and "TABLE_NOT_FOUND" in err.value.message
    with pytest.raises(ScopeFailure) as err:
        backend(output="").run(f"SELECT count(*) FROM {FQN}", [], CallContext())
    assert err.value.code == "invalid_query" and "output location" in err.value.message
    fake.workgroups["with-output"] = WorkGroup("with-output", output=OUTPUT)  # the workgroup's own location
    assert backend(workgroup="with-output", output="").run(
        f"SELECT count(*) FROM {FQN}", [], CallContext()
    ).rows == [(2500,)]


def test_engine_failures_say_what_to_do(fake: AthenaFake) -> None:
    fake.fail_next = (
        "Query exhausted resources at this scale factor",
        {"ErrorCategory": 1, "ErrorType": 401, "Retryable": False, "ErrorMessage": "exhausted"},
    )
    with pytest.raises(ScopeFailure, match="exhausted Athena's resources: narrow the period") as err:
        backend().run(f"SELECT count(*) FROM {FQN}", [], CallContext())
    assert err.value.code == "upstream"
    fake.fail_next = ("Internal error", {"ErrorCategory": 1, "ErrorType": 401, "Retryable": True})
    with pytest.raises(ScopeFailure) as err:
        backend().run(f"SELECT count(*) FROM {FQN}", [], CallContext())
    assert err.value.code == "upstream" and err.value.retryable


def test_a_query_running_past_the_deadline_is_stopped(fake: AthenaFake) -> None:
    fake.running_polls = 10_000
    with pytest.raises(ScopeFailure) as err:
        backend().run(f"SELECT count(*) FROM {FQN}", [], CallContext(timeout_seconds=0.3))
    assert err.value.code == "timeout" and "was stopped" in err.value.message
    assert fake.actions[-1] == "StopQueryExecution"
    assert [e.state for e in fake.executions.values()] == ["CANCELLED"]


def test_the_client_is_read_only_but_for_starting_and_stopping_queries(fake: AthenaFake) -> None:
    from finops_mcp.providers.aws.guard import ReadOnlyViolation

    client = backend().client()
    for call in (
        lambda: client.delete_work_group(WorkGroup="primary"),
        lambda: client.create_named_query(Name="x", Database="cur", QueryString="SELECT 1"),
    ):
        with pytest.raises(ReadOnlyViolation):
            call()
    assert fake.actions == []


def test_cancelling_the_call_stops_the_query(fake: AthenaFake) -> None:
    fake.running_polls = 10_000
    ctx = CallContext()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            backend().run(f"SELECT count(*) FROM {FQN}", [], ctx)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 10
    while fake.actions.count("GetQueryExecution") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    ctx.cancel.cancel("client cancelled")
    worker.join(10)
    assert outcome and isinstance(outcome[0], Cancelled)
    assert fake.actions[-1] == "StopQueryExecution"
    (execution,) = fake.executions.values()
    assert execution.state == "CANCELLED"


def test_only_one_select_is_ever_sent(fake: AthenaFake) -> None:
    for sql in (
        "DROP TABLE cur.focus",
        f"SELECT 1 FROM {FQN}; DROP TABLE cur.focus",
        "INSERT INTO cur.focus SELECT * FROM cur.focus",
        "CREATE TABLE x AS SELECT 1",
        "UNLOAD (SELECT 1) TO 's3://x/' WITH (format = 'PARQUET')",
    ):
        with pytest.raises(ScopeFailure):
            backend().run(sql, [], CallContext())
    assert fake.actions == []


def test_bad_urls_are_configuration_errors() -> None:
    with pytest.raises(ScopeFailure, match="athena://CATALOG/DATABASE/TABLE") as err:
        AthenaBackend(WarehouseTable("athena", ("cur", "focus"), {}, "athena://cur/focus"), make_settings())
    assert err.value.code == "not_configured"
    with pytest.raises(ScopeFailure, match="s3://"):
        AthenaBackend(WarehouseTable("athena", TABLE, {"output": "/tmp/x"}, "athena://..."), make_settings())


# --- the fake refuses what Trino / Athena would ------------------------------------------------------
REFUSED = {
    "group by all": f'SELECT "ServiceName", count(*) FROM {FQN} GROUP BY ALL',
    "map subscript": f"SELECT \"Tags\"['team'] FROM {FQN}",
    "double-colon cast": f'SELECT "BilledCost"::double FROM {FQN}',
    "ilike": f"SELECT count(*) FROM {FQN} WHERE \"ServiceName\" ILIKE 'amazon%'",
    "duckdb function": f"SELECT json_extract_string(\"ServiceName\", '$.a') FROM {FQN}",
    "strftime": f"SELECT strftime(\"ChargePeriodStart\", '%Y') FROM {FQN}",
    "ifnull": f"SELECT ifnull(\"ResourceId\", '') FROM {FQN}",
    "varchar against a timestamp": f"SELECT count(*) FROM {FQN} WHERE \"ChargePeriodStart\" >= '2024-03-01'",
    "varchar between on a timestamp": (
        f"SELECT count(*) FROM {FQN} WHERE \"ChargePeriodStart\" BETWEEN '2024-03-01' AND '2024-04-01'"
    ),
    "backticks": "SELECT count(*) FROM `cur`.`focus`",
    "two statements": f"SELECT 1 FROM {FQN}; SELECT 2 FROM {FQN}",
    "unknown table": 'SELECT count(*) FROM "AwsDataCatalog"."cur"."other"',
}
ACCEPTED = {  # the healthy look-alikes of each
    "explicit group by": f'SELECT "ServiceName", count(*) FROM {FQN} GROUP BY 1',
    "element_at": f"SELECT element_at(\"Tags\", 'team') FROM {FQN}",
    "cast": f'SELECT CAST("BilledCost" AS double) FROM {FQN}',
    "lower like": f"SELECT count(*) FROM {FQN} WHERE lower(\"ServiceName\") LIKE 'amazon%'",
    "json_extract_scalar": (
        f"SELECT json_extract_scalar(json_format(CAST(\"Tags\" AS JSON)), '$.team') FROM {FQN}"
    ),
    "date_format": f"SELECT date_format(\"ChargePeriodStart\", '%Y') FROM {FQN}",
    "coalesce": f"SELECT coalesce(\"ResourceId\", '') FROM {FQN}",
    "timestamp literal": (
        f"SELECT count(*) FROM {FQN} WHERE \"ChargePeriodStart\" >= TIMESTAMP '2024-03-01 00:00:00'"
    ),
    "default database": 'SELECT count(*) FROM "focus"',
}


def _athena_raw(fake: AthenaFake, sql: str, params: list[str] | None = None) -> dict[str, Any]:
    import boto3

    client = boto3.client("athena", region_name="us-east-1")
    extra = {"ExecutionParameters": params} if params else {}
    qid = client.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Catalog": "AwsDataCatalog", "Database": "cur"},
        WorkGroup="primary", ResultConfiguration={"OutputLocation": OUTPUT}, **extra,
    )["QueryExecutionId"]  # fmt: skip
    status: dict[str, Any] = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    return status


@pytest.mark.parametrize("name", REFUSED)
def test_the_fake_fails_trino_invalid_sql(fake: AthenaFake, name: str) -> None:
    status = _athena_raw(fake, REFUSED[name])
    assert status["State"] == "FAILED" and status["AthenaError"]["ErrorCategory"] == 2, status


@pytest.mark.parametrize("name", ACCEPTED)
def test_the_fake_runs_the_valid_look_alikes(fake: AthenaFake, name: str) -> None:
    status = _athena_raw(fake, ACCEPTED[name])
    assert status["State"] == "SUCCEEDED", status


def test_the_fake_substitutes_execution_parameters_as_athena_does(fake: AthenaFake) -> None:
    sql = f'SELECT count(*) FROM {FQN} WHERE "ServiceName" = ?'
    assert "Incorrect number of parameters" in _athena_raw(fake, sql)["StateChangeReason"]
    assert _athena_raw(fake, sql, ["'Amazon S3'"])["State"] == "SUCCEEDED"
    # the text is substituted as is: an unquoted value is SQL (why the backend quotes every value)
    assert _athena_raw(fake, sql, ["Amazon S3"])["State"] == "FAILED"
    only_where = f'SELECT element_at("Tags", ?) FROM {FQN}'
    assert "WHERE clause" in _athena_raw(fake, only_where, ["'team'"])["StateChangeReason"]
