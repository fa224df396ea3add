"""Which server process runs a task, and whether that process is still alive.

A durable task records its runner: `host:pid:boot:start`, where `boot` identifies the running
kernel (Linux `/proc/sys/kernel/random/boot_id`) and `start` the process's start time in clock ticks
since boot (`/proc/<pid>/stat`, field 22). A runner is dead when, on the same host, the kernel has
rebooted, no process has that pid, or the process with that pid started at another time (the pid
was reused). Without /proc (macOS, Windows) `boot` and `start` are empty and only the pid is
checked (`os.kill(pid, 0)`; nothing on Windows), so a reused pid reads as alive. A killed process
its parent has not reaped yet (a zombie) is dead. A runner on another host cannot be
checked: it reads as alive, and its tasks end with their time-to-live as before.
"""

from __future__ import annotations

import os
import socket
import sys
from functools import lru_cache
from pathlib import Path

_PROC = Path("/proc")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def _boot_id() -> str:
    return _read(_PROC / "sys/kernel/random/boot_id")


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot); None: no such process; "" when unknown."""
    if not (_PROC / "self/stat").exists():
        return ""
    stat = _read(_PROC / str(pid) / "stat")
    if not stat:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name, in parentheses, may hold spaces
    if fields[:1] in (["Z"], ["X"]):
        return None  # killed, not yet reaped by its parent: gone all the same
    return fields[19] if len(fields) > 19 else ""


@lru_cache(maxsize=1)
def this_runner() -> str:
    """This process's runner id (computed once; a fork gets the parent's: never fork a server)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_boot_id()}:{_start_ticks(pid) or ''}"


def runner_alive(runner: str) -> bool:
    """False only when the runner is known to be gone (see the module docstring)."""
    if runner == this_runner():
        return True
    host, _, rest = runner.partition(":")
    pid_text, _, rest = rest.partition(":")
    boot, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine (or an unknown format): cannot tell
    pid = int(pid_text)
    if boot and _boot_id() and boot != _boot_id():
        return False  # the machine rebooted since
    ticks = _start_ticks(pid)
    if ticks is None:
        return False
    if ticks and start:
        return ticks == start
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would terminate the process there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True
