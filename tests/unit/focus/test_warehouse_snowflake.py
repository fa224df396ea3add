"""FOCUS datasets in Snowflake: snowflake-connector-python against fakesnow's server on 127.0.0.1.

fakesnow (https://github.com/tekumara/fakesnow, server mode) answers the connector's REST
protocol and runs the SQL on DuckDB after sqlglot's Snowflake -> DuckDB transpilation. So it
proves the connector, the binding (qmark), the session parameters and the answers, but not that
the SQL is valid Snowflake: `render.check_portable` (tested in test_warehouse_render) refuses
DuckDB-only constructs before anything is sent. Two fakesnow differences from Snowflake, both
handled here: DECIMAL sums may come back as float (the runner turns them into Decimal through
their repr), and `CAST(<variant string> AS VARCHAR)` keeps the JSON quotes (Snowflake drops
them), so tag values cannot be compared here: the equality run leaves out tag groupings, tag
filters and required tags, and the rendering test checks the Snowflake tag SQL instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("snowflake.connector")
fakesnow = pytest.importorskip("fakesnow")

import snowflake.connector  # noqa: E402
from snowflake.connector import errors as sferr  # noqa: E402

from finops_mcp.engine.context import CallContext  # noqa: E402
from finops_mcp.errors import ScopeFailure  # noqa: E402
from finops_mcp.providers.focus.provider import FocusProvider  # noqa: E402
from tests.unit.focus.conftest import make_settings, scope  # noqa: E402
from tests.unit.focus.focusdata import COLUMNS  # noqa: E402
from tests.unit.focus.warehouse_cases import TABLES, UNTAGGED_BUDGETS, assert_same_answers, write_local  # noqa: E402

DB, SCHEMA = "FINOPS", "BILLING"
TYPES = {
    "ChargePeriodStart": "TIMESTAMP_TZ",
    "ChargePeriodEnd": "TIMESTAMP_TZ",
    "BilledCost": "NUMBER(38, 10)",
    "EffectiveCost": "NUMBER(38, 10)",
    "PricingQuantity": "NUMBER(38, 10)",
    "Tags": "VARIANT",
}


def _value(col: str, v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat()
    if col == "Tags":
        return json.dumps(v or {})
    return None if v is None else str(v)


class Snow:
    def __init__(self, tmp: Path) -> None:
        self._server = fakesnow.server()
        self.kwargs = self._server.__enter__()
        conn = snowflake.connector.connect(**self.kwargs, paramstyle="qmark")
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {DB}")
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {DB}.{SCHEMA}")
        for name, rows in TABLES.items():
            cols = ", ".join(f"{c} {TYPES.get(c, 'VARCHAR')}" for c in COLUMNS)
            cur.execute(f"CREATE TABLE {DB}.{SCHEMA}.{name} ({cols})")
            # money and times as text (fakesnow binds a Decimal as an integer), cast by the INSERT
            exprs = ", ".join(
                "PARSE_JSON(?)" if c == "Tags" else f"CAST(? AS {TYPES[c]})" if c in TYPES else "?"
                for c in COLUMNS
            )
            cur.executemany(
                f"INSERT INTO {DB}.{SCHEMA}.{name} ({', '.join(COLUMNS)}) SELECT {exprs}",
                [tuple(_value(c, r.get(c)) for c in COLUMNS) for r in rows()],
            )
        conn.close()
        self.local = write_local(tmp / "local")
        self.budgets = tmp / "budgets.yaml"
        self.budgets.write_text(UNTAGGED_BUDGETS)

    def url(self, name: str) -> str:
        return f"{name}=snowflake://{self.kwargs['account']}/{DB}/{SCHEMA}/{name}?warehouse=FINOPS_WH"

    def provider(self, *entries: str, **settings: Any) -> FocusProvider:
        values: dict[str, Any] = {
            "focus_budgets": str(self.budgets),
            "snowflake_user": self.kwargs["user"],
            "snowflake_password": self.kwargs["password"],
            "snowflake_host": f"http://{self.kwargs['host']}:{self.kwargs['port']}",
        }
        values.update(settings)
        return FocusProvider(make_settings(focus_paths=list(entries), **values))

    def close(self) -> None:
        self._server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def snow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snow]:
    made = Snow(tmp_path_factory.mktemp("snow"))
    yield made
    made.close()


@pytest.mark.parametrize("name", list(TABLES))
def test_snowflake_answers_equal_local_answers_to_the_cent(snow: Snow, name: str) -> None:
    assert_same_answers(snow.provider(snow.local[name]), snow.provider(snow.url(name)), name, tags=False)


def test_missing_credentials_are_a_clear_configuration_error(snow: Snow) -> None:
    p = snow.provider(snow.url("acme"), snowflake_user=None)
    try:
        with pytest.raises(ScopeFailure) as err:
            p.data_span(scope("acme"), CallContext())
    finally:
        p.close()
    assert err.value.code == "not_configured" and "FINOPS_SNOWFLAKE_USER" in err.value.message


def test_a_missing_table_is_not_configured(snow: Snow) -> None:
    p = snow.provider(f"gone=snowflake://{snow.kwargs['account']}/{DB}/{SCHEMA}/NOPE")
    try:
        with pytest.raises(ScopeFailure) as err:
            p.data_span(scope("gone"), CallContext())
    finally:
        p.close()
    assert err.value.code in ("not_configured", "invalid_query")
    assert "NOPE" in err.value.message and "SELECT" not in err.value.message.split(":")[0]


@pytest.mark.parametrize(
    ("exc", "code", "retryable"),
    [
        (
            sferr.ProgrammingError(msg="Object 'X' does not exist or not authorized.", errno=2003),
            "not_found",
            False,
        ),
        (
            sferr.ProgrammingError(msg="Insufficient privileges to operate on table", errno=3001),
            "forbidden",
            False,
        ),
        (
            sferr.DatabaseError(msg="Incorrect username or password was specified.", errno=250001),
            "auth",
            False,
        ),
        (sferr.ForbiddenError(msg="HTTP 403: Forbidden"), "forbidden", False),
        (sferr.TooManyRequests(msg="HTTP 429: Too Many Requests"), "throttled", True),
        (sferr.ServiceUnavailableError(msg="HTTP 503"), "upstream", True),
        (sferr.ProgrammingError(msg="SQL compilation error", errno=1003), "invalid_query", False),
    ],
)
def test_the_connector_errors_translate_once(exc: Exception, code: str, retryable: bool) -> None:
    """The one ErrorMap table, over the connector's own exception types (fakesnow cannot answer
    a 403 or a 429 itself)."""
    from finops_mcp.providers.focus.warehouse.snowflake import ERRORS

    assert ERRORS.classify(exc) == (code, retryable)
    assert ERRORS.retry_decision(exc).retryable is retryable
