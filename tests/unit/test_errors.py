"""Secrets that SDK errors sometimes echo never reach a report or a log line."""

from __future__ import annotations

import pytest

from finops_mcp.errors import redact
from finops_mcp.models import GetCostRequest
from finops_mcp.providers import Registry
from finops_mcp.service import FinOpsService
from finops_mcp.settings import load_settings
from tests.fakes.provider import FakeProvider


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("AccessDenied for AKIAIOSFODNN7EXAMPLE on ce:GetCostAndUsage", "AKIAIOSFODNN7EXAMPLE"),
        ("Authorization: Bearer abcdef0123456789.tokenpart", "abcdef0123456789.tokenpart"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eXoifQ.c2lnbmF0dXJl expired", "eyJhbGciOiJIUzI1NiJ9"),
        ("https://acct.blob.core.windows.net/c?sv=2024&sig=AbCdEf%2B123&se=x", "AbCdEf%2B123"),
        ("client_secret=s3cr3t-value&grant_type=client_credentials", "s3cr3t-value"),
        ('{"password": "hunter2"}', "hunter2"),
    ],
)
def test_redact_removes_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned and "REDACTED" in cleaned


def test_redact_keeps_messages_short_and_on_one_line() -> None:
    cleaned = redact("line one\nline two " + "x" * 2000)
    assert "\n" not in cleaned and len(cleaned) <= 600


class LeakyProvider(FakeProvider):
    def cost(self, scope, query, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("signature mismatch for key AKIAIOSFODNN7EXAMPLE secret=wJalrXUtnFEMI")


async def test_an_unexpected_provider_error_is_redacted_in_the_report() -> None:
    svc = FinOpsService(load_settings(), registry=Registry.of({"fake": LeakyProvider(scope_ids=("a",))}))
    report = await svc.get_cost(GetCostRequest(compare_previous=False))
    message = report.errors[0].message
    assert report.errors[0].code == "upstream"
    assert "AKIAIOSFODNN7EXAMPLE" not in message and "wJalrXUtnFEMI" not in message
    assert "RuntimeError" in message


async def test_the_log_line_is_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    svc = FinOpsService(load_settings(), registry=Registry.of({"fake": LeakyProvider(scope_ids=("a",))}))
    with caplog.at_level("DEBUG"):
        await svc.get_cost(GetCostRequest(compare_previous=False))
    assert "unexpected error" in caplog.text
    assert "AKIAIOSFODNN7EXAMPLE" not in caplog.text and "wJalrXUtnFEMI" not in caplog.text
