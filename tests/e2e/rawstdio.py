"""The installed `finops-mcp` over raw stdio: JSON-RPC lines in, every stdout line checked to be a
JSON-RPC message, stderr kept. For the cases an MCP client library would never send (malformed
lines), reads of stderr, and a `kill -9` of the server."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.conftest import installed_cli

INIT = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}


class RawServer:
    def __init__(self, env: dict[str, str], cwd: Path, *, initialize: bool = True) -> None:
        self.proc = subprocess.Popen(
            [installed_cli()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            text=True,
        )
        self.stdout: list[str] = []  # every line the server wrote there
        self.answers: dict[Any, dict[str, Any]] = {}  # by id (None: the id-null errors, the last one)
        self.unanswered_ids: list[dict[str, Any]] = []  # id-null errors, in order
        self.next_id = 1000
        if initialize:
            self.call("initialize", INIT)
            self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def write(self, *lines: str) -> None:
        assert self.proc.stdin
        self.proc.stdin.write("".join(line + "\n" for line in lines))
        self.proc.stdin.flush()

    def send(self, *messages: dict[str, Any]) -> None:
        self.write(*(json.dumps(m) for m in messages))

    def read(self, until: int, timeout: float = 60) -> int:
        """Read stdout until `until` answers (messages with an `id`) arrived in all; how many did."""
        assert self.proc.stdout
        deadline = time.monotonic() + timeout
        while len(self.answers) + len(self.unanswered_ids) < until and time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                break
            self.stdout.append(line)
            data = json.loads(line)  # a non-JSON line on stdout fails here
            assert data.get("jsonrpc") == "2.0"
            if "id" in data and data["id"] is None:
                self.unanswered_ids.append(data)
            elif "id" in data:
                self.answers[data["id"]] = data
        return len(self.answers) + len(self.unanswered_ids)

    def call(self, method: str, params: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        self.read(len(self.answers) + len(self.unanswered_ids) + 1, timeout)
        if self.next_id not in self.answers:
            raise AssertionError(f"no answer to {method} within {timeout} s")
        return self.answers[self.next_id]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        self.proc.kill()
        self.proc.wait(timeout=30)

    def interrupt(self, signum: signal.Signals, timeout: float) -> tuple[int | None, str, str]:
        """Send `signum` with stdin left open (as a terminal keeps it); (exit status or None if
        still running after `timeout` s, the rest of stdout, stderr). The process is gone after."""
        self.proc.send_signal(signum)
        try:
            status: int | None = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
            self.proc.kill()
            self.proc.wait(timeout=30)
        assert self.proc.stdout and self.proc.stderr
        return status, self.proc.stdout.read(), self.proc.stderr.read()

    def stop(self) -> str:
        """Terminate; what the server wrote on stderr."""
        self.proc.terminate()
        _, stderr = self.proc.communicate(timeout=30)
        return stderr


@contextmanager
def hanging_aws(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of an AWS-only server whose endpoint accepts connections and never answers
    (every call hangs until its timeout: an audit stays in flight), with a SQLite task store."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(64)
    try:
        yield {k: v for k, v in os.environ.items() if not k.startswith(("FINOPS_", "AWS_"))} | {
            "FINOPS_PROVIDERS": "aws",
            "FINOPS_TASK_STORE": f"sqlite:///{tmp_path}/tasks.db",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{blackhole.getsockname()[1]}",
        }
    finally:
        blackhole.close()
