"""finops-mcp over streamable HTTP as an OAuth resource server, against a local authorization server.

The server runs in-process (uvicorn in a thread, 127.0.0.1) over generated FOCUS demo data; the
authorization server is tests/fakes/oauth.py (signed JWTs via client credentials, JWKS, RFC 8414
metadata). Covers: the real SDK client with client credentials (secret and private-key JWT) calling
all three tools, every rejection case, Host/Origin checks, the audit log and `finops-mcp call`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from typer.testing import CliRunner

from finops_mcp.cli import app
from finops_mcp.demo.generator import DemoDataset
from finops_mcp.remote.audit import argument_digest
from finops_mcp.remote.auth import JWKSTokenVerifier
from finops_mcp.remote.client import ClientCredentials, oauth_provider
from finops_mcp.remote.http import build_http_app, http_plan
from finops_mcp.settings import Settings
from tests.e2e.conftest import installed_cli
from tests.fakes.oauth import FakeAuthorizationServer, SigningKey, free_socket, serve_asgi

SECRET = "s3cret-Value-never-logged"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_cost", {"period": "last_month", "group_by": ["service"], "top_n": 5}),
    ("run_finops_audit", {"min_monthly_cost": 10}),
    ("get_budget_status", {}),
]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}
runner = CliRunner()


@dataclass
class Remote:
    url: str
    port: int
    oauth: FakeAuthorizationServer
    verifier: JWKSTokenVerifier
    audit_log: Path
    key_client_pem: str

    @property
    def metadata_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/oauth-protected-resource/mcp"

    def audit_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit_log.read_text().splitlines()]

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "FINOPS_CLIENT_ID": "ci-job",
            "FINOPS_AUTH_ISSUER": self.oauth.issuer,
            "FINOPS_CLIENT_SECRET": SECRET,
            **extra,
        }


@pytest.fixture(scope="module")
def remote(demo_data: DemoDataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    with FakeAuthorizationServer() as oauth:
        oauth.add_client("ci-job", secret=SECRET, scopes=["finops:read"])
        oauth.add_client("no-scope", secret=SECRET, scopes=[])
        key_client = oauth.add_client("ci-key", scopes=["finops:read"], key=True)
        sock = free_socket()
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/mcp"
        audit_log = tmp_path_factory.mktemp("audit") / "audit.log"
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            providers=["focus"],
            focus_paths=[demo_data.paths_setting],
            focus_budgets=str(demo_data.budgets_file),
            required_tags=list(demo_data.required_tags),
            auth_issuer=oauth.issuer,  # JWKS discovered from the issuer's RFC 8414 metadata
            auth_audience=url,
            audit_log=str(audit_log),
        )
        # Refreshing on every unknown key id keeps the rotation test fast (rate limit: unit tests).
        verifier = JWKSTokenVerifier(oauth.issuer, url, min_refresh_seconds=0)
        http_app = build_http_app(settings, http_plan(settings, "127.0.0.1", port), verifier=verifier)
        with serve_asgi(http_app, sock):
            assert key_client.key is not None
            yield Remote(url, port, oauth, verifier, audit_log, key_client.key.private_pem())


def post(remote: Remote, token: str | None = None, **headers: str) -> httpx2.Response:
    sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json", **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return httpx2.post(remote.url, json=INITIALIZE, headers=sent, timeout=10)


def assert_401(remote: Remote, response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    assert f'resource_metadata="{remote.metadata_url}"' in challenge


# --- the SDK client with client credentials ------------------------------------------------
async def test_sdk_client_credentials_calls_all_three_tools_and_each_call_is_audited(remote: Remote) -> None:
    before = len(remote.oauth.http.calls("POST", "/token"))
    audited = len(remote.audit_records())
    provider = oauth_provider(
        remote.url, ClientCredentials("ci-job", remote.oauth.issuer, client_secret=SECRET)
    )
    async with (
        create_mcp_http_client(auth=provider) as http,
        Client(streamable_http_client(remote.url, http_client=http)) as client,
    ):
        assert {t.name for t in (await client.list_tools()).tools} == {name for name, _ in CALLS}
        results = {name: await client.call_tool(name, args) for name, args in CALLS}
    assert len(remote.oauth.http.calls("POST", "/token")) == before + 1  # one token for the session
    for name, result in results.items():
        assert not result.is_error, (name, result.content)
        assert result.structured_content is not None and not result.structured_content["errors"]
    assert results["get_cost"].structured_content["total"] > 0  # type: ignore[index]
    assert results["run_finops_audit"].structured_content["findings"]  # type: ignore[index]
    assert results["get_budget_status"].structured_content["budgets"]  # type: ignore[index]

    records = remote.audit_records()[audited:]
    assert [r["tool"] for r in records] == [name for name, _ in CALLS]
    for record, (_, args) in zip(records, CALLS, strict=True):
        assert record["event"] == "tool_call" and record["transport"] == "http"
        assert record["client_id"] == "ci-job" and record["subject"] == "ci-job"
        assert record["issuer"] == remote.oauth.issuer and record["scopes"] == ["finops:read"]
        assert record["arguments_digest"] == argument_digest(args)
        assert record["outcome"] == "ok" and record["error_code"] is None
        assert record["duration_ms"] >= 0 and record["correlation_id"] and record["time"].endswith("Z")
    text = remote.audit_log.read_text()
    issued_tokens = [remote.oauth.key.sign(c) for c in remote.oauth.issued]  # same claims, same key
    assert SECRET not in text and "Bearer" not in text and "last_month" not in text
    assert not any(token in text for token in issued_tokens)


async def test_private_key_jwt_client_is_accepted(remote: Remote) -> None:
    creds = ClientCredentials("ci-key", remote.oauth.issuer, private_key_pem=remote.key_client_pem)
    async with (
        create_mcp_http_client(auth=oauth_provider(remote.url, creds)) as http,
        Client(streamable_http_client(remote.url, http_client=http)) as client,
    ):
        result = await client.call_tool("get_budget_status", {})
    assert not result.is_error
    form = remote.oauth.http.calls("POST", "/token")[-1].body.decode()
    assert "client_assertion=" in form and "client_secret" not in form
    assert remote.audit_records()[-1]["client_id"] == "ci-key"


# --- the resource server's answers ----------------------------------------------------------
def test_protected_resource_metadata_names_the_issuer_and_scope(remote: Remote) -> None:
    meta = httpx2.get(remote.metadata_url, timeout=10).json()
    assert meta["resource"] == remote.url
    assert [s.rstrip("/") for s in meta["authorization_servers"]] == [remote.oauth.issuer]
    assert meta["scopes_supported"] == ["finops:read"]


def test_missing_token_gets_401_with_the_resource_metadata_hint(remote: Remote) -> None:
    assert_401(remote, post(remote))
    assert_401(remote, post(remote, Authorization="Basic Y2ktam9iOnNlY3JldA=="))


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
        "no_exp",
        "garbage",
        "alg_none",
        "hs256",
        "exp_string",
        "exp_bool",
        "nbf_string",
        "iat_bool",
    ],
)
def test_invalid_tokens_get_401(remote: Remote, case: str) -> None:
    oauth, now = remote.oauth, int(time.time())
    tokens = {
        "expired": lambda: oauth.mint(aud=remote.url, iat=now - 900, nbf=now - 900, exp=now - 300),
        "not_yet_valid": lambda: oauth.mint(aud=remote.url, nbf=now + 600, exp=now + 900),
        "wrong_audience": lambda: oauth.mint(aud="https://other.example.com/mcp"),
        "wrong_issuer": lambda: oauth.mint(aud=remote.url, iss="https://evil.example.com"),
        "no_exp": lambda: oauth.mint(aud=remote.url, exp=None),
        "garbage": lambda: "not-a-jwt",
        "alg_none": lambda: _unsigned(oauth.claims(aud=remote.url), oauth.key.kid),
        "hs256": lambda: _hmac_with_public_key(oauth, remote.url),
        # RFC 7519 NumericDate claims of the wrong JSON type: the same 401 as an expired token
        "exp_string": lambda: oauth.mint(aud=remote.url, exp=str(now + 900)),
        "exp_bool": lambda: oauth.mint(aud=remote.url, exp=True),
        "nbf_string": lambda: oauth.mint(aud=remote.url, nbf=str(now - 60)),
        "iat_bool": lambda: oauth.mint(aud=remote.url, iat=True),
    }
    assert_401(remote, post(remote, tokens[case]()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    header = json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode()
    return f"{_b64(header)}.{_b64(json.dumps(claims).encode())}."


def _hmac_with_public_key(oauth: FakeAuthorizationServer, audience: str) -> str:
    """The classic key-confusion attack: HS256 keyed with the RSA public key the JWKS publishes."""
    claims = oauth.mint(aud=audience).split(".")[1]
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": oauth.key.kid}).encode())
    digest = hmac.new(oauth.key.public_pem(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
    return f"{head}.{claims}.{_b64(digest)}"


def test_a_valid_token_without_the_scope_gets_403(remote: Remote) -> None:
    response = post(remote, remote.oauth.mint(aud=remote.url, scope="billing:write"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert post(remote, remote.oauth.mint(aud=remote.url, scope="openid finops:read")).status_code == 200


def test_unknown_key_id_is_refused_then_accepted_once_the_issuer_publishes_the_key(remote: Remote) -> None:
    new_key = SigningKey.rsa("key-rotated")
    token = remote.oauth.mint(key=new_key, aud=remote.url)
    fetches = remote.verifier.fetches
    assert_401(remote, post(remote, token))  # not in the JWKS: refreshed once, still unknown
    assert remote.verifier.fetches == fetches + 1
    remote.oauth.rotate(new_key)
    assert post(remote, token).status_code == 200  # refreshed on the unknown kid, now known
    assert remote.verifier.fetches == fetches + 2
    assert post(remote, remote.oauth.mint(aud=remote.url)).status_code == 200
    assert remote.verifier.fetches == fetches + 2  # cached


def test_es256_tokens_are_accepted(remote: Remote) -> None:
    ec_key = SigningKey.ec("ec-key")
    remote.oauth.published = [remote.oauth.key, ec_key]
    try:
        assert post(remote, remote.oauth.mint(key=ec_key, aud=remote.url)).status_code == 200
    finally:
        remote.oauth.published = [remote.oauth.key]


def test_bad_host_or_origin_is_refused_before_anything_else(remote: Remote) -> None:
    token = remote.oauth.mint(aud=remote.url)
    assert post(remote, token, Host=f"evil.example.com:{remote.port}").status_code == 421
    assert post(remote, Host="evil.example.com").status_code == 421  # before authentication
    meta = httpx2.get(remote.metadata_url, headers={"Host": "evil.example.com"}, timeout=10)
    assert meta.status_code == 421
    assert post(remote, token, Origin="https://evil.example.com").status_code == 403
    assert post(remote, token, Origin=f"http://localhost:{remote.port}").status_code == 200


def test_health_check_answers_without_a_token_or_a_known_host(remote: Remote) -> None:
    """What the Dockerfile's HEALTHCHECK asks: no token, Host 127.0.0.1 on a server with a public URL."""
    health = httpx2.get(f"http://127.0.0.1:{remote.port}/healthz", headers={"Host": "10.0.0.7"}, timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert httpx2.head(f"http://127.0.0.1:{remote.port}/healthz", timeout=10).status_code == 200
    # only that path: everything else still needs the right Host and a token
    assert httpx2.get(f"http://127.0.0.1:{remote.port}/healthz/x", timeout=10).status_code != 200
    assert post(remote).status_code == 401


# --- finops-mcp call ------------------------------------------------------------------------
def call(remote: Remote, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["call", *args, "--url", remote.url], env=env or remote.env())
    return result.exit_code, result.stdout, result.stderr


def test_call_prints_json_and_markdown(remote: Remote) -> None:
    code, out, err = call(remote, "get_cost", "--args", '{"period": "last_month"}', "--format", "json")
    assert code == 0, err
    assert json.loads(out)["total"] > 0
    code, out, err = call(remote, "get_budget_status")
    assert code == 0, err
    assert out.startswith("## Budgets") or "| budget" in out or "|" in out
    assert SECRET not in out + err


def test_call_fail_on_gives_exit_3(remote: Remote) -> None:
    assert call(remote, "get_budget_status", "--fail-on", "exceeded")[0] == 3
    assert call(remote, "run_finops_audit", "--fail-on", "waste>0")[0] == 3
    assert call(remote, "run_finops_audit", "--fail-on", "waste>100000000")[0] == 0


def test_call_exit_1_when_every_scope_failed_or_the_server_is_unreachable(remote: Remote) -> None:
    code, out, _ = call(remote, "get_cost", "--args", '{"scopes": ["focus:nope"]}', "--format", "json")
    assert code == 1 and json.loads(out)["errors"][0]["code"] == "not_found"
    assert remote.audit_records()[-1]["outcome"] == "error"
    assert remote.audit_records()[-1]["error_code"] == "not_found"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = runner.invoke(
        app, ["call", "get_cost", "--url", f"http://127.0.0.1:{port}/mcp"], env=remote.env()
    )
    assert result.exit_code == 1, result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["nope"], {}, "unknown tool"),
        (["get_cost", "--args", "{not json"], {}, "not valid JSON"),
        (["get_cost", "--args", "[1]"], {}, "JSON object"),
        (["get_cost", "--args", '{"period": "fortnight"}'], {}, "period"),
        (["run_finops_audit", "--fail-on", "exceeded"], {}, "applies to `budgets`"),
        (["get_cost"], {"FINOPS_CLIENT_SECRET": ""}, "FINOPS_CLIENT_SECRET"),
        (["get_cost"], {"FINOPS_AUTH_ISSUER": ""}, "--issuer"),
        (["get_cost"], {"FINOPS_CLIENT_SECRET": "wrong"}, "authentication"),
        (["get_cost"], {"FINOPS_CLIENT_ID": "no-scope"}, "authentication"),
        (["get_cost"], {"FINOPS_CLIENT_ID": ""}, "requires OAuth"),
        (["get_cost"], {"FINOPS_AUTH_ISSUER": "https://other-issuer.example.com"}, "authentication"),
    ],
)
def test_call_exit_2_on_bad_input_config_or_credentials(
    remote: Remote, args: list[str], env: dict[str, str], message: str
) -> None:
    code, out, err = call(remote, *args, env=remote.env(**env))
    assert code == 2, (out, err)
    assert message in err
    assert SECRET not in out + err


