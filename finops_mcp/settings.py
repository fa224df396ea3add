"""Runtime settings: environment variables with the `FINOPS_` prefix (and an optional `.env` file).

Every setting is listed, with a comment, in `.env.example` and documented in docs/configuration.md.
Invalid values fail at start-up with a message naming the variable (`load_settings`).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from finops_mcp.providers import DETECT_ORDER, ProviderId
from finops_mcp.providers.aws.settings import AwsSettings
from finops_mcp.providers.azure.settings import AzureSettings
from finops_mcp.providers.focus.settings import FocusSettings
from finops_mcp.providers.gcp.settings import GcpSettings
from finops_mcp.settings_fields import CsvList, PercentSetting

ProviderName = ProviderId
KNOWN_PROVIDERS: tuple[str, ...] = DETECT_ORDER
# Each provider's own settings class (its FINOPS_<CLOUD>_* fields), composed into `Settings`;
# the registry names the same classes (tests/unit/test_registry.py holds the two together: the
# bases must be static for mypy and pydantic).
PROVIDER_SETTINGS = (AwsSettings, AzureSettings, GcpSettings, FocusSettings)


class SettingsError(Exception):
    """A setting is invalid. The message names the environment variable and the fix."""


class Settings(BaseSettings, AwsSettings, AzureSettings, GcpSettings, FocusSettings):
    """Every setting: the core's below, each provider's from its own class (same variables)."""

    model_config = SettingsConfigDict(
        env_prefix="FINOPS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # --- which providers -------------------------------------------------------------------
    providers: CsvList = Field(
        default_factory=list,
        description="Comma list of aws,azure,gcp,focus. Empty: every provider whose config is found.",
    )

    # --- engine ----------------------------------------------------------------------------
    max_workers: int = Field(8, ge=1, le=256, description="Fan-out thread-pool size.")
    cache_ttl_seconds: int = Field(300, ge=0, description="Cost/budget cache TTL in seconds; 0 disables.")
    cache_max_entries: int = Field(1024, ge=1, description="Maximum cached scope results.")
    request_timeout_seconds: float = Field(30.0, gt=0, description="Per upstream call timeout.")
    scope_timeout_seconds: float = Field(
        300.0, gt=0, description="Time allowed for one scope's whole answer (all its pages and calls)."
    )
    max_retries: int = Field(5, ge=0, le=20, description="Retries of a throttled/5xx/timed-out call.")
    retry_max_wait_seconds: float = Field(
        60.0, ge=0, description="Upper bound on the total time spent waiting between retries of one call."
    )
    output_schemas: bool = Field(
        False,
        description="Advertise the reports' outputSchema in tools/list (adds ~8k characters of context).",
    )
    answer_max_chars: int = Field(
        60_000,
        ge=8_000,
        le=2_000_000,
        description="Budget of one tool answer in characters (JSON text + structured content).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", description="stderr log level."
    )
    log_sdk_traffic: bool = Field(
        False,
        description="Let the cloud SDKs' HTTP loggers (botocore, azure-core, urllib3, google-auth...) "
        "log at FINOPS_LOG_LEVEL: they log request URLs, headers and bodies. Off: they log warnings only.",
    )

    # --- MCP tasks (long calls answered with a task handle, for clients that opt in) --------
    task_store: str = Field(
        "memory", description="Where tasks and their results are kept: `memory` or `sqlite:///path/tasks.db`."
    )
    max_tasks: int = Field(
        16, ge=1, le=1024, description="Tasks running at once; past it a new one is refused."
    )
    task_ttl_seconds: float = Field(
        3600.0, gt=0, le=7 * 86400, description="How long a task and its result are kept after creation."
    )
    task_poll_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="Polling interval suggested to clients (pollInterval)."
    )

    # --- audit -----------------------------------------------------------------------------
    required_tags: CsvList = Field(
        default_factory=list, description="Tag keys every resource must carry (tagging checks)."
    )
    spike_factor: float = Field(
        2.0, gt=1.0, description="focus.cost_spike: a day's cost above factor x trailing baseline."
    )
    spike_min_daily_cost: Decimal = Field(
        Decimal("25"), ge=0, description="focus.cost_spike: ignore days whose excess is below this amount."
    )
    spike_baseline_days: int = Field(14, ge=3, le=90, description="focus.cost_spike: trailing baseline days.")
    commitment_min_utilization_pct: PercentSetting = Field(
        90.0,
        description="*.commitment.*utilization: report commitments used less than this percent.",
    )
    commitment_min_coverage_pct: PercentSetting = Field(
        80.0,
        description="*.commitment.*coverage: report eligible spend covered less than this percent.",
    )

    # --- remote use: streamable HTTP with OAuth, audit log (docs/remote.md) ---------------
    auth_issuer: str | None = Field(None, description="OAuth issuer URL whose tokens are accepted (HTTP).")
    auth_audience: str | None = Field(None, description="Audience (`aud`) the access tokens must carry.")
    auth_jwks_url: str | None = Field(None, description="The issuer's JWKS URL; default: from its metadata.")
    auth_scope: str = Field("finops:read", description="Scope(s) a token needs to call the tools.")
    auth_resource_url: str | None = Field(
        None, description="This server's public MCP URL (protected-resource metadata `resource`)."
    )
    http_allowed_hosts: CsvList = Field(
        default_factory=list, description="Extra Host header values accepted (DNS-rebinding guard)."
    )
    http_allowed_origins: CsvList = Field(
        default_factory=list, description="Extra Origin header values accepted (DNS-rebinding guard)."
    )
    audit_log: str | None = Field(None, description="Audit log file; empty: stderr; `off` disables.")

    @field_validator("task_store")
    @classmethod
    def _task_store(cls, value: str) -> str:
        value = value.strip()
        if value == "memory" or (value.startswith("sqlite:///") and len(value) > len("sqlite:///")):
            return value
        raise ValueError("use `memory` or `sqlite:///path/to/tasks.db`")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("providers")
    @classmethod
    def _known_providers(cls, value: list[str]) -> list[str]:
        cleaned = [v.lower() for v in value]
        unknown = [v for v in cleaned if v not in KNOWN_PROVIDERS]
        if unknown:
            raise ValueError(
                f"unknown provider(s) {unknown}; use a comma list of {', '.join(KNOWN_PROVIDERS)}"
            )
        return list(dict.fromkeys(cleaned))


def format_settings_error(exc: ValidationError) -> str:
    lines = ["Invalid finops-mcp configuration:"]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        lines.append(f"  FINOPS_{field.upper()}: {err['msg']}")
    lines.append("Fix the variable(s) above (see .env.example or docs/configuration.md).")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise `SettingsError` naming the bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(format_settings_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
