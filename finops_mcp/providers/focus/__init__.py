"""FOCUS billing-export provider: cost, budgets and audit checks over local FOCUS CSV/Parquet files.

Modules, one concept each:

- `datasets`: `FINOPS_FOCUS_PATHS` entries -> named datasets -> the files they match (with stat signatures).
- `loader`: one dataset's files -> one normalized, locked-down, in-memory DuckDB table.
- `store`: lazy, thread-safe cache of loaded datasets that reloads when the files change.
- `queries`: cost, run-rate forecast and period totals as parameterized SQL.
- `budgets`: the `FINOPS_FOCUS_BUDGETS` file (YAML/JSON) and budget actuals/forecasts.
- `checks`: the `focus.*` audit checks.
- `provider`: `FocusProvider`, the `Provider` implementation the registry loads.

Nothing here is imported by the package itself: the registry imports `provider` when FOCUS is used.
"""
