"""FOCUS billing-export provider: cost, budgets and audit checks over FOCUS CSV/Parquet files, in place.

Modules, one concept each:

- `datasets`: `FINOPS_FOCUS_PATHS` entries -> named datasets -> the files they match (with stat signatures).
- `loader`: one dataset's files -> one normalized view over the files, on a locked-down DuckDB database.
- `csvcache`: CSV / gzipped CSV files -> normalized Parquet twins in the user cache dir, converted once.
- `store`: lazy, thread-safe cache of dataset views that rebuilds a view when its files change.
- `queries`: cost, run-rate forecast and period totals as parameterized SQL.
- `budgets`: the `FINOPS_FOCUS_BUDGETS` file (YAML/JSON) and budget actuals/forecasts.
- `checks`: the `focus.*` audit checks.
- `provider`: `FocusProvider`, the `Provider` implementation the registry loads.

Nothing here is imported by the package itself: the registry imports `provider` when FOCUS is used.
"""
