"""Audit log: one JSON line per tool call, so every call is attributable.

A server middleware (the SDK's `ServerMiddleware`, `async (ctx, call_next)`) wraps `tools/call` on
every transport. Each record carries the time, a correlation id, the caller (OAuth client id, subject
and issuer when the request was authenticated; empty on stdio), the tool, a SHA-256 digest of the
arguments (canonical JSON: the arguments themselves are never written), the token's scopes, the
duration, the outcome (`ok`, `partial`, `error`, `invalid_input`; `task` when the call was accepted
as an MCP task, with its `task_id`) and the error code(s).

Tokens, secrets and argument values are never written. Records go to stderr (never stdout: on stdio
it carries the protocol) or, with `FINOPS_AUDIT_LOG=/path/file`, are appended to that file (created
with mode 0600). `FINOPS_AUDIT_LOG=off` disables the log.

This module stays light (stdlib and finops_mcp.logs): it is imported on the stdio server's start-up
path.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import IO, Any

from finops_mcp.logs import CORRELATION_ID, correlation_id_from

OFF_VALUES = frozenset({"off", "none", "false", "0", "disabled"})
STDERR_VALUES = frozenset({"", "-", "stderr"})
# How a rejected call reads (server.py's ToolError text, which the SDK may prefix with the tool name).
_INVALID_INPUT = re.compile(r"^(?:Error executing tool \S+: )?Invalid arguments for ")


class AuditLog:
    """Writes one JSON object per line, atomically with respect to other threads."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._file = os.fdopen(fd, "a", encoding="utf-8", buffering=1)

    def write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
        with self._lock:
            stream = self._file or sys.stderr  # looked up per write: stderr may be redirected
            stream.write(line)
            stream.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def open_audit_log(setting: str | None, *, strict: bool = False) -> AuditLog | None:
    """The audit log FINOPS_AUDIT_LOG asks for: None when off, stderr by default, else the file.

    A file that cannot be opened raises `OSError` when `strict`; otherwise the log falls back to
    stderr with a warning there (the records are kept, not lost).
    """
    value = (setting or "").strip()
    if value.lower() in OFF_VALUES:
        return None
    if value.lower() in STDERR_VALUES:
        return AuditLog()
    try:
        return AuditLog(os.path.expanduser(value))
    except OSError as exc:
        if strict:
            raise
        reason = f"cannot open {value!r} ({exc.strerror})"
        print(f"finops-mcp: FINOPS_AUDIT_LOG: {reason}; audit records go to stderr", file=sys.stderr)
        return AuditLog()


def argument_digest(arguments: Any) -> str:
    """SHA-256 of the arguments' canonical JSON (sorted keys, no spaces, UTF-8; a lone surrogate,
    which an in-process client can pass, is digested as its UTF-8-style bytes, not an error)."""
    canonical = json.dumps(
        arguments if arguments is not None else {},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _field(obj: Any, attr: str, key: str) -> Any:
    """A result field from a pydantic result (`attr`) or its wire dict (`key`)."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, attr, None)


def task_id(result: Any) -> str | None:
    """The task id when the call was answered with a task (2025-11-25 `{task}` or 2026-07-28 `resultType`)."""
    task = _field(result, "task", "task")
    if task is not None:
        return _field(task, "task_id", "taskId")
    if _field(result, "result_type", "resultType") == "task":
        return _field(result, "task_id", "taskId")
    return None


def classify(result: Any) -> tuple[str, str | None]:
    """(outcome, error_code) of a tools/call result: ok, partial, error, invalid_input (or task)."""
    if task_id(result) is not None:
        return "task", None  # accepted; its result is fetched later with tasks/get or tasks/result
    structured = _field(result, "structured_content", "structuredContent")
    errors = structured.get("errors") if isinstance(structured, Mapping) else None
    codes = sorted({str(e.get("code")) for e in errors or [] if isinstance(e, Mapping) and e.get("code")})
    code = ",".join(codes) or None
    if not _field(result, "is_error", "isError"):
        return ("partial", code) if errors else ("ok", None)
    if structured is not None:
        return "error", code or "error"
    content = _field(result, "content", "content") or []
    first = content[0] if content else None
    text = _field(first, "text", "text") if first is not None else None
    if is_invalid_input(text):
        return "invalid_input", "invalid_input"
    return "error", "tool_error"


def is_invalid_input(text: Any) -> bool:
    """Whether a tool error's text is the server's "invalid arguments" answer."""
    return isinstance(text, str) and _INVALID_INPUT.match(text) is not None


def _principal(request: Any) -> Any:
    """The verified access token of an authenticated HTTP request (None on stdio / without auth)."""
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, Mapping) else None
    token = getattr(user, "access_token", None)
    if token is not None:
        return token
    from mcp.server.auth.middleware.auth_context import get_access_token  # loaded by the SDK already

    return get_access_token()


def _correlation_id(request: Any) -> str:
    """The id the request's log lines carry (finops_mcp.logs), so a record and its logs match."""
    return CORRELATION_ID.get() or correlation_id_from(request)


class AuditMiddleware:
    """`ServerMiddleware` writing one audit record per `tools/call`; other messages pass through."""

    def __init__(self, log: AuditLog, clock: Callable[[], float] = time.perf_counter) -> None:
        self.log = log
        self.clock = clock

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        name = params.get("name")
        request = ctx.request
        token = _principal(request)
        claims = getattr(token, "claims", None) or {}
        record: dict[str, Any] = {
            "time": _utc_now(),
            "event": "tool_call",
            "correlation_id": _correlation_id(request),
            "request_id": ctx.request_id,
            "transport": "stdio" if request is None else "http",
            "client_id": getattr(token, "client_id", None),
            "subject": getattr(token, "subject", None),
            "issuer": claims.get("iss"),
            "scopes": list(getattr(token, "scopes", None) or []),
            "tool": name[:128] if isinstance(name, str) else None,
            "arguments_digest": argument_digest(params.get("arguments")),
        }
        started = self.clock()
        outcome: str = "error"
        code: str | None = "internal"
        try:
            result = await call_next(ctx)
            outcome, code = classify(result)
            if outcome == "task":
                record["task_id"] = task_id(result)
            return result
        except Exception as exc:
            error_code = getattr(getattr(exc, "error", None), "code", None)  # MCPError carries ErrorData
            code = f"mcp_{error_code}" if isinstance(error_code, int) else type(exc).__name__
            raise
        except BaseException:  # cancelled by the client or at shutdown
            code = "cancelled"
            raise
        finally:
            record["duration_ms"] = round((self.clock() - started) * 1000, 1)
            record["outcome"] = outcome
            record["error_code"] = code
            self.log.write(record)


def audit_middleware(setting: str | None) -> list[AuditMiddleware]:
    """The middleware list for `MCPServer(middleware=...)`: empty when the audit log is off."""
    log = open_audit_log(setting)
    return [] if log is None else [AuditMiddleware(log)]
