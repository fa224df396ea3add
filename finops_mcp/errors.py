"""Errors with a stable code. `ScopeFailure` becomes an `errors[]` entry for one scope;
`InputError` becomes a tool error (or CLI exit code 2) naming the field and the fix."""

from __future__ import annotations

from finops_mcp.models import ErrorCode


class FinOpsError(Exception):
    pass


class InputError(FinOpsError):
    """The request is well-formed but cannot be served as asked (unknown check id, scope...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ScopeFailure(FinOpsError):
    """An upstream or configuration failure confined to one scope."""

    def __init__(
        self, code: ErrorCode, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
