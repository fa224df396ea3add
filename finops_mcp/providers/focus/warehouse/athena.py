"""A FOCUS table in Amazon Athena: `athena://CATALOG/DATABASE/TABLE?workgroup=...&output=s3://...`.

The provider renders its FOCUS SQL in dialect "athena" (Athena engine v3 is Trino) with positional
`?` placeholders; this backend only runs it, with boto3's athena client (the standard credential
chain; `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_ATHENA` point it at another endpoint, as boto3 defines):

1. `StartQueryExecution` with `QueryExecutionContext` (Catalog, Database from the URL), `WorkGroup`
   (`workgroup=`, default `primary`) and `ResultConfiguration.OutputLocation` (`output=`; may be left
   out when the workgroup has its own result location). Options: `region=` (else the session's).
2. Parameters (`literal`): Athena substitutes each `ExecutionParameters` value into the query as SQL
   text, so every value is sent as a literal: strings quoted with `'` doubled, `DATE 'yyyy-mm-dd'`,
   `DECIMAL '...'`, `TIMESTAMP '...'`, integers and booleans as such (the PyAthena rules). Athena
   accepts `?` only in a WHERE clause ("Use parameterized queries", Considerations and limitations):
   a placeholder anywhere else (a tag key in the select list) is written into the query as the same
   escaped literal, at the place sqlglot's parse tree gives it (the substitution Athena does itself).
3. Polling `GetQueryExecution` with backoff until SUCCEEDED / FAILED / CANCELLED; when the call is
   cancelled (`ctx.cancel`) or runs past FINOPS_SCOPE_TIMEOUT_SECONDS, `StopQueryExecution` stops
   the query so it does not keep scanning (and billing).
4. `GetQueryResults` paged by `NextToken` (1000 rows a page; the first row of the first page is the
   header), values converted by `ResultSetMetadata.ColumnInfo` types (`TYPES`): decimal -> Decimal,
   bigint/integer -> int, date, timestamp (with time zone), boolean, double, varchar; NULL -> None.
5. `DataScannedInBytes` is the result's `bytes_scanned`. A query the workgroup's
   `BytesScannedCutoffPerQuery` cancelled becomes a clear "scan limit" error naming the cutoff
   (`GetWorkGroup`, best effort).

SDK exceptions are translated once (`ERRORS`: Athena's codes first, then the AWS provider's table);
every call runs under the engine's retry policy with that table, and errors leave as `ScopeFailure`.
Reads only: a statement that is not one SELECT / WITH query is refused before anything is sent, and
the client carries the AWS read-only guard, opened for exactly Start/StopQueryExecution.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from finops_mcp.engine.context import CallContext, Cancelled
from finops_mcp.engine.retry import ErrorMap, Translated
from finops_mcp.errors import ScopeFailure, redact
from finops_mcp.models import ErrorCode
from finops_mcp.providers.focus.warehouse.base import WarehouseResult, WarehouseTable

if TYPE_CHECKING:
    from finops_mcp.settings import Settings

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # GetQueryResults MaxResults upper bound
QUERY_WRITES = frozenset({"StartQueryExecution", "StopQueryExecution"})  # besides Get*/List*
_IAM_HINT = (
    "the identity needs athena:StartQueryExecution/GetQueryExecution/GetQueryResults/StopQueryExecution "
    "on the workgroup, glue:GetDatabase/GetTable/GetPartitions on the table, s3:GetObject/ListBucket on "
    "the export and s3:PutObject/GetObject on the output location (see docs/warehouses.md)"
)
_SCAN_LIMIT = re.compile(r"bytes scanned limit|data scanned limit|scan limit", re.I)
_EXHAUSTED = re.compile(r"exhausted resources", re.I)

# Athena's own error codes (API reference, "Common Errors" and each action's Errors section).
ATHENA_CODES: dict[str, tuple[ErrorCode, bool]] = {
    "TooManyRequestsException": ("throttled", True),
    "ThrottlingException": ("throttled", True),
    "InternalServerException": ("upstream", True),
    "InvalidRequestException": ("invalid_query", False),
    "MetadataException": ("not_configured", False),
    "ResourceNotFoundException": ("not_configured", False),
    "AccessDeniedException": ("forbidden", False),
    "AccessDenied": ("forbidden", False),
}


def translate(exc: BaseException) -> Translated | None:
    """Athena's codes first; anything else as the AWS provider translates botocore errors."""
    from finops_mcp.providers.aws import errors as aws_errors

    parts = aws_errors.client_error_parts(exc)
    if parts is not None and parts[0] in ATHENA_CODES:
        code, retryable = ATHENA_CODES[parts[0]]
        hint = aws_errors.retry_after_from_headers(parts[2]) if retryable else None
        return Translated(code, retryable, hint)
    return aws_errors.translate(exc)


