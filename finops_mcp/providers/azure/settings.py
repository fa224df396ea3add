"""The Azure provider's settings (`FINOPS_AZURE_*`) and how its configuration is detected.

`finops_mcp.settings.Settings` composes every provider's settings class, so these stay flat
fields of it (`settings.azure_cloud`) read from the same environment and `.env` file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from finops_mcp.settings_fields import CsvList


class AzureSettings(BaseModel):
    azure_subscription_ids: CsvList = Field(default_factory=list, description="Subscription allowlist.")
    azure_management_group: str | None = Field(None, description="Management group id.")
    azure_billing_account_id: str | None = Field(
        None,
        description="Billing account id (EA enrollment / MCA account): adds the azure-billing scope whose "
        "audit reports reservation utilization.",
    )
    azure_cloud: Literal["public", "usgov", "china"] = Field("public", description="Azure cloud.")
    azure_arm_endpoint: str | None = Field(None, description="Explicit ARM base URL (tests).")
    azure_snapshot_max_age_days: int = Field(
        90, ge=1, description="azure.compute.old_snapshot: snapshots older than this many days."
    )
    azure_deallocated_vm_days: int = Field(
        30, ge=1, description="azure.compute.deallocated_vm: VMs deallocated longer than this many days."
    )


def detect(settings: AzureSettings) -> bool:
    """Configured: subscriptions, a management group or a billing account named."""
    return bool(
        settings.azure_subscription_ids
        or settings.azure_management_group
        or settings.azure_billing_account_id
    )
