"""The stdio transport, hardened: every line a client sends gets an answer (JSON-RPC 2.0, section 5).

The SDK's stdio reader (mcp.server.stdio) turns a line it cannot read into an exception on its read
stream, and the serving loop drops it with a DEBUG log line: the client waits for an answer that
never comes. `serve_stdio` runs the server exactly as `MCPServer.run_stdio_async` does, with the
read stream wrapped so that such a line is answered on the same write stream:

- text that is not JSON: -32700 Parse error, id null;
- JSON that is not a request object (no `method`, `jsonrpc` not "2.0", a batch: MCP has had none
  since 2025-06-18, a bare scalar): -32600 Invalid Request;
- JSON nested deeper than the SDK's parser reads (about 250 levels; 10,000 from a fuzzer):
  -32600 Invalid Request;
- a string holding a lone UTF-16 surrogate (`"\\ud800"`, which is not Unicode text): -32602 Invalid
  params (or -32600 outside `params`), naming where it is;
- a request whose id is neither a string nor an integer (`1.5`, `true`, an object), which the SDK
  would take for a notification: -32600, id null.

Answers carry the request's id when its top level has a usable one (found however deep the rest
nests), else null, and a correlation id in `error.data` that the one stderr line about it repeats.
A malformed *response* (an answer to a server request) is only logged: JSON-RPC never answers a
response. Every other line passes through untouched, and the server keeps serving.

The end of stdin (the client closed it, or `printf ... | finops-mcp-server`) waits until every
request already read has been answered (at most `DRAIN_SECONDS`; a cancelled request is not
waited for), then ends serving: the SDK would otherwise cancel those requests unanswered. A signal
still stops the server at once (finops_mcp.shutdown).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import logging
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
)
from pydantic import ValidationError

from finops_mcp.logs import new_correlation_id
from finops_mcp.shutdown import StopSignals

log = logging.getLogger(__name__)

DRAIN_SECONDS = 300.0  # the longest the end of stdin waits for answers to requests already read
MAX_DEPTH = 200  # deeper JSON is refused even when the SDK's parser would read it
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_COLON = re.compile(r"\s*:\s*")
_RequestId = int | str | None


def _usable_id(data: Any) -> _RequestId:
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def top_level_id(text: str) -> _RequestId:
    """The `id` member of the JSON object in `text`, however deep its other members nest."""
    if not text.lstrip().startswith("{"):
        return None
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        kind = token.group()
        if kind in "[{":
            depth += 1
        elif kind in "]}":
            depth -= 1
        elif depth == 1 and kind == '"id"':
            colon = _COLON.match(text, token.end())
            if colon is None:
                continue  # a value "id", not the key
            try:
                value, _ = json.JSONDecoder().raw_decode(text, colon.end())
            except (ValueError, RecursionError):
                return None
            return _usable_id({"id": value})
    return None


def _walk(data: Any) -> tuple[int, str | None]:
    """(nesting depth, path of the first string holding a lone surrogate), without recursion."""
    deepest, found = 0, None
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            for key, value in node.items():
                label = key if key.isidentifier() else repr(key)[:40]
                if found is None and _has_surrogate(key):
                    found = f"{path}.{label}".lstrip(".")
                stack.append((value, f"{path}.{label}".lstrip("."), depth + 1))
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{i}]", depth + 1) for i, value in enumerate(node))
        elif found is None and isinstance(node, str) and _has_surrogate(node):
            found = path or "the message"
    return deepest, found


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unreadable(line: str, why: str) -> tuple[_RequestId, int, str]:
    """Why the SDK's parser refused a line: not JSON, too deep, or lone surrogates."""
    too_deep = f"Invalid Request: JSON nested deeper than {MAX_DEPTH} levels; send flatter arguments"
    try:
        data = json.loads(line, parse_constant=_reject_constant)
    except RecursionError:
        return top_level_id(line), INVALID_REQUEST, too_deep
    except ValueError:
        return None, PARSE_ERROR, f"Parse error: {why}"
    depth, surrogate_at = _walk(data)
    if surrogate_at is not None:
        code = INVALID_PARAMS if surrogate_at.startswith("params") else INVALID_REQUEST
        kind = "Invalid params" if code == INVALID_PARAMS else "Invalid Request"
        return (
            _usable_id(data),
            code,
            f"{kind}: {surrogate_at} holds a lone UTF-16 surrogate (such as \\ud800), which is not "
            "Unicode text; send valid UTF-8",
        )
    if depth > MAX_DEPTH:
        return _usable_id(data), INVALID_REQUEST, too_deep
    return _usable_id(data), PARSE_ERROR, f"Parse error: {why}"


