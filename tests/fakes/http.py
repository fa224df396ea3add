"""A small fake HTTP(S) server for emulating cloud REST APIs in tests (stdlib only + trustme).

Routes are (method, regex on the path) -> handler(request) -> Reply. Every request is recorded so
tests can assert call counts (e.g. "one query per management group", "no per-VM calls"). Faults
can be injected for a share of matching requests (e.g. 429 with throttle headers) to test retries.
Binds to 127.0.0.1 on a free port. With `tls=True` it serves HTTPS with a per-session certificate
from `trustme`; `ca_path` is the CA bundle to give the client (e.g. `connection_verify=...`).

    with FakeHTTPServer(tls=True) as server:
        server.route("GET", r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft.Compute/disks",
                     lambda req: Reply.json({"value": [...]}))
        client = SomeClient(base_url=server.url, connection_verify=server.ca_path)
"""

from __future__ import annotations

import json
import re
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def error(cls, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
        return cls.json({"error": {"code": code, "message": message, "status": code}}, status, headers)


Handler = Callable[[Request], Reply]


@dataclass
class Fault:
    """Answer `reply` instead of the route for the first `times` matching requests (or every
    `every`-th one), then let them through."""

    method: str
    pattern: re.Pattern[str]
    reply: Reply
    times: int = 1
    every: int = 0
    seen: int = 0


class FakeHTTPServer:
    def __init__(self, *, tls: bool = False) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._tls = tls
        self._tmp = tempfile.TemporaryDirectory(prefix="fakehttp-")
        self.ca_path: str | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        if tls:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            ca_file = Path(self._tmp.name) / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            self.ca_path = str(ca_file)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(context)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method.upper(), re.compile(pattern + r"/?$"), handler))

    def fault(self, method: str, pattern: str, reply: Reply, *, times: int = 1, every: int = 0) -> Fault:
        fault = Fault(method.upper(), re.compile(pattern + r"/?$"), reply, times, every)
        self.faults.append(fault)
        return fault

    def calls(self, method: str | None = None, pattern: str | None = None) -> list[Request]:
        """Recorded requests, optionally filtered by method and a regex searched in the path."""
        with self._lock:
            found = list(self.requests)
        return [
            r
            for r in found
            if (method is None or r.method == method.upper())
            and (pattern is None or re.search(pattern, r.path))
        ]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def start(self) -> FakeHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._tmp.cleanup()

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for fault in self.faults:
                if fault.method == request.method and fault.pattern.match(request.path):
                    fault.seen += 1
                    if fault.every and fault.seen % fault.every == 0:
                        return fault.reply
                    if not fault.every and fault.seen <= fault.times:
                        return fault.reply
        for method, pattern, handler in self.routes:
            m = pattern.match(request.path)
            if method == request.method and m:
                request.match = {k: v for k, v in m.groupdict().items() if v is not None}
                try:
                    return handler(request)
                except Exception as exc:  # a bug in a fake must be visible, not a hang
                    return Reply.error(500, "FakeServerError", f"{type(exc).__name__}: {exc}")
        return Reply.error(404, "NotFound", f"no fake route for {request.method} {request.path}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = server._dispatch(request)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler
