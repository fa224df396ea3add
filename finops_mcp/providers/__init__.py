"""Provider registry: the one place that names each cloud. Provider modules (and so their cloud
SDKs) are imported only when used.

Each `Entry` declares a provider's id, the class implementing the protocol, the scope kinds it
answers for (`<kind>:<id>`), its settings class and how its configuration is detected when
FINOPS_PROVIDERS is empty (both from the provider's own `settings` module, light: pydantic only),
and the hint given when it is asked for but not configured. The request models' `ProviderId`
(a literal, so mypy and the tool schemas see the ids) is defined here, the scope pattern and the
settings' provider list are derived from the entries, and `settings.Settings` composes the
entries' settings classes (static bases: tests/unit/test_registry.py holds them to the entries).
Adding a cloud: a package implementing the protocol with its `settings` module, an entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from finops_mcp.providers.aws.settings import AwsSettings
from finops_mcp.providers.aws.settings import detect as detect_aws
from finops_mcp.providers.azure.settings import AzureSettings
from finops_mcp.providers.azure.settings import detect as detect_azure
from finops_mcp.providers.focus.settings import FocusSettings
from finops_mcp.providers.focus.settings import detect as detect_focus
from finops_mcp.providers.gcp.settings import GcpSettings
from finops_mcp.providers.gcp.settings import detect as detect_gcp

if TYPE_CHECKING:
    from pydantic import BaseModel

    from finops_mcp.providers.base import Provider
    from finops_mcp.settings import Settings

ProviderId = Literal["aws", "azure", "gcp", "focus"]


@dataclass(frozen=True)
class Entry:
    id: str
    target: str  # "module:Class"
    scope_kinds: tuple[str, ...]
    detect: Callable[[Settings], bool]
    not_configured_hint: str
    settings: type[BaseModel] | None = None  # its FINOPS_<CLOUD>_* fields (None: an injected one)
    instance: Provider | None = field(default=None, compare=False)  # given up front (tests)


REGISTRY: tuple[Entry, ...] = (
    Entry(
        "focus",
        "finops_mcp.providers.focus.provider:FocusProvider",
        ("focus",),
        detect_focus,
        "set FINOPS_FOCUS_PATHS to globs of your FOCUS CSV/Parquet exports",
        FocusSettings,
    ),
    Entry(
        "aws",
        "finops_mcp.providers.aws.provider:AwsProvider",
        ("aws",),
        detect_aws,
        "set AWS credentials (AWS_PROFILE, FINOPS_AWS_PROFILES or FINOPS_AWS_ACCOUNT_IDS)",
        AwsSettings,
    ),
    Entry(
        "azure",
        "finops_mcp.providers.azure.provider:AzureProvider",
        ("azure", "azure-mg", "azure-billing"),
        detect_azure,
        "set FINOPS_AZURE_SUBSCRIPTION_IDS or FINOPS_AZURE_MANAGEMENT_GROUP and Azure credentials",
        AzureSettings,
    ),
    Entry(
        "gcp",
        "finops_mcp.providers.gcp.provider:GcpProvider",
        ("gcp", "gcp-project"),
        detect_gcp,
        "set FINOPS_GCP_BILLING_EXPORT_TABLE and FINOPS_GCP_PROJECTS or FINOPS_GCP_BILLING_ACCOUNT",
        GcpSettings,
    ),
)
ENTRIES: dict[str, Entry] = {e.id: e for e in REGISTRY}

# provider name -> "module:Class". Only providers that exist in this version are listed.
IMPLEMENTED: dict[str, str] = {e.id: e.target for e in REGISTRY}

# The order auto-detection reports providers in (kept from earlier versions).
DETECT_ORDER: tuple[str, ...] = ("aws", "azure", "gcp", "focus")
# Every `<kind>` a scope id may start with.
SCOPE_KINDS: tuple[str, ...] = tuple(k for e in REGISTRY for k in e.scope_kinds)


@dataclass(frozen=True)
class Registry:
    """The providers one service may use. `DEFAULT` is this version's clouds; tests inject
    `Registry.of({...})`: those instances, always enabled, and nothing else."""

    entries: tuple[Entry, ...]
    detect_order: tuple[str, ...] = ()
    pinned: bool = False  # every entry is enabled, whatever FINOPS_PROVIDERS says

    @classmethod
    def of(cls, providers: Mapping[str, Provider]) -> Registry:
        entries = tuple(
            Entry(name, "", (name,), lambda _s: True, "add it to FINOPS_PROVIDERS", instance=p)
            for name, p in providers.items()
        )
        return cls(entries, tuple(providers), pinned=True)

    @property
    def implemented(self) -> list[str]:
        return [e.id for e in self.entries]

    def entry(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.id == name), None)

    def enabled(self, settings: Settings) -> list[str]:
        """FINOPS_PROVIDERS if set, else every provider whose configuration is found."""
        if self.pinned:
            return self.implemented
        if settings.providers:
            return list(settings.providers)
        return self.detected(settings)

    def detected(self, settings: Settings) -> list[str]:
        """Each provider whose configuration is present, in `detect_order`."""
        found = (self.entry(name) for name in self.detect_order)
        return [e.id for e in found if e is not None and e.detect(settings)]

    def owner(self, scope_id: str) -> str:
        """The provider whose scope kind starts `scope_id` (`<kind>:<id>`); else the kind itself."""
        kind = scope_id.split(":", 1)[0]
        return next((e.id for e in self.entries if kind in e.scope_kinds), kind)

    def hint(self, name: str) -> str:
        entry = self.entry(name)
        return entry.not_configured_hint if entry else "add it to FINOPS_PROVIDERS"

    def load(self, name: str, settings: Settings) -> Provider:
        """The provider by that name (raises KeyError when this registry has none)."""
        entry = self.entry(name)
        if entry is None:
            raise KeyError(name)
        if entry.instance is not None:
            return entry.instance
        module_name, _, class_name = entry.target.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        provider: Provider = cls(settings)
        return provider


DEFAULT = Registry(REGISTRY, DETECT_ORDER)


def detected(settings: Settings) -> list[str]:
    """Providers to use when FINOPS_PROVIDERS is empty: each one whose configuration is present."""
    return DEFAULT.detected(settings)


def not_configured_hint(name: str) -> str:
    return DEFAULT.hint(name)


def load(name: str, settings: Settings) -> Provider:
    """Instantiate a provider by name (raises KeyError when this version has none by that name)."""
    return DEFAULT.load(name, settings)
