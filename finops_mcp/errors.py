"""Errors with a stable code. `ScopeFailure` becomes an `errors[]` entry for one scope;
`InputError` becomes a tool error (or CLI exit code 2) naming the field and the fix."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

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


# --- secrets: one place masks them, for reports, tool errors and every log line -----------------
# Environment variables the clouds' SDKs (and ours) read secrets from. Any other variable whose
# name says SECRET, PASSWORD, TOKEN, PRIVATE_KEY, API_KEY or ACCESS_KEY is treated the same way.
SECRET_ENV_VARS = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "GOOGLE_API_KEY",
    "CLOUDSDK_AUTH_ACCESS_TOKEN",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_PRIVATE_KEY",
    "SNOWFLAKE_TOKEN",
)
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY", re.I)
_NOT_A_VALUE = re.compile(r"_(FILE|PATH|DIR|URL|URI|ENDPOINT|TYPE|NAME|ID)$", re.I)
# Files whose content is a secret (tokens) or holds one (key files: their private keys).
SECRET_FILE_VARS = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "FINOPS_CLIENT_PRIVATE_KEY_FILE",
    "FINOPS_CLIENT_ASSERTION_FILE",
)
_KEY_FILE_FIELDS = ("private_key", "private_key_id", "client_secret", "refresh_token")
_MAX_SECRET_FILE_BYTES = 1 << 20
_MIN_SECRET_LENGTH = 6  # shorter values ("true", "1") would mask ordinary words

_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S
)
# A name that says it holds a secret, optionally after a prefix ("client_secret", "x-amz-security-token").
_SECRET_KEY = (
    r"(?:[\w-]*[_-])?(?:secret|password|passwd|passphrase|token|sig|signature|api[_-]?key|"
    r"access[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|assertion|private[_-]?key(?:[_-]id)?)"
)
_SECRET_PATTERNS = [
    (_PEM_PRIVATE_KEY, "[REDACTED-PRIVATE-KEY]"),
    # AWS access key ids and secrets, bearer tokens, JWTs, key=value secrets, SAS signatures.
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), "[REDACTED-KEY-ID]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer [REDACTED]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), "[REDACTED-JWT]"),
    # Authorization headers of any scheme (AWS SigV4, SharedKey, Basic): the whole value.
    (
        re.compile(r"(?i)\b(authorization[\"']?\s*[=:]\s*)(b?[\"'])?(?!Bearer \[)[^\r\n\"',}]+"),
        r"\1\2[REDACTED]",
    ),
    (
        re.compile(rf"(?i)\b({_SECRET_KEY})([\"']?(?:=|\s*:\s*))(b?\"[^\"]*\"|b?'[^']*'|[^\s&,;]+)"),
        r"\1\2[REDACTED]",
    ),
]

_known_secrets: set[str] = set()
_known_pattern: re.Pattern[str] | None = None
_environment_loaded = False


def _variants(value: str) -> set[str]:
    """How a secret can appear in text: as is, URL-encoded (form bodies, query strings), JSON-escaped."""
    from urllib.parse import quote, quote_plus

    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}


def register_secret(value: str | None) -> None:
    """Mask this value (and its encoded forms) wherever `redact`/`mask` sees it from now on."""
    global _known_pattern
    value = (value or "").strip()
    if len(value) < _MIN_SECRET_LENGTH:
        return
    pem_keys = [m.group(0) for m in _PEM_PRIVATE_KEY.finditer(value)]
    added = set().union(*(_variants(v) for v in [value, *pem_keys])) - _known_secrets
    if added:
        _known_secrets.update(added)
        ordered = sorted(_known_secrets, key=len, reverse=True)  # longest first: no partial masks
        _known_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def _register_file(path: str) -> None:
    try:
        with open(os.path.expanduser(path), encoding="utf-8", errors="replace") as handle:
            text = handle.read(_MAX_SECRET_FILE_BYTES)
    except OSError:
        return
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):  # a Google service-account / authorized-user key file
        for field in _KEY_FILE_FIELDS:
            if isinstance(data.get(field), str):
                register_secret(data[field])
        return
    keys = [m.group(0) for m in _PEM_PRIVATE_KEY.finditer(text)]
    for key in keys:  # a PEM bundle: only its private keys are secret, not the certificates
        register_secret(key)
    if not keys and "-----BEGIN" not in text:
        register_secret(text)  # a token file


def load_secrets_from_environment(environ: Mapping[str, str] | None = None) -> None:
    """Register the secrets this process knows from its environment (see SECRET_ENV_VARS)."""
    global _environment_loaded
    env = os.environ if environ is None else environ
    for name, value in env.items():
        upper = name.upper()
        if upper in SECRET_FILE_VARS:
            _register_file(value)
        elif upper in SECRET_ENV_VARS or (_SECRET_NAME.search(upper) and not _NOT_A_VALUE.search(upper)):
            register_secret(value)
    _environment_loaded = True


def mask(text: str) -> str:
    """`text` with every known secret value and every secret-looking token replaced (layout kept)."""
    if not _environment_loaded:
        load_secrets_from_environment()
    if _known_pattern is not None:
        text = _known_pattern.sub("[REDACTED]", text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(text: str, limit: int = 600) -> str:
    """Remove secrets that SDK error messages sometimes echo, and keep the message short, on one line."""
    text = " ".join(mask(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
