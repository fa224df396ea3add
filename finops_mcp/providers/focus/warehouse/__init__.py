"""FOCUS datasets held in a warehouse table (BigQuery, Athena, Snowflake) instead of files.

- `base`: the seam (`WarehouseTable`, `WarehouseResult`, `WarehouseBackend`).
- `render`: the provider's FOCUS SQL, parsed once by sqlglot and rendered per dialect.
- `bigquery`, `athena`, `snowflake`: one backend per engine, imported lazily by URL scheme.
"""
