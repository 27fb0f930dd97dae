"""Lake files under readers and crashes: an open catalog outlives a write that empties a merge
partition, and the temporary files of a writer killed mid-write are counted and swept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from rugslab.cli import main
from rugslab.lake import layout, writer
from rugslab.lake.catalog import connect, read_table
from rugslab.lake.compact import compact_lake
from rugslab.lake.writer import write_batch
from rugslab.rows import RowBatch

GID = "20251207-e8186dbf38e046d1"
DAY = "2025-12-07"
CAPTURE = "2025-12-12_two-rugs.jsonl"
HOUR_S = 3600.0
#: A subprocess that ingests a capture and stops for good inside its first lake file write,
#: after the bytes are in the temporary file and before the rename: the state `kill -9` leaves.
_HANG_MID_WRITE = """
import sys, time
import pyarrow.parquet as pq
from rugslab.lake import files
from rugslab.cli import main

real = pq.write_table

def write_then_hang(table, where, **kw):
    real(table, where, **kw)
    print("mid-write", where, flush=True)
    time.sleep(600)

files.pq.write_table = write_then_hang
sys.exit(main(["ingest", "--no-progress", "--lake", sys.argv[1], sys.argv[2]]))
"""


def _ticks(ticks: list[int], rug: int | None = None) -> list[dict[str, object]]:
    return [{"game_id": GID, "tick": t, "price_x": 1.0 + t / 10, "source": "live",
             "is_rug": t == rug} for t in ticks]


def _game_with_a_gap() -> RowBatch:
    b = RowBatch()
    b.extend("ticks", _ticks([0, 1, 2, 4, 5], rug=5))
    b.add("games", {"game_id": GID, "seen_live": True, "revealed": False, "rug_tick": 5,
                    "first_live_tick": 0})
    return b


def _tick_3() -> RowBatch:
    b = RowBatch()
    b.extend("ticks", _ticks([3]))  # fills the game's only gap: its gaps partition empties
    return b


def _rugslab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rugslab", *args], capture_output=True,
                          text=True, timeout=120)


def _status(lake: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["status", "--lake", str(lake)]) == 0
    return capsys.readouterr().out


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


# --- item 11: a merge partition emptied under an open catalog --------------------------------

def test_an_open_catalog_reads_a_gaps_partition_emptied_after_it_connected(
    tmp_path: Path,
) -> None:
    write_batch(tmp_path, _game_with_a_gap())
    with connect(tmp_path) as con:
        assert con.sql("SELECT game_id, tick_from, n_ticks FROM gaps").fetchall() == [
            (GID, 3, 1)]
        write_batch(tmp_path, _tick_3())
        # the view lists the partition's file as it was at connect time: it must still open
        assert con.sql("SELECT count(*) FROM gaps").fetchall() == [(0,)]
        assert con.sql("SELECT completeness FROM games").fetchall() == [("complete",)]
    assert read_table("gaps", tmp_path).height == 0
    (kept,) = layout.data_files(tmp_path, "gaps")
    assert kept == layout.partition_dir(tmp_path, "gaps", DAY) / layout.MERGED_FILE
    assert pl.read_parquet(kept).height == 0


def test_a_new_gap_is_written_over_the_emptied_partition(tmp_path: Path) -> None:
    write_batch(tmp_path, _game_with_a_gap())
    write_batch(tmp_path, _tick_3())
    other = "20251207-00000000000000aa"  # same day, same partition
    later = RowBatch()
    later.extend("ticks", [{**t, "game_id": other} for t in _ticks([0, 2], rug=2)])
    later.add("games", {"game_id": other, "seen_live": True, "revealed": False, "rug_tick": 2,
                        "first_live_tick": 0})
    report = write_batch(tmp_path, later)
    assert read_table("gaps", tmp_path).select("game_id", "tick_from", "tick_to").rows() == [
        (other, 1, 1)]
    assert report.new("gaps") == 1
    assert len(layout.data_files(tmp_path, "gaps")) == 1


# --- item 13: temporary files of killed writers ----------------------------------------------

@pytest.mark.slow
def test_a_killed_writers_temp_file_is_counted_kept_while_young_then_removed(
    tmp_path: Path, captures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, capture = tmp_path / "lake", captures_dir / CAPTURE
    proc = subprocess.Popen([sys.executable, "-c", _HANG_MID_WRITE, str(lake), str(capture)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the writer is mid-write
        assert line.startswith("mid-write "), proc.stderr.read() if proc.stderr else line
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    (left,) = layout.temp_files(lake)
    assert left == Path(line.split(" ", 1)[1].strip())
    assert left.stat().st_size > 0
    out = _status(lake, capsys)
    assert "temporary files of interrupted writes: 1 (oldest " in out
    assert "writes remove those unchanged for 3,600 s)" in out

    # the next writer keeps a temp file this young: it could be a live writer's
    fresh = _rugslab("ingest", "--no-progress", "--lake", str(lake), str(capture))
    assert fresh.returncode == 0, fresh.stderr
    assert layout.temp_files(lake) == [left]

    _age(left, 2 * HOUR_S)
    assert "temporary files of interrupted writes: 1 (oldest 7,2" in _status(lake, capsys)
    swept = _rugslab("ingest", "--no-progress", "--lake", str(lake), str(capture))
    assert swept.returncode == 0, swept.stderr
    assert layout.temp_files(lake) == []
    assert "temporary files of interrupted writes: 0\n" in _status(lake, capsys)
    assert read_table("games", lake).height == 13  # the lake as a clean ingest leaves it


def test_a_stale_temp_file_is_removed_by_the_next_write_and_a_fresh_one_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_batch(tmp_path, _game_with_a_gap())
    folder = layout.partition_dir(tmp_path, "ticks", DAY)
    stale = folder / "part-20251207T000000000000-0badc0de.parquet.tmp-0123456789ab"
    fresh = folder / "part-20251207T000000000001-0badc0de.parquet.tmp-ba9876543210"
    stale.write_bytes(b"PAR1 half a file")
    fresh.write_bytes(b"PAR1 half a file")
    _age(stale, HOUR_S + 60)
    _age(fresh, HOUR_S - 60)
    assert "temporary files of interrupted writes: 2 (oldest 3,66" in _status(tmp_path, capsys)

    monkeypatch.setattr(writer, "_last_sweep", {}, raising=False)  # as in a new process
    report = write_batch(tmp_path, _tick_3())
    assert layout.temp_files(tmp_path) == [fresh]
    assert getattr(report, "temp_removed", None) == [stale]
    assert "temporary files of interrupted writes: 1 (oldest 3,54" in _status(tmp_path, capsys)
    assert read_table("ticks", tmp_path).height == 6


def test_compaction_removes_stale_temp_files_and_says_so(tmp_path: Path) -> None:
    write_batch(tmp_path, _game_with_a_gap())
    stale = layout.partition_dir(tmp_path, "gaps", DAY) / "data.parquet.tmp-0123456789ab"
    stale.write_bytes(b"PAR1")
    _age(stale, 2 * HOUR_S)
    report = compact_lake(tmp_path)
    assert layout.temp_files(tmp_path) == []
    assert str(report).splitlines()[0].endswith(
        "0 superseded files purged; 1 stale temporary files removed")
    assert read_table("gaps", tmp_path).height == 1
