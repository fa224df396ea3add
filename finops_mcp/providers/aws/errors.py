"""botocore exceptions -> (error code, retryable), and the retry decision for the engine's policy.

Throttling (`ThrottlingException`, `TooManyRequestsException`, `RequestLimitExceeded`, Cost
Explorer's `LimitExceededException`, ...), HTTP 5xx and connection/read timeouts are retryable;
a `Retry-After` header, when AWS sends one, sets the minimum wait. Credentials that are missing,
expired or unknown are `auth`; refusals are `forbidden`. botocore's own retries are turned off
(see `sessions.client_config`) so the engine's policy is the only one.

botocore is imported inside the functions: importing this module stays free of the SDK.
"""

from __future__ import annotations

from typing import Any

from finops_mcp.engine.context import Cancelled
from finops_mcp.engine.retry import RetryDecision, retry_after_from_headers
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import ErrorCode
from finops_mcp.providers.aws.guard import ReadOnlyViolation

THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",  # Cost Explorer's rate limit
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
SERVER_CODES = frozenset(
    {"InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable", "Unavailable"}
)
AUTH_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidToken",
        "MissingAuthenticationToken",
        "IncompleteSignature",
    }
)
FORBIDDEN_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "OptInRequired",
        "OptInRequiredException",  # Compute Optimizer: the account has not opted in
        "AWSOrganizationsNotInUseException",
    }
)
INVALID_CODES = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "InvalidParameterException",
        "InvalidNextTokenException",
        "DataUnavailableException",
        "BillExpirationException",
        "RequestChangedException",
    }
)


def client_error_parts(exc: BaseException) -> tuple[str, int, dict[str, Any]] | None:
    """(error code, HTTP status, response headers) of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    status = int(meta.get("HTTPStatusCode") or 0)
    return str(error.get("Code") or ""), status, dict(meta.get("HTTPHeaders") or {})


def classify_error(exc: BaseException) -> tuple[ErrorCode, bool] | None:
    """The per-scope error code and whether trying again later may help."""
    if isinstance(exc, ScopeFailure):
        return exc.code, exc.retryable
    if isinstance(exc, Cancelled):
        return "cancelled", False
    if isinstance(exc, ReadOnlyViolation):
        return "forbidden", False
    parts = client_error_parts(exc)
    if parts is not None:
        return _classify_code(*parts[:2])
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover - botocore is a dependency of this provider
        return None
    if isinstance(exc, bx.ProfileNotFound):
        return "not_configured", False
    if isinstance(
        exc,
        (
            bx.NoCredentialsError,
            bx.PartialCredentialsError,
            bx.CredentialRetrievalError,
            bx.SSOError,
            bx.TokenRetrievalError,
        ),
    ):
        return "auth", False
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return "timeout", True
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ConnectionError)):
        return "upstream", True
    if isinstance(exc, bx.ParamValidationError):
        return "invalid_query", False
    if isinstance(exc, bx.NoRegionError):
        return "not_configured", False
    return None


def _classify_code(code: str, status: int) -> tuple[ErrorCode, bool]:
    if code in THROTTLE_CODES or status == 429:
        return "throttled", True
    if code in AUTH_CODES:
        return "auth", False
    if code in FORBIDDEN_CODES or code.endswith("AccessDenied") or status == 403:
        return "forbidden", False
    if code in SERVER_CODES or status >= 500:
        return "upstream", True
    if code in INVALID_CODES:
        return "invalid_query", False
    if code.endswith("NotFound") or code.endswith("NotFoundException") or status == 404:
        return "not_found", False
    return "upstream", False


def retry_decision(exc: BaseException) -> RetryDecision:
    """For `ctx.retry(..., classify=retry_decision)`."""
    if isinstance(exc, ScopeFailure):
        return RetryDecision(exc.retryable, exc.retry_after)
    mapped = classify_error(exc)
    if mapped is None:
        return RetryDecision(isinstance(exc, TimeoutError | ConnectionError))
    retryable = mapped[1]
    parts = client_error_parts(exc)
    hint = retry_after_from_headers(parts[2]) if parts is not None and retryable else None
    return RetryDecision(retryable, hint)
