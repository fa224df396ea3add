"""The AWS provider's settings (`FINOPS_AWS_*`) and how its configuration is detected.

`finops_mcp.settings.Settings` composes every provider's settings class, so these stay flat
fields of it (`settings.aws_regions`) read from the same environment and `.env` file.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from finops_mcp.settings_fields import CsvList


class AwsSettings(BaseModel):
    aws_profiles: CsvList = Field(default_factory=list, description="Profiles to fan out over.")
    aws_regions: CsvList = Field(
        default_factory=list, description="Regions to audit; empty: enabled regions."
    )
    aws_account_ids: CsvList = Field(default_factory=list, description="Member accounts (assume role).")
    aws_role_name: str | None = Field(None, description="Read-only role assumed in each member account.")
    aws_discover_accounts: bool = Field(
        False, description="Assume the role in every ACTIVE account of the organization (ListAccounts)."
    )
    aws_snapshot_max_age_days: int = Field(
        90, ge=1, description="aws.ebs.old_snapshot: snapshots older than this many days."
    )


def detect(settings: AwsSettings) -> bool:
    """Configured: profiles or member accounts named, or the SDK's own credentials in the environment."""
    env = os.environ.get
    return bool(
        settings.aws_profiles
        or settings.aws_account_ids
        or env("AWS_PROFILE")
        or env("AWS_WEB_IDENTITY_TOKEN_FILE")  # OIDC / IRSA
        or env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        or env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        or (env("AWS_ACCESS_KEY_ID") and env("AWS_SECRET_ACCESS_KEY"))
    )
