"""`serve --transport http` decisions: loopback-only without OAuth, the resource URL, Host/Origin lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from finops_mcp.remote.http import LOOPBACK_HOSTS, check_audit_log, http_plan, is_loopback
from finops_mcp.settings import Settings, SettingsError

ISSUER = "https://login.example.com/tenant/v2.0"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("finops.internal", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_without_auth_is_allowed_with_loopback_host_checks() -> None:
    plan = http_plan(settings(), "127.0.0.1", 8765)
    assert not plan.auth_enabled and plan.url == "http://127.0.0.1:8765/mcp"
    assert plan.resource_url == plan.url
    assert set(LOOPBACK_HOSTS) <= set(plan.allowed_hosts) and "http://localhost:*" in plan.allowed_origins
    assert http_plan(settings(), "::1", 9000).url == "http://[::1]:9000/mcp"


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::"])
def test_a_public_address_without_auth_is_refused_with_how_to_configure_it(host: str) -> None:
    with pytest.raises(SettingsError) as err:
        http_plan(settings(), host, 8765)
    message = str(err.value)
    assert f"refusing to serve HTTP on {host}" in message
    for name in ("FINOPS_AUTH_ISSUER", "FINOPS_AUTH_AUDIENCE", "docs/remote.md"):
        assert name in message


@pytest.mark.parametrize(
    ("values", "missing"),
    [({"auth_issuer": ISSUER}, "FINOPS_AUTH_AUDIENCE"), ({"auth_audience": "api://x"}, "FINOPS_AUTH_ISSUER")],
)
def test_half_configured_auth_is_refused(values: dict[str, str], missing: str) -> None:
    with pytest.raises(SettingsError, match=f"{missing} is not set"):
        http_plan(settings(**values), "127.0.0.1", 8765)


def test_public_with_auth_uses_the_audience_as_public_url_and_only_its_host() -> None:
    plan = http_plan(
        settings(
            auth_issuer=ISSUER,
            auth_audience="https://finops.example.com/mcp",
            auth_scope="finops:read, finops:admin",
            http_allowed_hosts="finops.internal:8765",
            http_allowed_origins="https://portal.example.com",
        ),
        "0.0.0.0",
        8765,
    )
    assert plan.auth_enabled and plan.scopes == ["finops:read", "finops:admin"]
    assert plan.resource_url == "https://finops.example.com/mcp"
    assert plan.allowed_hosts == ["finops.example.com", "finops.internal:8765"]
    assert plan.allowed_origins == ["https://finops.example.com", "https://portal.example.com"]
    assert plan.jwks_url is None  # discovered from the issuer


def test_resource_url_setting_wins_and_a_non_url_audience_falls_back_to_the_bind_address() -> None:
    base = {"auth_issuer": ISSUER, "auth_audience": "api://5f6c-finops"}
    assert http_plan(settings(**base), "127.0.0.1", 9).resource_url == "http://127.0.0.1:9/mcp"
    plan = http_plan(settings(**base, auth_resource_url="https://mcp.example.com:8443/mcp"), "0.0.0.0", 9)
    assert (
        plan.resource_url == "https://mcp.example.com:8443/mcp"
        and "mcp.example.com:8443" in plan.allowed_hosts
    )


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"auth_issuer": "login.example.com", "auth_audience": "x"}, "FINOPS_AUTH_ISSUER"),
        (
            {"auth_issuer": ISSUER, "auth_audience": "x", "auth_jwks_url": "file:///etc/keys"},
            "FINOPS_AUTH_JWKS_URL",
        ),
        (
            {"auth_issuer": ISSUER, "auth_audience": "x", "auth_resource_url": "mcp"},
            "FINOPS_AUTH_RESOURCE_URL",
        ),
    ],
)
def test_urls_are_checked(values: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        http_plan(settings(**values), "127.0.0.1", 8765)


def test_an_audit_log_that_cannot_be_opened_stops_the_http_server(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FINOPS_AUDIT_LOG"):
        check_audit_log(settings(audit_log=str(tmp_path / "missing-dir" / "audit.log")))
    check_audit_log(settings(audit_log=str(tmp_path / "audit.log")))
    check_audit_log(settings(audit_log="off"))
