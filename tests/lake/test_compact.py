"""Compaction: many small files become one, and readers never see duplicate or missing rows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rugslab.lake import compact, layout
from rugslab.lake.catalog import connect, read_table
from rugslab.lake.writer import write_batch
from rugslab.rows import RowBatch

GID = "20251207-e8186dbf38e046d1"
DAY = "2025-12-07"
T0 = datetime(2025, 12, 7, 0, 10, tzinfo=UTC)


def _tick_batch(ticks: range) -> RowBatch:
    b = RowBatch()
    for t in ticks:
        b.add(
            "ticks",
            {"game_id": GID, "tick": t, "price_x": 1.0 + t / 1000, "recv_ts": T0,
             "source": "live", "is_rug": False},
        )
    return b


def _lake_with_parts(tmp_path: Path, parts: int, per_part: int = 50) -> Path:
    for i in range(parts):
        write_batch(tmp_path, _tick_batch(range(i * per_part, (i + 1) * per_part)))
    return tmp_path


def _tick_keys(lake: Path) -> list[int]:
    return sorted(read_table("ticks", lake)["tick"].to_list())


def test_compaction_leaves_one_visible_file_with_every_row(tmp_path: Path) -> None:
    lake = _lake_with_parts(tmp_path, parts=5)
    assert len(layout.data_files(lake, "ticks", DAY)) == 5
    report = compact.compact_lake(lake, tables=["ticks"], grace_s=3600)
    visible = layout.data_files(lake, "ticks", DAY)
    assert [f.name.startswith(layout.COMPACT_PREFIX) for f in visible] == [True]
    got = (report.partitions, report.files_before, report.files_after, report.rows)
    assert got == (1, 5, 1, 250)
    assert _tick_keys(lake) == list(range(250))
    # the superseded files are still on disk (grace period) but nobody lists them
    assert len(list(layout.partition_dir(lake, "ticks", DAY).glob("part-*.parquet"))) == 5


def test_purge_after_the_grace_period_deletes_the_superseded_files(tmp_path: Path) -> None:
    lake = _lake_with_parts(tmp_path, parts=3)
    compact.compact_lake(lake, tables=["ticks"], grace_s=0)
    folder = layout.partition_dir(lake, "ticks", DAY)
    assert [p.name.startswith(layout.COMPACT_PREFIX) for p in folder.glob("*.parquet")] == [True]
    assert _tick_keys(lake) == list(range(150))


def test_a_second_compaction_takes_the_first_one_and_new_files(tmp_path: Path) -> None:
    lake = _lake_with_parts(tmp_path, parts=3)
    compact.compact_lake(lake, tables=["ticks"], grace_s=3600)
    write_batch(lake, _tick_batch(range(150, 160)))
    write_batch(lake, _tick_batch(range(100, 160)))  # overlaps: the writer adds nothing new
    assert len(layout.data_files(lake, "ticks", DAY)) == 2
    compact.compact_lake(lake, tables=["ticks"], grace_s=3600)
    assert len(layout.data_files(lake, "ticks", DAY)) == 1
    assert _tick_keys(lake) == list(range(160))
    # now purge everything: leaves first, then the first compacted file
    compact.compact_lake(lake, tables=["ticks"], grace_s=0)
    names = sorted(p.name for p in layout.partition_dir(lake, "ticks", DAY).glob("*.parquet"))
    assert len(names) == 1 and names[0].startswith(layout.COMPACT_PREFIX)
    assert _tick_keys(lake) == list(range(160))


def test_a_compacted_file_is_not_purged_before_the_files_it_supersedes(tmp_path: Path) -> None:
    lake = _lake_with_parts(tmp_path, parts=2)
    compact.compact_lake(lake, tables=["ticks"], grace_s=3600)
    write_batch(lake, _tick_batch(range(100, 110)))
    compact.compact_lake(lake, tables=["ticks"], grace_s=3600)
    folder = layout.partition_dir(lake, "ticks", DAY)
    first, second = sorted(folder.glob("compact-*.parquet"))
    # the first compacted file is superseded, but still supersedes two part files on disk:
    # it must outlive them, or they would become visible again after a crash mid-purge
    removed: list[list[str]] = []
    real_remove = compact.remove_files

    def spy(paths: list[Path]) -> None:
        removed.append(sorted(p.name for p in paths))
        real_remove(paths)

    compact.remove_files = spy  # type: ignore[assignment]
    try:
        n = compact.purge_superseded(lake, "ticks", DAY, grace_s=0)
    finally:
        compact.remove_files = real_remove  # type: ignore[assignment]
    assert n == 4
    assert first.name not in removed[0] and removed[1] == [first.name]
    assert [p.name for p in folder.glob("*.parquet")] == [second.name]


def test_merge_tables_are_not_compacted(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="only append tables"):
        compact.compact_partition(tmp_path, "games", DAY)


def test_readers_never_see_duplicate_or_missing_rows_while_compaction_runs(
    tmp_path: Path,
) -> None:
    lake = _lake_with_parts(tmp_path, parts=8, per_part=25)
    expected = list(range(200))
    done = threading.Event()
    errors: list[BaseException] = []

    def compact_repeatedly() -> None:
        try:
            for i in range(12):
                # new small files so every round has something to compact
                write_batch(lake, _tick_batch(range(200 + i, 201 + i)))
                write_batch(lake, _tick_batch(range(0, 1)))  # a duplicate: adds nothing
                compact.compact_lake(lake, tables=["ticks"], grace_s=0.5)
        except BaseException as e:  # surfaced in the main thread
            errors.append(e)
        finally:
            done.set()

    worker = threading.Thread(target=compact_repeatedly)
    worker.start()
    reads = 0
    while not done.is_set() or reads < 5:
        con = connect(lake)
        rows = con.sql("SELECT tick FROM ticks ORDER BY tick").fetchall()
        con.close()
        ticks = [r[0] for r in rows]
        assert len(ticks) == len(set(ticks)), "a reader saw a duplicate row"
        assert ticks[:200] == expected, "a reader missed a row"
        reads += 1
    worker.join()
    assert not errors, errors
    assert _tick_keys(lake) == list(range(212))