def _not_a_request(data: Any, errors: list[Any]) -> tuple[_RequestId, int, str] | None:
    if isinstance(data, list):
        return None, INVALID_REQUEST, "Invalid Request: batches are not supported; send one message per line"
    if not isinstance(data, dict):
        return None, INVALID_REQUEST, "Invalid Request: a JSON-RPC message is a JSON object"
    if "method" not in data and ("result" in data or "error" in data):
        return None  # a response: never answered
    if data.get("jsonrpc") != "2.0":
        problem = 'jsonrpc must be "2.0"'
    elif "method" not in data:
        problem = "a request needs a method"
    elif not isinstance(data["method"], str):
        problem = "method must be a string"
    elif not isinstance(data.get("params", {}), dict):
        problem = "params must be an object"
    else:
        first = next((e for e in errors if e["loc"][:1] == ("JSONRPCRequest",)), errors[0])
        field = ".".join(str(p) for p in first["loc"][1:]) or "message"
        problem = f"{field}: {first['msg']}"
    return _usable_id(data), INVALID_REQUEST, f"Invalid Request: {problem}"


def _message_of(errors: list[Any]) -> Any:
    """The parsed message, from the errors that carry it whole: a top-level type error, or a field
    missing at the top level (each union branch reports its own; `input` is then the object)."""
    for error in errors:
        loc = error["loc"]
        if len(loc) == 1 or (len(loc) == 2 and error["type"] == "missing"):
            return error.get("input")
    return None


def answer_for(exc: Exception) -> JSONRPCError | None:
    """The error answering a line the SDK's reader could not read (None: a response, not answered)."""
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    first = errors[0] if errors else None
    if first is None:
        verdict: tuple[_RequestId, int, str] | None = (None, PARSE_ERROR, "Parse error")
    elif first["type"] == "json_invalid":
        raw = first.get("input")
        verdict = _unreadable(raw if isinstance(raw, str) else "", str(first["msg"]))
    else:
        verdict = _not_a_request(_message_of(errors), errors)
    if verdict is None:
        log.warning("dropped a malformed response from the client", extra={"code": INVALID_REQUEST})
        return None
    return _error(*verdict)


def _error(request_id: _RequestId, code: int, message: str) -> JSONRPCError:
    """The answer, and its one stderr line (both carry a correlation id)."""
    cid = new_correlation_id()
    log.warning(
        "answered an unreadable message (id %s): %s",
        json.dumps(request_id),
        message,
        extra={"code": code, "correlation_id": cid},
    )
    return JSONRPCError(
        jsonrpc="2.0",
        id=request_id,
        error=ErrorData(code=code, message=message, data={"correlation_id": cid}),
    )


def _request_with_a_bad_id(line: str, notification: JSONRPCNotification) -> JSONRPCError | None:
    """The SDK reads `{"id": 1.5 | true | {...}, "method": ...}` as a notification (it drops the
    id) and never answers; JSON-RPC wants -32600 for it (MCP ids are strings or integers)."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("method") != notification.method or "id" not in data:
        return None
    if data["id"] is None:
        return None  # JSON-RPC allows a null id; the SDK treats it as a notification, so do we
    return _error(None, INVALID_REQUEST, "Invalid Request: id must be a string or an integer")


class _LineRecorder:
    """stdin as the SDK's reader iterates it, each line kept until its parsed item is received."""

    def __init__(self, readline: Callable[[], Awaitable[str]]) -> None:
        self._readline = readline
        self.lines: deque[str] = deque()

    def __aiter__(self) -> _LineRecorder:
        return self

    async def __anext__(self) -> str:
        line = await self._readline()
        if not line:
            raise StopAsyncIteration
        self.lines.append(line)
        return str(line)


