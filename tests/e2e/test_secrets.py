"""No secret on stdout or stderr at any log level: the installed server over stdio (and the CLI)
signing in to a token endpoint that echoes its request body, client secret included, in its error.

The fake Entra ID endpoint (tests/fakes/azure_arm.py, `echo_token_requests`) puts the form body
(`client_secret=...`, URL-encoded) into `error_description` and a parsed copy into the JSON reply,
so the secret reaches azure-identity's exception text, its warning log and our per-scope errors.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from finops_mcp import periods
from tests.e2e.conftest import installed_cli
from tests.e2e.rawstdio import INIT, RawServer
from tests.fakes.azure_arm import FakeArm

# Characters that change when URL-encoded or JSON-escaped, so every form of it is looked for.
SECRET = 'Zx9~s3cr+t/v=al"ue-7Q'
LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


@pytest.fixture(scope="module")
def echoing_arm() -> Iterator[FakeArm]:
    fake = FakeArm(periods.utc_today()).start()
    fake.echo_token_requests = True
    yield fake
    fake.stop()


def leaks(text: str) -> list[str]:
    """Any 6 characters of the secret, in any of its encoded forms: a partly masked secret leaks too."""
    forms = {SECRET, quote(SECRET, safe=""), quote_plus(SECRET), json.dumps(SECRET)[1:-1]}
    pieces = {form[i : i + 6] for form in forms for i in range(len(form) - 5)}
    return sorted(piece for piece in pieces if piece in text)


def env_for(arm: FakeArm, level: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FINOPS_", "AZURE_", "AWS_"))}
    return {
        **base,
        **arm.env(subscriptions=["11111111-1111-4111-8111-111111111111"]),
        "AZURE_CLIENT_SECRET": SECRET,
        "FINOPS_LOG_LEVEL": level,
        "FINOPS_MAX_RETRIES": "0",
    }


def call(id_: int, name: str) -> dict:  # type: ignore[type-arg]
    return {"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": name, "arguments": {}}}


@pytest.mark.parametrize("level", LEVELS)
def test_an_echoed_client_secret_never_reaches_stdout_or_stderr(
    echoing_arm: FakeArm, tmp_path: Path, level: str
) -> None:
    server = RawServer(env_for(echoing_arm, level), tmp_path, initialize=False)
    server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT})
    server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    server.send(call(2, "get_cost"), call(3, "get_budget_status"), call(4, "run_finops_audit"))
    server.send(
        {"jsonrpc": "2.0", "id": 5, "method": "resources/read", "params": {"uri": "finops://providers"}}
    )
    server.read(5, timeout=90)
    stderr = server.stop()
    answers, stdout = server.answers, server.stdout
    assert set(answers) == {1, 2, 3, 4, 5}, stderr[-3000:]
    cost = answers[2]["result"]
    assert cost["isError"] is True and cost["structuredContent"]["errors"][0]["code"] == "auth"
    assert "AADSTS900144" in cost["structuredContent"]["errors"][0]["message"]  # the echo did arrive
    assert "REDACTED" in "".join(stdout)
    assert leaks("".join(stdout)) == []
    assert leaks(stderr) == [], [x for x in stderr.splitlines() if leaks(x)][:5]
    if level in ("DEBUG", "INFO", "WARNING"):
        assert "DefaultAzureCredential failed" in stderr  # azure-identity's warning, masked
    if level != "DEBUG":
        assert "Traceback" not in stderr
        assert all(not x.startswith(" ") for x in stderr.splitlines())  # one line per record


def test_the_cli_masks_it_too(echoing_arm: FakeArm, tmp_path: Path) -> None:
    proc = subprocess.run(
        [installed_cli(), "cost", "--format", "json"],
        env=env_for(echoing_arm, "DEBUG"),  # the most verbose level: the SDK's own debug lines
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # every scope failed
    assert "AADSTS900144" in proc.stdout + proc.stderr
    assert leaks(proc.stdout) == [] and leaks(proc.stderr) == []
