"""Whether the server process running a task is still alive: real processes, started and killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from finops_mcp.tasks import liveness
from finops_mcp.tasks.liveness import runner_alive, this_runner

linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")


@pytest.fixture()
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def runner_of(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{liveness._boot_id()}:{liveness._start_ticks(pid) or ''}"


def test_this_process_is_alive() -> None:
    runner = this_runner()
    assert runner.startswith(f"{socket.gethostname()}:{os.getpid()}:") and runner_alive(runner)


def test_a_killed_process_is_dead_reaped_or_not(child: subprocess.Popen[bytes]) -> None:
    runner = runner_of(child.pid)
    assert runner_alive(runner)
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while runner_alive(runner) and time.monotonic() < deadline:  # a zombie until reaped: dead already
        time.sleep(0.02)
    assert not runner_alive(runner)
    child.wait()
    assert not runner_alive(runner)


@linux_only
def test_a_reused_pid_or_a_reboot_is_detected(child: subprocess.Popen[bytes]) -> None:
    host, pid, boot, start = runner_of(child.pid).split(":")
    assert not runner_alive(f"{host}:{pid}:{boot}:{int(start) - 1}")  # same pid, another process
    assert not runner_alive(f"{host}:{pid}:another-boot-id:{start}")
    assert runner_alive(f"{host}:{pid}:{boot}:{start}")


def test_a_runner_elsewhere_or_unknown_cannot_be_judged_dead() -> None:
    assert runner_alive("some-other-host:1:x:1")
    assert runner_alive("")  # rows written before runners were recorded
