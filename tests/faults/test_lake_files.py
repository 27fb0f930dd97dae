"""Lake files under readers and crashes: an open catalog outlives a write that empties a
table's partition, and the data files a writer killed before its commit leaves are ignored by
readers, counted by `rugslab status` and removed by the nightly vacuum once old."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from rugslab.cli import main
from rugslab.lake.catalog import connect, read_table
from rugslab.lake.delta_maintain import maintain_lake
from rugslab.lake.delta_read import snapshot_files
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch

GID = "20251207-e8186dbf38e046d1"
DAY = "2025-12-07"
DAY_S = 86400.0


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
        # the connection reads the versions it was opened on, whole: the file the write
        # removed from the table's new version still opens, and games agrees with gaps
        assert con.sql("SELECT count(*) FROM gaps").fetchall() == [(1,)]
        assert con.sql("SELECT completeness FROM games").fetchall() == [("partial",)]
    with connect(tmp_path) as con:
        assert con.sql("SELECT count(*) FROM gaps").fetchall() == [(0,)]
        assert con.sql("SELECT completeness FROM games").fetchall() == [("complete",)]
    assert read_table("gaps", tmp_path).height == 0
    assert snapshot_files(tmp_path, "gaps") == []  # the version after the write has none
    (kept,) = (tmp_path / "gaps").glob(f"date={DAY}/*.parquet")  # on disk for old readers
    assert pl.read_parquet(kept).height == 1


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
    assert len(snapshot_files(tmp_path, "gaps")) == 1


# --- item 13: data files of writers killed before their commit ------------------------------
# (a kill -9 at any moment of a commit, a compaction or a vacuum: tests/lake/test_delta.py)

def _orphan(lake: Path, table: str, name: str) -> Path:
    """A data file in a partition no commit references: what a writer killed after writing
    its file and before its commit leaves."""
    ((src, _), *_) = snapshot_files(lake, table)
    dest = src.parent / name
    dest.write_bytes(src.read_bytes())
    return dest


def test_a_killed_writers_file_is_ignored_counted_and_vacuumed_once_old(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_batch(tmp_path, _game_with_a_gap())
    old = _orphan(tmp_path, "ticks", "part-00000-0badc0de-old-c000.zstd.parquet")
    young = _orphan(tmp_path, "ticks", "part-00000-0badc0de-new-c000.zstd.parquet")
    _age(old, 8 * DAY_S)
    # readers use the table's version: the orphans' rows are not read twice
    assert read_table("ticks", tmp_path).height == 5
    assert pl.scan_delta(str(tmp_path / "ticks")).collect().height == 5
    with connect(tmp_path) as con:
        assert con.sql("SELECT count(*) FROM ticks").fetchall() == [(5,)]
    assert "data files no current version uses: 2 (" in _status(tmp_path, capsys)

    report = maintain_lake(tmp_path, retention=timedelta(days=7))
    assert not old.exists() and young.exists()  # the young one could be a live writer's
    assert "vacuum removed 1 file(s)" in str(report)
    assert "data files no current version uses: 1 (" in _status(tmp_path, capsys)
    assert read_table("ticks", tmp_path).height == 5
