"""SIGTERM for commands that start other processes (a backtest's process pool, a Ray session).

Python's default SIGTERM ends the process at once: no `finally` runs, so a pool's worker
processes, its forkserver and Ray's daemons outlive the command (found by
`tests/faults/test_backtest_signals.py`: four processes left running after `kill PID`). Inside
`sigterm_raises()`, SIGTERM raises `Terminated` in the main thread instead; the `with` blocks
tear down what they started, and `rugslab.cli.main` exits `TERMINATED` (143, 128 + SIGTERM,
what a shell reports for a process SIGTERM ended) saying so.

Only around such work: a SIGTERM handler runs between Python bytecodes, so a command blocked
in one long C call (a DuckDB query) would otherwise see its SIGTERM only when the call returns.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The exit code of a command ended by SIGTERM (128 + 15), as shells report it.
TERMINATED = 143


class Terminated(BaseException):
    """SIGTERM arrived inside `sigterm_raises()` (a BaseException, as KeyboardInterrupt is:
    `except Exception` blocks must not swallow it)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated("SIGTERM")


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in the main thread; the previous handler
    is restored after. Off the main thread (where Python cannot set handlers), a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
