"""Shared fixtures: one fake ARM server per test session, settings pointing at it per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.periods import utc_today
from finops_mcp.providers.azure.provider import AzureProvider
from finops_mcp.settings import load_settings
from tests.fakes.azure_arm import FakeArm


@pytest.fixture(scope="session")
def arm() -> Iterator[FakeArm]:
    fake = FakeArm(utc_today()).start()
    yield fake
    fake.stop()


def use_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in list(os.environ):
        if key.startswith(("FINOPS_", "AZURE_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture()
def make_provider(
    arm: FakeArm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[..., AzureProvider]]:
    """Build an `AzureProvider` against the fake (kwargs go to `FakeArm.env`); closed afterwards."""
    made: list[AzureProvider] = []

    def make(**kwargs: object) -> AzureProvider:
        use_env(monkeypatch, tmp_path, arm.env(**kwargs))  # type: ignore[arg-type]
        provider = AzureProvider(load_settings())
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()
    arm.forbidden.clear()
    arm.advisor_forbidden.clear()
    arm.benefit_forbidden.clear()
    arm.graph_forbidden = False
    arm.billing_forbidden = False
    arm.server.faults.clear()


class Sleeps(list[float]):
    """Waits the retry policy asked for, recorded instead of slept."""


@pytest.fixture()
def ctx() -> CallContext:
    """A context whose retry policy records its waits instead of sleeping (see `ctx.sleeps`)."""
    sleeps = Sleeps()
    context = CallContext(retry_policy=RetryPolicy(max_retries=5, max_total_wait=600, sleep=sleeps.append))
    context.sleeps = sleeps  # type: ignore[attr-defined]
    return context
