"""Derived columns and tables: games coverage and the gap ledger follow the lake's ticks."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rugslab.lake.catalog import read_table
from rugslab.lake.delta_read import snapshot_files
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch

GID = "20251207-e8186dbf38e046d1"
GID2 = "20251207-00000000000000aa"


def _ticks(gid: str, ticks: list[int], rug: int | None = None) -> list[dict[str, object]]:
    return [{"game_id": gid, "tick": t, "price_x": 1.0 + t / 10, "source": "live",
             "is_rug": t == rug} for t in ticks]


def _game(gid: str, **over: object) -> dict[str, object]:
    row: dict[str, object] = {"game_id": gid, "seen_live": True, "revealed": False}
    row.update(over)
    return row


def _coverage(lake: Path) -> list[tuple[object, ...]]:
    g = read_table("games", lake).sort("game_id")
    return g.select("game_id", "ticks_recorded", "ticks_missing", "completeness").rows()


def test_games_get_coverage_and_gaps_from_the_lake_ticks(tmp_path: Path) -> None:
    b = RowBatch()
    b.extend("ticks", _ticks(GID, [0, 1, 2, 4, 5], rug=5))
    b.add("games", _game(GID, rug_tick=5, first_live_tick=0))
    report = write_batch(tmp_path, b)
    assert _coverage(tmp_path) == [(GID, 5, 1, "partial")]
    assert read_table("gaps", tmp_path).drop("date").rows() == [(GID, 3, 3, 1, "not_received")]
    assert (report.new("games"), report.new("gaps"), report.offered("gaps")) == (1, 1, 1)


def test_a_later_tick_completes_the_game_and_closes_its_gap(tmp_path: Path) -> None:
    first, later = RowBatch(), RowBatch()
    first.extend("ticks", _ticks(GID, [0, 1, 2, 4, 5], rug=5))
    first.add("games", _game(GID, rug_tick=5, first_live_tick=0))
    later.extend("ticks", _ticks(GID, [3]))  # no games row: the lake's row is updated
    write_batch(tmp_path, first)
    ((gap_file, _),) = snapshot_files(tmp_path, "gaps")
    report = write_batch(tmp_path, later)
    assert _coverage(tmp_path) == [(GID, 6, 0, "complete")]
    assert read_table("gaps", tmp_path).height == 0
    assert snapshot_files(tmp_path, "gaps") == []
    # the removed file stays on disk for readers of the older version (until vacuum)
    assert pl.read_parquet(gap_file).height == 1
    assert report.tables["gaps"].updated == 1  # the gap row deleted
    assert (report.new("ticks"), report.new("games")) == (1, 0)


def test_gaps_before_the_first_live_tick_are_before_join(tmp_path: Path) -> None:
    b = RowBatch()
    b.extend("ticks", _ticks(GID2, [3, 4, 6]))
    b.add("games", _game(GID2, first_live_tick=3))
    write_batch(tmp_path, b)
    assert read_table("gaps", tmp_path).drop("date").rows() == [
        (GID2, 0, 2, 3, "before_join"), (GID2, 5, 5, 1, "not_received")]
    assert _coverage(tmp_path) == [(GID2, 3, 4, "partial")]


def test_rewriting_derived_tables_is_idempotent(tmp_path: Path) -> None:
    b = RowBatch()
    b.extend("ticks", _ticks(GID, [0, 1, 2, 4, 5], rug=5) + _ticks(GID2, [3, 4, 6]))
    b.extend("games", [_game(GID, rug_tick=5, first_live_tick=0), _game(GID2, first_live_tick=3)])
    write_batch(tmp_path, b)
    files = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")}
    again = write_batch(tmp_path, b)
    assert {t: r.new for t, r in again.tables.items()} == {"ticks": 0, "games": 0, "gaps": 0,
                                                            "player_games": 0,
                                                            "player_reconciliation": 0}
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")} == files
    assert read_table("ticks", tmp_path).height == 8
    ((only_file, _),) = snapshot_files(tmp_path, "ticks")
    # (a delta-rs merge may reorder rows inside a file; readers sort: layout.row_order)
    assert sorted(pl.read_parquet(only_file).select("game_id", "tick").rows()) == sorted([
        (GID2, 3), (GID2, 4), (GID2, 6), (GID, 0), (GID, 1), (GID, 2), (GID, 4), (GID, 5)])
