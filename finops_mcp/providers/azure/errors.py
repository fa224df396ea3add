"""Azure SDK errors translated once (`ERRORS`: code, retryable, the server's wait), feeding the
retry policy and the per-scope error, and turned into messages a person can act on.

azure-core raises `HttpResponseError` (with `.status_code` and `.response.headers`) for HTTP
failures, `ClientAuthenticationError` (a subclass) for 401s and for credentials that cannot get a
token, and `ServiceRequestError` / `ServiceResponseError` (and their timeout subclasses) when the
connection fails. The SDK clients are built with `retry_total=0`, so every retry goes through the
engine's policy, which reads the wait from `Retry-After` and from Cost Management's own headers
(it answers 429 with `x-ms-ratelimit-microsoft.costmanagement-{qpu,entity,tenant,client}-retry-after`
and often no standard `Retry-After`; azure-core alone would not retry such a POST at all).

This module imports azure.core only inside functions: the provider module must stay SDK-free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from finops_mcp.engine.context import CallContext, Cancelled
from finops_mcp.engine.retry import ErrorMap, Translated, by_type, retry_after_from_headers
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import ErrorCode

T = TypeVar("T")

THROTTLE_HEADERS: tuple[str, ...] = (
    "retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-client-retry-after",
)

_STATUS_CODES: dict[int, tuple[ErrorCode, bool]] = {
    400: ("invalid_query", False),
    401: ("auth", False),
    403: ("forbidden", False),
    404: ("not_found", False),
    408: ("timeout", True),
    409: ("upstream", False),
    422: ("invalid_query", False),
    429: ("throttled", True),
}


def throttle_wait(headers: Any) -> float | None:
    """The longest wait any throttle header asks for, in seconds (None when there is none)."""
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in dict(headers).items()}
    waits = [w for w in (retry_after_from_headers(lowered, THROTTLE_HEADERS),) if w is not None]
    try:  # ARM's millisecond variant
        if lowered.get("x-ms-retry-after-ms") is not None:
            waits.append(max(0.0, float(lowered["x-ms-retry-after-ms"]) / 1000))
    except ValueError:
        pass
    return max(waits) if waits else None


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    return int(status) if isinstance(status, int) else None


def _headers_of(exc: BaseException) -> Any:
    response = getattr(exc, "response", None)
    return getattr(response, "headers", None)


def translate(exc: BaseException) -> Translated | None:
    """The one translation of an azure-core exception (None when `exc` is not one)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    found = by_type(
        exc,
        (
            ((ServiceRequestTimeoutError, ServiceResponseTimeoutError), "timeout", True),
            ((ServiceRequestError, ServiceResponseError), "upstream", True),
        ),
    )
    if found is not None:
        return found
    status = status_of(exc)
    if isinstance(exc, ClientAuthenticationError) and status in (None, 401):
        return Translated("auth", False)
    if not isinstance(exc, HttpResponseError):
        return None
    if status is None:
        return Translated("upstream", False)
    code, retryable = _STATUS_CODES.get(status, ("upstream", status >= 500))
    return Translated(code, retryable, throttle_wait(_headers_of(exc)) if retryable else None)


ERRORS = ErrorMap(translate)  # retry decisions (wait from THROTTLE_HEADERS) and per-scope codes


_HINTS: dict[str, str] = {
    "auth": "sign in (az login), or set AZURE_TENANT_ID/AZURE_CLIENT_ID with a secret, certificate or "
    "federated token (workload identity); see docs/providers/azure.md",
    "forbidden": "grant the identity 'Cost Management Reader' (cost, forecast, budgets) and 'Reader' "
    "(audit) on this scope",
    "throttled": "Cost Management throttled the request after retries; try again later or query the "
    "management group (one query instead of one per subscription)",
    "not_found": "check the subscription / management group id and that the resource provider is registered",
}


def to_scope_failure(exc: BaseException, what: str) -> ScopeFailure:
    """A `ScopeFailure` naming what failed, the ARM error code and message, and the fix."""
    if isinstance(exc, ScopeFailure):
        return exc
    found = ERRORS(exc) or Translated("upstream", False)
    code, retryable = found.code, found.retryable
    status = status_of(exc)
    error = getattr(exc, "error", None)
    arm_code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    message = " ".join(str(message).split())[:300]
    prefix = f"{what}: " + (f"HTTP {status} " if status else "") + (f"({arm_code}) " if arm_code else "")
    hint = _HINTS.get(code)
    text = prefix + message + (f"; {hint}" if hint else "")
    return ScopeFailure(code, text, retryable=retryable, retry_after=found.retry_after)


def call(ctx: CallContext, fn: Callable[[], T], what: str) -> T:
    """Run one upstream request under the engine's retry policy; a final failure becomes a
    `ScopeFailure` saying what failed and how to fix it (cancellation passes through)."""
    try:
        return ctx.retry(fn, classify=ERRORS.retry_decision)
    except Cancelled:
        raise
    except ScopeFailure:
        raise
    except Exception as exc:
        if ERRORS(exc) is None:
            raise
        raise to_scope_failure(exc, what) from exc
