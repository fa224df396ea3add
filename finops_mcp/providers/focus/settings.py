"""The FOCUS provider's settings (`FINOPS_FOCUS_*`, and `FINOPS_SNOWFLAKE_*` for Snowflake tables)
and how its configuration is detected.

`finops_mcp.settings.Settings` composes every provider's settings class, so these stay flat
fields of it (`settings.focus_paths`) read from the same environment and `.env` file.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from finops_mcp.settings_fields import CsvList


class FocusSettings(BaseModel):
    focus_paths: CsvList = Field(
        default_factory=list,
        description="Globs of FOCUS CSV/Parquet exports; `name=glob` names a dataset.",
    )
    focus_budgets: str | None = Field(None, description="YAML or JSON budgets file for FOCUS data.")
    focus_cache_dir: str | None = Field(
        None, description="Folder of the FOCUS CSV-to-Parquet cache; default: the user cache dir."
    )
    # FOCUS tables in a warehouse (docs/warehouses.md)
    focus_max_bytes_billed: int = Field(
        100 * 1024**3,
        ge=0,
        description="BigQuery FOCUS tables: maximum_bytes_billed of each query in bytes (0: no cap).",
    )
    snowflake_user: str | None = Field(None, description="Snowflake FOCUS tables: the login name.")
    snowflake_password: SecretStr | None = Field(
        None, description="Snowflake FOCUS tables: the password (or use a private key file)."
    )
    snowflake_private_key_file: str | None = Field(
        None, description="Snowflake FOCUS tables: PEM private key file for key-pair authentication."
    )
    snowflake_host: str | None = Field(
        None, description="Snowflake FOCUS tables: host override, `host[:port]` (private link, tests)."
    )


def detect(settings: FocusSettings) -> bool:
    """Configured: export paths named."""
    return bool(settings.focus_paths)
