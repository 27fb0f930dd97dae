"""Real `rugslab` processes for the fault tests: start one with its output in a file, and wait
for a condition while it runs (failing with its output when it exits or times out)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def start_rugslab(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`python -m rugslab *args` (no `RUGSLAB_*` variables) with its stdout and stderr going
    to `tmp_path/output.txt`; returns the process and that file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUGSLAB_")}
    log = tmp_path / "output.txt"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "rugslab", *args], env=env, stdout=fh,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, log


def wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path,
             timeout_s: float = 30.0) -> None:
    """Poll `check` every 50 ms; kill `proc` and fail with its output when it exits first or
    `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"never saw {what}; output:\n{log.read_text()}")
        time.sleep(0.05)
