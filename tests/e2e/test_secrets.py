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
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from finops_mcp import periods
from tests.e2e.conftest import installed_cli
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


def request(id_: int, method: str, params: dict | None = None) -> str:  # type: ignore[type-arg]
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}})


@pytest.mark.parametrize("level", LEVELS)
def test_an_echoed_client_secret_never_reaches_stdout_or_stderr(
    echoing_arm: FakeArm, tmp_path: Path, level: str
) -> None:
    proc = subprocess.Popen(
        [installed_cli()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_for(echoing_arm, level),
        cwd=tmp_path,
        text=True,
    )
    assert proc.stdin and proc.stdout
    init = {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    lines = [
        request(1, "initialize", init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        request(2, "tools/call", {"name": "get_cost", "arguments": {}}),
        request(3, "tools/call", {"name": "get_budget_status", "arguments": {}}),
        request(4, "tools/call", {"name": "run_finops_audit", "arguments": {}}),
        request(5, "resources/read", {"uri": "finops://providers"}),
    ]
    proc.stdin.write("\n".join(lines) + "\n")
    proc.stdin.flush()
    answers: dict[int, dict] = {}  # type: ignore[type-arg]
    stdout: list[str] = []
    deadline = time.monotonic() + 90
    while len(answers) < 5 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        stdout.append(line)
        data = json.loads(line)
        if "id" in data:
            answers[data["id"]] = data
    proc.terminate()
    _, stderr = proc.communicate(timeout=30)
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


@pytest.mark.parametrize("level", ["DEBUG", "WARNING"])
def test_the_cli_masks_it_too(echoing_arm: FakeArm, tmp_path: Path, level: str) -> None:
    proc = subprocess.run(
        [installed_cli(), "cost", "--format", "json"],
        env=env_for(echoing_arm, level),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # every scope failed
    assert "AADSTS900144" in proc.stdout + proc.stderr
    assert leaks(proc.stdout) == [] and leaks(proc.stderr) == []
