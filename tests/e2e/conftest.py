from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from finops_mcp.demo.generator import DemoDataset, generate
from finops_mcp.periods import utc_today
from finops_mcp.settings import Settings, load_settings


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> DemoDataset:
    """A small generated FOCUS dataset ending yesterday (so month_to_date has data)."""
    root = tmp_path_factory.mktemp("focus-demo")
    return generate(root, end=utc_today() - timedelta(days=1), months=7, seed=7, scale=0.2)


@pytest.fixture(scope="session")
def demo_env(demo_data: DemoDataset) -> dict[str, str]:
    return {
        "FINOPS_PROVIDERS": "focus",
        "FINOPS_FOCUS_PATHS": demo_data.paths_setting,
        "FINOPS_FOCUS_BUDGETS": str(demo_data.budgets_file),
        "FINOPS_REQUIRED_TAGS": ",".join(demo_data.required_tags),
        "FINOPS_LOG_LEVEL": "WARNING",
    }


@pytest.fixture()
def demo_settings(demo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in list(os.environ):
        if key.startswith("FINOPS_"):
            monkeypatch.delenv(key)
    for key, value in demo_env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def installed_cli() -> str:
    """The console script installed next to this interpreter (what `uvx finops-mcp-server` runs)."""
    path = Path(sys.executable).parent / "finops-mcp-server"
    assert path.exists(), f"finops-mcp-server is not installed in {path.parent}: run `make install`"
    return str(path)
