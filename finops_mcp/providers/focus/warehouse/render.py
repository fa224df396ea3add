"""The provider's FOCUS SQL (DuckDB text over the `focus_cost` view), rendered for a warehouse.

Each query text in `queries`, `checks`, `anomalies` is written once, for DuckDB, with `?`
parameters. For a warehouse table it is parsed once by sqlglot (cached per text and dialect),
and rewritten on the AST:

- `focus_cost` becomes the dialect's normalizing subquery over the raw FOCUS columns of the
  table (`Dialect.normalize`): the same columns and rules as the local view (`loader`): a UTC
  `charge_day` DATE, empty strings as NULL, SubAccountId else BillingAccountId, RegionId,
  costs cast to an exact decimal (BigQuery NUMERIC, Snowflake / Trino DECIMAL(38,10)), `tags`
  as JSON text;
- each `tag_value(tags, ?)` becomes a column of that subquery computed by the dialect's own tag
  access (`Dialect.tag`: BigQuery UNNEST over the key/value array, Snowflake GET on the
  OBJECT, Trino `element_at` on the MAP, which is NULL, not an error, for a missing key); its key
  stays a bound parameter;
- `date_trunc('month', <date>)` stays a DATE truncation (sqlglot would make it a TIMESTAMP one);
- `GROUP BY ALL` is refused (Trino reads it differently): the queries group explicitly.

Then it is generated with `.sql(dialect=...)`, and its parameters, numbered before parsing, are
put back as positional `?` in the order they now appear (`Rendered.order`: a hoisted tag key moves
into the subquery). `check_portable` refuses rendered SQL that still holds a DuckDB-only function
or a lambda: an emulator that runs on DuckDB (fakesnow) would accept it, the engine would not.
No text from a tool argument ever reaches here: tag keys, names, dates are parameters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect
from sqlglot.tokens import TokenType

from finops_mcp.providers.focus.warehouse.base import WarehouseTable

TABLE = "focus_cost"
TAG_FUNCTION = "tag_value"
_MARK = "finops_p"
_MARK_RE = re.compile(r"[@:$]?" + _MARK + r"(\d+)\b")
_KEY = "FINOPS_TAG_KEY"  # stands for the tag key in `Dialect.tag`
# DuckDB functions with no counterpart of that name in the warehouses (a rendered query holding one is a bug)
DUCKDB_ONLY = frozenset(
    {
        "arg_max", "arg_min", "list", "list_filter", "list_sort", "list_distinct", "flatten", "len",
        "epoch_us", "json_extract_string", "tag_value", "strftime", "list_transform", "struct_pack",
    }
)  # fmt: skip


# DuckDB constructs sqlglot translates into valid-looking SQL of another meaning (a JSON pointer
# read as a JSON path, strftime patterns, lambdas over lists): refused in the source queries
_UNPORTABLE = (
    exp.Lambda, exp.JSONExtract, exp.JSONExtractScalar, exp.ArrayFilter, exp.TimeToStr, exp.Explode,
    exp.Flatten,
)  # fmt: skip


@dataclass(frozen=True)
class Dialect:
    """How one engine reads a FOCUS table: the sqlglot dialect, the normalizing SELECT (in that
    dialect, `{table}` for the table), and the expression reading one tag (`FINOPS_TAG_KEY`
    stands for the bound key)."""

    name: str
    normalize: str
    tag: str

    def table_sql(self, table: WarehouseTable) -> str:
        catalog, db, name = table.location[-3:]
        return exp.table_(name, db, catalog, quoted=True).sql(dialect=self.name)


def _normalize(day: str, money: str, tags: str) -> str:
    """The normalizing SELECT over FOCUS 1.0 column names; `day`, `money`, `tags` are the
    dialect's expressions (`{c}` = the column)."""

    def text(c: str) -> str:
        return f"NULLIF({c}, '')"

    return (
        f"SELECT {day.format(c='ChargePeriodStart')} AS charge_day, {text('ProviderName')} AS provider_name, "
        f"{text('ServiceName')} AS service, "
        f"COALESCE({text('SubAccountId')}, {text('BillingAccountId')}) AS account, "
        f"{text('SubAccountName')} AS account_name, {text('RegionId')} AS region, "
        f"{text('ResourceId')} AS resource_id, {text('ResourceName')} AS resource_name, "
        f"{text('ResourceType')} AS resource_type, {text('ChargeCategory')} AS charge_category, "
        f"{text('ChargeFrequency')} AS charge_frequency, {money.format(c='BilledCost')} AS billed_cost, "
        f"{money.format(c='EffectiveCost')} AS effective_cost, {text('BillingCurrency')} AS currency, "
        f"{text('CommitmentDiscountId')} AS commitment_id, "
        f"{text('CommitmentDiscountName')} AS commitment_name, "
        f"{text('CommitmentDiscountStatus')} AS commitment_status, {tags.format(c='Tags')} AS tags, "
        f"{money.format(c='PricingQuantity')} AS quantity, {text('PricingUnit')} AS unit, "
        "CAST(NULL AS DATE) AS partition_month FROM {table}"
    )


