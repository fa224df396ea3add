"""SIGINT (Ctrl-C) and SIGTERM stop the installed server promptly and cleanly (finops_mcp/shutdown.py).

Real processes: the stdio server with stdin left open (as a terminal keeps it: the server never
sees end of input), idle and with an audit in flight against an AWS endpoint that never answers,
and `serve --transport http`, idle and with an MCP task in flight. Each must exit within a few
seconds with 128 + the signal's number, no traceback on stderr and nothing but JSON-RPC on stdout,
and a task it was running must read `failed`, naming the stop, in its SQLite store.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from finops_mcp.shutdown import exit_status
from tests.e2e.conftest import installed_cli
from tests.e2e.rawstdio import INIT, RawServer, hanging_aws

STOP_WITHIN = 5.0  # seconds: tasks get 2 s to wind down, HTTP streams 3 s
SIGNALS = [signal.SIGINT, signal.SIGTERM]
STOPPED = "The server stopped before the task finished"


def assert_clean(stderr: str, stdout: str) -> None:
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    for line in stdout.splitlines():  # whatever it still wrote is protocol
        assert json.loads(line)["jsonrpc"] == "2.0"


def stored_tasks(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "tasks.db") as db:
        return list(db.execute("SELECT status, status_message FROM finops_tasks"))


def test_an_idle_stdio_server_stops_on_ctrl_c(demo_env: dict[str, str], tmp_path: Path) -> None:
    signum = signal.SIGINT  # SIGTERM: below, and over HTTP
    server = RawServer(demo_env, tmp_path)
    assert "tools" in server.call("tools/list", {})["result"]
    started = time.monotonic()
    status, stdout, stderr = server.interrupt(signum, timeout=STOP_WITHIN)
    assert status == exit_status(signum), f"still running {STOP_WITHIN} s after {signum.name}"
    assert time.monotonic() - started < STOP_WITHIN
    assert_clean(stderr, stdout)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_a_stdio_server_with_work_in_flight_stops_and_fails_its_task(
    signum: signal.Signals, tmp_path: Path
) -> None:
    with hanging_aws(tmp_path) as env:
        server = RawServer(env, tmp_path)
        audit = {"name": "run_finops_audit", "arguments": {}, "task": {"ttl": 600_000}}
        created = server.call("tools/call", audit)
        task_id = created["result"]["task"]["taskId"]
        server.send(  # and a synchronous call, also stuck on the endpoint
            {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "get_budget_status"}}
        )
        assert server.call("tasks/get", {"taskId": task_id})["result"]["status"] == "working"
        started = time.monotonic()
        status, stdout, stderr = server.interrupt(signum, timeout=STOP_WITHIN)
        assert status == exit_status(signum), f"still running {STOP_WITHIN} s after {signum.name}"
        assert time.monotonic() - started < STOP_WITHIN
        assert_clean(stderr, stdout)
        assert stored_tasks(tmp_path) == [("failed", f"{STOPPED}: call the tool again")]
        later = RawServer(env, tmp_path)  # a client asking a new server gets that answer at once
        try:
            got = later.call("tasks/get", {"taskId": task_id}, timeout=5)["result"]
        finally:
            later.stop()
    assert got["status"] == "failed" and got["statusMessage"].startswith(STOPPED)


def test_a_second_ctrl_c_while_stopping_exits_at_once_without_a_traceback(tmp_path: Path) -> None:
    with hanging_aws(tmp_path) as env:
        server = RawServer(env, tmp_path)
        server.call("tools/call", {"name": "run_finops_audit", "arguments": {}, "task": {"ttl": 600_000}})
        server.proc.send_signal(signal.SIGINT)
        time.sleep(0.1)  # the first one is being handled: tasks get up to 2 s to wind down
        status, stdout, stderr = server.interrupt(signal.SIGINT, timeout=STOP_WITHIN)
    assert status == exit_status(signal.SIGINT)
    assert "received SIGINT again while stopping: exiting now" in stderr  # closing AWS takes 1 s here
    assert_clean(stderr, stdout)


class HttpServer:
    """`finops-mcp-server serve --transport http` on a free 127.0.0.1 port, with an MCP session."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.proc = subprocess.Popen(
            [installed_cli(), "serve", "--transport", "http", "--port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.http = httpx2.Client(timeout=10)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        self.headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
        answer = self.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT})
        assert "result" in answer
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def post(self, message: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(self.url, json=message, headers=self.headers)
        response.raise_for_status()
        if "mcp-session-id" in response.headers:
            self.headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
            return json.loads(data[-1]) if data else {}
        return response.json() if response.content else {}

    def interrupt(self, signum: signal.Signals) -> tuple[int | None, str, str]:
        self.http.close()
        self.proc.send_signal(signum)
        try:
            status: int | None = self.proc.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            status = None
            self.proc.kill()
        stdout, stderr = self.proc.communicate(timeout=30)
        return status, stdout, stderr


def test_an_idle_http_server_stops_on_ctrl_c(demo_env: dict[str, str], tmp_path: Path) -> None:
    signum = signal.SIGINT
    server = HttpServer(demo_env, tmp_path)
    assert "tools" in server.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})["result"]
    status, stdout, stderr = server.interrupt(signum)
    assert status == exit_status(signum), f"still running {STOP_WITHIN} s after {signum.name}"
    assert stdout == "" and "Traceback" not in stderr, stderr


def test_an_http_server_with_a_task_in_flight_stops_and_fails_it(tmp_path: Path) -> None:
    with hanging_aws(tmp_path) as env:
        server = HttpServer(env, tmp_path)
        created = server.post(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "run_finops_audit", "arguments": {}, "task": {"ttl": 600_000}},
            }
        )
        assert created["result"]["task"]["status"] == "working"
        status, stdout, stderr = server.interrupt(signal.SIGTERM)
    assert status == exit_status(signal.SIGTERM), f"still running {STOP_WITHIN} s after SIGTERM"
    assert stdout == "" and "Traceback" not in stderr, stderr
    assert stored_tasks(tmp_path) == [("failed", f"{STOPPED}: call the tool again")]
