"""Compaction: merge an append partition's many small files into one, without readers ever
seeing duplicate or missing rows.

The collector writes a new file per flush (`part-*.parquet`), so a day of collection leaves
hundreds of small files per table. `compact_lake` rewrites each such partition as one
`compact-*.parquet` that records in its footer which files it supersedes. Readers that list
files through `layout.data_files` (the catalog, the writer) see, atomically, either the old
files or the compacted one (see `rugslab.lake.layout`). Superseded files are deleted once the
compacted file is older than `grace_s`, so a reader that listed the old files just before can
still open them; a later compaction purges what an earlier one left.

Compaction holds the lake's write lock, so it never interleaves with a writer; `compact_lake`
also removes the temporary files of killed writers (`files.remove_stale_temp_files`). Merge and
replace tables already hold one file per partition and are never compacted.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from rugslab.lake import layout
from rugslab.lake.files import (
    atomic_target,
    parquet_options,
    read_files,
    remove_files,
    remove_stale_temp_files,
)
from rugslab.lake.writer import lake_lock
from rugslab.schemas import TABLES

#: Seconds a superseded file stays on disk after its compacted replacement appeared.
DEFAULT_GRACE_S = 600.0
#: `tidy_partition`: compact a partition's newly written files once there are this many.
COMPACT_EVERY = 64


@dataclass(slots=True)
class CompactReport:
    """What a compaction did, per (table, day)."""

    partitions: int = 0
    files_before: int = 0
    files_after: int = 0
    rows: int = 0
    purged: int = 0
    temp_removed: int = 0
    compacted: list[tuple[str, str, int, int]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"compaction: {self.partitions} partitions, {self.files_before} files → "
            f"{self.files_after}, {self.rows:,} rows; {self.purged} superseded files purged"
            + (f"; {self.temp_removed} stale temporary files removed" if self.temp_removed else "")
        ]
        for table, day, before, rows in self.compacted:
            lines.append(f"  {table:<12} {day}  {before:>4} files → 1  ({rows:,} rows)")
        return "\n".join(lines)


def append_tables() -> list[str]:
    """Tables whose partitions gain one file per write (the ones compaction is for)."""
    return [t.name for t in TABLES.values() if t.kind == "append"]


def compact_partition(
    lake: Path, table: str, day: str, *, min_files: int = 2, files: list[Path] | None = None
) -> int | None:
    """Merge the visible files of one append partition (or `files`, some of them) into one
    compacted file.

    Call with the lake's write lock held (`compact_lake` and the writer do). Rows keep their
    files' order (each file's rows sorted by `layout.row_order`); memory is bounded by the
    largest file.

    Returns:
        The number of rows written, or None when the partition has fewer than `min_files`
        visible files (nothing to do).

    Raises:
        KeyError: `table` is not an append table.
        LakeError: a file cannot be read or written.
    """
    spec = TABLES[table]
    if spec.kind != "append":
        raise KeyError(f"table {table!r} is a {spec.kind} table; only append tables are compacted")
    if files is None:
        files = layout.data_files(lake, table, day)
    if len(files) < min_files:
        return None
    stamp = layout.new_part_name().removeprefix("part-")
    target = layout.partition_dir(lake, table, day) / f"{layout.COMPACT_PREFIX}{stamp}"
    schema = read_files([], table).to_arrow().schema.with_metadata(
        {layout.SUPERSEDES_KEY: json.dumps([f.name for f in files])}
    )
    rows = 0
    # file by file, so memory is bounded by the largest file, not the partition; keys are
    # already unique across files (every append write anti-joins under the write lock)
    # the compacted file keeps its Arrow schema: its footer metadata lists what it supersedes
    with atomic_target(target) as tmp, pq.ParquetWriter(
        tmp, schema, **parquet_options(schema.names)
    ) as w:
        for f in files:
            part = read_files([f], table).sort(layout.row_order(table), nulls_last=True)
            w.write_table(part.to_arrow().cast(schema))
            rows += part.height
    return rows


def purge_superseded(lake: Path, table: str, day: str, *, grace_s: float) -> int:
    """Delete superseded files whose compacted replacement is older than `grace_s` seconds.

    A compacted file that is itself superseded is deleted only after every file it
    supersedes is gone, so a crash midway never makes an old file visible again.

    Returns:
        The number of files deleted.
    """
    folder = layout.partition_dir(lake, table, day)
    if not folder.is_dir():
        return 0
    deleted = 0
    now = time.time()
    while True:
        files = sorted(folder.glob("*.parquet"))
        names = {f.name for f in files}
        superseded_by: dict[str, Path] = {}
        for f in files:
            for name in layout.supersedes(f):
                superseded_by.setdefault(name, f)
        ready = [
            f
            for f in files
            if f.name in superseded_by
            and now - superseded_by[f.name].stat().st_mtime >= grace_s
            and not any(n in names for n in layout.supersedes(f))
        ]
        if not ready:
            return deleted
        remove_files(ready)
        deleted += len(ready)


def tidy_partition(
    lake: Path, table: str, day: str, *, every: int | None = None, files: list[Path] | None = None
) -> None:
    """Keep an append partition's file count bounded while it is being written to.

    Call with the lake's write lock held (the writer does, after each write). Once `every`
    files written since the last compaction (`part-*`) are visible, they become one
    compacted file; once `every // 4` compacted files are visible, those become one. Files
    superseded more than `DEFAULT_GRACE_S` ago are deleted when a compaction runs. A day of
    collector flushes (~6,000) then leaves at most ~`every * 1.25` visible files, and each
    row is rewritten a few times, not once per flush. `every` defaults to `COMPACT_EVERY`;
    `files` are the partition's visible files when the caller has listed them.
    """
    every = COMPACT_EVERY if every is None else every
    if files is None:
        files = layout.data_files(lake, table, day)
    parts = [f for f in files if not f.name.startswith(layout.COMPACT_PREFIX)]
    compacted = [f for f in files if f.name.startswith(layout.COMPACT_PREFIX)]
    if len(parts) < every and len(compacted) < max(2, every // 4):
        return  # the usual write: nothing to list or read again
    if len(parts) >= every:
        compact_partition(lake, table, day, files=parts)
        compacted = [f for f in layout.data_files(lake, table, day)
                     if f.name.startswith(layout.COMPACT_PREFIX)]
    if len(compacted) >= max(2, every // 4):
        compact_partition(lake, table, day, files=compacted)
    purge_superseded(lake, table, day, grace_s=DEFAULT_GRACE_S)


def compact_lake(
    lake: Path,
    *,
    days: list[str] | None = None,
    tables: list[str] | None = None,
    min_files: int = 2,
    grace_s: float = DEFAULT_GRACE_S,
) -> CompactReport:
    """Compact the append partitions of `lake` (all days, or only `days`) and purge.

    Args:
        lake: lake root.
        days: `YYYY-MM-DD` partitions to compact; None = every partition.
        tables: append tables to compact; None = all of them.
        min_files: compact a partition only when it has at least this many visible files.
        grace_s: keep superseded files this long after their replacement appeared.

    Returns:
        A `CompactReport` (its `str` is the summary the CLI prints), counting the stale
        temporary files removed (`files.TEMP_GRACE_S`).
    """
    report = CompactReport()
    with lake_lock(Path(lake)):
        report.temp_removed = len(remove_stale_temp_files(Path(lake)))
        for table in tables or append_tables():
            for day in days if days is not None else layout.partitions(lake, table):
                report.purged += purge_superseded(lake, table, day, grace_s=grace_s)
                before = len(layout.data_files(lake, table, day))
                n = compact_partition(lake, table, day, min_files=min_files)
                if n is None:
                    continue
                report.partitions += 1
                report.files_before += before
                report.files_after += 1
                report.rows += n
                report.compacted.append((table, day, before, n))
                report.purged += purge_superseded(lake, table, day, grace_s=grace_s)
    return report


def table_row_count(lake: Path, table: str) -> int:
    """Rows of `table` as a reader sees them (visible files only)."""
    files = layout.data_files(lake, table)
    if not files:
        return 0
    return pl.scan_parquet(files).select(pl.len()).collect().item()