ERRORS = ErrorMap(translate)


def literal(value: object) -> str:
    """The Trino SQL literal Athena is to substitute for one parameter."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ScopeFailure("invalid_query", f"Athena parameter: {value} is not a finite decimal")
        return f"DECIMAL '{value:f}'"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S.%f}'"
    if isinstance(value, date):
        return f"DATE '{value:%Y-%m-%d}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise ScopeFailure("invalid_query", f"Athena parameter of type {type(value).__name__} is not supported")


def prepare(sql: str, params: Sequence[object]) -> tuple[str, list[str]]:
    """(query string, ExecutionParameters) for Athena: one SELECT/WITH query, its `?` in WHERE
    clauses bound in text order, any other `?` written in as the same literal Athena would substitute."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.trino import Trino
    from sqlglot.errors import ParseError, TokenError

    refused = ScopeFailure("invalid_query", "Athena: only one SELECT query is run (statement refused)")
    try:
        tokens = Trino().tokenize(sql)
        marks = [t for t in tokens if t.token_type.name == "PLACEHOLDER"]
        if len(marks) != len(params):
            raise ScopeFailure(
                "invalid_query", f"Athena: the query has {len(marks)} placeholders for {len(params)} values"
            )
        # Name each `?` by its position in the text, so the tree says which value is which.
        pieces, last = [], 0
        for i, mark in enumerate(marks):
            pieces += [sql[last : mark.start], f":p{i}"]
            last = mark.end + 1
        statements = sqlglot.parse("".join([*pieces, sql[last:]]), read="trino")
    except (ParseError, TokenError):
        raise ScopeFailure(
            "invalid_query", "Athena: the rendered query does not parse as Trino SQL"
        ) from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise refused
    tree = statements[0]
    if any(isinstance(node, exp.DDL | exp.DML | exp.Command) for node in tree.walk()):
        raise refused
    # Each `?` becomes a marker string literal (b: bound, i: inline) through generation, then the
    # marker is replaced by the value's literal: the substitution Athena itself does for ExecutionParameters.
    sentinel = f"finops-param-{uuid.uuid4().hex}-"
    for node in list(tree.find_all(exp.Placeholder)):
        kind = "b" if _in_where(node) else "i"
        node.replace(exp.Literal.string(f"{sentinel}{kind}{node.name[1:]}"))
    text = tree.sql(dialect="athena")
    marker = re.compile(rf"'{sentinel}([bi])(\d+)'")
    bound = [literal(params[int(m.group(2))]) for m in marker.finditer(text) if m.group(1) == "b"]

    def fill(m: re.Match[str]) -> str:
        return "?" if m.group(1) == "b" else literal(params[int(m.group(2))])

    return marker.sub(fill, text), bound


def _in_where(node: Any) -> bool:
    """True when the nearest enclosing clause of `node` is a WHERE (not a select list, GROUP BY...)."""
    from sqlglot import exp

    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.Where):
            return True
        if isinstance(parent, exp.Query):
            return False
        parent = parent.parent
    return False


def _timestamp(text: str) -> datetime:
    text = text.strip()
    zone = None
    if text.endswith(" UTC"):
        text, zone = text[:-4], timezone.utc
    value = datetime.fromisoformat(text.replace(" ", "T", 1))
    return value.replace(tzinfo=zone) if zone and value.tzinfo is None else value


def _boolean(text: str) -> bool:
    return text.strip().lower() == "true"


TYPES: dict[str, Callable[[str], object]] = {
    "decimal": Decimal,
    "bigint": int,
    "integer": int,
    "int": int,
    "smallint": int,
    "tinyint": int,
    "double": float,
    "float": float,
    "real": float,
    "boolean": _boolean,
    "date": date.fromisoformat,
    "timestamp": _timestamp,
    "timestamp with time zone": _timestamp,
}


