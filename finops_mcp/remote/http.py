"""`finops-mcp serve --transport http`: the streamable HTTP app, its guards and its OAuth settings.

- Binds to 127.0.0.1 by default. Binding anything else requires OAuth (`FINOPS_AUTH_ISSUER` +
  `FINOPS_AUTH_AUDIENCE`): `http_plan` refuses otherwise, saying how to configure it.
- Host and Origin headers are checked on every route (DNS-rebinding protection) before anything
  else answers, using the SDK's `TransportSecurityMiddleware` rules; the SDK's transport repeats the
  check on the MCP endpoint.
- With OAuth configured the app is an OAuth resource server through the SDK's auth support
  (`MCPServer(token_verifier=..., auth=AuthSettings(...))`): protected-resource metadata at
  `/.well-known/oauth-protected-resource/mcp`, 401 with the `WWW-Authenticate` resource-metadata
  hint for a missing or invalid token, 403 `insufficient_scope` without `FINOPS_AUTH_SCOPE`.
- `GET /healthz` answers `{"status": "ok"}` to anyone, ahead of the Host check and auth (a
  container's health check connects to 127.0.0.1): it says the process serves, nothing more.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from finops_mcp.settings import Settings, SettingsError
from finops_mcp.shutdown import HTTP_GRACE_SECONDS, exit_status, uvicorn_server

if TYPE_CHECKING:
    from mcp.server.auth.provider import TokenVerifier
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.types import ASGIApp, Receive, Scope, Send

    from finops_mcp.service import FinOpsService

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
HOW_TO_AUTH = (
    "set FINOPS_AUTH_ISSUER (your authorization server's issuer URL) and FINOPS_AUTH_AUDIENCE (the "
    "audience its tokens carry for this server, e.g. https://finops.example.com/mcp); optionally "
    "FINOPS_AUTH_JWKS_URL (default: discovered from the issuer), FINOPS_AUTH_SCOPE (default finops:read) "
    "and FINOPS_AUTH_RESOURCE_URL (this server's public URL). See docs/remote.md."
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class HttpPlan:
    """What `serve --transport http` will do, decided (and validated) before anything starts."""

    host: str
    port: int
    resource_url: str
    auth_enabled: bool
    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    scopes: list[str] = field(default_factory=list)
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.port}{MCP_PATH}"


def http_plan(settings: Settings, host: str, port: int) -> HttpPlan:
    """Validate the HTTP configuration; `SettingsError` says what is wrong and how to fix it."""
    issuer, audience = settings.auth_issuer, settings.auth_audience
    if bool(issuer) != bool(audience):
        missing = "FINOPS_AUTH_AUDIENCE" if issuer else "FINOPS_AUTH_ISSUER"
        raise SettingsError(f"{missing} is not set: OAuth needs both issuer and audience; {HOW_TO_AUTH}")
    auth = bool(issuer and audience)
    loopback = is_loopback(host)
    if not loopback and not auth:
        raise SettingsError(
            f"refusing to serve HTTP on {host} without authentication: only a loopback address "
            f"(127.0.0.1, ::1, localhost) may be served without OAuth. To serve remotely, {HOW_TO_AUTH}"
        )
    for name, value in (("FINOPS_AUTH_ISSUER", issuer), ("FINOPS_AUTH_JWKS_URL", settings.auth_jwks_url)):
        if value and urlsplit(value).scheme not in ("https", "http"):
            raise SettingsError(f"{name}: {value!r} is not an http(s) URL")
    resource = settings.auth_resource_url
    if not resource and audience and urlsplit(audience).scheme in ("https", "http"):
        resource = audience
    if not resource:
        resource = f"http://{_url_host(host)}:{port}{MCP_PATH}"
    public = urlsplit(resource)
    if public.scheme not in ("https", "http") or not public.netloc:
        raise SettingsError(f"FINOPS_AUTH_RESOURCE_URL: {resource!r} is not an http(s) URL")
    hosts = [*(LOOPBACK_HOSTS if loopback else []), public.netloc, *settings.http_allowed_hosts]
    origins = [
        *(LOOPBACK_ORIGINS if loopback else []),
        f"{public.scheme}://{public.netloc}",
        *settings.http_allowed_origins,
    ]
    return HttpPlan(
        host=host,
        port=port,
        resource_url=resource,
        auth_enabled=auth,
        issuer=issuer,
        audience=audience,
        jwks_url=settings.auth_jwks_url or None,
        scopes=settings.auth_scope.replace(",", " ").split(),
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


def transport_security(plan: HttpPlan) -> TransportSecuritySettings:
    from mcp.server.transport_security import TransportSecuritySettings

    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=plan.allowed_hosts,
        allowed_origins=plan.allowed_origins,
    )


def auth_settings(plan: HttpPlan) -> AuthSettings:
    from mcp.server.auth.settings import AuthSettings

    assert plan.issuer is not None
    return AuthSettings(
        issuer_url=plan.issuer,  # pydantic validates the URL string
        resource_server_url=plan.resource_url,
        required_scopes=plan.scopes or None,
        validate_token_resource=False,  # the verifier checks `aud` (FINOPS_AUTH_AUDIENCE) itself
    )


def token_verifier(plan: HttpPlan) -> TokenVerifier:
    from finops_mcp.remote.auth import JWKSTokenVerifier

    assert plan.issuer is not None and plan.audience is not None
    return JWKSTokenVerifier(plan.issuer, plan.audience, plan.jwks_url)


class HostOriginGuard:
    """DNS-rebinding protection on every route (metadata included), ahead of authentication."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        from mcp.server.transport_security import TransportSecurityMiddleware

        self.app = app
        self.check = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from starlette.requests import Request

            refused = await self.check.validate_request(Request(scope), is_post=False)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HealthCheck:
    """`GET|HEAD /healthz` -> 200 `{"status": "ok"}`; every other request goes to `app`."""

    BODY = b'{"status":"ok"}'

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH and scope["method"] in ("GET", "HEAD"):
            headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(self.BODY))]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            body = self.BODY if scope["method"] == "GET" else b""
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def build_http_app(
    settings: Settings,
    plan: HttpPlan,
    *,
    service: FinOpsService | None = None,
    verifier: TokenVerifier | None = None,
) -> ASGIApp:
    """The ASGI app: the MCP server on `/mcp` (+ protected-resource metadata) behind the guard,
    and the health check."""
    from finops_mcp.server import build_server

    auth: AuthSettings | None = None
    verifier_: TokenVerifier | None = None
    if plan.auth_enabled:
        auth = auth_settings(plan)
        verifier_ = verifier or token_verifier(plan)
    server = build_server(settings, service, auth=auth, token_verifier=verifier_)
    security = transport_security(plan)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH, transport_security=security, host=plan.host
    )
    return HealthCheck(HostOriginGuard(app, security))


