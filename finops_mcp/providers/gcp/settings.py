"""The GCP provider's settings (`FINOPS_GCP_*`) and how its configuration is detected.

`finops_mcp.settings.Settings` composes every provider's settings class, so these stay flat
fields of it (`settings.gcp_projects`) read from the same environment and `.env` file.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from finops_mcp.settings_fields import CsvList


class GcpSettings(BaseModel):
    gcp_billing_account: str | None = Field(None, description="Billing account id.")
    gcp_projects: CsvList = Field(default_factory=list, description="Project ids.")
    gcp_billing_export_table: str | None = Field(None, description="project.dataset.table of the export.")
    gcp_api_endpoint: str | None = Field(None, description="REST endpoint override.")
    gcp_bigquery_endpoint: str | None = Field(None, description="BigQuery endpoint override.")
    gcp_max_bytes_billed: int = Field(10 * 1024**3, ge=1, description="BigQuery scan guard in bytes.")
    gcp_snapshot_max_age_days: int = Field(
        90, ge=1, description="gcp.compute.old_snapshot: snapshots older than this many days."
    )
    gcp_image_unused_days: int = Field(
        180, ge=1, description="gcp.compute.unused_image: images older than this many days that no disk uses."
    )
    gcp_recommender_regions: CsvList = Field(
        default_factory=list,
        description="Regions asked for Cloud SQL and committed-use recommendations (default: the "
        "regions of each project's Compute Engine resources).",
    )


def detect(settings: GcpSettings) -> bool:
    """Configured: a billing account, projects or the billing export table named."""
    return bool(settings.gcp_billing_account or settings.gcp_projects or settings.gcp_billing_export_table)
