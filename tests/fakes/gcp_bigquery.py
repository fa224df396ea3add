"""A fake BigQuery REST endpoint that EXECUTES the SQL it receives, for google-cloud-bigquery tests.

Tables are DuckDB tables with the billing export's nested shape (STRUCT / LIST columns, plus
`_PARTITIONTIME` for ingestion-time partitioned tables), created from a BigQuery schema and seeded
with rows by the test. A query's GoogleSQL is parsed with sqlglot, its `project.dataset.table`
references are mapped to the local tables, and it runs in DuckDB (`SET TimeZone='UTC'`) with the
request's query parameters bound (`@p` -> `$p`). So the real client and the real SQL are exercised.

Served (on a `FakeHTTPServer`, under /bigquery/v2/projects/<p>/):
- `GET datasets/<d>/tables/<t>` (tables.get: schema, timePartitioning), 404 notFound / 403 accessDenied;
- `POST queries` (jobs.query, what `query_and_wait` sends), paged with `pageToken` when a result has
  more than `page_size` rows (the client then reads `GET jobs/<id>` and `GET queries/<id>`);
- `POST jobs` (jobs.insert) + `GET jobs/<id>` + `GET queries/<id>` (getQueryResults);
- `totalBytesProcessed` = rows in the referenced tables x `bytes_per_row`; over the request's
  `maximumBytesBilled` -> `bytesBilledLimitExceeded` (400 on jobs.query; 500 on jobs.insert, as
  FIELD-NOTES records BigQuery answering);
- `throttle(n)`: the next n query requests get 429 `rateLimitExceeded` (BigQuery's quota errors,
  https://cloud.google.com/bigquery/docs/error-messages).

What BigQuery would refuse is refused here too (400 `invalidQuery`), so DuckDB's leniency proves
nothing by accident: `::` casts, `FILTER (WHERE ...)`, lambdas, DuckDB-only functions
(`arg_max`, `list_*`, `epoch_us`, `json_extract_string`...), a positional `?` or an `@name` that
no query parameter defines (GoogleSQL reference: query parameters, operators, aggregate calls).
NUMERIC is DECIMAL(38, 9) and BIGNUMERIC DECIMAL(38, 18) in DuckDB (BigQuery's NUMERIC scale is 9).

`FOCUS_EXPORT_SCHEMA` is the shape of Google's FOCUS export table
(`gcp_billing_export_focus_<ACCOUNT>`, https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/focus-export):
FOCUS 1.0 column names, ChargePeriodStart TIMESTAMP, costs and quantities NUMERIC, Tags a REPEATED
RECORD of (key STRING, value STRING).
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from tests.fakes.http import FakeHTTPServer, Reply, Request

F = dict[str, Any]


def field(name: str, type_: str, mode: str = "NULLABLE", fields: list[F] | None = None) -> F:
    out: F = {"name": name, "type": type_, "mode": mode}
    if fields:
        out["fields"] = fields
    return out


KEY_VALUE = [field("key", "STRING"), field("value", "STRING")]
STANDARD_SCHEMA: list[F] = [
    field("billing_account_id", "STRING"),
    field("service", "RECORD", fields=[field("id", "STRING"), field("description", "STRING")]),
    field("sku", "RECORD", fields=[field("id", "STRING"), field("description", "STRING")]),
    field("usage_start_time", "TIMESTAMP"),
    field("usage_end_time", "TIMESTAMP"),
    field(
        "project",
        "RECORD",
        fields=[
            field("id", "STRING"),
            field("number", "STRING"),
            field("name", "STRING"),
            field("labels", "RECORD", "REPEATED", KEY_VALUE),
        ],
    ),
    field("labels", "RECORD", "REPEATED", KEY_VALUE),
    field(
        "location",
        "RECORD",
        fields=[
            field("location", "STRING"),
            field("country", "STRING"),
            field("region", "STRING"),
            field("zone", "STRING"),
        ],
    ),
    field("export_time", "TIMESTAMP"),
    field("cost", "FLOAT"),
    field("currency", "STRING"),
    field(
        "usage",
        "RECORD",
        fields=[
            field("amount", "FLOAT"),
            field("unit", "STRING"),
            field("amount_in_pricing_units", "FLOAT"),
            field("pricing_unit", "STRING"),
        ],
    ),
    field(
        "credits",
        "RECORD",
        "REPEATED",
        [
            field("name", "STRING"),
            field("amount", "FLOAT"),
            field("full_name", "STRING"),
            field("id", "STRING"),
            field("type", "STRING"),
        ],
    ),
    field("cost_type", "STRING"),
]
DETAILED_SCHEMA: list[F] = [
    *STANDARD_SCHEMA,
    field("resource", "RECORD", fields=[field("name", "STRING"), field("global_name", "STRING")]),
]
FOCUS_SCHEMA: list[F] = [
    field("BillingAccountId", "STRING"),
    field("SubAccountId", "STRING"),
    field("ServiceName", "STRING"),
    field("RegionId", "STRING"),
    field("ResourceId", "STRING"),
    field("ChargeCategory", "STRING"),
    field("ChargePeriodStart", "TIMESTAMP"),
    field("BilledCost", "NUMERIC"),
    field("EffectiveCost", "NUMERIC"),
    field("BillingCurrency", "STRING"),
    field("Tags", "RECORD", "REPEATED", KEY_VALUE),
]

FOCUS_EXPORT_SCHEMA: list[F] = [
    field("BillingAccountId", "STRING"),
    field("SubAccountId", "STRING"),
    field("SubAccountName", "STRING"),
    field("ProviderName", "STRING"),
    field("ServiceName", "STRING"),
    field("RegionId", "STRING"),
    field("ResourceId", "STRING"),
    field("ResourceName", "STRING"),
    field("ResourceType", "STRING"),
    field("ChargeCategory", "STRING"),
    field("ChargeFrequency", "STRING"),
    field("ChargePeriodStart", "TIMESTAMP"),
    field("ChargePeriodEnd", "TIMESTAMP"),
    field("BilledCost", "NUMERIC"),
    field("EffectiveCost", "NUMERIC"),
    field("BillingCurrency", "STRING"),
    field("CommitmentDiscountId", "STRING"),
    field("CommitmentDiscountName", "STRING"),
    field("CommitmentDiscountStatus", "STRING"),
    field("PricingQuantity", "NUMERIC"),
    field("PricingUnit", "STRING"),
    field("Tags", "RECORD", "REPEATED", KEY_VALUE),
]
# names sqlglot does not know as BigQuery functions and BigQuery does not have either
_NOT_BIGQUERY = {
    "arg_max", "arg_min", "list", "list_filter", "list_sort", "list_distinct", "flatten", "len",
    "epoch_us", "json_extract_string", "tag_value", "strftime", "bool_or", "list_transform",
}  # fmt: skip

_DUCK_TYPES = {
    "STRING": "VARCHAR",
    "FLOAT": "DOUBLE",
    "FLOAT64": "DOUBLE",
    "INTEGER": "BIGINT",
    "INT64": "BIGINT",
    "NUMERIC": "DECIMAL(38, 9)",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
    "DATE": "DATE",
}


def duck_type(f: F) -> str:
    if f["type"] == "RECORD":
        inner = ", ".join(f'"{c["name"]}" {duck_type(c)}' for c in f["fields"])
        base = f"STRUCT({inner})"
    else:
        base = _DUCK_TYPES[f["type"]]
    return f"{base}[]" if f.get("mode") == "REPEATED" else base


def _bq_type(duck: str) -> str:
    t = str(duck).upper()
    if t.startswith("DECIMAL"):
        return "NUMERIC"
    if t.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    if t in ("DATE", "BOOLEAN"):
        return t
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return "FLOAT"
    if "INT" in t:
        return "INTEGER"
    return "STRING"


def _cell(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "TIMESTAMP":
        return str(int(value))  # epoch microseconds (the client asks for useInt64Timestamp)
    if type_ == "DATE" and isinstance(value, date | datetime):
        return value.isoformat()[:10]
    if type_ == "BOOLEAN":
        return "true" if value else "false"
    return str(value)


def _param(p: F) -> Any:
    ptype = p.get("parameterType", {})
    pvalue = p.get("parameterValue", {}) or {}
    if ptype.get("type") == "ARRAY":
        inner = {"parameterType": ptype.get("arrayType", {})}
        return [_param({**inner, "parameterValue": v}) for v in pvalue.get("arrayValues", []) or []]
    value = pvalue.get("value")
    kind = ptype.get("type")
    if value is None:
        return None
    if kind == "TIMESTAMP":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "DATE":
        return date.fromisoformat(value)
    if kind in ("INT64", "INTEGER"):
        return int(value)
    if kind in ("FLOAT64", "FLOAT"):
        return float(value)
    if kind in ("NUMERIC", "BIGNUMERIC"):
        return Decimal(value)
    if kind == "BOOL":
        return value in ("true", True)
    return value


def _insertable(value: Any, nested: bool) -> Any:
    if nested:
        return json.dumps(value, default=str)
    if isinstance(value, datetime):
        return value.isoformat()  # binding an aware datetime back out would need pytz
    return value


def _refusal(sql: str, tree: exp.Expression, params: list[F]) -> str | None:
    """Why BigQuery would refuse `sql`, or None."""
    tokens = sqlglot.Dialect.get_or_raise("bigquery").tokenize(sql)
    if any(t.token_type == TokenType.DCOLON for t in tokens):
        return 'Syntax error: Unexpected "::"'
    if any(t.token_type == TokenType.PLACEHOLDER for t in tokens):
        return "Positional parameters are not supported in NAMED parameter mode"
    names = {p.get("name") for p in params}
    for node in tree.walk():
        if isinstance(node, exp.Parameter | exp.Placeholder):
            name = node.name
            if name and name not in names:
                return f"Query parameter '{name}' not found"
        if isinstance(node, exp.Filter):
            return "Syntax error: Unexpected keyword FILTER"
        if isinstance(node, exp.Lambda):
            return 'Syntax error: Unexpected "->"'
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in _NOT_BIGQUERY:
            return f"Function not found: {node.this}"
    return None


def _decimal_types(tree: exp.Expression) -> None:
    """NUMERIC / BIGNUMERIC as DuckDB decimals of BigQuery's scale (sqlglot's DuckDB DECIMAL is (18, 3))."""
    for dt in list(tree.find_all(exp.DataType)):
        if dt.this == exp.DataType.Type.DECIMAL and not dt.expressions:
            dt.replace(exp.DataType.build("DECIMAL(38, 9)"))
        elif dt.this == exp.DataType.Type.BIGDECIMAL:
            dt.replace(exp.DataType.build("DECIMAL(38, 18)"))


def _error(status: int, reason: str, message: str) -> Reply:
    codes = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
    return Reply.json(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": codes.get(status, "INTERNAL"),
            }
        },
        status,
    )


class FakeBigQuery:
    """Routes on `server`; `add_table` seeds an export-shaped table."""

    def __init__(self, server: FakeHTTPServer, *, page_size: int = 1000, bytes_per_row: int = 1000) -> None:
        self.server = server
        self.page_size = page_size
        self.bytes_per_row = bytes_per_row
        self.db = duckdb.connect()
        self.db.execute("SET TimeZone='UTC'")
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.tables: dict[str, tuple[str, list[F], bool]] = {}  # full name -> (local, schema, partitioned)
        self.forbidden_tables: set[str] = set()
        self.results: dict[str, F] = {}
        self.queries: list[tuple[str, list[F]]] = []  # (GoogleSQL, parameters) as received
        self.configs: list[F] = []  # the query request bodies (maximumBytesBilled, parameterMode...)
        self._throttled = 0
        base = r"/bigquery/v2/projects/(?P<project>[^/]+)"
        server.route("GET", base + r"/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)", self._get_table)
        server.route("POST", base + r"/queries", self._jobs_query)
        server.route("POST", base + r"/jobs", self._jobs_insert)
        server.route("GET", base + r"/jobs/(?P<job>[^/]+)", self._jobs_get)
        server.route("GET", base + r"/queries/(?P<job>[^/]+)", self._get_query_results)

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        self.db.close()

    def throttle(self, n: int = 1) -> None:
        """The next `n` query requests are answered 429 rateLimitExceeded."""
        with self._lock:
            self._throttled += n

    def add_table(self, full_name: str, schema: list[F], rows: list[F], *, partitioned: bool = True) -> None:
        """Create `project.dataset.table` with `schema` and insert `rows` (dicts by column name;
        `_PARTITIONTIME` may be given per row, else it is the usage day's midnight)."""
        with self._lock:
            local = f"t{next(self._ids)}"
            columns = [(f["name"], duck_type(f)) for f in schema]
            if partitioned:
                columns.append(("_PARTITIONTIME", "TIMESTAMPTZ"))
            ddl = ", ".join(f'"{n}" {t}' for n, t in columns)
            self.db.execute(f"CREATE TABLE {local} ({ddl})")
            names = [n for n, _ in columns]
            nested = {f["name"] for f in schema if f["type"] == "RECORD" or f.get("mode") == "REPEATED"}
            # nested values go in as JSON text (a dict with key/value fields would bind as a MAP)
            placeholders = ", ".join(
                f"CAST(CAST(? AS JSON) AS {t})" if n in nested else "?" for n, t in columns
            )
            values = [[_insertable(row.get(n), n in nested) for n in names] for row in rows]
            if values:
                self.db.executemany(f"INSERT INTO {local} VALUES ({placeholders})", values)
            self.tables[full_name] = (local, schema, partitioned)

    # -- handlers ---------------------------------------------------------------------------

    def _get_table(self, req: Request) -> Reply:
        full = f"{req.match['project']}.{req.match['dataset']}.{req.match['table']}"
        if full in self.forbidden_tables:
            return _error(
                403, "accessDenied", f"Access Denied: Table {full}: Permission bigquery.tables.get denied"
            )
        if full not in self.tables:
            return _error(404, "notFound", f"Not found: Table {full}")
        _local, schema, partitioned = self.tables[full]
        body: F = {
            "kind": "bigquery#table",
            "tableReference": {
                "projectId": req.match["project"],
                "datasetId": req.match["dataset"],
                "tableId": req.match["table"],
            },
            "schema": {"fields": schema},
            "type": "TABLE",
        }
        if partitioned:
            body["timePartitioning"] = {"type": "DAY"}
        return Reply.json(body)

    def _execute(self, project: str, body: F, *, insert: bool = False) -> Reply | F:
        sql = body.get("query", "")
        params = body.get("queryParameters", []) or []
        self.queries.append((sql, params))
        self.configs.append(body)
        with self._lock:
            throttled, self._throttled = self._throttled > 0, max(0, self._throttled - 1)
        if throttled:
            return _error(429, "rateLimitExceeded", "Exceeded rate limits: too many api requests per user")
        tree = sqlglot.parse_one(sql, read="bigquery")
        refused = _refusal(sql, tree, params)
        if refused is not None:
            return _error(400, "invalidQuery", refused)
        _decimal_types(tree)
        scanned = 0
        for table in list(tree.find_all(exp.Table)):
            full = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            if full in self.forbidden_tables:
                return _error(403, "accessDenied", f"Access Denied: Table {full}")
            if full not in self.tables:
                return _error(404, "notFound", f"Not found: Table {full} was not found in location US")
            local = self.tables[full][0]
            row = self.db.cursor().execute(f"SELECT count(*) FROM {local}").fetchone()
            scanned += (row[0] if row else 0) * self.bytes_per_row
            table.replace(exp.to_table(local).as_(table.alias) if table.alias else exp.to_table(local))
        limit = body.get("maximumBytesBilled")
        if limit is not None and scanned > int(limit):
            return _error(
                500 if insert else 400,
                "bytesBilledLimitExceeded",
                f"Query exceeded limit for bytes billed: {limit}. {scanned} or higher required.",
            )
        duck_sql = tree.sql(dialect="duckdb")
        bound = {p["name"]: _param(p) for p in params}
        cur = self.db.cursor()
        cur.execute("SET TimeZone='UTC'")
        cur.execute(duck_sql, bound)
        stamps = [d[0] for d in cur.description or () if _bq_type(d[1]) == "TIMESTAMP"]
        if stamps:  # fetch TIMESTAMPTZ as epoch microseconds (DuckDB would need pytz to build datetimes)
            swaps = ", ".join(f'epoch_us("{n}") AS "{n}"' for n in stamps)
            cur.execute(f"SELECT * REPLACE ({swaps}) FROM ({duck_sql})", bound)
        types = [_bq_type(d[1]) if d[0] not in stamps else "TIMESTAMP" for d in cur.description or ()]
        names = [d[0] for d in cur.description or ()]
        rows = [{"f": [{"v": _cell(v, t)} for v, t in zip(r, types, strict=True)]} for r in cur.fetchall()]
        job_id = f"job_{next(self._ids)}"
        result = {
            "schema": {
                "fields": [
                    {"name": n, "type": t, "mode": "NULLABLE"} for n, t in zip(names, types, strict=True)
                ]
            },
            "rows": rows,
            "totalBytesProcessed": str(scanned),
            "jobReference": {"projectId": project, "jobId": job_id, "location": "US"},
            "query": sql,
        }
        self.results[job_id] = result
        return result

    def _page(self, result: F, token: str | None, max_results: str | None) -> F:
        start = int(token or 0)
        size = min(self.page_size, int(max_results)) if max_results else self.page_size
        rows = result["rows"][start : start + size]
        page: F = {
            "kind": "bigquery#getQueryResultsResponse",
            "schema": result["schema"],
            "jobReference": result["jobReference"],
            "totalRows": str(len(result["rows"])),
            "rows": rows,
            "totalBytesProcessed": result["totalBytesProcessed"],
            "jobComplete": True,
            "cacheHit": False,
        }
        if start + size < len(result["rows"]):
            page["pageToken"] = str(start + size)
        return page

    def _jobs_query(self, req: Request) -> Reply:
        out = self._execute(req.match["project"], req.json())
        if isinstance(out, Reply):
            return out
        return Reply.json(self._page(out, None, req.json().get("maxResults")))

    def _job_resource(self, result: F) -> F:
        return {
            "kind": "bigquery#job",
            "jobReference": result["jobReference"],
            "configuration": {"query": {"query": result["query"]}, "jobType": "QUERY"},
            "status": {"state": "DONE"},
            "statistics": {"query": {"totalBytesProcessed": result["totalBytesProcessed"]}},
        }

    def _jobs_insert(self, req: Request) -> Reply:
        config = req.json().get("configuration", {}).get("query", {})
        out = self._execute(req.match["project"], config, insert=True)
        if isinstance(out, Reply):
            return out
        return Reply.json(self._job_resource(out))

    def _jobs_get(self, req: Request) -> Reply:
        result = self.results.get(req.match["job"])
        if result is None:
            return _error(404, "notFound", f"Not found: Job {req.match['job']}")
        return Reply.json(self._job_resource(result))

    def _get_query_results(self, req: Request) -> Reply:
        result = self.results.get(req.match["job"])
        if result is None:
            return _error(404, "notFound", f"Not found: Job {req.match['job']}")
        return Reply.json(self._page(result, req.arg("pageToken"), req.arg("maxResults")))
