"""Bearer JWT verification against the authorization server's JWKS (the SDK's `TokenVerifier`).

The MCP SDK's bearer middleware calls `verify_token`; a `None` answer becomes 401 with a
`WWW-Authenticate` header pointing at the protected-resource metadata, and a verified token lacking
the required scope becomes 403 `insufficient_scope` (mcp.server.auth.middleware.bearer_auth).

Checks: signature with a key from the issuer's JWKS (asymmetric algorithms only: RS256 and ES256 by
default, never `none` or HMAC, and the key must fit the algorithm), `iss` equal to the configured
issuer, `aud` containing the configured audience, `exp` required, `nbf`/`iat` honoured, with a small
clock-skew leeway; `exp`/`nbf`/`iat` must be JSON numbers (RFC 7519 NumericDate: a string or a
boolean is refused like an expired token, although PyJWT would coerce it). Scopes come from
`scope` (RFC 9068, space separated) or `scp`, plus `roles` (Microsoft Entra puts application
permissions of client-credentials tokens there).

The JWKS is fetched once (asynchronously, on the event loop's HTTP client: verification never blocks
the loop) and cached. A token naming an unknown key id triggers a refresh (key rotation), at most
once per `min_refresh_seconds`; the cache is also refreshed after `max_age_seconds`. Without a JWKS
URL it is discovered from the issuer's metadata (OpenID Connect discovery or RFC 8414).
Reasons for rejection are logged without the token.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

log = logging.getLogger(__name__)

DEFAULT_ALGORITHMS: tuple[str, ...] = ("RS256", "ES256")
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
FAILED_FETCH_BACKOFF_SECONDS = 5.0
NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")


def _numeric_date(value: Any) -> bool:
    """RFC 7519 NumericDate: a JSON number of seconds (not a string, boolean or null), finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class JWKSError(Exception):
    """The key set (or the issuer's metadata) could not be fetched or read."""


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer publishes its metadata: OpenID Connect discovery, then RFC 8414."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return [
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        f"{origin}/.well-known/oauth-authorization-server{path}",
    ]


def _scopes(claims: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for name in ("scope", "scp", "roles"):
        value = claims.get(name)
        if isinstance(value, str):
            found.extend(value.split())
        elif isinstance(value, list):
            found.extend(str(v) for v in value)
    return list(dict.fromkeys(found))


class JWKSTokenVerifier:
    """Verifies RS256/ES256 access tokens issued by one issuer for one audience."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        *,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway_seconds: float = 30.0,
        min_refresh_seconds: float = 60.0,
        max_age_seconds: float = 3600.0,
        timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unsafe = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if unsafe:
            raise ValueError(f"only asymmetric JWT algorithms are accepted, not {unsafe}")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.algorithms = tuple(algorithms)
        self.leeway = leeway_seconds
        self.min_refresh = min_refresh_seconds
        self.max_age = max_age_seconds
        self.timeout = timeout_seconds
        self.clock = clock
        self.fetches = 0  # JWKS downloads so far (tests and diagnostics)
        self._keys: dict[str | None, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._next_fetch = 0.0
        self._lock = anyio.Lock()

    # --- the TokenVerifier protocol -------------------------------------------------------
    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            log.info("bearer token rejected: not a JWT")
            return None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            log.info("bearer token rejected: algorithm %r not in %s", alg, list(self.algorithms))
            return None
        key = await self._key(kid if isinstance(kid, str) else None)
        if key is None:
            log.info("bearer token rejected: no key %r in the issuer's JWKS", kid)
            return None
        if key.algorithm_name != alg:
            log.info("bearer token rejected: key %r is for %s, token says %s", kid, key.algorithm_name, alg)
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            log.info("bearer token rejected: %s", type(exc).__name__)
            return None
        wrong = [name for name in NUMERIC_DATE_CLAIMS if name in claims and not _numeric_date(claims[name])]
        if wrong:  # PyJWT coerces with int(): "9999999999" or true would pass its checks
            log.info("bearer token rejected: %s not a NumericDate (RFC 7519 section 2)", ", ".join(wrong))
            return None
        subject = claims.get("sub")
        client_id = claims.get("client_id") or claims.get("azp") or claims.get("appid") or subject
        return AccessToken(
            token=token,
            client_id=str(client_id or ""),
            scopes=_scopes(claims),
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=str(subject) if subject is not None else None,
            claims={"iss": claims.get("iss")},
        )

    # --- keys -----------------------------------------------------------------------------
    def _pick(self, kid: str | None) -> jwt.PyJWK | None:
        keys = self._keys or {}
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        return keys.get(kid)

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        found = self._pick(kid)
        if found is not None and not self._stale():
            return found
        async with self._lock:  # one fetch at a time; waiters then see its result
            found = self._pick(kid)
            if (found is None or self._stale()) and self.clock() >= self._next_fetch:
                await self._refresh()
                found = self._pick(kid)
            elif found is None:
                log.info("JWKS refresh for unknown key %r skipped: last attempt was too recent", kid)
            return found

    def _stale(self) -> bool:
        return self._keys is not None and self.clock() - self._fetched_at > self.max_age

    async def _refresh(self) -> None:
        try:
            async with httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                url = self.jwks_url or await self._discover(client)
                data = await self._get_json(client, url)
                keys = self._parse(data)
        except JWKSError as exc:
            self._next_fetch = self.clock() + min(FAILED_FETCH_BACKOFF_SECONDS, self.min_refresh)
            log.warning(
                "could not refresh the issuer's JWKS (%s); keeping %d cached key(s)",
                exc,
                len(self._keys or {}),
            )
            return
        self.fetches += 1
        self.jwks_url = url
        self._keys = keys
        self._fetched_at = self.clock()
        self._next_fetch = self._fetched_at + self.min_refresh
        log.info("JWKS loaded from %s: %d key(s)", url, len(keys))

    async def _get_json(self, client: httpx2.AsyncClient, url: str) -> Any:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise JWKSError(f"GET {url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise JWKSError(f"GET {url}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise JWKSError(f"GET {url}: not JSON") from None

    async def _discover(self, client: httpx2.AsyncClient) -> str:
        for url in metadata_urls(self.issuer):
            try:
                meta = await self._get_json(client, url)
            except JWKSError:
                continue
            if isinstance(meta, dict) and meta.get("issuer") == self.issuer and meta.get("jwks_uri"):
                return str(meta["jwks_uri"])
        raise JWKSError(f"no metadata with a jwks_uri for issuer {self.issuer} (set FINOPS_AUTH_JWKS_URL)")

    def _parse(self, data: Any) -> dict[str | None, jwt.PyJWK]:
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise JWKSError("the JWKS has no 'keys' list")
        keys: dict[str | None, jwt.PyJWK] = {}
        for jwk in data["keys"]:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key type or curve we do not accept
            if key.algorithm_name in self.algorithms:
                keys[jwk.get("kid")] = key
        if not keys:
            raise JWKSError(f"the JWKS has no usable signing key for {list(self.algorithms)}")
        return keys
