"""`finops-mcp call`: call one tool of a remote finops-mcp over streamable HTTP, for jobs.

Authentication is the OAuth client-credentials grant through the MCP SDK's providers
(mcp.client.auth.extensions.client_credentials): on the server's 401 the SDK reads the
protected-resource metadata, then the authorization server's metadata (RFC 8414), and asks its token
endpoint for a token, with either

- a client secret (`ClientCredentialsOAuthProvider`, HTTP Basic), or
- a private-key JWT assertion (`PrivateKeyJWTOAuthProvider`, RFC 7523): signed here with a PEM key
  (`SignedJWTParameters`), or a pre-built assertion read from a file (e.g. a workload identity token).

The issuer is required: the SDK then sends the credentials only to that authorization server, even
if the MCP server advertises another. Without a client id the call is made without authentication
(a loopback server without OAuth).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2
    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
    from mcp_types import CallToolResult


class RemoteCallError(Exception):
    """The call could not be made. `bad_config`: our configuration or credentials are at fault (a
    key that cannot be read, credentials or token refused), not the server's availability."""

    def __init__(self, message: str, *, bad_config: bool = False) -> None:
        super().__init__(message)
        self.bad_config = bad_config


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    issuer: str
    client_secret: str | None = None
    private_key_pem: str | None = None
    assertion: str | None = None

    def __post_init__(self) -> None:
        from finops_mcp.errors import register_secret

        for secret in (self.client_secret, self.private_key_pem, self.assertion):
            register_secret(secret)  # masked in every log line and error message from now on


class MemoryTokenStorage:
    """The SDK's `TokenStorage`: tokens live only as long as the process (a job runs once)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        from finops_mcp.errors import register_secret

        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def signing_algorithm(private_key_pem: str) -> str:
    """RS256 for an RSA key, ES256 for a P-256 key (what servers commonly accept)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise RemoteCallError(
            f"the private key is not an unencrypted PEM private key ({exc})", bad_config=True
        ) from None
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return "ES256"
    raise RemoteCallError("the private key must be RSA or EC P-256", bad_config=True)


def oauth_provider(url: str, creds: ClientCredentials) -> httpx2.Auth:
    from mcp.client.auth.extensions.client_credentials import (
        ClientCredentialsOAuthProvider,
        PrivateKeyJWTOAuthProvider,
        SignedJWTParameters,
        static_assertion_provider,
    )

    storage = MemoryTokenStorage()
    if creds.client_secret is not None:
        return ClientCredentialsOAuthProvider(
            url, storage, creds.client_id, creds.client_secret, issuer=creds.issuer
        )
    assertion: Callable[[str], Awaitable[str]]
    if creds.private_key_pem is not None:
        assertion = SignedJWTParameters(
            issuer=creds.client_id,
            subject=creds.client_id,
            signing_key=creds.private_key_pem,
            signing_algorithm=signing_algorithm(creds.private_key_pem),
        ).create_assertion_provider()
    elif creds.assertion is not None:
        assertion = static_assertion_provider(creds.assertion)
    else:
        raise RemoteCallError("no client secret, private key or assertion given", bad_config=True)
    return PrivateKeyJWTOAuthProvider(url, storage, creds.client_id, assertion, issuer=creds.issuer)


def read_secret_file(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RemoteCallError(f"cannot read the {what} {path}: {exc.strerror}", bad_config=True) from None


def _is_auth_failure(exc: BaseException) -> bool:
    from mcp.client.auth import OAuthFlowError, OAuthTokenError

    if isinstance(exc, OAuthFlowError | OAuthTokenError):
        return True
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) in (401, 403)


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups; duck-typed for Python 3.10."""
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, tuple | list):
        return [leaf for e in inner for leaf in _leaves(e)]
    return [exc]


def _challenge(response: httpx2.Response) -> str:
    """'HTTP 403 insufficient_scope: Required scope: finops:read' from a refusal's WWW-Authenticate."""
    import re

    fields = dict(re.findall(r'(\w+)="([^"]*)"', response.headers.get("www-authenticate", "")))
    detail = ": ".join(v for v in (fields.get("error"), fields.get("error_description")) if v)
    return f"HTTP {response.status_code} {detail}".strip()


async def call_remote_tool(
    url: str,
    tool: str,
    arguments: dict[str, Any],
    creds: ClientCredentials | None,
    *,
    timeout_seconds: float = 300.0,
) -> CallToolResult:
    """Call `tool` on the finops-mcp at `url`; `RemoteCallError` when it cannot be reached or refuses us."""
    import httpx2
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.shared.exceptions import MCPError

    refusals: list[str] = []  # the transport reports a refused request only as "an error response"

    async def watch(response: httpx2.Response) -> None:
        if response.status_code in (401, 403):
            refusals.append(_challenge(response))

    auth = oauth_provider(url, creds) if creds is not None else None
    http = create_mcp_http_client(timeout=httpx2.Timeout(30.0, read=timeout_seconds), auth=auth)
    http.event_hooks["response"].append(watch)
    try:
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            return await client.call_tool(tool, arguments)
    except Exception as exc:
        leaves = _leaves(exc)
        failures = [f"{type(e).__name__}: {e}" for e in leaves if _is_auth_failure(e)] or refusals[-1:]
        if failures:
            hint = "" if creds else " (the server requires OAuth: set FINOPS_CLIENT_ID and a credential)"
            message = f"authentication with {url} failed: {'; '.join(failures)}{hint}"
            raise RemoteCallError(message, bad_config=True) from None
        if isinstance(exc, MCPError):
            raise RemoteCallError(f"{url} answered an error: {exc.message}") from None
        detail = "; ".join(f"{type(e).__name__}: {e}" for e in leaves)
        raise RemoteCallError(f"could not call {tool} at {url}: {detail}") from None