class _DescriptorLines:
    """The lines of a file descriptor, read with `os.read` by a daemon thread.

    The SDK reads stdin with a blocking `readline` on one of anyio's worker threads, which neither
    a cancellation nor interpreter exit can stop: a server waiting for input from a terminal then
    never ends on Ctrl-C. A daemon thread blocked in `os.read` (no Python-level lock held) stops
    nothing: serving can be cancelled at once and the process exits. Lines are handed over one at a
    time (the thread waits until each is taken: no unbounded buffering), decoded as UTF-8 with
    invalid bytes replaced and CRLF read as LF, as the SDK's text wrapper does."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._send, self._receive = anyio.create_memory_object_stream[str](1)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    async def readline(self) -> str:
        if self._thread is None:
            loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._read, args=(loop,), name="finops-stdin", daemon=True)
            self._thread.start()
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return ""

    def stop(self) -> None:
        """No more lines (the thread ends at its next line, or with the process)."""
        self._stopped.set()
        self._receive.close()

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = bytearray()
        try:
            while not self._stopped.is_set():
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    break
                pending += chunk
                while (end := pending.find(b"\n")) >= 0 and not self._stopped.is_set():
                    line = bytes(pending[: end + 1])
                    del pending[: end + 1]
                    self._hand_over(loop, line.replace(b"\r\n", b"\n").decode("utf-8", "replace"))
            if pending and not self._stopped.is_set():
                self._hand_over(loop, pending.decode("utf-8", "replace"))
        except (OSError, RuntimeError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the descriptor or the loop is gone: no more lines
        except concurrent.futures.CancelledError:
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads any more
                loop.call_soon_threadsafe(self._send.close)

    def _hand_over(self, loop: asyncio.AbstractEventLoop, line: str) -> None:
        asyncio.run_coroutine_threadsafe(self._send.send(line), loop).result()


class InFlight:
    """Requests read but not answered yet, so that the end of stdin can wait for their answers."""

    def __init__(self) -> None:
        self._ids: set[tuple[type, int | str]] = set()
        self._idle = anyio.Event()
        self._idle.set()

    def started(self, request_id: int | str) -> None:
        if not self._ids:
            self._idle = anyio.Event()
        self._ids.add((type(request_id), request_id))

    def settled(self, request_id: Any) -> None:
        """Answered, or cancelled by the client (never answered then)."""
        if isinstance(request_id, (int, str)):
            self._ids.discard((type(request_id), request_id))
        if not self._ids:
            self._idle.set()

    async def drained(self, timeout: float) -> None:
        with anyio.move_on_after(timeout):
            await self._idle.wait()
        if self._ids:
            log.warning("stdin ended; %d request(s) still unanswered after %.0f s", len(self._ids), timeout)


class TrackingWriteStream:
    """The write stream, telling `InFlight` which requests have been answered."""

    def __init__(self, inner: Any, inflight: InFlight) -> None:
        self._inner = inner
        self._inflight = inflight

    async def send(self, item: SessionMessage) -> None:
        await self._inner.send(item)
        if isinstance(item.message, (JSONRPCResponse, JSONRPCError)):
            self._inflight.settled(item.message.id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> TrackingWriteStream:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        return await self._inner.__aexit__(exc_type, exc, tb)


class AnsweringReadStream:
    """The SDK's stdio read stream, with the lines it could not read answered instead of dropped.

    With `lines` (each raw line, in the order the SDK's reader turns them into items, one item per
    line) a notification is checked against its line too."""

    def __init__(
        self,
        inner: Any,
        write_stream: Any,
        lines: deque[str] | None = None,
        inflight: InFlight | None = None,
    ) -> None:
        self._inner = inner
        self._write = write_stream
        self._lines = lines
        self._inflight = inflight

    @property
    def last_context(self) -> Any:  # the SDK restores each message's sender context from it
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        item = await self._receive()
        if self._inflight is not None and not isinstance(item, Exception):
            message = item.message
            if isinstance(message, JSONRPCRequest):
                self._inflight.started(message.id)
            elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
                self._inflight.settled((message.params or {}).get("requestId"))
        return item

    async def _receive(self) -> SessionMessage:
        while True:
            try:
                item = await self._inner.receive()
            except anyio.EndOfStream:
                if self._inflight is not None:
                    await self._inflight.drained(DRAIN_SECONDS)
                raise
            line = self._lines.popleft() if self._lines else None
            if isinstance(item, Exception):
                reply = answer_for(item)
            elif line is not None and isinstance(item.message, JSONRPCNotification) and '"id"' in line:
                reply = _request_with_a_bad_id(line, item.message)
                if reply is None:
                    return item
            else:
                return item
            if reply is not None:
                try:
                    await self._write.send(SessionMessage(reply))
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    log.debug("could not answer: the write stream is closed")

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> AnsweringReadStream:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AnsweringReadStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class _UnownedText(io.TextIOWrapper):
    """Text over a buffer this module does not own: closing it (at garbage collection) leaves the
    buffer open, as the SDK's own stdin wrapper does."""

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.detach()


