from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.providers.base import Scope
from finops_mcp.providers.focus.provider import FocusProvider
from finops_mcp.settings import Settings
from tests.unit.focus.focusdata import write_acme, write_csv


def make_settings(**overrides: Any) -> Settings:
    """Settings independent of the machine's FINOPS_* variables and .env file."""
    values: dict[str, Any] = {
        "focus_paths": [],
        "focus_budgets": None,
        "required_tags": [],
        "spike_factor": 2.0,
        "spike_min_daily_cost": "25",
        "spike_baseline_days": 14,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def scope(name: str) -> Scope:
    return Scope(provider="focus", kind="focus", key=name, name=name)


@dataclass
class Acme:
    base: Path
    rows: list[dict[str, Any]]
    provider: FocusProvider
    scope: Scope


@pytest.fixture(scope="session")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acme]:
    base, rows = write_acme(tmp_path_factory.mktemp("exports"))
    provider = FocusProvider(make_settings(focus_paths=[f"acme={base}/**/*"]))
    yield Acme(base, rows, provider, scope("acme"))
    provider.close()


@pytest.fixture
def ctx() -> CallContext:
    return CallContext()


def csv_provider(
    folder: Path, rows: Sequence[dict[str, Any]], name: str = "t", **settings: Any
) -> tuple[FocusProvider, Scope]:
    """A provider over one CSV file holding `rows`, as dataset `name`."""
    write_csv(folder / name / "export.csv", rows)
    provider = FocusProvider(make_settings(focus_paths=[f"{name}={folder / name}/*.csv"], **settings))
    return provider, scope(name)
