"""Settings from FINOPS_* environment variables: defaults, comma lists, errors naming the variable.

Every test runs in an empty temporary directory with every FINOPS_* variable removed, so neither
the developer's environment nor a stray `.env` can change the outcome.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from finops_mcp.settings import Settings, SettingsError, get_settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.upper().startswith("FINOPS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults_match_the_contract() -> None:
    s = load_settings()
    assert s.providers == []  # auto-detect
    assert s.max_workers == 8
    assert s.cache_ttl_seconds == 300
    assert s.request_timeout_seconds == 30
    assert s.max_retries == 5
    assert s.focus_paths == [] and s.aws_profiles == [] and s.aws_regions == []
    assert s.azure_cloud == "public"
    assert s.gcp_billing_account is None


@pytest.mark.parametrize(
    ("var", "value", "field", "expected"),
    [
        ("FINOPS_FOCUS_PATHS", "exports/*.parquet", "focus_paths", ["exports/*.parquet"]),
        (
            "FINOPS_FOCUS_PATHS",
            "prod=/data/prod/**/*.csv.gz, dev=/data/dev/*.parquet",
            "focus_paths",
            ["prod=/data/prod/**/*.csv.gz", "dev=/data/dev/*.parquet"],
        ),
        ("FINOPS_FOCUS_PATHS", "a.csv\nb.csv\n", "focus_paths", ["a.csv", "b.csv"]),
        ("FINOPS_FOCUS_PATHS", "", "focus_paths", []),
        ("FINOPS_AWS_PROFILES", "dev, prod ,,audit", "aws_profiles", ["dev", "prod", "audit"]),
        ("FINOPS_AWS_REGIONS", "us-east-1,eu-west-1", "aws_regions", ["us-east-1", "eu-west-1"]),
        (
            "FINOPS_AWS_ACCOUNT_IDS",
            "012345678901,111111111111",
            "aws_account_ids",
            ["012345678901", "111111111111"],
        ),
        ("FINOPS_AZURE_SUBSCRIPTION_IDS", "s1, s2", "azure_subscription_ids", ["s1", "s2"]),
        ("FINOPS_GCP_PROJECTS", "p-1", "gcp_projects", ["p-1"]),
        # every list setting is a comma list (this one was refused as "not a valid list" before)
        (
            "FINOPS_GCP_RECOMMENDER_REGIONS",
            "us-central1, europe-west1",
            "gcp_recommender_regions",
            ["us-central1", "europe-west1"],
        ),
        (
            "FINOPS_HTTP_ALLOWED_HOSTS",
            "a.example,b.example",
            "http_allowed_hosts",
            ["a.example", "b.example"],
        ),
        ("FINOPS_REQUIRED_TAGS", "team,cost-center", "required_tags", ["team", "cost-center"]),
        ("FINOPS_PROVIDERS", "aws,focus", "providers", ["aws", "focus"]),
        ("FINOPS_PROVIDERS", " AWS , Gcp,aws ", "providers", ["aws", "gcp"]),
        ("FINOPS_PROVIDERS", "", "providers", []),
    ],
)
def test_comma_lists(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, field: str, expected: list[str]
) -> None:
    monkeypatch.setenv(var, value)
    assert getattr(load_settings(), field) == expected


def test_account_ids_stay_strings_with_leading_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_AWS_ACCOUNT_IDS", "000000000042")
    assert load_settings().aws_account_ids == ["000000000042"]


def test_scalar_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_MAX_WORKERS", "16")
    monkeypatch.setenv("FINOPS_CACHE_TTL_SECONDS", "0")
    monkeypatch.setenv("FINOPS_REQUEST_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("FINOPS_MAX_RETRIES", "0")
    monkeypatch.setenv("FINOPS_SPIKE_MIN_DAILY_COST", "10.50")
    monkeypatch.setenv("FINOPS_GCP_BILLING_EXPORT_TABLE", "proj.billing.gcp_billing_export_v1_X")
    monkeypatch.setenv("finops_azure_cloud", "usgov")  # names are case-insensitive
    s = load_settings()
    assert s.max_workers == 16
    assert s.cache_ttl_seconds == 0
    assert s.request_timeout_seconds == 2.5
    assert s.max_retries == 0
    assert s.spike_min_daily_cost == Decimal("10.50")
    assert s.gcp_billing_export_table == "proj.billing.gcp_billing_export_v1_X"
    assert s.azure_cloud == "usgov"


@pytest.mark.parametrize("value", ["aws,oracle", "AWS;GCP", "alibaba"])
def test_unknown_provider_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FINOPS_PROVIDERS", value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "FINOPS_PROVIDERS" in message
    assert "aws, azure, gcp, focus" in message  # says what is valid


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "257"])
def test_bad_max_workers_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FINOPS_MAX_WORKERS", value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "FINOPS_MAX_WORKERS" in str(info.value)
    assert "FINOPS_PROVIDERS" not in str(info.value)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("FINOPS_CACHE_TTL_SECONDS", "-1"),
        ("FINOPS_REQUEST_TIMEOUT_SECONDS", "0"),
        ("FINOPS_MAX_RETRIES", "many"),
        ("FINOPS_AZURE_CLOUD", "mars"),
        ("FINOPS_LOG_LEVEL", "LOUD"),
    ],
)
def test_other_bad_values_name_their_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=var):
        load_settings()


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_MAX_WORKERS", "abc")
    monkeypatch.setenv("FINOPS_PROVIDERS", "nope")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "FINOPS_MAX_WORKERS" in str(info.value) and "FINOPS_PROVIDERS" in str(info.value)


def test_overrides_are_validated_too() -> None:
    assert load_settings(max_workers=3).max_workers == 3
    with pytest.raises(SettingsError, match="FINOPS_MAX_WORKERS"):
        load_settings(max_workers=0)


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("FINOPS_MAX_WORKERS=3\nFINOPS_FOCUS_PATHS=a.csv,b.csv\nUNRELATED=1\n")
    s = load_settings()
    assert s.max_workers == 3
    assert s.focus_paths == ["a.csv", "b.csv"]
    monkeypatch.setenv("FINOPS_MAX_WORKERS", "5")  # the environment wins over .env
    assert load_settings().max_workers == 5


def test_isolation_fixture_works(tmp_path: Path) -> None:
    # The autouse fixture is what keeps a developer's .env / FINOPS_* variables out of these tests.
    assert Path.cwd() == tmp_path
    assert not any(name.upper().startswith("FINOPS_") for name in os.environ)
    assert not (tmp_path / ".env").exists()


def test_get_settings_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_MAX_WORKERS", "4")
    first = get_settings()
    monkeypatch.setenv("FINOPS_MAX_WORKERS", "6")
    assert get_settings() is first and first.max_workers == 4
    get_settings.cache_clear()
    assert get_settings().max_workers == 6


def test_settings_class_reads_the_environment_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINOPS_GCP_PROJECTS", "a,b")
    assert Settings().gcp_projects == ["a", "b"]
