"""Errors with a stable code. `ScopeFailure` becomes an `errors[]` entry for one scope;
`InputError` becomes a tool error (or CLI exit code 2) naming the field and the fix."""

from __future__ import annotations

import re

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


_SECRET_PATTERNS = [
    # AWS access key ids and secrets, bearer tokens, JWTs, key=value secrets, SAS signatures.
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), "[REDACTED-KEY-ID]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer [REDACTED]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), "[REDACTED-JWT]"),
    (
        re.compile(
            r"(?i)\b(secret|password|passwd|token|sig|signature|client_secret|api[_-]?key|access[_-]?key)"
            r"([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
        ),
        r"\1\2[REDACTED]",
    ),
]


def redact(text: str, limit: int = 600) -> str:
    """Remove secrets that SDK error messages sometimes echo, and keep the message short."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
