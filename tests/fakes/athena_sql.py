"""What Athena (engine v3, Trino) does to a query's text before running it, for the Athena fake
(tests/fakes/athena.py): ExecutionParameters substitution and the checks that make a query FAIL
where Trino / Athena would refuse it.

- `substitute`: each `?` placeholder (not one inside a string) is replaced, in order, by the
  parameter's text as given (Athena's execution parameters are SQL text: "Use parameterized
  queries", docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html, which also
  says `?` may stand only in a WHERE clause: `where_only`); a count that differs fails with
  Athena's "Incorrect number of parameters: expected N but found M".
- `check_trino`: GROUP BY ALL (Trino reads ALL as the grouping-set quantifier), subscripts `x[...]`
  (Trino's `map[key]` throws on a missing key: element_at is the safe form), `::` casts, ILIKE,
  QUALIFY, DISTINCT ON, backtick identifiers, calls to functions Trino does not have (any name
  outside `TRINO_FUNCTIONS`, from the Trino functions reference, trino.io/docs/current/functions.html),
  a `?` left unbound, more than one statement, anything but a query.
"""

from __future__ import annotations

import itertools
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.trino import Trino

TRINO_FUNCTIONS = frozenset(
    """
    sum count count_if min max avg arbitrary any_value approx_distinct bool_and bool_or every array_agg
    map_agg max_by min_by stddev variance coalesce nullif if try greatest least cast try_cast typeof
    format json_extract json_extract_scalar json_parse json_format json_value json_query json_exists
    json_array_length element_at map_keys map_values cardinality map map_from_entries contains
    date_trunc date_add date_diff date_format date_parse from_iso8601_timestamp from_iso8601_date
    to_iso8601 year month day day_of_month day_of_week day_of_year quarter week hour minute second
    from_unixtime to_unixtime at_timezone with_timezone last_day_of_month parse_datetime
    format_datetime lower upper trim ltrim rtrim concat substr substring length replace split
    split_part strpos regexp_like regexp_extract regexp_replace lpad rpad reverse starts_with round
    abs ceil ceiling floor mod power sqrt sign truncate row_number rank dense_rank lag lead
    first_value last_value ntile percent_rank array_join filter transform reduce sequence slice
    array_distinct array_max array_min array_position zip_with
    """.split()  # noqa: SIM905 - a word list reads better than a literal
)


class QueryError(Exception):
    """The query fails the way Athena reports it: FAILED with a reason and AthenaError."""

    def __init__(self, message: str, error_type: int = 1006, category: int = 2) -> None:
        super().__init__(message)
        self.error = {
            "ErrorCategory": category,
            "ErrorType": error_type,
            "Retryable": False,
            "ErrorMessage": message,
        }


def substitute(sql: str, params: list[str]) -> str:
    """Athena's ExecutionParameters: each `?` (a placeholder token, not one inside a string) is
    replaced, in order, by the parameter's text as given."""
    try:
        tokens = Trino().tokenize(sql)
    except Exception as exc:
        raise QueryError(f"line 1:1: {type(exc).__name__}") from None
    marks = [t for t in tokens if t.token_type.name == "PLACEHOLDER"]
    if len(marks) != len(params):
        raise QueryError(f"Incorrect number of parameters: expected {len(marks)} but found {len(params)}")
    if marks:
        where_only(sql, marks)
    out, last = [], 0
    for mark, value in zip(marks, params, strict=True):
        out += [sql[last : mark.start], value]
        last = mark.end + 1
    return "".join([*out, sql[last:]])


def where_only(sql: str, marks: list[Any]) -> None:
    """Athena: "? parameters can be placed only in the WHERE clause"."""
    counter = itertools.count()
    pieces, last = [], 0
    for mark in marks:
        pieces += [sql[last : mark.start], f":q{next(counter)}"]
        last = mark.end + 1
    try:
        tree = sqlglot.parse_one("".join([*pieces, sql[last:]]), read="trino")
    except Exception:
        raise QueryError("line 1:1: mismatched input") from None
    for node in tree.find_all(exp.Placeholder):
        parent = node.parent
        while parent is not None and not isinstance(parent, exp.Where | exp.Query):
            parent = parent.parent
        if not isinstance(parent, exp.Where):
            raise QueryError(
                "line 1:1: Parameters are supported only in the WHERE clause (Athena execution parameters)"
            )


def check_trino(sql: str) -> exp.Query:
    """The parsed query, or QueryError for what Trino / Athena would refuse (module docstring)."""
    try:
        tokens = Trino().tokenize(sql)
    except Exception:
        raise QueryError("line 1:1: mismatched input") from None
    for i, token in enumerate(tokens):
        kind = token.token_type.name
        where = f"line {token.line}:{token.col}"
        if kind == "DCOLON":
            raise QueryError(f"{where}: mismatched input '::'")
        if kind == "ILIKE":
            raise QueryError(f"{where}: mismatched input 'ILIKE'")
        if kind == "PLACEHOLDER":
            raise QueryError(f"{where}: a '?' parameter is left without a value")
        if kind == "QUALIFY":
            raise QueryError(f"{where}: mismatched input 'QUALIFY'")
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i else None
        if (
            kind == "VAR"
            and nxt is not None
            and nxt.token_type.name == "L_PAREN"
            and (prev is None or prev.token_type.name != "DOT")
            and token.text.lower() not in TRINO_FUNCTIONS
        ):
            raise QueryError(f"FUNCTION_NOT_FOUND: {where}: Function '{token.text.lower()}' not registered")
    if "`" in sql:
        raise QueryError(
            "line 1:1: backquoted identifiers are not supported; use double quotes to quote identifiers"
        )
    try:
        statements = sqlglot.parse(sql, read="trino")
    except Exception:
        raise QueryError("line 1:1: mismatched input") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise QueryError("line 1:1: only one SELECT statement can be run here")
    tree = statements[0]
    for node in tree.walk():
        if isinstance(node, exp.Group) and node.args.get("all"):
            raise QueryError("GROUP BY ALL means the grouping-set quantifier in Trino, not every column")
        if isinstance(node, exp.Bracket) and not node.args.get("safe"):
            raise QueryError(
                "subscript [...] throws on a missing key or index in Trino (Key not present in map): "
                "use element_at"
            )
        if isinstance(node, exp.Distinct) and node.args.get("on") is not None:
            raise QueryError("line 1:1: mismatched input 'ON' (DISTINCT ON is not Trino)")
        if isinstance(node, exp.DDL | exp.DML | exp.Command):
            raise QueryError("line 1:1: only SELECT statements can be run here")
    return tree
