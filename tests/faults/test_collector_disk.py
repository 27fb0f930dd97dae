"""A real full disk under a real `rugslab collect`: the lake and its journal on a small tmpfs
that a filler file fills. The collector says so once, holds and retries, recovers when space
returns, and on SIGINT exits 0 keeping the journal (it used to print "Task exception was never
retrieved" tracebacks and die with an OSError at journal.close(), exit 1)."""

from __future__ import annotations

import errno
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from procs import start_rugslab, stop_with, wait_for

from rugslab.collector.journal import Journal, journal_root, pending_journals
from rugslab.feed.frames import Frame
from rugslab.lake.catalog import read_table
from rugslab.testing import running_server, sim_frames


@pytest.fixture
def small_disk(tmpfs: Callable[[str, str], Path]) -> Path:
    """A 4 MiB tmpfs mounted at `tmp_path/lake` (conftest `tmpfs`)."""
    return tmpfs("lake", "4m")


class _Hog:
    """Keeps `disk` full: a thread writes a filler file whenever any space is free, as the
    other writers of a real full disk do (the collector's own cleanups free a few pages).
    `free()` stops it and deletes the file."""

    def __init__(self, disk: Path) -> None:
        self.filler = disk / "filler"
        self.fh = open(self.filler, "wb", buffering=0)  # noqa: SIM115 - closed in free()
        self.full = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.full.wait(10), "could not fill the disk"

    def _run(self) -> None:
        chunk = b"\0" * 65536
        while not self.stopping.is_set():
            try:
                self.fh.write(chunk if not self.full.is_set() else chunk[:4096])
            except OSError as e:
                assert e.errno == errno.ENOSPC
                self.full.set()
                time.sleep(0.005)

    def free(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.fh.close()
        self.filler.unlink()


def _start(tmp_path: Path, url: str, lake: Path) -> tuple[subprocess.Popen[bytes], Path]:
    return start_rugslab(tmp_path, "collect", "--url", url, "--lake", str(lake),
                         "--flush-every", "1s")


def _interrupt(proc: subprocess.Popen[bytes], log: Path) -> str:
    return stop_with(proc, signal.SIGINT, log, 30)


def _frames(out: str) -> int:
    m = re.search(r"collected ([\d,]+) frames", out)
    assert m, out
    return int(m.group(1).replace(",", ""))


def _assert_once_each(out: str) -> None:
    """One message when the journal starts failing, one when the lake does: no repeats."""
    assert out.count("JOURNAL WRITE FAILED") == 1, out
    assert "No space left on device" in out
    assert out.count("LAKE WRITE FAILED") <= 1, out


@pytest.mark.slow
def test_a_full_disk_is_said_once_held_and_written_when_space_returns(
    small_disk: Path, tmp_path: Path
) -> None:
    lake = small_disk
    with running_server(sim_frames(30, seed=4, speed=4), wait_for_clients=1) as srv:
        proc, log = _start(tmp_path, srv.url, lake)
        wait_for("a first lake write", lambda: (lake / "raw_events").is_dir(), proc, log)
        hog = _Hog(lake)
        wait_for("the journal failure", lambda: "JOURNAL WRITE FAILED" in log.read_text(),
                  proc, log)
        time.sleep(3)  # frames keep coming while the disk is full
        hog.free()

        def recovered() -> bool:
            text = log.read_text()
            return "journal writes work again" in text and (
                "LAKE WRITE FAILED" not in text or "lake writes work again" in text)

        wait_for("the journal and the lake recovering", recovered, proc, log)
        time.sleep(1.5)  # frames after the recovery, journaled and written as usual
        out = _interrupt(proc, log)
    _assert_once_each(out)
    assert "every frame reached the journal in the end" in out, out
    raw = read_table("raw_events", lake)
    assert raw.height == _frames(out) > 0
    assert raw["frame_id"].n_unique() == raw.height
    assert pending_journals(lake) == []  # everything is in the lake
    # the journal holds every frame once, whole lines only (the failed file was cut back)
    lines = [ln for p in sorted(journal_root(lake).rglob("*.jsonl"))
             for ln in p.read_bytes().splitlines()]
    assert len(lines) == len(set(lines)) == raw.height


@pytest.mark.slow
def test_sigint_on_a_full_disk_exits_0_and_the_next_start_recovers_the_journal(
    small_disk: Path, tmp_path: Path
) -> None:
    lake = small_disk
    with running_server(sim_frames(30, seed=4, speed=4), wait_for_clients=1) as srv:
        proc, log = _start(tmp_path, srv.url, lake)
        wait_for("journaled frames", lambda: any(
            p.stat().st_size > 20_000 for p in journal_root(lake).rglob("*.jsonl")), proc, log)
        hog = _Hog(lake)
        wait_for("the journal failure", lambda: "JOURNAL WRITE FAILED" in log.read_text(),
                  proc, log)
        time.sleep(2)
        out = _interrupt(proc, log)
        hog.free()
    _assert_once_each(out)
    lost = re.search(r"([\d,]+) of them are LOST", out)
    assert lost, out
    n_lost = int(lost.group(1).replace(",", ""))
    kept = pending_journals(lake)
    assert kept, "the journal was not kept for the next start"
    journaled = sum(p.read_bytes().count(b"\n") for p in kept)
    # a frame counted as lost is in neither the journal nor the lake; the rest are in one
    assert journaled > 0 and journaled + n_lost <= _frames(out)

    again = tmp_path / "again"
    again.mkdir()
    restart, log2 = _start(again, "http://127.0.0.1:9", lake)
    wait_for("the recovery", lambda: "connect_failed" in log2.read_text(), restart, log2)
    out2 = _interrupt(restart, log2)
    assert f"recovered from earlier journals: {journaled:,} frames" in out2, out2
    raw = read_table("raw_events", lake)
    # everything but the frames said to be lost, each once: the journal's and those the lake
    # took before the disk filled (the journal has those too)
    assert raw["frame_id"].n_unique() == raw.height == _frames(out) - n_lost
    assert pending_journals(lake) == []


def _frame(seq: int, session: str) -> Frame:
    payload = {"gameId": "g", "tickCount": seq, "pad": "x" * 3000}
    return Frame(event="gameStateUpdate", args=[payload], source=f"collector:{session}",
                 recv_ts_us=1_765_000_000_000_000 + seq, recv_mono_ns=seq, seq=seq,
                 session_id=session)


def _journal_seqs(lake: Path) -> list[int]:
    return [orjson.loads(line)["seq"] for p in sorted(journal_root(lake).rglob("*.jsonl"))
            for line in p.read_bytes().splitlines()]


def test_the_journal_holds_what_a_full_disk_refuses_and_writes_it_once_later(
    small_disk: Path,
) -> None:
    session = "ab" * 16
    # a retry may come 1 ms after a refused write at the most: no waiting in a unit test
    journal = Journal(small_disk, session, fsync_every_s=0.0, retry_base_s=0.001,
                      retry_cap_s=0.001)
    for seq in range(1, 11):
        journal.append(_frame(seq, session))
    assert journal.error is None and _journal_seqs(small_disk) == list(range(1, 11))
    hog = _Hog(small_disk)
    for seq in range(11, 41):
        journal.append(_frame(seq, session))  # never raises
    assert journal.error is not None and "No space left on device" in journal.error
    assert journal.held == 30 - (len(_journal_seqs(small_disk)) - 10)
    # the file that failed holds whole lines only: it was cut back to its last fsync
    on_disk = _journal_seqs(small_disk)
    assert on_disk == list(range(1, len(on_disk) + 1))
    held = journal.held
    time.sleep(0.1)  # the hog takes back the pages the cut freed (and the backoff passes)
    assert not journal.retry() and journal.held == held  # still full: still held, in order
    assert _journal_seqs(small_disk) == on_disk
    hog.free()
    time.sleep(0.01)  # the backoff passes
    assert journal.retry() and journal.error is None and journal.held == 0
    journal.append(_frame(41, session))
    assert journal.close()
    assert _journal_seqs(small_disk) == list(range(1, 42))  # each once, in order
    assert journal.failures >= 1 and journal.last_error is not None


def test_the_journal_lets_go_of_the_oldest_held_frames_past_its_bound(small_disk: Path) -> None:
    session = "cd" * 16
    size = len(_frame(1, session).args_json)
    journal = Journal(small_disk, session, fsync_every_s=0.0, max_held_bytes=5 * size)
    hog = _Hog(small_disk)
    for seq in range(1, 9):
        journal.append(_frame(seq, session))
    assert (journal.held, journal.frames_let_go) == (5, 3)
    assert journal.held_after(6) == 2
    hog.free()
    assert journal.close()
    assert _journal_seqs(small_disk) == [4, 5, 6, 7, 8]  # the newest five, with their seqs
