"""The JWT/JWKS token verifier against the local authorization server (tests/fakes/oauth.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from finops_mcp.remote.auth import JWKSTokenVerifier, metadata_urls
from tests.fakes.http import Reply
from tests.fakes.oauth import FakeAuthorizationServer, SigningKey

AUDIENCE = "https://finops.example.com/mcp"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def authorization_server() -> Iterator[FakeAuthorizationServer]:
    with FakeAuthorizationServer() as server:
        yield server


@pytest.fixture()
def oauth(authorization_server: FakeAuthorizationServer) -> FakeAuthorizationServer:
    authorization_server.reset()
    return authorization_server


def verifier(oauth: FakeAuthorizationServer, **kwargs: Any) -> JWKSTokenVerifier:
    kwargs.setdefault("jwks_url", f"{oauth.issuer}/jwks")
    return JWKSTokenVerifier(oauth.issuer, AUDIENCE, **kwargs)


async def test_a_valid_token_gives_the_caller_and_scopes(oauth: FakeAuthorizationServer) -> None:
    token = oauth.mint(aud=[AUDIENCE, "other"], sub="svc-123", client_id="ci-job", scope="finops:read openid")
    access = await verifier(oauth).verify_token(token)
    assert access is not None
    assert access.client_id == "ci-job" and access.subject == "svc-123"
    assert access.scopes == ["finops:read", "openid"]
    assert access.resource == AUDIENCE and access.claims == {"iss": oauth.issuer}
    assert access.expires_at is not None and access.expires_at > time.time()


async def test_scopes_from_scp_and_entra_roles_and_client_id_fallbacks(
    oauth: FakeAuthorizationServer,
) -> None:
    token = oauth.mint(
        aud=AUDIENCE, scope=None, scp=["a", "b"], roles=["finops:read"], client_id=None, azp="app"
    )
    access = await verifier(oauth).verify_token(token)
    assert access is not None and access.scopes == ["a", "b", "finops:read"] and access.client_id == "app"


async def test_clock_skew_within_the_leeway_is_tolerated(oauth: FakeAuthorizationServer) -> None:
    now = int(time.time())
    assert await verifier(oauth).verify_token(oauth.mint(aud=AUDIENCE, exp=now - 10)) is not None
    assert (
        await verifier(oauth, leeway_seconds=0).verify_token(oauth.mint(aud=AUDIENCE, exp=now - 10)) is None
    )


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "no_audience",
        "wrong_issuer",
        "no_exp",
        "other_key",
        "rs512",
        "alg_key_mismatch",
        "garbage",
        "no_kid_many_keys",
    ],
)
async def test_rejections(oauth: FakeAuthorizationServer, case: str) -> None:
    now = int(time.time())
    rs512 = SigningKey(oauth.key.kid, "RS512", oauth.key.private)
    ec_header = SigningKey(oauth.key.kid, "ES256", SigningKey.ec().private)  # kid of the RSA key
    tokens = {
        "expired": lambda: oauth.mint(aud=AUDIENCE, exp=now - 120),
        "not_yet_valid": lambda: oauth.mint(aud=AUDIENCE, nbf=now + 120),
        "wrong_audience": lambda: oauth.mint(aud="https://elsewhere.example.com"),
        "no_audience": lambda: oauth.mint(),
        "wrong_issuer": lambda: oauth.mint(aud=AUDIENCE, iss=oauth.issuer + "/"),
        "no_exp": lambda: oauth.mint(aud=AUDIENCE, exp=None),
        "other_key": lambda: SigningKey.rsa(oauth.key.kid).sign(oauth.claims(aud=AUDIENCE)),
        "rs512": lambda: rs512.sign(oauth.claims(aud=AUDIENCE)),
        "alg_key_mismatch": lambda: ec_header.sign(oauth.claims(aud=AUDIENCE)),
        "garbage": lambda: "a.b.c",
        "no_kid_many_keys": lambda: _without_kid(oauth),
    }
    oauth.published = [oauth.key, SigningKey.rsa()]
    assert await verifier(oauth).verify_token(tokens[case]()) is None


WRONG_NUMERIC_DATES = [
    ("exp", "string", lambda now: str(now + 600)),
    ("exp", "bool", lambda now: True),
    ("exp", "list", lambda now: [now + 600]),
    ("exp", "object", lambda now: {"t": now + 600}),
    ("nbf", "string", lambda now: str(now - 60)),
    ("nbf", "bool", lambda now: False),
    ("iat", "string", lambda now: str(now)),
    ("iat", "bool", lambda now: True),
    ("iat", "null", lambda now: None),
]


@pytest.mark.parametrize(
    ("claim", "value"), [pytest.param(c, v, id=f"{c}-{k}") for c, k, v in WRONG_NUMERIC_DATES]
)
async def test_numeric_date_claims_of_the_wrong_type_are_refused(
    oauth: FakeAuthorizationServer, claim: str, value: Any
) -> None:
    """RFC 7519 section 2: exp, nbf and iat are JSON numbers; PyJWT alone would coerce "123" or true."""
    import jwt

    now = int(time.time())
    claims = {**oauth.claims(aud=AUDIENCE), claim: value(now)}
    token = jwt.encode(claims, oauth.key.private, algorithm="RS256", headers={"kid": oauth.key.kid})
    assert jwt.decode(token, options={"verify_signature": False})[claim] == value(now)  # sent as typed
    assert await verifier(oauth).verify_token(token) is None


async def test_fractional_numeric_dates_are_accepted(oauth: FakeAuthorizationServer) -> None:
    now = time.time()
    token = oauth.mint(aud=AUDIENCE, iat=now, nbf=now - 0.5, exp=now + 600.25)
    assert await verifier(oauth).verify_token(token) is not None


def _without_kid(oauth: FakeAuthorizationServer) -> str:
    import jwt

    return jwt.encode(oauth.claims(aud=AUDIENCE), oauth.key.private, algorithm="RS256")


async def test_a_single_key_is_used_for_a_token_without_kid(oauth: FakeAuthorizationServer) -> None:
    assert await verifier(oauth).verify_token(_without_kid(oauth)) is not None


def test_symmetric_or_none_algorithms_cannot_be_configured() -> None:
    for algorithms in (["HS256"], ["none"], ["RS256", "HS512"]):
        with pytest.raises(ValueError, match="asymmetric"):
            JWKSTokenVerifier("https://issuer", AUDIENCE, algorithms=algorithms)


async def test_jwks_is_cached_and_refreshed_on_an_unknown_kid_at_most_once_per_interval(
    oauth: FakeAuthorizationServer,
) -> None:
    clock = Clock()
    v = verifier(oauth, clock=clock, min_refresh_seconds=60)
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None
    assert v.fetches == 1 and len(oauth.http.calls("GET", "/jwks")) == 1

    new_key = SigningKey.rsa("key-2")
    token = oauth.mint(key=new_key, aud=AUDIENCE)
    oauth.rotate(new_key)
    clock.now += 10
    assert await v.verify_token(token) is None  # unknown kid, but refreshed 10 s ago: no fetch
    assert v.fetches == 1
    clock.now += 60
    assert await v.verify_token(token) is not None  # refreshed, the rotated key is known
    assert v.fetches == 2

    async def many() -> None:  # concurrent unknown kids share one refresh
        results: list[Any] = []
        stranger = SigningKey.rsa("key-unpublished")

        async def one() -> None:
            results.append(await v.verify_token(oauth.mint(key=stranger, aud=AUDIENCE)))

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
        assert results == [None] * 10

    clock.now += 61
    await many()
    assert v.fetches == 3


async def test_the_cache_expires_after_max_age(oauth: FakeAuthorizationServer) -> None:
    clock = Clock()
    v = verifier(oauth, clock=clock, max_age_seconds=600)
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None
    clock.now += 601
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None
    assert v.fetches == 2


async def test_a_jwks_outage_rejects_without_raising_and_recovers(oauth: FakeAuthorizationServer) -> None:
    clock = Clock()
    oauth.http.fault("GET", "/jwks", Reply.error(503, "Unavailable", "down"), times=1)
    v = verifier(oauth, clock=clock)
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is None
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is None  # backing off: no new request
    assert len(oauth.http.calls("GET", "/jwks")) == 1
    clock.now += 6
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None


async def test_stale_keys_are_kept_when_the_refresh_fails(oauth: FakeAuthorizationServer) -> None:
    clock = Clock()
    v = verifier(oauth, clock=clock, max_age_seconds=600)
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None
    oauth.http.fault("GET", "/jwks", Reply.error(500, "Boom", "down"), times=5)
    clock.now += 601
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None


async def test_the_jwks_url_is_discovered_from_the_issuer_metadata(oauth: FakeAuthorizationServer) -> None:
    v = verifier(oauth, jwks_url=None)
    assert await v.verify_token(oauth.mint(aud=AUDIENCE)) is not None
    assert v.jwks_url == f"{oauth.issuer}/jwks"
    bad = JWKSTokenVerifier(oauth.issuer + "/tenant", AUDIENCE)  # metadata names another issuer
    assert await bad.verify_token(oauth.mint(aud=AUDIENCE, iss=oauth.issuer + "/tenant")) is None


def test_metadata_urls() -> None:
    assert metadata_urls("https://login.example.com/tenant/v2.0") == [
        "https://login.example.com/tenant/v2.0/.well-known/openid-configuration",
        "https://login.example.com/.well-known/oauth-authorization-server/tenant/v2.0",
    ]
