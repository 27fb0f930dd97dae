"""Real SIGINT and SIGTERM sent to real `rugslab collect` / `rugslab nightly` processes: connected,
waiting to reconnect, or stuck connecting, each writes what it holds, closes the journal and
exits 0, with no traceback (python-engineio's own SIGINT handler used to cancel every task)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest
from procs import start_rugslab, stop_with, wait_for

from rugslab.cli import main
from rugslab.collector import nightly
from rugslab.collector.journal import journal_root, pending_journals
from rugslab.lake.catalog import read_table
from rugslab.testing import running_server, sim_frames

SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _journaled_lines(lake: Path) -> int:
    root = journal_root(lake)
    if not root.is_dir():
        return 0
    return sum(p.read_bytes().count(b"\n") for p in root.rglob("*.jsonl"))


def _stop_with(proc: subprocess.Popen[bytes], sig: signal.Signals, log: Path,
               within_s: float) -> str:
    """Send `sig`, wait at most `within_s` for the exit; the output (`procs.stop_with`)."""
    t0 = time.monotonic()
    out = stop_with(proc, sig, log, within_s)
    assert time.monotonic() - t0 < within_s
    return out


def _frames_collected(out: str) -> int:
    m = re.search(r"collected ([\d,]+) frames", out)
    assert m, out
    return int(m.group(1).replace(",", ""))


def _assert_everything_written(lake: Path, out: str, sig: signal.Signals) -> pl.DataFrame:
    """Every received frame is one raw row, the journal is done, connections are in."""
    assert f"stopped: {sig.name} received" in out, out
    raw = read_table("raw_events", lake)
    assert raw.height == _frames_collected(out) > 0
    assert raw["frame_id"].n_unique() == raw.height
    assert pending_journals(lake) == []
    return read_table("connections", lake).sort("recv_ts")


@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_connected_writes_what_is_held_and_exits_0(
    sig: signal.Signals, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    with running_server(sim_frames(30, seed=4, speed=4), wait_for_clients=1) as srv:
        # the lake is written only at the end (no timer, no rug within the run): the final
        # write must carry every row, connections included
        proc, log = start_rugslab(tmp_path, "collect", "--url", srv.url, "--lake", str(lake),
                           "--flush-every", "1h")
        wait_for("50 journaled frames", lambda: _journaled_lines(lake) >= 50, proc, log)
        out = _stop_with(proc, sig, log, within_s=20)
    conns = _assert_everything_written(lake, out, sig)
    assert conns["kind"].to_list() == ["connected", "disconnected"]
    assert conns["reason"].to_list() == [None, "stopped"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_waiting_to_reconnect_exits_0_promptly(
    sig: signal.Signals, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    with running_server(sim_frames(30, seed=4, speed=4), wait_for_clients=1) as srv:
        proc, log = start_rugslab(tmp_path, "collect", "--url", srv.url, "--lake", str(lake),
                           "--flush-every", "1h")
        wait_for("30 journaled frames", lambda: _journaled_lines(lake) >= 30, proc, log)
    # the server is gone: the collector retries with backoff
    wait_for("two failed reconnects", lambda: log.read_text().count("connect_failed") >= 2,
              proc, log)
    out = _stop_with(proc, sig, log, within_s=5)
    conns = _assert_everything_written(lake, out, sig)
    kinds = conns["kind"].to_list()
    assert kinds[:2] == ["connected", "disconnected"] and kinds.count("connect_failed") >= 2


@pytest.mark.slow
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_connecting_to_a_silent_server_exits_0_promptly(
    sig: signal.Signals, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    # a server that accepts TCP connections and never answers: a connect waits for its
    # timeout (10 s per transport) unless the stop cuts it short
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        proc, log = start_rugslab(tmp_path, "collect", "--url", url, "--lake", str(lake))
        conn, _ = silent.accept()  # the collector is connecting now
        with conn:
            time.sleep(0.5)
            out = _stop_with(proc, sig, log, within_s=4)
    assert f"stopped: {sig.name} received" in out
    assert _frames_collected(out) == 0
    assert pending_journals(lake) == []


@pytest.mark.slow
def test_sigint_mid_collect_in_nightly_still_compacts_and_verifies(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with running_server(sim_frames(30, seed=4, speed=8), wait_for_clients=1) as srv:
        proc, log = start_rugslab(tmp_path, "nightly", "--url", srv.url, "--lake", str(lake),
                                  "--duration", "1h", "--retention", "1h",
                                  "--report-resamples", "50")
        # past the first rug and its revealed seed, so there is something to verify
        wait_for("a game written to the lake", lambda: (lake / "seeds").is_dir()
                  and _journaled_lines(lake) >= 200, proc, log, timeout_s=60)
        out = _stop_with(proc, signal.SIGINT, log, within_s=60)
    for section in ("== collect ==", "== compact ==", "== verify ==", "== report ==",
                    "== lake =="):
        assert section in out, out
    _assert_everything_written(lake, out, signal.SIGINT)
    # the day's report lands beside the log standard output was appended to
    assert len(list(log.parent.glob("report-*.json"))) == 1, out
    assert len(list(log.parent.glob("report-*.html"))) == 1, out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_during_compaction_finishes_it_skips_verification_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    sig: signal.Signals,
) -> None:
    real_compact = nightly.maintain_lake
    calls: list[str] = []

    def compact_then_signalled(lake: Path, **kw: object) -> object:
        os.kill(os.getpid(), sig)  # a real signal, delivered while compaction runs
        calls.append("compact")
        return real_compact(lake, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(nightly, "maintain_lake", compact_then_signalled)
    monkeypatch.setattr(nightly, "verify_lake", lambda lake: calls.append("verify"))
    lake = tmp_path / "lake"
    with running_server(sim_frames(3, seed=8, speed=100), wait_for_clients=1) as srv:
        code = main(["nightly", "--url", srv.url, "--lake", str(lake), "--max-games", "2",
                     "--duration", "60s", "--retention", "1h",
                     "--report-dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert calls == ["compact"]  # compaction ran to its end, verification was skipped
    assert "compacted " in out and "partition(s)" in out
    assert f"skipped: {sig.name} received during an earlier step" in out
    assert "== report ==\nskipped: " in out and not (tmp_path / "logs").exists()
    assert "== lake ==" in out
    # the handlers are back: the process's own SIGINT handling is Python's again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
