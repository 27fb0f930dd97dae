"""Lake files under readers: an open catalog outlives a write that empties a merge partition."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rugslab.lake import layout
from rugslab.lake.catalog import connect, read_table
from rugslab.lake.writer import write_batch
from rugslab.rows import RowBatch

GID = "20251207-e8186dbf38e046d1"
DAY = "2025-12-07"


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
