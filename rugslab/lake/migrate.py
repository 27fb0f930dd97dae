"""`rugslab lake migrate`: convert a lake of the old hive-Parquet layout to Delta tables.

The old layout (rugslab before the Delta lake): `<lake>/<table>/date=YYYY-MM-DD/*.parquet`,
with compacted files naming the files they supersede in their footer (`rugslab.supersedes`),
superseded files kept for a grace period, and temporary `*.tmp-*` files of killed writers.
Only the visible files are migrated (`layout.data_files`: superseded and temporary files are
left out), which is what rugslab's old reader returned.

Per table, crash-safe and re-runnable:

1. write the table's visible rows, one partition at a time (bounded memory), into a new Delta
   table at `<lake>/.migrate/<table>` (made afresh on every run);
2. check the row count: the Delta table must hold exactly the visible rows (else `LakeError`,
   and the old folder is left as it was);
3. move the old folder to `<lake>/.migrate/hive-<table>` (the backup), then the new table to
   `<lake>/<table>`.

A run killed between the two moves finds the table folder missing and its backup present: it
migrates from the backup. A table that is already Delta is left alone (reported as such).
The backups are not deleted: the report says where they are; remove them once satisfied.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import polars as pl

from rugslab.errors import LakeError, LakeWriteError
from rugslab.lake import layout
from rugslab.lake.delta import LOG_DIR, delta_message, ensure_table
from rugslab.lake.delta_maintain import maintain
from rugslab.lake.delta_read import read_rows
from rugslab.lake.delta_write import append_absent
from rugslab.lake.files import read_files
from rugslab.tables.schemas import TABLES

#: Work folder inside the lake: new tables being written and the old folders' backups.
WORK_DIR: Final = ".migrate"
#: The old writer's lock file, unused by the Delta lake.
OLD_LOCK: Final = ".write.lock"


@dataclass(slots=True)
class TableMigration:
    """What `migrate_lake` did to one table: `state` is `migrated`, `already Delta` or
    `absent`; rows are the visible rows before and the Delta rows after."""

    table: str
    state: str
    rows_before: int = 0
    rows_after: int = 0
    partitions: int = 0
    skipped_files: int = 0  # superseded and temporary files left out


@dataclass(slots=True)
class MigrationReport:
    """Per-table results of `migrate_lake`, printable as the command's summary."""

    lake: Path
    tables: list[TableMigration] = field(default_factory=list)

    @property
    def migrated(self) -> list[TableMigration]:
        return [t for t in self.tables if t.state == "migrated"]

    def __str__(self) -> str:
        done = self.migrated
        if not done and all(t.state != "migrated" for t in self.tables):
            delta = [t.table for t in self.tables if t.state == "already Delta"]
            if delta:
                return (f"lake {self.lake} is already in the Delta layout ({len(delta)} "
                        "tables): nothing to migrate")
            return f"lake {self.lake}: no tables found, nothing to migrate"
        lines = [f"lake {self.lake}: migrated {len(done)} table(s) to Delta"]
        lines.append(f"  {'table':<14} {'rows before':>12} {'rows after':>12} {'partitions':>10} "
                     f"{'files left out':>14}")
        for t in self.tables:
            if t.state == "migrated":
                lines.append(f"  {t.table:<14} {t.rows_before:>12,} {t.rows_after:>12,} "
                             f"{t.partitions:>10,} {t.skipped_files:>14,}")
            elif t.state == "already Delta":
                lines.append(f"  {t.table:<14} already Delta, left alone")
        lines.append(f"old folders kept in {self.lake / WORK_DIR} (hive-<table>); delete them "
                     "once you are satisfied with the migrated lake")
        return "\n".join(lines)


def _old_source(lake: Path, table: str) -> Path | None:
    """The old-layout folder of `table`: the table folder, or its backup when a killed run
    moved it away before moving the new table in; None when the table is Delta or absent."""
    folder = layout.table_dir(lake, table)
    if (folder / LOG_DIR).is_dir():
        return None
    if folder.is_dir() and next(folder.glob("date=*/*.parquet"), None) is not None:
        return folder
    backup = lake / WORK_DIR / f"hive-{table}"
    if not folder.exists() and backup.is_dir():
        return backup
    return None


def _visible(source: Path, day: str) -> tuple[list[Path], int]:
    part = source / f"date={day}"
    every = [p for p in part.glob("*.parquet")]
    visible = [p for p in every if p.name not in layout.superseded_names(every)]
    temp = sum(1 for p in part.iterdir() if layout.TEMP_MARKER in p.name)
    return sorted(visible), len(every) - len(visible) + temp


def _migrate_table(lake: Path, table: str, source: Path,
                   progress: Callable[[str], None]) -> TableMigration:
    rep = TableMigration(table, "migrated")
    staging_lake = lake / WORK_DIR
    staging = staging_lake / table
    shutil.rmtree(staging, ignore_errors=True)
    ensure_table(staging_lake, table)
    days = sorted(p.name.removeprefix("date=") for p in source.glob("date=*") if p.is_dir())
    for day in days:
        files, skipped = _visible(source, day)
        rep.skipped_files += skipped
        if not files:
            continue
        rows = read_files(files, table)
        rep.rows_before += rows.height
        rep.partitions += 1
        append_absent(staging_lake, table, rows.with_columns(pl.lit(day).alias("date")))
        progress(f"{table} {day}: {rows.height:,} rows")
    rep.rows_after = read_rows(staging_lake, table, columns=list(TABLES[table].key)).height
    if rep.rows_after != rep.rows_before:
        raise LakeError(
            f"migrating {table}: the Delta table holds {rep.rows_after:,} rows but the old "
            f"layout showed {rep.rows_before:,} (rows of one key more than once?); the old "
            f"folder {source} is unchanged. Check it, then run `rugslab lake migrate` again.",
            path=source)
    maintain(staging_lake, table)  # checkpoint
    backup = staging_lake / f"hive-{table}"
    folder = layout.table_dir(lake, table)
    if source != backup:
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(source, backup)
    os.replace(staging, folder)
    return rep


def migrate_lake(lake: Path | str, *, progress: Callable[[str], None] | None = None
                 ) -> MigrationReport:
    """Convert every table of `lake` in the old layout to a Delta table, in place.

    Args:
        lake: lake root folder.
        progress: called with a short line after each partition (e.g. for a progress bar).

    Returns:
        A `MigrationReport` (tables already Delta are listed as such and left alone).

    Raises:
        LakeError: `lake` is not a folder, a table's rows do not survive the migration
            (counts differ; that table's old folder is left as it was), or the lake cannot
            be written (read-only or full disk; the message names the path).
    """
    lake = Path(lake)
    if not lake.is_dir():
        raise LakeError(f"no lake at {lake}: pass --lake with the folder of the lake to migrate",
                        path=lake)
    report = MigrationReport(lake)
    say = progress or (lambda _line: None)
    try:
        for table in TABLES:
            source = _old_source(lake, table)
            if source is not None:
                report.tables.append(_migrate_table(lake, table, source, say))
            elif (layout.table_dir(lake, table) / LOG_DIR).is_dir():
                report.tables.append(TableMigration(table, "already Delta"))
            else:
                report.tables.append(TableMigration(table, "absent"))
        if report.migrated:
            (lake / OLD_LOCK).unlink(missing_ok=True)
    except OSError as e:
        raise LakeWriteError(
            f"cannot migrate the lake at {lake}: {delta_message(e)}; make the lake folder "
            "writable and check free space (the migration needs room for a second copy of the "
            "largest table), then run it again", path=lake) from e
    return report
