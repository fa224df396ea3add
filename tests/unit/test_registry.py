"""The provider registry is the one list of clouds: the request models, the scope pattern and the
settings agree with it, and auto-detection reads each provider's own rule."""

from __future__ import annotations

import os
import re
from typing import get_args

import pytest

from finops_mcp import models
from finops_mcp import settings as settings_mod
from finops_mcp.providers import ENTRIES, IMPLEMENTED, REGISTRY, detected, not_configured_hint
from finops_mcp.settings import Settings


def test_models_and_settings_name_exactly_the_registered_providers() -> None:
    ids = {e.id for e in REGISTRY}
    assert set(get_args(models.ProviderId)) == ids
    assert set(get_args(settings_mod.ProviderName)) == ids
    assert set(settings_mod.KNOWN_PROVIDERS) == ids
    assert set(IMPLEMENTED) == ids


def test_the_scope_pattern_accepts_exactly_the_registered_scope_kinds() -> None:
    kinds = {k for e in REGISTRY for k in e.scope_kinds}
    group = re.match(r"\^\(([^)]*)\)", models.SCOPE_RE.pattern)
    assert group is not None and set(group.group(1).split("|")) == kinds


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        ({"focus_paths": ["x/*.csv"]}, ["focus"]),
        ({"aws_profiles": ["dev"], "gcp_projects": ["p"]}, ["aws", "gcp"]),
        ({"azure_management_group": "mg", "focus_paths": ["f"]}, ["azure", "focus"]),
        ({"gcp_billing_export_table": "p.d.t"}, ["gcp"]),
    ],
)
def test_detection_per_provider(
    overrides: dict[str, object], expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in list(os.environ):
        if var.startswith(("FINOPS_", "AWS_")):
            monkeypatch.delenv(var)
    assert detected(Settings(_env_file=None, **overrides)) == expected  # type: ignore[arg-type, call-arg]


def test_every_provider_has_a_not_configured_hint() -> None:
    for entry in REGISTRY:
        assert "FINOPS_" in not_configured_hint(entry.id) or "AWS_" in not_configured_hint(entry.id)
        assert ENTRIES[entry.id] is entry
    assert not_configured_hint("nope") == "add it to FINOPS_PROVIDERS"


def test_an_injected_registry_is_all_the_service_sees() -> None:
    from finops_mcp.providers import Registry
    from finops_mcp.service import FinOpsService
    from finops_mcp.settings import load_settings
    from tests.fakes.provider import FakeProvider

    fake = FakeProvider()
    injected = Registry.of({"fake": fake})
    assert injected.implemented == ["fake"] and injected.owner("fake:a") == "fake"
    svc = FinOpsService(load_settings(providers=["focus"]), registry=injected)
    assert svc.enabled_providers() == ["fake"]  # pinned: FINOPS_PROVIDERS does not apply
    assert svc.provider("fake") is fake
    assert {c.provider for c in svc.check_catalog()} <= {"fake"}
    with pytest.raises(KeyError):
        injected.load("aws", svc.settings)


def test_the_default_registry_names_each_scope_kind_owner() -> None:
    from finops_mcp.providers import DEFAULT

    assert DEFAULT.owner("azure-mg:root") == "azure" and DEFAULT.owner("gcp-project:p") == "gcp"
    assert DEFAULT.owner("nope:x") == "nope"


def test_settings_compose_exactly_the_registered_providers_settings_classes() -> None:
    """Each provider declares its own settings class; `Settings` is made of exactly those, no two
    declare the same variable, and the core does not redeclare (so silently replace) one."""
    classes = [e.settings for e in REGISTRY]
    assert set(classes) == set(settings_mod.PROVIDER_SETTINGS)
    assert all(cls is not None and issubclass(Settings, cls) for cls in classes)
    seen: set[str] = set()
    for entry in REGISTRY:
        assert entry.settings is not None and entry.settings.model_fields
        fields = set(entry.settings.model_fields)
        assert not fields & seen, fields & seen
        seen |= fields
        assert fields <= set(Settings.model_fields)
        assert any(name.startswith(f"{entry.id}_") for name in fields)
    assert not seen & set(Settings.__annotations__)
