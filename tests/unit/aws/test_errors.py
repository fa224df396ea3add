"""botocore errors -> per-scope codes and retry decisions."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import exceptions as bx

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.aws.api import api_pages
from finops_mcp.providers.aws.errors import classify_error, retry_decision


def client_error(code: str, status: int = 400, headers: dict[str, str] | None = None) -> bx.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
    }
    return bx.ClientError(response, "GetCostAndUsage")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, ("throttled", True)),
        ("TooManyRequestsException", 429, ("throttled", True)),
        ("RequestLimitExceeded", 503, ("throttled", True)),
        ("LimitExceededException", 400, ("throttled", True)),
        ("InternalServerError", 500, ("upstream", True)),
        ("503", 503, ("upstream", True)),
        ("AccessDeniedException", 400, ("forbidden", False)),
        ("UnauthorizedOperation", 403, ("forbidden", False)),
        ("ExpiredToken", 400, ("auth", False)),
        ("UnrecognizedClientException", 400, ("auth", False)),
        ("DataUnavailableException", 400, ("invalid_query", False)),
        ("NotFoundException", 400, ("not_found", False)),
        ("SomethingElse", 400, ("upstream", False)),
    ],
)
def test_client_errors(code: str, status: int, expected: tuple[str, bool]) -> None:
    assert classify_error(client_error(code, status)) == expected
    assert retry_decision(client_error(code, status)).retryable is expected[1]


def test_sdk_errors() -> None:
    assert classify_error(bx.NoCredentialsError()) == ("auth", False)
    assert classify_error(bx.ProfileNotFound(profile="x")) == ("not_configured", False)
    assert classify_error(bx.ReadTimeoutError(endpoint_url="u")) == ("timeout", True)
    assert classify_error(bx.EndpointConnectionError(endpoint_url="u")) == ("upstream", True)
    assert classify_error(ValueError("x")) is None


def test_retry_after_is_honoured_for_throttling_only() -> None:
    assert retry_decision(client_error("Throttling", 400, {"retry-after": "7"})).retry_after == 7
    assert retry_decision(client_error("AccessDenied", 403, {"retry-after": "7"})).retry_after is None


def test_paging_retries_one_page_and_refuses_a_token_loop() -> None:
    calls: list[dict[str, Any]] = []
    failures = [client_error("Throttling")]

    class Client:
        def list_things(self, **kw: Any) -> dict[str, Any]:
            calls.append(kw)
            if kw.get("NextToken") == "b" and failures:
                raise failures.pop()
            return {"Things": [1], "NextToken": {None: "a", "a": "b", "b": None}[kw.get("NextToken")]}

    ctx = CallContext(retry_policy=RetryPolicy(base_delay=0.001, max_delay=0.001))
    pages = list(api_pages(ctx, Client(), "list_things", billed="x"))
    assert len(pages) == 3 and [c.get("NextToken") for c in calls] == [None, "a", "b", "b"]
    assert ctx.billed.snapshot() == {"x": 3}

    class Loop:
        def list_things(self, **kw: Any) -> dict[str, Any]:
            return {"NextToken": "same"}

    with pytest.raises(ScopeFailure, match="same page token"):
        list(api_pages(CallContext(), Loop(), "list_things"))
