"""Pieces of the `call` client that need no server (the whole flow is in tests/e2e/test_http.py)."""

from __future__ import annotations

import httpx2
import pytest
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
)

from finops_mcp.remote.client import (
    ClientCredentials,
    RemoteCallError,
    _challenge,
    oauth_provider,
    signing_algorithm,
)
from tests.fakes.oauth import SigningKey

URL = "https://finops.example.com/mcp"
ISSUER = "https://login.example.com"


def test_signing_algorithm_follows_the_key() -> None:
    assert signing_algorithm(SigningKey.rsa().private_pem()) == "RS256"
    assert signing_algorithm(SigningKey.ec().private_pem()) == "ES256"
    with pytest.raises(RemoteCallError, match="PEM") as err:
        signing_algorithm("-----BEGIN NOTHING-----")
    assert err.value.bad_config


def test_the_provider_follows_the_credential() -> None:
    secret = oauth_provider(URL, ClientCredentials("ci", ISSUER, client_secret="s"))
    assert isinstance(secret, ClientCredentialsOAuthProvider)
    key = oauth_provider(URL, ClientCredentials("ci", ISSUER, private_key_pem=SigningKey.ec().private_pem()))
    assert isinstance(key, PrivateKeyJWTOAuthProvider)
    assertion = oauth_provider(URL, ClientCredentials("ci", ISSUER, assertion="a.b.c"))
    assert isinstance(assertion, PrivateKeyJWTOAuthProvider)
    with pytest.raises(RemoteCallError, match="no client secret"):
        oauth_provider(URL, ClientCredentials("ci", ISSUER))


def test_challenge_summarises_the_www_authenticate_header() -> None:
    response = httpx2.Response(
        403,
        headers={
            "WWW-Authenticate": 'Bearer error="insufficient_scope", error_description="Required scope: '
            'finops:read", resource_metadata="https://x/.well-known/oauth-protected-resource/mcp"'
        },
    )
    assert _challenge(response) == "HTTP 403 insufficient_scope: Required scope: finops:read"
    assert _challenge(httpx2.Response(401)) == "HTTP 401"