def _claim_stdin() -> tuple[Callable[[], Awaitable[str]], Callable[[], None]] | None:
    """stdin claimed the SDK's way (fd 0 diverted to the null device while serving, so child
    processes never read protocol bytes), as a `readline` whose lines this module sees first, and
    what releases it. None if this SDK version has no such helper: its own reader is used then."""
    try:
        from mcp.server.stdio import _claim_fd, _open_stdin_diversion
    except ImportError:  # pragma: no cover - another SDK version
        return None
    buffer, release = _claim_fd(0, sys.stdin, "rb", _open_stdin_diversion)
    try:
        lines = _DescriptorLines(buffer.fileno())
    except (OSError, ValueError, AttributeError):  # not a descriptor (stdin replaced in-process)
        text = anyio.wrap_file(_UnownedText(buffer, encoding="utf-8", errors="replace"))
        return text.readline, release or (lambda: None)

    def done() -> None:
        lines.stop()
        if release is not None:
            release()

    return lines.readline, done


async def serve_stdio(server: MCPServer[Any]) -> int | None:
    """`MCPServer.run_stdio_async`, with every line answered (see the module docstring), stopped
    cleanly by SIGINT or SIGTERM (finops_mcp.shutdown). The signal that stopped it, if one did."""
    signals = StopSignals()
    async with anyio.create_task_group() as watcher:
        with anyio.CancelScope() as serving:
            watcher.start_soon(signals.watch, serving)
            await _serve(server)
        watcher.cancel_scope.cancel()  # stdin ended or a signal stopped serving: stop watching
    return signals.received


async def _serve(server: MCPServer[Any]) -> None:
    lowlevel = server._lowlevel_server  # the SDK's own stdio runner uses it the same way
    claimed = _claim_stdin()
    recorder = _LineRecorder(claimed[0]) if claimed is not None else None
    try:
        async with stdio_server(stdin=cast(Any, recorder)) as (read_stream, write_stream):
            inflight = InFlight()
            lines = recorder.lines if recorder else None
            await lowlevel.run(
                AnsweringReadStream(read_stream, write_stream, lines, inflight),
                cast(Any, TrackingWriteStream(write_stream, inflight)),
                lowlevel.create_initialization_options(),
            )
    finally:
        if claimed is not None:
            claimed[1]()
