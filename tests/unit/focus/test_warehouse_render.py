"""Rendering the FOCUS queries per dialect: every query the provider sends parses in its dialect,
groups explicitly, reads tags the dialect's way, keeps every value a parameter in the right order,
and treats untagged rows alike (NULL, read as '')."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from finops_mcp.periods import Span
from finops_mcp.providers.base import CostQuery, Filters
from finops_mcp.providers.focus import queries
from finops_mcp.providers.focus.warehouse.base import WarehouseTable
from finops_mcp.providers.focus.warehouse.render import DIALECTS, check_portable, number_placeholders, render

TABLES = {
    "bigquery": WarehouseTable("bigquery", ("proj-1", "ds", "focus"), {}, "bigquery://proj-1/ds/focus"),
    "snowflake": WarehouseTable(
        "snowflake", ("acct", "DB", "SCH", "FOCUS"), {}, "snowflake://acct/DB/SCH/FOCUS"
    ),
    "athena": WarehouseTable(
        "athena", ("AwsDataCatalog", "cur", "focus"), {}, "athena://AwsDataCatalog/cur/focus"
    ),
}
TAG_ACCESS = {"bigquery": exp.Unnest, "snowflake": "GET(", "athena": "ELEMENT_AT("}
SPAN = Span(date(2024, 3, 1), date(2024, 5, 31))


def sample_queries() -> list[tuple[str, list[object]]]:
    tagged = Filters(services=("Amazon EC2",), tags=(("team", ("data", "")), ("env", ())))
    out = [
        queries.cost_sql(
            CostQuery(SPAN, "monthly", ("tag:team", "service"), "billed", tagged, quantity=True)
        ),
        queries.cost_sql(CostQuery(SPAN, "daily", ("region",), "effective")),
        queries.periods_sql(
            CostQuery(SPAN, "total", ("tag:env",), "billed"), [Span(SPAN.start, date(2024, 3, 31)), SPAN]
        ),
    ]
    return [(sql, list(params)) for sql, params in out]


@pytest.mark.parametrize("scheme", list(DIALECTS))
def test_every_rendered_query_parses_in_its_dialect_and_groups_explicitly(scheme: str) -> None:
    for sql, params in sample_queries():
        rendered = render(sql, scheme, TABLES[scheme])
        tree = sqlglot.parse_one(rendered.sql, read=DIALECTS[scheme].name)
        assert not any(g.args.get("all") for g in tree.find_all(exp.Group))
        assert "GROUP BY ALL" not in rendered.sql.upper()
        assert "tag_value" not in rendered.sql.lower() and "focus_cost" in rendered.sql  # the subquery alias
        assert rendered.sql.count("?") == len(params) == len(rendered.order)
        assert sorted(rendered.order) == list(range(len(params)))
        access = TAG_ACCESS[scheme]
        if "tag_value" not in sql:
            continue
        if isinstance(access, str):
            assert access in rendered.sql.upper()
        else:
            assert tree.find(access) is not None
        check_portable(rendered.sql.replace("?", "NULL"), DIALECTS[scheme].name)


def test_parameters_follow_the_rendered_order() -> None:
    sql = (
        "SELECT COALESCE(tag_value(tags, ?), '') AS k0, SUM(billed_cost) AS cost FROM focus_cost "
        "WHERE charge_day >= ? GROUP BY 1"
    )
    rendered = render(sql, "bigquery", TABLES["bigquery"])
    # the tag key moved into the subquery, before the WHERE date: both still in their places
    assert rendered.params(["team", date(2024, 3, 1)]) == ["team", date(2024, 3, 1)]
    sql2 = (
        "SELECT charge_day FROM focus_cost WHERE charge_day >= ? AND COALESCE(tag_value(tags, ?), '') = ? "
        "GROUP BY 1"
    )
    r2 = render(sql2, "snowflake", TABLES["snowflake"])
    assert r2.params([date(2024, 3, 1), "team", "data"]) == ["team", date(2024, 3, 1), "data"]


def test_group_by_all_and_duckdb_only_functions_are_refused() -> None:
    with pytest.raises(ValueError, match="GROUP BY ALL"):
        render(
            "SELECT service, SUM(billed_cost) FROM focus_cost GROUP BY ALL", "bigquery", TABLES["bigquery"]
        )
    # sqlglot would turn these into valid SQL of another meaning (a JSON pointer read as a path)
    for bad in (
        "json_extract_string(tags, '/team')",
        "list_filter([1], lambda k: k > 1)",
        "strftime(charge_day, '%Y')",
    ):
        with pytest.raises(ValueError, match="does not render portably"):
            render(f"SELECT {bad} FROM focus_cost", "snowflake", TABLES["snowflake"])
    # what sqlglot passes through untranslated is refused in the rendered SQL
    with pytest.raises(ValueError, match="DuckDB-only"):
        render("SELECT epoch_us(charge_day) FROM focus_cost", "bigquery", TABLES["bigquery"])
    with pytest.raises(ValueError, match="DuckDB-only"):
        check_portable("SELECT EPOCH_US(x) FROM t", "snowflake")


def test_question_marks_in_string_literals_are_not_parameters() -> None:
    assert number_placeholders("SELECT '?' AS q, x FROM t WHERE a = ?", "duckdb", "@p{i}") == (
        "SELECT '?' AS q, x FROM t WHERE a = @p0"
    )


def test_untagged_rows_are_null_in_the_bigquery_tag_access_run_on_duckdb() -> None:
    """BigQuery's tag access over the export's key/value shape, transpiled to DuckDB: a missing key
    and an empty Tags array are NULL (COALESCE(.., '') then makes both '', as the local view does),
    an empty value stays ''."""
    tag = DIALECTS["bigquery"].tag.replace("FINOPS_TAG_KEY", "@key")
    sql = sqlglot.transpile(f"SELECT r, {tag} AS v FROM focus ORDER BY r", read="bigquery", write="duckdb")[0]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE focus AS SELECT * FROM (VALUES "
        "([{'key': 'team', 'value': 'data'}], 'a'), ([{'key': 'env', 'value': 'dev'}], 'b'), "
        "(CAST([] AS STRUCT(key VARCHAR, value VARCHAR)[]), 'c'), ([{'key': 'team', 'value': ''}], 'd')"
        ") AS t(Tags, r)"
    )
    assert con.execute(sql, {"key": "team"}).fetchall() == [
        ("a", "data"),
        ("b", None),
        ("c", None),
        ("d", ""),
    ]
