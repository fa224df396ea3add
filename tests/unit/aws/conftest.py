from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.providers.aws.provider import AwsProvider
from finops_mcp.providers.base import Scope
from finops_mcp.settings import Settings, load_settings
from tests.fakes.aws_estate import Estate, apply_env, estate_env, shared_estate

MakeSettings = Callable[..., Settings]


@pytest.fixture(scope="session")
def estate() -> Estate:
    """moto on 127.0.0.1, seeded once: an organization of 3 accounts, 2 of them x 2 regions."""
    return shared_estate()


@pytest.fixture()
def make_settings(estate: Estate, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MakeSettings:
    """Settings for the estate; keyword arguments override FINOPS_* values (url= sets the endpoint)."""
    monkeypatch.chdir(tmp_path)  # no stray .env

    def make(url: str | None = None, **finops: str) -> Settings:
        apply_env(monkeypatch, estate_env(estate, url, **finops))
        return load_settings()

    return make


@pytest.fixture()
def provider(make_settings: MakeSettings) -> Iterator[AwsProvider]:
    prov = AwsProvider(make_settings())
    yield prov
    prov.close()


def aws_scope(account_id: str) -> Scope:
    return Scope(provider="aws", kind="aws", key=account_id)


def context() -> CallContext:
    return CallContext()
