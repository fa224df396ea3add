"""The shared fake HTTP server: routes, recording, faults, TLS."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from tests.fakes.http import FakeHTTPServer, Reply


def get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, context=context, timeout=5) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), dict(err.headers)


def test_routes_record_and_inject_faults() -> None:
    with FakeHTTPServer() as server:
        server.route(
            "GET", r"/items/(?P<id>\w+)", lambda r: Reply.json({"id": r.match["id"], "q": r.arg("q")})
        )
        server.fault("GET", r"/items/\w+", Reply.error(429, "Throttled", "slow down", {"Retry-After": "2"}))
        status, body, headers = get(server.url + "/items/a?q=1")
        assert status == 429 and headers["Retry-After"] == "2"
        status, body, _ = get(server.url + "/items/a?q=1")
        assert status == 200 and body == {"id": "a", "q": "1"}
        assert get(server.url + "/nope")[0] == 404
        assert len(server.calls("GET", r"^/items/")) == 2


def test_tls_with_a_session_ca() -> None:
    with FakeHTTPServer(tls=True) as server:
        server.route("GET", r"/ping", lambda r: Reply.json({"ok": True}))
        assert server.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=server.ca_path)
        assert get(server.url + "/ping", context)[1] == {"ok": True}
