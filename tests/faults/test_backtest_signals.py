"""Real SIGINT and SIGTERM sent to a real `rugslab backtest --workers 2` while its process pool
(or Ray) runs the chunks, to the command alone (`kill PID`) and to its whole process group (a
terminal's Ctrl-C, a service manager's stop): it exits at once with 130 or 143, says why, prints
no traceback, and leaves no process behind.

Found by this attack and mended: `kill -TERM` used to end the command without running any
`finally`, leaving the forkserver, the resource tracker and both workers running for good; a
Ctrl-C took 6-10 s (the pool finished every running chunk first) and each worker printed a
KeyboardInterrupt traceback; with `--engine ray`, SIGTERM ended in Ray's C++ stack dump."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import rugslab_env

#: Long enough that the chunks are still running when the signal comes (minutes in all).
LONG = ("backtest", "sidebet-fixed", "--paths", "40000", "--games", "500", "--workers", "2",
        "--no-progress")


def _group(pgid: int) -> list[str]:
    """The live (not zombie) processes of process group `pgid`, and Ray's workers of the
    instance that process `pgid` started (each in a process group of its own; its session
    folder's name ends with the driver's pid), as `pid command` lines."""
    ray_session = re.compile(rf"session_[0-9_-]+_{pgid}\b")
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended while we looked
        fields = text.rsplit(")", 1)[1].split()
        if (int(fields[2]) == pgid or ray_session.search(cmd)) and fields[0] != "Z":
            found.append(f"{stat.parent.name} {cmd.strip()}")
    return found


def _run_and_signal(tmp_path: Path, sig: signal.Signals, to_group: bool, *extra: str,
                    workers: str, count: int, after_s: float = 1.0
                    ) -> tuple[int, str, float]:
    """Start the long backtest in a new session; once `count` processes whose command has
    `workers` are running (the pool's or Ray's workers) and `after_s` more seconds, send `sig`
    to it or to its process group; return the exit
    code, the output and the seconds from the signal to the exit. Fails, listing them, if any
    process of the group is still alive 15 s after the exit."""
    log = tmp_path / "output.txt"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "rugslab", *LONG, *extra],
                                env=rugslab_env(), stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    pgid = proc.pid
    try:
        deadline = time.monotonic() + 120
        while sum(workers in p for p in _group(pgid)) < count:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the pool never started: {_group(pgid)}\n{log.read_text()}")
            time.sleep(0.1)
        time.sleep(after_s)
        sent = time.monotonic()
        if to_group:
            os.killpg(pgid, sig)
        else:
            proc.send_signal(sig)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit within 30 s of {sig.name}:\n{log.read_text()}")
        took = time.monotonic() - sent
        deadline = time.monotonic() + 15
        while (left := _group(pgid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"left running after {sig.name}: {left}"
        return code, log.read_text(), took
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait()


EXPECTED = {signal.SIGINT: (130, "rugslab: interrupted (SIGINT)"),
            signal.SIGTERM: (143, "rugslab: terminated (SIGTERM)")}


@pytest.mark.slow
@pytest.mark.parametrize("to_group", [False, True], ids=["to-command", "to-group"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_mid_pool_ends_the_workers_at_once(
    tmp_path: Path, sig: signal.Signals, to_group: bool
) -> None:
    code, out, took = _run_and_signal(tmp_path, sig, to_group, workers="forkserver",
                                      count=3)  # the forkserver forks both workers
    want_code, says = EXPECTED[sig]
    assert code == want_code, out
    assert says in out and "Traceback" not in out, out
    assert took < 10, f"{took:.1f} s from {sig.name} to the exit (the chunks were finished?)"


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "after_s"), [
    (signal.SIGINT, 1.0), (signal.SIGTERM, 1.0),  # while ray.init still runs (its workers are up)
    (signal.SIGINT, 4.0), (signal.SIGTERM, 4.0),  # while the chunks run
], ids=["SIGINT-init", "SIGTERM-init", "SIGINT-run", "SIGTERM-run"])
def test_a_signal_mid_ray_run_shuts_ray_down(tmp_path: Path, sig: signal.Signals,
                                             after_s: float) -> None:
    """Before the mend: a signal during `ray.init` ended in a segfault (SIGINT) or Ray's C++
    stack dump and an abort (SIGTERM); during the run, SIGTERM was a SystemError traceback
    (Ray's `ray.get` wraps the handler's exception)."""
    pytest.importorskip("ray")
    code, out, _ = _run_and_signal(tmp_path, sig, False, "--engine", "ray",
                                   workers="default_worker.py", count=2, after_s=after_s)
    want_code, says = EXPECTED[sig]
    assert code == want_code, out
    assert says in out and "Traceback" not in out and "SIGTERM received" not in out, out
