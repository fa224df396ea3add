"""stderr logging of the server and the CLI: one line per record, secrets masked, SDK wire logs quiet.

stderr is the MCP client's log (Claude Desktop keeps it per server), so `configure` installs one
handler on the root logger whose lines read

    WARNING finops_mcp.service code=upstream cid=3f9c2a7e41d0: unexpected error from aws: ...

with the record's error `code` (an `extra={"code": ...}`, else the exception's type) and the
correlation id of the request being served (`cid`, also in the audit record of a tool call). An
exception adds its type and message to the same line; the full traceback is logged only at
`FINOPS_LOG_LEVEL=DEBUG`. Every line passes through `errors.mask` (known secret values and
secret-looking tokens), at every level.

The cloud SDKs' HTTP loggers (botocore, azure-core's HTTP logging policy, urllib3, google-auth's
transports, httpx...) log request URLs, headers and bodies at DEBUG/INFO: they stay at WARNING
unless `FINOPS_LOG_SDK_TRAFFIC=true` asks for them, which logs a warning saying so.

This module stays light (stdlib and finops_mcp.errors): it is on the stdio server's start-up path.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any

from finops_mcp.errors import load_secrets_from_environment, mask

if TYPE_CHECKING:
    from finops_mcp.settings import Settings

log = logging.getLogger(__name__)

# The correlation id of the request being served (set per request by `correlation_middleware`).
CORRELATION_ID: ContextVar[str | None] = ContextVar("finops_correlation_id", default=None)
CORRELATION_HEADERS = ("x-correlation-id", "x-request-id")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
# Loggers that log HTTP traffic (URLs, headers, bodies) of the SDKs finops-mcp drives.
WIRE_LOGGERS = (
    "botocore",
    "boto3",
    "s3transfer",
    "aiobotocore",
    "urllib3",
    "requests",
    "httpx",
    "httpx2",
    "httpcore",
    "hpack",
    "azure",  # azure.core.pipeline.policies.http_logging_policy, azure.identity, azure.storage
    "msal",
    "google.auth",
    "google.api_core",
    "google.cloud",
    "google_auth_httplib2",
    "google.resumable_media",
    "grpc",
    "oauthlib",
    "requests_oauthlib",
    "snowflake.connector",
    "pyathena",
    "fsspec",
    "s3fs",
    "adlfs",
    "gcsfs",
    "aiohttp",
)
MAX_LINE = 4000  # past DEBUG; a fuzzed argument echoed in a message must not flood the client's log
_HANDLER_MARK = "_finops_stderr"


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def correlation_id_from(request: Any) -> str:
    """The caller's X-Correlation-Id / X-Request-Id header when it is a safe token, else a new id."""
    headers = getattr(request, "headers", None)
    for name in CORRELATION_HEADERS:
        value = headers.get(name) if headers is not None else None
        if isinstance(value, str) and _SAFE_ID.fullmatch(value):
            return value
    return new_correlation_id()


async def correlation_middleware(ctx: Any, call_next: Any) -> Any:
    """`ServerMiddleware`: every request gets a correlation id for its log lines (and audit record).

    Not reset on the way out: the SDK serves each request in a task of its own (a copy of the
    context), and its dispatcher logs a handler's exception after the middleware chain returned."""
    if ctx.request_id is not None:
        CORRELATION_ID.set(correlation_id_from(ctx.request))
    return await call_next(ctx)


def _error_code(record: logging.LogRecord) -> str | None:
    code = getattr(record, "code", None)
    if code is not None:
        return str(code)
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None:
        return None
    rpc_code = getattr(getattr(exc, "error", None), "code", None)  # the SDK's MCPError
    return str(rpc_code) if isinstance(rpc_code, int) else type(exc).__name__


class OneLineFormatter(logging.Formatter):
    """`LEVEL logger [code=..] [cid=..]: message [(ExcType: text)]`; tracebacks only when asked."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        tags = [f"code={c}" for c in [_error_code(record)] if c]
        cid = getattr(record, "correlation_id", None) or CORRELATION_ID.get()
        if cid:
            tags.append(f"cid={cid}")
        line = " ".join([record.levelname, record.name, *tags]) + ": " + record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if self.tracebacks:
            if record.exc_info:
                line += "\n" + self.formatException(record.exc_info)
            if record.stack_info:
                line += "\n" + self.formatStack(record.stack_info)
            return mask(line)
        if exc is not None:
            text = str(exc).strip()
            line += f" ({type(exc).__name__}{': ' + text if text else ''})"
        line = " ".join(mask(line).split())
        return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (tests and CLI runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        setattr(self, _HANDLER_MARK, True)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def configure(settings: Settings) -> None:
    """Install the stderr handler on the root logger (again: it replaces itself) and quiet the SDKs."""
    load_secrets_from_environment()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(OneLineFormatter(tracebacks=settings.log_level == "DEBUG"))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    level = logging.getLevelName(settings.log_level)
    wire = level if settings.log_sdk_traffic else max(level, logging.WARNING)
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(wire)
    logging.captureWarnings(True)  # library warnings get the same one-line, masked treatment
    if settings.log_sdk_traffic:
        log.warning(
            "FINOPS_LOG_SDK_TRAFFIC is on: the cloud SDKs log their HTTP traffic (URLs, headers, bodies) "
            "to stderr. Known secrets are masked, but the traffic may hold other sensitive data: "
            "turn it off after debugging"
        )
