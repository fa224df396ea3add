"""The FOCUS provider's settings (`FINOPS_FOCUS_*`) and how its configuration is detected.

`finops_mcp.settings.Settings` composes every provider's settings class, so these stay flat
fields of it (`settings.focus_paths`) read from the same environment and `.env` file.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

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


def detect(settings: FocusSettings) -> bool:
    """Configured: export paths named."""
    return bool(settings.focus_paths)