def _converter(column: dict[str, Any]) -> Callable[[str], object]:
    kind = str(column.get("Type", "varchar")).lower()
    return TYPES.get(kind, TYPES.get(kind.split("(")[0], str))


class AthenaBackend:
    """Runs the provider's rendered FOCUS SQL on one Athena table."""

    dialect: ClassVar[str] = "athena"
    poll_first: ClassVar[float] = 0.05  # seconds before the first GetQueryExecution
    poll_max: ClassVar[float] = 2.0

    def __init__(self, table: WarehouseTable, settings: Settings) -> None:
        if len(table.location) != 3 or not all(table.location):
            raise ScopeFailure(
                "not_configured",
                f"{table.display}: an Athena FOCUS table is athena://CATALOG/DATABASE/TABLE"
                "?workgroup=NAME&output=s3://bucket/prefix/ (e.g. athena://AwsDataCatalog/cur/focus)",
            )
        self.table = table
        self.catalog, self.database, self.name = table.location
        self.workgroup = table.options.get("workgroup") or "primary"
        self.output = table.options.get("output") or None
        if self.output is not None and not self.output.startswith("s3://"):
            raise ScopeFailure("not_configured", f"{table.display}: output= must be an s3:// location")
        self.region = table.options.get("region") or None
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3

                from finops_mcp.providers.aws import guard
                from finops_mcp.providers.aws.sessions import HOME_REGION, client_config

                session = boto3.Session()
                region = self.region or session.region_name or HOME_REGION["aws"]
                raw = session.client("athena", region_name=region, config=client_config(self.settings))
                self._client = guard.install(raw, also=QUERY_WRITES)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # --- one statement -----------------------------------------------------------------------
    def run(self, sql: str, params: Sequence[object], ctx: CallContext | None) -> WarehouseResult:
        ctx = ctx or CallContext()
        query, bound = prepare(sql, params)
        request: dict[str, Any] = {
            "QueryString": query,
            "QueryExecutionContext": {"Catalog": self.catalog, "Database": self.database},
            "WorkGroup": self.workgroup,
        }
        if self.output:
            request["ResultConfiguration"] = {"OutputLocation": self.output}
        if bound:
            request["ExecutionParameters"] = bound
        try:
            started = self._call(ctx, "start_query_execution", **request)
            ctx.count_billed("aws.athena")
            qid = str(started["QueryExecutionId"])
            execution = self._wait(ctx, qid)
            rows = self._results(ctx, qid)
        except (ScopeFailure, Cancelled):
            raise
        except Exception as exc:
            raise self._failure(exc) from None
        scanned = (execution.get("Statistics") or {}).get("DataScannedInBytes")
        return WarehouseResult(rows, int(scanned) if scanned is not None else None)

    def _call(self, ctx: CallContext, op: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.client(), op)
        result: dict[str, Any] = ctx.retry(lambda: method(**params), classify=ERRORS.retry_decision)
        return result

    def _wait(self, ctx: CallContext, qid: str) -> dict[str, Any]:
        """The finished QueryExecution; stops the query when the call is cancelled or times out."""
        budget = ctx.timeout_seconds or self.settings.scope_timeout_seconds
        deadline = time.monotonic() + budget
        delay = self.poll_first
        try:
            while True:
                if ctx.cancel.wait(delay):
                    ctx.raise_if_cancelled()
                execution = self._call(ctx, "get_query_execution", QueryExecutionId=qid)["QueryExecution"]
                status = execution.get("Status") or {}
                state = str(status.get("State", ""))
                if state == "SUCCEEDED":
                    return dict(execution)
                if state in ("FAILED", "CANCELLED"):
                    raise self._query_failure(ctx, state, status)
                if time.monotonic() > deadline:
                    self._stop(qid)
                    raise ScopeFailure(
                        "timeout",
                        f"Athena query on {self.table.display} still {state or 'running'} after "
                        f"{budget:g} s; it was stopped (raise "
                        "FINOPS_SCOPE_TIMEOUT_SECONDS or narrow the period)",
                        retryable=True,
                    )
                delay = min(self.poll_max, delay * 2)
        except Cancelled:
            self._stop(qid)
            raise

    def _stop(self, qid: str) -> None:
        """Best effort, once, outside the (cancelled) retry loop: the query must not keep scanning."""
        try:
            self.client().stop_query_execution(QueryExecutionId=qid)
        except Exception as exc:  # the answer is already an error; say so in the log only
            log.warning("athena: could not stop query %s: %s", qid, redact(str(exc)))

    def _results(self, ctx: CallContext, qid: str) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        token: str | None = None
        converters: list[Callable[[str], object]] | None = None
        seen: set[str] = set()
        while True:
            ctx.raise_if_cancelled()
            params: dict[str, Any] = {"QueryExecutionId": qid, "MaxResults": PAGE_SIZE}
            if token:
                params["NextToken"] = token
            page = self._call(ctx, "get_query_results", **params)
            result = page.get("ResultSet") or {}
            data = result.get("Rows") or []
            if converters is None:
                columns = (result.get("ResultSetMetadata") or {}).get("ColumnInfo") or []
                converters = [_converter(c) for c in columns]
                data = data[1:]  # the header row
            for item in data:
                cells = item.get("Data") or []
                rows.append(
                    tuple(
                        None if "VarCharValue" not in cell else self._convert(fn, cell["VarCharValue"])
                        for fn, cell in zip(converters, cells, strict=False)
                    )
                )
            token = page.get("NextToken") or None
            if not token:
                return rows
            if token in seen:
                raise ScopeFailure("upstream", "Athena GetQueryResults returned the same page token twice")
            seen.add(token)

    @staticmethod
    def _convert(fn: Callable[[str], object], text: str) -> object:
        try:
            return fn(text)
        except (ValueError, InvalidOperation):
            raise ScopeFailure(
                "upstream", "Athena returned a value that does not match its column type"
            ) from None

    # --- errors --------------------------------------------------------------------------------
    def _query_failure(self, ctx: CallContext, state: str, status: dict[str, Any]) -> ScopeFailure:
        reason = str(
            status.get("StateChangeReason") or (status.get("AthenaError") or {}).get("ErrorMessage") or ""
        )
        where = f"Athena query on {self.table.display} (workgroup {self.workgroup})"
        if _SCAN_LIMIT.search(reason):
            cutoff = self._cutoff(ctx)
            limit = f" of {cutoff} bytes" if cutoff else ""
            return ScopeFailure(
                "invalid_query",
                f"{where} hit the workgroup's scan limit{limit} (BytesScannedCutoffPerQuery) and was "
                "cancelled; narrow the period or raise the workgroup's per-query data usage control",
            )
        if _EXHAUSTED.search(reason):
            return ScopeFailure(
                "upstream", f"{where} exhausted Athena's resources: narrow the period or group by less"
            )
        error = status.get("AthenaError") or {}
        retryable = bool(error.get("Retryable"))
        if re.search(r"access denied|not authorized|permission", reason, re.I):
            return ScopeFailure("forbidden", f"{where} was refused: {redact(reason, 200)}; {_IAM_HINT}")
        verb = "was cancelled by Athena" if state == "CANCELLED" else "failed"
        code: ErrorCode = "upstream" if retryable or error.get("ErrorCategory") == 1 else "invalid_query"
        return ScopeFailure(code, f"{where} {verb}: {redact(reason, 300)}", retryable=retryable)

    def _cutoff(self, ctx: CallContext) -> int | None:
        try:
            group = self._call(ctx, "get_work_group", WorkGroup=self.workgroup)["WorkGroup"]
        except Exception:  # naming the limit is a courtesy: the error stands without it
            return None
        value = (group.get("Configuration") or {}).get("BytesScannedCutoffPerQuery")
        return int(value) if value else None

    def _failure(self, exc: BaseException) -> ScopeFailure:
        found = ERRORS(exc)
        code: ErrorCode = found.code if found is not None else "upstream"
        what = f"Athena ({self.table.display}, workgroup {self.workgroup})"
        detail = redact(str(exc), 300)
        if code == "forbidden":
            return ScopeFailure(code, f"{what} refused the request: {detail}; {_IAM_HINT}")
        if code == "throttled":
            return ScopeFailure(code, f"{what} kept throttling: {detail}", retryable=True)
        return ScopeFailure(code, f"{what}: {detail}", retryable=bool(found and found.retryable))
