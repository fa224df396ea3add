"""Credentials, clouds and SDK clients for the Azure provider (azure-* imported on first use only).

Sign-in is `DefaultAzureCredential(exclude_interactive_browser_credential=True)`: environment
(AZURE_TENANT_ID / AZURE_CLIENT_ID + AZURE_CLIENT_SECRET or certificate), workload identity
(AZURE_FEDERATED_TOKEN_FILE), managed identity, then the developer tools (Azure CLI, azd,
PowerShell). One credential and one client per (SDK, subscription) are built on first use and
reused by every call, so tokens and connections are shared.

Clouds: FINOPS_AZURE_CLOUD picks the authority host, the ARM endpoint and the token scope
(public, usgov, china); AZURE_AUTHORITY_HOST overrides the authority (private clouds, tests: a host
that is not one of Microsoft's skips MSAL's instance discovery, which only knows Microsoft's hosts);
FINOPS_AZURE_ARM_ENDPOINT overrides the ARM base URL while keeping the cloud's token scope.

TLS: clients verify certificates with the system store; a private CA (TLS-inspecting proxy, private
endpoint, test server) is trusted the way `requests` users already do it: REQUESTS_CA_BUNDLE, which
both the token requests and the ARM requests honour.

Retries: clients are built with `retry_total=0`; the engine's policy retries (see `errors`).

Read-only: `ReadOnlyPolicy` sits in every client's pipeline (per call and per retry, so a request
the SDK sends by itself, such as automatic resource-provider registration, is also checked) and
refuses anything but GET/HEAD and the allowlisted read-only POSTs (Cost Management query/forecast,
Resource Graph queries) before it is sent.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from finops_mcp.providers.readonly import ReadOnlyViolation, http_read
from finops_mcp.settings import Settings

# Authority host, ARM endpoint, token scope per FINOPS_AZURE_CLOUD.
CLOUDS: dict[str, tuple[str, str, str]] = {
    "public": (
        "login.microsoftonline.com",
        "https://management.azure.com",
        "https://management.azure.com/.default",
    ),
    "usgov": (
        "login.microsoftonline.us",
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net/.default",
    ),
    "china": (
        "login.chinacloudapi.cn",
        "https://management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
    ),
}
_MICROSOFT_AUTHORITIES = {authority for authority, _, _ in CLOUDS.values()} | {
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
}

# POSTs that only read: Cost Management query and forecast at any scope; Resource Graph queries.
READ_ONLY_POSTS = re.compile(
    r"(/providers/microsoft\.costmanagement/(query|forecast)|^/providers/microsoft\.resourcegraph/resources)/?$",
    re.IGNORECASE,
)


def check_read_only(method: str, url: str) -> None:
    """Raise `ReadOnlyViolation` unless the request only reads."""
    method, path, reads = http_read(method, url, READ_ONLY_POSTS)
    if not reads:
        raise ReadOnlyViolation(
            method,
            path,
            "only GET, Cost Management query/forecast and Resource Graph query POSTs are allowed",
        )


def read_only_policy() -> Any:
    """An azure-core pipeline policy running `check_read_only` on every request."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class ReadOnlyPolicy(SansIOHTTPPolicy):
        def on_request(self, request: Any) -> None:
            check_read_only(request.http_request.method, request.http_request.url)

    return ReadOnlyPolicy()


@dataclass(frozen=True)
class Endpoints:
    authority: str
    arm: str
    token_scope: str
    custom_authority: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoints:
        authority, arm, scope = CLOUDS[settings.azure_cloud]
        override = os.environ.get("AZURE_AUTHORITY_HOST", "").strip()
        if override:
            authority = override
        host = urlsplit(authority if "://" in authority else f"https://{authority}").hostname or authority
        return cls(
            authority=authority,
            arm=(settings.azure_arm_endpoint or arm).rstrip("/"),
            token_scope=scope,
            custom_authority=host.lower() not in _MICROSOFT_AUTHORITIES,
        )


# kind -> (module, class, needs a subscription id)
SDKS: dict[str, tuple[str, str, bool]] = {
    "subscriptions": ("azure.mgmt.resource.subscriptions", "SubscriptionClient", False),
    "cost": ("azure.mgmt.costmanagement", "CostManagementClient", False),
    "consumption": ("azure.mgmt.consumption", "ConsumptionManagementClient", True),
    "compute": ("azure.mgmt.compute", "ComputeManagementClient", True),
    "network": ("azure.mgmt.network", "NetworkManagementClient", True),
    "web": ("azure.mgmt.web", "WebSiteManagementClient", True),
    "advisor": ("azure.mgmt.advisor", "AdvisorManagementClient", True),
}


class AzureClients:
    """Builds the credential and SDK clients on first use and keeps them for reuse (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoints = Endpoints.from_settings(settings)
        self._lock = threading.Lock()
        self._credential: Any = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._policy: Any = None

    def credential(self) -> Any:
        with self._lock:
            if self._credential is None:
                from azure.identity import DefaultAzureCredential

                kwargs: dict[str, Any] = {
                    "exclude_interactive_browser_credential": True,
                    "authority": self.endpoints.authority,
                }
                if self.endpoints.custom_authority:
                    kwargs["disable_instance_discovery"] = True
                self._credential = DefaultAzureCredential(**kwargs)
            return self._credential

    def _options(self) -> dict[str, Any]:
        if self._policy is None:
            self._policy = read_only_policy()
        timeout = self.settings.request_timeout_seconds
        return {
            "base_url": self.endpoints.arm,
            "credential_scopes": [self.endpoints.token_scope],
            "retry_total": 0,
            "connection_timeout": timeout,
            "read_timeout": timeout,
            "per_call_policies": [self._policy],
            "per_retry_policies": [self._policy],
        }

    def client(self, kind: str, subscription_id: str | None = None) -> Any:
        """The SDK client of `kind` (see `SDKS`), for a subscription when the SDK needs one."""
        module_name, class_name, per_subscription = SDKS[kind]
        key = subscription_id or "*"
        if per_subscription and subscription_id is None:
            raise ValueError(f"the {kind} client needs a subscription id")
        credential = self.credential()
        with self._lock:
            client = self._clients.get((kind, key))
            if client is None:
                cls = getattr(importlib.import_module(module_name), class_name)
                args = (credential, subscription_id) if per_subscription else (credential,)
                client = cls(*args, **self._options())
                self._clients[(kind, key)] = client
            return client

    def same_host(self, url: str) -> bool:
        """True when `url` points at the configured ARM host (nextLinks elsewhere are not followed:
        the bearer token must not travel to another host)."""
        return (urlsplit(url).netloc or "").lower() == (urlsplit(self.endpoints.arm).netloc or "").lower()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
            credential, self._credential = self._credential, None
        for closable in [*clients, credential]:
            if closable is not None:
                with contextlib.suppress(Exception):  # best effort at shutdown
                    closable.close()
