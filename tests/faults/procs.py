"""Real `rugslab` processes for the fault tests: start one with its output in a file, and wait
for a condition while it runs (failing with its output when it exits or times out)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def start_rugslab(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`python -m rugslab *args` (no `RUGSLAB_*` variables) with its stdout and stderr going
    to `tmp_path/output.txt`; returns the process and that file."""
    env = rugslab_env()
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


def rugslab_env() -> dict[str, str]:
    """This process's environment without `RUGSLAB_*` variables (a child then uses only the
    flags a test gives it)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RUGSLAB_")}


def stop_with(proc: subprocess.Popen[bytes], sig: signal.Signals, log: Path,
              within_s: float = 30.0) -> str:
    """Send `sig`, wait at most `within_s` for the exit (else kill it and fail with its
    output); require exit 0 and no traceback, and return the output."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout=within_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"no exit within {within_s} s of {sig.name}; output:\n{log.read_text()}")
    out = log.read_text()
    assert proc.returncode == 0, f"exit {proc.returncode} after {sig.name}:\n{out}"
    assert "Traceback" not in out and "CancelledError" not in out, out
    assert "was never retrieved" not in out, out
    return out


#: Run by `run_at_once`: import rugslab, say so, wait for the go file, then run the command.
_AT_ONCE = """
import os, sys, time
import rugslab.cli
ready, go = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
sys.exit(rugslab.cli.main(sys.argv[3:]))
"""


def run_at_once(workdir: Path, *argvs: list[str], timeout_s: float = 300.0
                ) -> list[subprocess.CompletedProcess[str]]:
    """Run one `rugslab` command per argv in its own process, all started at the same instant
    (each imports rugslab first and says it is ready; then one file releases them all)."""
    go = workdir / "go"
    ready = [workdir / f"ready-{i}" for i in range(len(argvs))]
    procs = [subprocess.Popen([sys.executable, "-c", _AT_ONCE, str(r), str(go), *argv],
                              env=rugslab_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for r, argv in zip(ready, argvs, strict=True)]
    try:
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready):
            assert time.monotonic() < deadline, "a process never got ready"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        go.touch()
        outs = [p.communicate(timeout=timeout_s) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [subprocess.CompletedProcess(p.args, p.returncode, out, err)
            for p, (out, err) in zip(procs, outs, strict=True)]


def remount(mount: Path, options: str) -> None:
    """Remount a tmpfs with new options (`ro`, `rw,size=16m`, ...)."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], check=True)
