"""Provider registry. Provider modules (and so their cloud SDKs) are imported only when used."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from finops_mcp.providers.base import Provider
    from finops_mcp.settings import Settings

# provider name -> "module:Class". Only providers that exist in this version are listed.
IMPLEMENTED: dict[str, str] = {
    "focus": "finops_mcp.providers.focus.provider:FocusProvider",
    "aws": "finops_mcp.providers.aws.provider:AwsProvider",
    "azure": "finops_mcp.providers.azure.provider:AzureProvider",
    "gcp": "finops_mcp.providers.gcp.provider:GcpProvider",
}


def detected(settings: Settings) -> list[str]:
    """Providers to use when FINOPS_PROVIDERS is empty: each one whose configuration is present."""
    found: list[str] = []
    if (
        settings.aws_profiles
        or settings.aws_account_ids
        or os.environ.get("AWS_PROFILE")
        or os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")  # OIDC / IRSA
        or os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        or os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        or (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"))
    ):
        found.append("aws")
    if settings.azure_subscription_ids or settings.azure_management_group:
        found.append("azure")
    if settings.gcp_billing_account or settings.gcp_projects or settings.gcp_billing_export_table:
        found.append("gcp")
    if settings.focus_paths:
        found.append("focus")
    return found


def load(name: str, settings: Settings) -> Provider:
    """Instantiate a provider by name (raises KeyError when this version has none by that name)."""
    target = IMPLEMENTED[name]
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    provider: Provider = cls(settings)
    return provider