def check_audit_log(settings: Settings) -> None:
    """A server meant for many callers must not start without the audit file it was given."""
    from finops_mcp.remote.audit import open_audit_log

    try:
        log = open_audit_log(settings.audit_log, strict=True)
    except OSError as exc:
        raise SettingsError(f"FINOPS_AUDIT_LOG: cannot open {settings.audit_log!r}: {exc.strerror}") from None
    if log is not None:
        log.close()


def run_http(settings: Settings, host: str, port: int) -> None:
    """Serve until interrupted (uvicorn; its logs go to stderr through the root logger)."""
    import uvicorn

    plan = http_plan(settings, host, port)
    check_audit_log(settings)
    app = build_http_app(settings, plan)
    sock = bind_socket(host, port)  # before saying we serve: a busy port is a configuration error
    auth = f"OAuth (issuer {plan.issuer}, scope {' '.join(plan.scopes)})" if plan.auth_enabled else "none"
    print(f"finops-mcp: streamable HTTP on {plan.url} (auth: {auth})", file=sys.stderr)
    if plan.auth_enabled and not is_loopback(host) and not plan.resource_url.startswith("https://"):
        print(
            "finops-mcp: warning: the public URL is not https; put a TLS-terminating proxy in front "
            "and set FINOPS_AUTH_RESOURCE_URL to its https URL",
            file=sys.stderr,
        )
    config: Any = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level=settings.log_level.lower(),
        server_header=False,
        timeout_graceful_shutdown=HTTP_GRACE_SECONDS,  # an open stream must not hold a stop up
    )
    server = uvicorn_server(config)  # SIGINT / SIGTERM stop it cleanly (finops_mcp.shutdown)
    server.run(sockets=[sock])
    if server.stopped_by is not None:
        raise SystemExit(exit_status(server.stopped_by))


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or `SettingsError` naming the fix (the port is taken...)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise SettingsError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): another process may use the port; "
            "choose another with --port"
        ) from None
    sock.set_inheritable(True)
    return sock