DIALECTS: dict[str, Dialect] = {
    # Google's FOCUS export: ChargePeriodStart TIMESTAMP (DATE() of a TIMESTAMP is its UTC day),
    # costs NUMERIC, Tags ARRAY<STRUCT<key STRING, value STRING>>
    "bigquery": Dialect(
        "bigquery",
        _normalize("DATE({c})", "CAST({c} AS NUMERIC)", "TO_JSON_STRING({c})"),
        f"(SELECT t.value FROM UNNEST(Tags) AS t WHERE t.key = {_KEY} LIMIT 1)",
    ),
    # Snowflake: ChargePeriodStart TIMESTAMP_* (converted to UTC; the session is UTC too), Tags an
    # OBJECT / VARIANT or JSON text
    "snowflake": Dialect(
        "snowflake",
        _normalize(
            "TO_DATE(CONVERT_TIMEZONE('UTC', {c}))", "CAST({c} AS DECIMAL(38, 10))", "TO_VARCHAR({c})"
        ),
        f"CAST(GET(TRY_PARSE_JSON(TO_VARCHAR(Tags)), {_KEY}) AS VARCHAR)",
    ),
    # Athena / Trino over the AWS Data Exports FOCUS table: ChargePeriodStart timestamp, Tags
    # map(varchar, varchar); element_at is NULL for a missing key (map[k] would fail the query)
    "athena": Dialect(
        "trino",
        _normalize("CAST({c} AS DATE)", "CAST({c} AS DECIMAL(38, 10))", "json_format(CAST({c} AS JSON))"),
        f"element_at(Tags, {_KEY})",
    ),
}


@dataclass(frozen=True)
class Rendered:
    sql: str  # in the dialect, positional `?`
    order: tuple[int, ...]  # parameter i of the rendered SQL is parameter order[i] of the source

    def params(self, params: Sequence[object]) -> list[object]:
        return [params[i] for i in self.order]


def number_placeholders(sql: str, dialect: str, name: str = ":" + _MARK + "{i}") -> str:
    """`sql` with its i-th `?` placeholder (outside string literals) replaced by `name.format(i=i)`."""
    tokens = SqlglotDialect.get_or_raise(dialect).tokenize(sql)
    out, last = [], 0
    for i, pos in enumerate(t.start for t in tokens if t.token_type == TokenType.PLACEHOLDER):
        out.append(sql[last:pos] + name.format(i=i))
        last = pos + 1
    return "".join(out) + sql[last:]


def render(sql: str, scheme: str, table: WarehouseTable) -> Rendered:
    """The DuckDB `sql` over `focus_cost` as SQL for `scheme`'s engine over `table`."""
    return _render(sql, scheme, DIALECTS[scheme].table_sql(table))


@functools.lru_cache(maxsize=512)
def _render(sql: str, scheme: str, table_sql: str) -> Rendered:
    dialect = DIALECTS[scheme]
    tree = sqlglot.parse_one(number_placeholders(sql, "duckdb"), read="duckdb")
    if any(g.args.get("all") for g in tree.find_all(exp.Group)):
        raise ValueError("GROUP BY ALL in a FOCUS query: group by explicit expressions")
    for node in tree.walk():
        if isinstance(node, _UNPORTABLE):  # sqlglot renders these, but not with the same meaning everywhere
            raise ValueError(f"FOCUS query uses {type(node).__name__}, which does not render portably")
    for trunc in list(tree.find_all(exp.TimestampTrunc)):
        trunc.replace(exp.DateTrunc(this=trunc.this, unit=trunc.args.get("unit")))
    hoisted = _hoist_tags(tree, dialect)
    for table in list(tree.find_all(exp.Table)):
        if table.name != TABLE:
            continue
        select = sqlglot.parse_one(dialect.normalize.format(table=table_sql), read=dialect.name)
        assert isinstance(select, exp.Select)
        for alias, key in hoisted.get(id(table.parent_select), []):
            tag = sqlglot.parse_one(dialect.tag, read=dialect.name)
            for col in list(tag.find_all(exp.Column)):
                if col.name == _KEY:
                    col.replace(key.copy())
            select = select.select(exp.alias_(tag, alias), copy=False)
        table.replace(exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(TABLE))))
    text = tree.sql(dialect=dialect.name)
    check_portable(text, dialect.name)
    order = tuple(int(m.group(1)) for m in _MARK_RE.finditer(text))
    return Rendered(_MARK_RE.sub("?", text), order)


def _hoist_tags(tree: exp.Expr, dialect: Dialect) -> dict[int, list[tuple[str, exp.Expression]]]:
    """Replace each `tag_value(tags, key)` by a column of the `focus_cost` its SELECT reads; the
    (alias, key) pairs to add to that subquery, by the id of the SELECT."""
    hoisted: dict[int, list[tuple[str, exp.Expression]]] = {}
    calls = [f for f in tree.find_all(exp.Anonymous) if str(f.this).lower() == TAG_FUNCTION]
    for n, call in enumerate(calls):
        select = call.parent_select
        source = (select.args.get("from_") or select.args.get("from")) if select is not None else None
        table = source.this if source is not None else None
        if select is None or not isinstance(table, exp.Table) or table.name != TABLE:
            raise ValueError("tag_value() must be read in a SELECT directly over focus_cost")
        alias = f"tag_{n}"
        hoisted.setdefault(id(select), []).append((alias, call.expressions[1]))
        call.replace(exp.column(alias))
    return hoisted


def check_portable(sql: str, dialect: str) -> None:
    """Refuse rendered SQL that holds a DuckDB-only function or a lambda (a bug, not user input)."""
    tree = sqlglot.parse_one(sql, read=dialect)
    for node in tree.walk():
        if isinstance(node, exp.Lambda) or (
            isinstance(node, exp.Anonymous) and str(node.this).lower() in DUCKDB_ONLY
        ):
            raise ValueError(
                f"FOCUS query rendered for {dialect} holds DuckDB-only {node.sql('duckdb')[:60]}"
            )
        if isinstance(node, exp.Group) and node.args.get("all"):
            raise ValueError(f"FOCUS query rendered for {dialect} holds GROUP BY ALL")
