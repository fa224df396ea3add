"""A local OAuth 2.1 authorization server for tests, on the shared FakeHTTPServer (127.0.0.1).

- `POST /token`: the client-credentials grant, with `client_secret_basic`, `client_secret_post` or
  `private_key_jwt` (RFC 7523) client authentication. Issues RS256 (or ES256) JWT access tokens with
  `iss`, `sub`, `client_id`, `aud` (the `resource` the client asked for, RFC 8707), `scope`, `iat`,
  `nbf`, `exp`, `jti`. A client gets only the scopes it is allowed.
- `GET /jwks`: the public keys (rotate with `rotate()`; `publish()` adds one).
- `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata.
- `mint(...)`: a token with any claims/header, for the rejection cases.

Also `serve_asgi(app, sock)`: runs an ASGI app with uvicorn in a thread on a socket bound here.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.fakes.http import FakeHTTPServer, Reply, Request

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @classmethod
    def rsa(cls, kid: str | None = None) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid or f"rsa-{uuid.uuid4().hex[:8]}", "RS256", key)

    @classmethod
    def ec(cls, kid: str | None = None) -> SigningKey:
        return cls(kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if self.alg == "RS256" else ECAlgorithm
        data: dict[str, Any] = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **(headers or {})}
        )


@dataclass
class Client:
    client_id: str
    scopes: list[str]
    secret: str | None = None
    key: SigningKey | None = None  # private_key_jwt: the client's key pair


@dataclass
class FakeAuthorizationServer:
    lifetime: int = 300
    clients: dict[str, Client] = field(default_factory=dict)
    issued: list[dict[str, Any]] = field(default_factory=list)  # claims of tokens from /token

    def __post_init__(self) -> None:
        self.http = FakeHTTPServer()
        self.first_key = SigningKey.rsa("key-1")
        self.key = self.first_key
        self.published: list[SigningKey] = [self.key]
        self.http.route("GET", r"/\.well-known/oauth-authorization-server", self._metadata)
        self.http.route("GET", r"/jwks", lambda _req: Reply.json({"keys": [k.jwk() for k in self.published]}))
        self.http.route("POST", r"/token", self._token)

    # --- lifecycle / setup ------------------------------------------------------------------
    def __enter__(self) -> FakeAuthorizationServer:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.stop()

    @property
    def issuer(self) -> str:
        return self.http.url

    def add_client(
        self, client_id: str, *, secret: str | None = None, scopes: list[str] | None = None, key: bool = False
    ) -> Client:
        client = Client(client_id, scopes or [], secret, SigningKey.rsa() if key else None)
        self.clients[client_id] = client
        return client

    def reset(self) -> None:
        """Back to the first key, no faults, no recorded requests (one server serves many tests)."""
        self.key = self.first_key
        self.published = [self.key]
        self.http.faults.clear()
        self.http.reset()
        self.issued.clear()

    def rotate(self, key: SigningKey | None = None) -> SigningKey:
        """Sign with a new key from now on and publish only it (the old key is retired)."""
        self.key = key or SigningKey.rsa()
        self.published = [self.key]
        return self.key

    # --- tokens -----------------------------------------------------------------------------
    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "ci-job",
            "client_id": "ci-job",
            "scope": "finops:read",
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self, key: SigningKey | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        return (key or self.key).sign(self.claims(**claims), headers)

    # --- routes -----------------------------------------------------------------------------
    def _metadata(self, _req: Request) -> Reply:
        return Reply.json(
            {
                "issuer": self.issuer,
                # required by the SDK's OAuthMetadata (real servers publish it); never called here
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "private_key_jwt",
                ],
                "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
                "response_types_supported": ["code"],
            }
        )

    def _authenticate(self, req: Request, form: dict[str, str]) -> Client | None:
        basic = req.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            client = self.clients.get(unquote(client_id))
            return client if client and client.secret and client.secret == unquote(secret) else None
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            assertion = form.get("client_assertion", "")
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            client = self.clients.get(unverified.get("iss", ""))
            if client is None or client.key is None:
                return None
            try:
                jwt.decode(
                    assertion, client.key.public_pem(), algorithms=["RS256", "ES256"], audience=self.issuer
                )
            except jwt.PyJWTError:
                return None
            return client
        client = self.clients.get(form.get("client_id", ""))
        return client if client and client.secret and client.secret == form.get("client_secret") else None

    def _token(self, req: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        client = self._authenticate(req, form)
        if client is None:
            return Reply.json({"error": "invalid_client"}, 401, {"WWW-Authenticate": "Basic"})
        requested = form.get("scope", "").split()
        granted = [s for s in requested if s in client.scopes] if requested else list(client.scopes)
        claims = self.claims(
            sub=client.client_id,
            client_id=client.client_id,
            aud=form.get("resource"),
            scope=" ".join(granted) or None,
        )
        self.issued.append(claims)
        token = self.key.sign(claims)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
        if granted:
            body["scope"] = " ".join(granted)
        return Reply.json(body)


def free_socket() -> socket.socket:
    """A listening-ready TCP socket on 127.0.0.1 and a free port (bound, so no other test takes it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_asgi(app: Any, sock: socket.socket) -> Iterator[None]:
    """Run `app` with uvicorn in a daemon thread on `sock` until the block ends."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
