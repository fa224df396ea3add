"""`SnowflakeBackend`: FOCUS queries on a Snowflake table, with snowflake-connector-python.

URL: `snowflake://ACCOUNT/DB/SCHEMA/TABLE`, options `warehouse=` and `role=` (default: the user's
defaults). Credentials: FINOPS_SNOWFLAKE_USER with FINOPS_SNOWFLAKE_PASSWORD or
FINOPS_SNOWFLAKE_PRIVATE_KEY_FILE (key-pair, `SNOWFLAKE_JWT`); never in the URL.
FINOPS_SNOWFLAKE_HOST (`http://127.0.0.1:PORT`, or a private-link host) overrides the account's host.
The connector is an optional extra: `pip install 'finops-mcp-server[snowflake]'`.

Binding: the connector's `qmark` paramstyle, so `?` parameters are bound by Snowflake (server
side), never formatted into the text. The session time zone is UTC (`TIMEZONE` session
parameter at login). Only single SELECT statements are sent (checked before sending); give the
role USAGE on the warehouse, database and schema and SELECT on the table, nothing more.

Snowflake does not report bytes scanned on the query response (only in QUERY_HISTORY, which
needs more privileges): `bytes_scanned` is None. Errors go through one ErrorMap: a missing
object -> not_configured, insufficient privileges -> forbidden, bad credentials -> auth,
throttling (HTTP 429) -> throttled and network / 5xx -> upstream, both retried.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

import snowflake.connector
import sqlglot
from snowflake.connector import errors as sferr

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import ErrorMap, Translated
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus.warehouse.base import WarehouseResult, WarehouseTable
from finops_mcp.settings import Settings

# Snowflake error numbers (docs.snowflake.com, "Error codes" / connector errors)
_NOT_FOUND = {2003, 2043}  # object does not exist or not authorized
_PRIVILEGES = {3001, 3003}  # insufficient privileges
_AUTH = {250001, 390100, 390144, 390318, 251005}


_RETRYABLE = (
    sferr.ServiceUnavailableError, sferr.InternalServerError, sferr.BadGatewayError,
    sferr.GatewayTimeoutError, sferr.OtherHTTPRetryableError, sferr.OperationalError,
)  # fmt: skip


def translate(exc: BaseException) -> Translated | None:
    """The one translation of a snowflake-connector error (None: not one)."""
    if not isinstance(exc, sferr.Error):
        return None
    errno = getattr(exc, "errno", None) or 0
    if isinstance(exc, sferr.TooManyRequests):
        return Translated("throttled", True)
    if errno in _AUTH:
        return Translated("auth", False)
    if errno in _PRIVILEGES or isinstance(exc, sferr.ForbiddenError):  # HTTP 403: e.g. a network policy
        return Translated("forbidden", False)
    if errno in _NOT_FOUND:
        return Translated("not_found", False)
    if isinstance(exc, sferr.ProgrammingError):
        return Translated("invalid_query", False)
    if isinstance(exc, _RETRYABLE):
        return Translated("upstream", True)
    return Translated("upstream", False)


ERRORS = ErrorMap(translate)


class SnowflakeBackend:
    dialect: ClassVar[str] = "snowflake"

    def __init__(self, table: WarehouseTable, settings: Settings) -> None:
        self.table = table
        self.account, self.database, self.schema, self.name = table.location
        self.settings = settings
        self._lock = threading.Lock()
        self._conn: Any = None

    def _connect_args(self) -> dict[str, Any]:
        s = self.settings
        if not s.snowflake_user:
            raise ScopeFailure(
                "not_configured",
                f"Snowflake FOCUS table {self.table.display}: set FINOPS_SNOWFLAKE_USER and "
                "FINOPS_SNOWFLAKE_PASSWORD or FINOPS_SNOWFLAKE_PRIVATE_KEY_FILE (docs/warehouses.md)",
            )
        args: dict[str, Any] = {
            "account": self.account,
            "user": s.snowflake_user,
            "database": self.database,
            "schema": self.schema,
            "paramstyle": "qmark",
            "session_parameters": {"TIMEZONE": "UTC", "QUERY_TAG": "finops-mcp"},
            "login_timeout": s.request_timeout_seconds,
            "network_timeout": s.request_timeout_seconds,
            "application": "finops-mcp",
        }
        for option in ("warehouse", "role"):
            if self.table.options.get(option):
                args[option] = self.table.options[option]
        if s.snowflake_private_key_file:
            args.update(authenticator="SNOWFLAKE_JWT", private_key_file=s.snowflake_private_key_file)
        elif s.snowflake_password is not None:
            args["password"] = s.snowflake_password.get_secret_value()
        if s.snowflake_host:
            url = urlsplit(s.snowflake_host if "://" in s.snowflake_host else f"https://{s.snowflake_host}")
            args.update(host=url.hostname, protocol=url.scheme)
            if url.port:
                args["port"] = url.port
        return args

    def _connection(self) -> Any:
        with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._conn = snowflake.connector.connect(**self._connect_args())
            return self._conn

    def _failure(self, exc: BaseException) -> ScopeFailure:
        found = ERRORS(exc) or Translated("upstream", False)
        where = f"Snowflake table {self.table.display}"
        if found.code == "not_found":
            return ScopeFailure(
                "not_configured",
                f"{where} was not found or the role cannot see it: check the FINOPS_FOCUS_PATHS entry and "
                "grant the role USAGE on the database and schema and SELECT on the table",
            )
        if found.code == "forbidden":
            return ScopeFailure(
                "forbidden",
                f"{where}: the role lacks a privilege; grant USAGE on the warehouse, database and schema "
                "and SELECT on the table (docs/warehouses.md)",
            )
        errno = getattr(exc, "errno", None)
        return ScopeFailure(
            found.code, f"{where}: {type(exc).__name__} {errno or ''}".rstrip(), retryable=found.retryable
        )

    def run(self, sql: str, params: Sequence[object], ctx: CallContext | None) -> WarehouseResult:
        statement = sqlglot.parse_one(sql, read=self.dialect)
        if not isinstance(statement, sqlglot.exp.Query):
            raise ScopeFailure("invalid_query", "finops-mcp is read-only: only SELECT statements are sent")

        def once() -> WarehouseResult:
            if ctx is not None:
                ctx.count_billed("focus.snowflake")
            cur = self._connection().cursor()
            try:
                cur.execute(sql, list(params))
                rows = [tuple(r) for r in cur.fetchall()]
            finally:
                cur.close()
            return WarehouseResult(rows, None)

        try:
            return once() if ctx is None else ctx.retry(once, classify=ERRORS.retry_decision)
        except sferr.Error as exc:
            raise self._failure(exc) from None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sferr.Error):  # best effort
                conn.close()
