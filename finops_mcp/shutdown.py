"""Stopping the server on SIGINT (Ctrl-C) and SIGTERM: promptly, cleanly, with a conventional status.

Both transports stop the same way on the first signal: requests in flight are cancelled (their
fan-out calls with them: `FanOut` turns the cancellation into each worker's `CancelToken`), running
MCP tasks end `failed` with "The server stopped before the task finished" (also in a SQLite task
store, so a client that asks later gets that answer), providers and the fan-out pool are closed,
one INFO line says which signal stopped the server, and the process exits with 128 + the signal's
number: 130 after SIGINT, 143 after SIGTERM (what a shell reports for a process a signal ended).
No traceback is printed and nothing but protocol bytes goes to stdout.

Shutting down is bounded (a few seconds: tasks get 2 x `CANCEL_GRACE_SECONDS` to wind down,
providers `CLOSE_GRACE_SECONDS` to close, HTTP connections `HTTP_GRACE_SECONDS`); a second SIGINT
or SIGTERM while it runs ends the process at once with the same status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio

log = logging.getLogger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
HTTP_GRACE_SECONDS = 3  # open HTTP streams (an idle GET stream never ends by itself) get this long
CLOSE_GRACE_SECONDS = 1.0  # closing the providers (their SDK clients) gets this long


def exit_status(signum: int) -> int:
    """The exit status after a stop signal: 128 + its number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # pragma: no cover - only the stop signals get here
        return str(signum)


def _exit_now(signum: int) -> None:
    """A second stop signal while shutting down: leave at once (flushing what was logged)."""
    log.warning("received %s again while stopping: exiting now", _name(signum))
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(exit_status(signum))


class StopSignals:
    """Watches for the stop signals while an async server runs: the first cancels `scope` (the
    server's graceful path runs), a second exits at once. `received` is the first one, if any."""

    def __init__(self) -> None:
        self.received: int | None = None

    async def watch(self, scope: anyio.CancelScope) -> None:
        if sys.platform == "win32":  # pragma: no cover - no loop signal handlers there: Ctrl-C raises
            return
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            async for signum in signals:
                if self.received is not None:
                    _exit_now(signum)
                self.received = signum
                log.info("received %s: stopping (in-flight requests and tasks are cancelled)", _name(signum))
                scope.cancel()


async def close_within(close: Callable[[], None], what: str, timeout: float = CLOSE_GRACE_SECONDS) -> None:
    """Run a blocking `close` on a daemon thread, waiting at most `timeout` seconds for it: a
    provider whose calls still hang on the network (a lock held by a stuck worker) must neither
    block the event loop nor keep the process alive."""
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()

    def run() -> None:
        try:
            close()
        except Exception:
            log.debug("closing %s failed", what, exc_info=True)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(finished.set)

    threading.Thread(target=run, name=f"finops-close-{what}", daemon=True).start()
    with anyio.move_on_after(timeout):
        await finished.wait()
        return
    log.info("closing %s took longer than %g s: not waiting for it", what, timeout)


def uvicorn_server(config: Any) -> Any:
    """A `uvicorn.Server` that stops on the first stop signal and records it (`stopped_by`) instead
    of raising it again once stopped (uvicorn would, and a re-raised SIGINT prints a traceback)."""
    import uvicorn

    class Server(uvicorn.Server):
        stopped_by: int | None = None

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield  # signals reach the main thread only (an embedding test runs uvicorn elsewhere)
                return
            originals = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

        def _on_signal(self, signum: int, _frame: Any) -> None:
            if self.stopped_by is not None:
                _exit_now(signum)
            self.stopped_by = signum
            log.info("received %s: stopping (in-flight requests and tasks are cancelled)", _name(signum))
            self.should_exit = True

    return Server(config)
