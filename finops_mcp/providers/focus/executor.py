"""The one seam every FOCUS query runs through: `Runner.rows(sql, params)`.

`queries`, `budgets`, `checks` and `anomalies` hold one SQL text per query (DuckDB SQL over the
`focus_cost` view, `?` parameters) and call `rows`; they never know where it runs:

- `DuckRunner`: a cursor on the dataset's locked local DuckDB database (files in place);
- `warehouse.dataset.WarehouseRunner`: the same text rendered for the engine holding the table
  (`warehouse.render`) and run there by its backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import duckdb

Row = tuple[Any, ...]


class Runner(Protocol):
    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """All rows of `sql` (DuckDB SQL over `focus_cost`) with `params` bound in order."""
        ...


class DuckRunner:
    """Runs the SQL on a cursor of the dataset's local DuckDB database."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self.cursor.execute(sql, list(params)).fetchall()
