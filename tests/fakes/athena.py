"""An executing Amazon Athena fake on 127.0.0.1, driven by the real boto3 athena client.

moto records Athena queries but never runs them (FIELD-NOTES), so this fake speaks Athena's
JSON 1.1 protocol itself (`X-Amz-Target: AmazonAthena.<Action>`, point boto3 at it with
`AWS_ENDPOINT_URL_ATHENA`) and executes the received SQL over Parquet files held in moto's S3
server: Athena engine v3 is Trino, so the SQL is parsed with sqlglot `read="trino"`, checked for
what Trino/Athena would refuse, transpiled to DuckDB and run with the session in UTC.

What it mimics, from the Amazon Athena API Reference (docs.aws.amazon.com/athena/latest/APIReference/):
- `API_StartQueryExecution.html`: QueryString, QueryExecutionContext {Catalog, Database},
  WorkGroup, ResultConfiguration.OutputLocation (required unless the workgroup has one:
  InvalidRequestException), ExecutionParameters (each value is substituted into the query as SQL
  text, in order: "Use parameterized queries", docs.aws.amazon.com/athena/latest/ug/
  querying-with-prepared-statements.html, which also says `?` may stand only in a WHERE clause).
- `API_GetQueryExecution.html` / `API_QueryExecutionStatus.html`: State QUEUED -> RUNNING ->
  SUCCEEDED | FAILED | CANCELLED, StateChangeReason, AthenaError {ErrorCategory 1 system / 2 user,
  ErrorType, Retryable, ErrorMessage}; Statistics.DataScannedInBytes.
- `API_GetQueryResults.html`: MaxResults <= 1000, NextToken, the first row of the first page is the
  header, ResultSetMetadata.ColumnInfo with Athena type names (varchar, bigint, integer, double,
  decimal with Precision/Scale, date, timestamp, timestamp with time zone, boolean, map, array),
  NULL as a Datum without VarCharValue.
- `API_StopQueryExecution.html` (the query becomes CANCELLED), `API_GetWorkGroup.html`
  (Configuration.BytesScannedCutoffPerQuery, ResultConfiguration.OutputLocation).
- Per-query data usage control ("Configure per-query and per-workgroup data usage controls",
  docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html): a query
  scanning more than the cutoff is cancelled ("Bytes scanned limit was exceeded").
- Errors as JSON 1.1 `{"__type", "message"}`: TooManyRequestsException (HTTP 400, throttling),
  AccessDeniedException (403), InvalidRequestException (400).

Trino-invalid constructs the fake refuses (the query FAILS, as Athena answers, with the message
Trino gives), checked in `athena_sql`: GROUP BY ALL, subscripts `x[...]` (`map[key]` throws on a
missing key: use element_at), `::` casts, ILIKE, QUALIFY, DISTINCT ON, backtick identifiers,
functions Trino does not have (DuckDB's json_extract_string, strftime, epoch, list_value, ifnull,
time_bucket...), `?` outside a WHERE clause or left unbound, a `?` count that differs from the
ExecutionParameters count, more than one statement or anything but a query; and here, with the
table's column types in hand, a string literal compared with a DATE / TIMESTAMP / numeric column
(Trino has no implicit varchar coercion: "Cannot apply operator").

DataScannedInBytes is the total size of the table's Parquet objects (Athena reads only the needed
columns, so real numbers are lower: the fake's bound is conservative). Results are also written as
CSV to the output location in moto's S3, as Athena does.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from tests.fakes.athena_sql import QueryError, check_trino, substitute
from tests.fakes.http import FakeHTTPServer, Reply, Request

JSON = "application/x-amz-json-1.1"
MAX_RESULTS = 1000


@dataclass
class WorkGroup:
    name: str
    output: str | None = None  # ResultConfiguration.OutputLocation
    cutoff: int | None = None  # BytesScannedCutoffPerQuery


@dataclass
class Execution:
    qid: str
    query: str
    params: list[str]
    catalog: str
    database: str
    workgroup: str
    output: str
    state: str = "QUEUED"
    reason: str | None = None
    error: dict[str, Any] | None = None
    scanned: int = 0
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    polls_left: int = 0  # GetQueryExecution answers RUNNING this many more times
    outcome: tuple[str, str | None, dict[str, Any] | None] = ("SUCCEEDED", None, None)
    submitted: float = field(default_factory=time.time)
    engine_ms: int = 0  # how long DuckDB took


class AthenaFake:
    """Athena over moto-S3 Parquet. `tables[(catalog, database, table)] = "s3://bucket/prefix/"`."""

    def __init__(self, s3_endpoint: str) -> None:
        self.s3_endpoint = s3_endpoint
        self.tables: dict[tuple[str, str, str], str] = {}
        self.workgroups: dict[str, WorkGroup] = {"primary": WorkGroup("primary")}
        self.denied: set[str] = set()  # workgroup or database names answered AccessDeniedException
        self.throttle = 0  # answer the next N requests TooManyRequestsException
        self.running_polls = 0  # GetQueryExecution says RUNNING this many times before the outcome
        self.fail_next: tuple[str, dict[str, Any]] | None = None  # (StateChangeReason, AthenaError)
        self.executions: dict[str, Execution] = {}
        self.actions: list[str] = []
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="athena-fake-")
        self._files: dict[tuple[str, str, str], tuple[Path, int]] = {}  # (bucket, key, etag) -> local copy
        self.server = FakeHTTPServer()
        self.server.route("POST", r"/", self._handle)

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> AthenaFake:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self._tmp.cleanup()

    def s3(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # --- protocol ------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Reply:
        target = request.headers.get("x-amz-target", "")
        action = target.split(".", 1)[-1]
        with self._lock:
            self.actions.append(action)
            if self.throttle > 0:
                self.throttle -= 1
                return _error(400, "TooManyRequestsException", "Rate exceeded")
        body = request.json() or {}
        if action in ("GetQueryExecution", "GetQueryResults", "StopQueryExecution"):
            found = self.executions.get(str(body.get("QueryExecutionId") or ""))
            if found is None:
                return _error(400, "InvalidRequestException", "QueryExecution was not found")
            on_query = {
                "GetQueryExecution": self._get_execution,
                "GetQueryResults": self._get_results,
                "StopQueryExecution": self._stop,
            }[action]
            return on_query(found, body)
        if action == "StartQueryExecution":
            return self._start(body)
        if action == "GetWorkGroup":
            return self._get_work_group(body)
        return _error(400, "InvalidRequestException", f"the fake does not implement {action}")

    def _start(self, body: dict[str, Any]) -> Reply:
        context = body.get("QueryExecutionContext") or {}
        catalog = str(context.get("Catalog") or "AwsDataCatalog")
        database = str(context.get("Database") or "default")
        name = str(body.get("WorkGroup") or "primary")
        group = self.workgroups.get(name)
        if group is None:
            return _error(400, "InvalidRequestException", f"WorkGroup {name} is not found.")
        if name in self.denied or database in self.denied:
            return _error(
                403,
                "AccessDeniedException",
                f"User: arn:aws:iam::123456789012:user/test is not authorized to perform: "
                f"athena:StartQueryExecution on resource: workgroup/{name}",
            )
        output = (body.get("ResultConfiguration") or {}).get("OutputLocation") or group.output
        if not output:
            return _error(
                400,
                "InvalidRequestException",
                "No output location provided. An output location is required either through the "
                "Workgroup result configuration setting or as an API input.",
            )
        params = [str(p) for p in body.get("ExecutionParameters") or []]
        if any(not p for p in params):
            return _error(400, "InvalidRequestException", "ExecutionParameters values must not be empty")
        execution = Execution(
            qid=str(uuid.uuid4()),
            query=str(body.get("QueryString") or ""),
            params=params,
            catalog=catalog,
            database=database,
            workgroup=name,
            output=output if output.endswith("/") else output + "/",
            polls_left=self.running_polls,
        )
        try:
            self._execute(execution, group)
        except QueryError as exc:
            execution.outcome = ("FAILED", str(exc), exc.error)
        if self.fail_next is not None:  # an engine-side failure injected by a test
            (reason, error), self.fail_next = self.fail_next, None
            execution.outcome = ("FAILED", reason, error)
        with self._lock:
            self.executions[execution.qid] = execution
        return Reply.json({"QueryExecutionId": execution.qid}, headers={"Content-Type": JSON})

    def _get_execution(self, found: Execution, body: dict[str, Any]) -> Reply:
        with self._lock:
            if found.state in ("QUEUED", "RUNNING"):
                if found.polls_left > 0:
                    found.polls_left -= 1
                    found.state = "RUNNING"
                else:
                    found.state, found.reason, found.error = found.outcome
        status: dict[str, Any] = {"State": found.state, "SubmissionDateTime": found.submitted}
        if found.reason:
            status["StateChangeReason"] = found.reason
        if found.error:
            status["AthenaError"] = found.error
        if found.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            status["CompletionDateTime"] = time.time()
        return Reply.json(
            {
                "QueryExecution": {
                    "QueryExecutionId": found.qid,
                    "Query": found.query,
                    "StatementType": "DML",
                    "ResultConfiguration": {"OutputLocation": f"{found.output}{found.qid}.csv"},
                    "QueryExecutionContext": {"Catalog": found.catalog, "Database": found.database},
                    "Status": status,
                    "Statistics": {
                        "EngineExecutionTimeInMillis": found.engine_ms,
                        "DataScannedInBytes": found.scanned if found.state != "QUEUED" else 0,
                        "TotalExecutionTimeInMillis": int((time.time() - found.submitted) * 1000),
                    },
                    "WorkGroup": found.workgroup,
                    "EngineVersion": {
                        "SelectedEngineVersion": "AUTO",
                        "EffectiveEngineVersion": "Athena engine version 3",
                    },
                    "ExecutionParameters": found.params,
                }
            },
            headers={"Content-Type": JSON},
        )

    def _get_results(self, found: Execution, body: dict[str, Any]) -> Reply:
        if found.state != "SUCCEEDED":
            return _error(
                400, "InvalidRequestException", f"Query has not yet finished. Current state: {found.state}"
            )
        size = int(body.get("MaxResults") or MAX_RESULTS)
        if not 1 <= size <= MAX_RESULTS:
            return _error(400, "InvalidRequestException", "MaxResults must be between 1 and 1000")
        token = body.get("NextToken")
        offset = 0
        if token:
            qid, _, start = str(token).partition(":")
            if qid != found.qid or not start.isdigit():
                return _error(400, "InvalidRequestException", "NextToken is invalid")
            offset = int(start)
        header = [[c["Name"] for c in found.columns]]
        table = header + found.rows  # the header is row 0 of the first page
        page = table[offset : offset + size]
        answer: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page],
                "ResultSetMetadata": {"ColumnInfo": found.columns},
            },
        }
        if offset + size < len(table):
            answer["NextToken"] = f"{found.qid}:{offset + size}"
        return Reply.json(answer, headers={"Content-Type": JSON})

    def _stop(self, found: Execution, body: dict[str, Any]) -> Reply:
        with self._lock:
            if found.state in ("QUEUED", "RUNNING"):
                found.state, found.reason = "CANCELLED", "Query cancelled by user"
        return Reply.json({}, headers={"Content-Type": JSON})

    def _get_work_group(self, body: dict[str, Any]) -> Reply:
        group = self.workgroups.get(str(body.get("WorkGroup") or ""))
        if group is None:
            return _error(400, "InvalidRequestException", "WorkGroup is not found.")
        config: dict[str, Any] = {"EnforceWorkGroupConfiguration": False}
        if group.output:
            config["ResultConfiguration"] = {"OutputLocation": group.output}
        if group.cutoff is not None:
            config["BytesScannedCutoffPerQuery"] = group.cutoff
        return Reply.json(
            {"WorkGroup": {"Name": group.name, "State": "ENABLED", "Configuration": config}},
            headers={"Content-Type": JSON},
        )

    # --- execution -----------------------------------------------------------------------------
    def _execute(self, execution: Execution, group: WorkGroup) -> None:
        sql = substitute(execution.query, execution.params)
        tree = check_trino(sql)
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            scanned = self._bind_tables(con, tree, execution)
            execution.scanned = scanned
            if group.cutoff is not None and scanned > group.cutoff:
                execution.outcome = (
                    "CANCELLED",
                    "Query cancelled! : Bytes scanned limit was exceeded",
                    {
                        "ErrorCategory": 2,
                        "ErrorType": 1003,
                        "Retryable": False,
                        "ErrorMessage": "Bytes scanned limit was exceeded",
                    },
                )
                return
            self._check_types(con, tree)
            duck = _for_duckdb(tree).sql(dialect="duckdb")
            began = time.monotonic()
            try:
                cursor = con.execute(duck)
                rows = cursor.fetchall()
                execution.engine_ms = int((time.monotonic() - began) * 1000)
            except duckdb.Error as exc:
                raise QueryError(f"GENERIC_INTERNAL_ERROR: {exc}", 1006, 2) from None
            execution.columns = [_column_info(d[0], d[1]) for d in cursor.description or []]
            execution.rows = [[_render(v) for v in row] for row in rows]
        finally:
            con.close()
        self._write_output(execution)

    def _bind_tables(self, con: duckdb.DuckDBPyConnection, tree: exp.Expression, execution: Execution) -> int:
        """Each table the query names becomes a DuckDB view over its Parquet files (copied from S3)."""
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        scanned = 0
        views: dict[tuple[str, str, str], str] = {}
        for node in list(tree.find_all(exp.Table)):
            if not node.args.get("db") and node.name.lower() in ctes:
                continue
            key = (
                (node.catalog or execution.catalog).lower(),
                (node.db or execution.database).lower(),
                node.name.lower(),
            )
            registered = {(c.lower(), d.lower(), t.lower()): loc for (c, d, t), loc in self.tables.items()}
            if key not in registered:
                raise QueryError(
                    f"TABLE_NOT_FOUND: line 1:1: Table '{key[0]}.{key[1]}.{key[2]}' does not exist", 1006, 2
                )
            if key not in views:
                files, size = self._download(registered[key])
                views[key] = f"t{len(views)}"
                scanned += size
                listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
                con.execute(
                    f"CREATE VIEW {views[key]} AS SELECT * FROM read_parquet([{listing}], "
                    "union_by_name = true, hive_partitioning = true)"
                )
            alias = node.alias
            node.replace(exp.to_table(views[key]).as_(alias or node.name))
        return scanned

    def _download(self, location: str) -> tuple[list[Path], int]:
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        client = self.s3()
        files: list[Path] = []
        size = 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not key.lower().endswith(".parquet"):
                    continue
                cache_key = (bucket, key, str(obj.get("ETag")))
                if cache_key not in self._files:
                    local = Path(self._tmp.name) / uuid.uuid4().hex / key
                    local.parent.mkdir(parents=True, exist_ok=True)
                    client.download_file(bucket, key, str(local))
                    self._files[cache_key] = (local, int(obj["Size"]))
                path, n = self._files[cache_key]
                files.append(path)
                size += n
        if not files:
            raise QueryError(f"HIVE_CANNOT_OPEN_SPLIT: no Parquet objects under {location}", 1006, 2)
        return files, size

    def _check_types(self, con: duckdb.DuckDBPyConnection, tree: exp.Expression) -> None:
        """Trino never coerces varchar implicitly: `date_column >= '2024-01-01'` fails there."""
        types: dict[str, str] = {}
        for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
            for name, kind, *_ in con.execute(f"DESCRIBE {view}").fetchall():
                types[str(name).lower()] = str(kind).upper()
        for node in tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between):
            if isinstance(node, exp.Between):
                pairs = [(node.this, node.args["low"]), (node.this, node.args["high"])]
            else:
                pairs = [(node.left, node.right), (node.right, node.left)]
            for a, b in pairs:
                if isinstance(a, exp.Column) and isinstance(b, exp.Literal) and b.is_string:
                    kind = types.get(a.name.lower(), "VARCHAR")
                    if re.match(r"DATE|TIMESTAMP|DECIMAL|BIGINT|INTEGER|DOUBLE", kind):
                        raise QueryError(
                            f"TYPE_MISMATCH: line 1:1: Cannot apply operator: {kind.lower()} "
                            f"{node.key} varchar({len(b.this)})",
                            1006,
                            2,
                        )

    def _write_output(self, execution: Execution) -> None:
        bucket, _, prefix = execution.output.removeprefix("s3://").partition("/")
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL)
        writer.writerow([c["Name"] for c in execution.columns])
        writer.writerows(["" if v is None else v for v in row] for row in execution.rows)
        try:
            self.s3().put_object(
                Bucket=bucket, Key=f"{prefix}{execution.qid}.csv", Body=text.getvalue().encode()
            )
        except Exception as exc:  # Athena fails a query whose output location cannot be written
            execution.outcome = (
                "FAILED",
                f"Access denied when writing output to url: {execution.output} ({type(exc).__name__})",
                {
                    "ErrorCategory": 2,
                    "ErrorType": 1006,
                    "Retryable": False,
                    "ErrorMessage": "output not writable",
                },
            )


# --- results -------------------------------------------------------------------------------------
def _column_info(name: str, kind: Any) -> dict[str, Any]:
    text = str(kind).upper()
    info: dict[str, Any] = {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Nullable": "UNKNOWN",
        "CaseSensitive": False,
        "Precision": 0,
        "Scale": 0,
    }
    m = re.match(r"DECIMAL\((\d+),\s*(\d+)\)", text)
    if m:
        info.update(Type="decimal", Precision=int(m.group(1)), Scale=int(m.group(2)))
        return info
    athena = {
        "BIGINT": "bigint",
        "HUGEINT": "decimal",
        "INTEGER": "integer",
        "SMALLINT": "smallint",
        "TINYINT": "tinyint",
        "DOUBLE": "double",
        "FLOAT": "real",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    }.get(text)
    if athena is None:
        athena = "map" if text.startswith("MAP") else "array" if text.endswith("[]") else "varchar"
    info["Type"] = athena
    info["CaseSensitive"] = athena == "varchar"
    return info


def _render(value: Any) -> str | None:
    """A value as Athena's GetQueryResults prints it (VarCharValue)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        text = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        stamp = f"{text:%Y-%m-%d %H:%M:%S}.{text.microsecond // 1000:03d}"
        return stamp + (" UTC" if value.tzinfo else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(
        status,
        json.dumps({"__type": code, "message": message, "Message": message}).encode(),
        {"Content-Type": JSON, "x-amzn-ErrorType": code},
    )


def _for_duckdb(tree: exp.Query) -> exp.Query:
    """Trino's `TIMESTAMP 'x'` literal is a timestamp(p) of the digits' precision: DuckDB renders
    that as TIMESTAMP_S/_MS, which DuckDB 1.5 will not compare with a TIMESTAMP WITH TIME ZONE
    column (2.0 will). Plain TIMESTAMP keeps the meaning (the session is UTC) on both."""

    def plain(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMP and node.expressions:
            return exp.DataType.build("TIMESTAMP")
        return node

    return tree.copy().transform(plain)
