"""botocore exceptions translated once (`ERRORS`): error code, retryable and the server's wait,
feeding both the engine's retry policy (`retry_decision`) and the per-scope error (`classify_error`).

Throttling (`ThrottlingException`, `TooManyRequestsException`, `RequestLimitExceeded`, Cost
Explorer's `LimitExceededException`, ...), HTTP 5xx and connection/read timeouts are retryable;
a `Retry-After` header, when AWS sends one, sets the minimum wait. Credentials that are missing,
expired or unknown are `auth`; refusals are `forbidden`. botocore's own retries are turned off
(see `sessions.client_config`) so the engine's policy is the only one.

botocore is imported inside the functions: importing this module stays free of the SDK.
"""

from __future__ import annotations

from typing import Any

from finops_mcp.engine.retry import ErrorMap, Translated, by_type, retry_after_from_headers
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


# botocore exception class names -> (code, retryable), first match wins (timeouts before the
# connection errors they subclass).
SDK_ERRORS: tuple[tuple[tuple[str, ...], ErrorCode, bool], ...] = (
    (("ProfileNotFound", "NoRegionError"), "not_configured", False),
    (
        (
            "NoCredentialsError",
            "PartialCredentialsError",
            "CredentialRetrievalError",
            "SSOError",
            "TokenRetrievalError",
        ),
        "auth",
        False,
    ),
    (("ConnectTimeoutError", "ReadTimeoutError"), "timeout", True),
    (("EndpointConnectionError", "ConnectionClosedError", "ConnectionError"), "upstream", True),
    (("ParamValidationError",), "invalid_query", False),
)


def translate(exc: BaseException) -> Translated | None:
    """The one translation of an AWS exception (None: not one of botocore's)."""
    if isinstance(exc, ReadOnlyViolation):
        return Translated("forbidden", False)
    parts = client_error_parts(exc)
    if parts is not None:
        code, retryable = _classify_code(*parts[:2])
        return Translated(code, retryable, retry_after_from_headers(parts[2]) if retryable else None)
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover - botocore is a dependency of this provider
        return None
    table = [(tuple(getattr(bx, name) for name in names), code, retry) for names, code, retry in SDK_ERRORS]
    return by_type(exc, table)


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


ERRORS = ErrorMap(translate)
classify_error = ERRORS.classify  # the per-scope error code
retry_decision = ERRORS.retry_decision  # for `ctx.retry(..., classify=retry_decision)`