def test_call_with_a_private_key(remote: Remote, tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(remote.key_client_pem)
    env = remote.env(
        FINOPS_CLIENT_ID="ci-key", FINOPS_CLIENT_SECRET="", FINOPS_CLIENT_PRIVATE_KEY_FILE=str(key_file)
    )
    assert call(remote, "get_budget_status", env=env)[0] == 0
    key_file.write_text("not a key")
    code, _, err = call(remote, "get_budget_status", env=env)
    assert code == 2 and "PEM" in err


def test_call_with_a_pre_built_assertion(remote: Remote, tmp_path: Path) -> None:
    key = remote.oauth.clients["ci-key"].key
    assert key is not None
    now = int(time.time())
    claims = {"iss": "ci-key", "sub": "ci-key", "aud": remote.oauth.issuer, "iat": now, "exp": now + 300}
    assertion = tmp_path / "assertion.jwt"
    assertion.write_text(key.sign(claims))
    env = remote.env(
        FINOPS_CLIENT_ID="ci-key", FINOPS_CLIENT_SECRET="", FINOPS_CLIENT_ASSERTION_FILE=str(assertion)
    )
    code, _, err = call(remote, "get_budget_status", env=env)
    assert code == 0, err
    assert remote.audit_records()[-1]["client_id"] == "ci-key"


# --- serve --transport http -----------------------------------------------------------------
def test_serve_refuses_a_public_address_without_auth(demo_settings: Settings) -> None:
    result = runner.invoke(app, ["serve", "--transport", "http", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "FINOPS_AUTH_ISSUER" in result.stderr and "FINOPS_AUTH_AUDIENCE" in result.stderr
    result = runner.invoke(
        app, ["serve", "--transport", "http"], env={"FINOPS_AUTH_ISSUER": "https://login.example.com"}
    )
    assert result.exit_code == 2 and "FINOPS_AUTH_AUDIENCE is not set" in result.stderr


def test_serve_http_on_loopback_without_auth(demo_env: dict[str, str], tmp_path: Path) -> None:
    """The installed CLI: loopback needs no auth; Host checks still apply; audit records on stderr."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINOPS_")} | demo_env
    proc = subprocess.Popen(
        [installed_cli(), "serve", "--transport", "http", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx2.post(url, json=INITIALIZE, headers=headers, timeout=5)
                break
            except httpx2.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert (
            httpx2.post(url, json=INITIALIZE, headers={**headers, "Host": "evil.example.com"}).status_code
            == 421
        )
        health = httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        result = runner.invoke(app, ["call", "get_budget_status", "--url", url, "--format", "json"], env={})
        assert result.exit_code == 0, result.stderr
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=10)
    assert stdout == ""  # reports and logs: stderr only
    assert f"streamable HTTP on {url} (auth: none)" in stderr
    record = next(json.loads(line) for line in stderr.splitlines() if line.startswith('{"time"'))
    assert record["tool"] == "get_budget_status" and record["client_id"] is None and record["outcome"] == "ok"
