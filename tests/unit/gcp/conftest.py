from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.periods import utc_today
from finops_mcp.providers.base import Scope
from finops_mcp.providers.gcp.provider import GcpProvider
from finops_mcp.settings import Settings
from tests.fakes.gcp_estate import ACCOUNT, STANDARD_TABLE, GcpEstate, build_estate, isolate_env


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcpEstate]:
    built = build_estate(tmp_path_factory.mktemp("gcp"), utc_today())
    yield built
    built.close()


@pytest.fixture()
def adc(estate: GcpEstate, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Application Default Credentials = the generated service-account key; no stray .env or gcloud."""
    isolate_env(monkeypatch, tmp_path, {"GOOGLE_APPLICATION_CREDENTIALS": str(estate.sa_path)})


def gcp_settings(estate: GcpEstate, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "providers": ["gcp"],
        "gcp_billing_account": ACCOUNT,
        "gcp_projects": [],
        "gcp_billing_export_table": STANDARD_TABLE,
        "gcp_api_endpoint": estate.api.url,
        "gcp_bigquery_endpoint": estate.bq.url,
        "max_retries": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture()
def make_provider(estate: GcpEstate, adc: None) -> Iterator[Any]:
    made: list[GcpProvider] = []

    def make(**overrides: Any) -> GcpProvider:
        provider = GcpProvider(gcp_settings(estate, **overrides))
        made.append(provider)
        return provider

    yield make
    for p in made:
        p.close()


def billing_scope() -> Scope:
    return Scope("gcp", "gcp", ACCOUNT)


def project_scope(project: str) -> Scope:
    return Scope("gcp", "gcp-project", project)


def ctx() -> CallContext:
    return CallContext()
