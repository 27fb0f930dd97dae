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
3. mark the swap (`<lake>/.migrate/swapping-<table>`), move the old folder to
   `<lake>/.migrate/hive-<table>` (the backup), then the new table to `<lake>/<table>`, and
   remove the mark. When an ingest running meanwhile made a Delta table at `<lake>/<table>`
   between the two moves, the old rows are added to that table by key instead (its rows and
   the old ones, each once).

A run killed between the mark and its removal finds the mark and the backup: it migrates from
the backup (into the table folder when one is there by then; rows by key, so a row already
moved is not added twice). A table that is already Delta is left alone (reported as such).
An ingest into a table whose folder still holds the old layout stops with the fix (this
command).
The backups are not deleted: the report says where they are; remove them once satisfied.

Then the `rejects` ids (`migrate_reject_ids`, also on a lake already in Delta): rows whose
`reject_id` was made by an older recipe get the id of `tables.rejects.reject_id`, so that a
re-ingest of their input finds them instead of adding the rows again. One Delta commit;
re-runnable (a second run rewrites nothing).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NamedTuple

import polars as pl
from deltalake import DeltaTable

from rugslab.errors import LakeError, LakeWriteError
from rugslab.lake import layout
from rugslab.lake.delta import LOG_DIR, delta_message, ensure_table, open_table, writer_properties
from rugslab.lake.delta_maintain import maintain
from rugslab.lake.delta_read import read_rows, scan_files, table_files
from rugslab.lake.delta_write import append_absent, with_retries
from rugslab.lake.files import read_files
from rugslab.lake.validate import content_key
from rugslab.readers.legacy import fragment_key
from rugslab.tables.rejects import reject_id
from rugslab.tables.schemas import TABLES

#: Work folder inside the lake: new tables being written and the old folders' backups.
WORK_DIR: Final = ".migrate"
#: The old writer's lock file, unused by the Delta lake.
OLD_LOCK: Final = ".write.lock"
#: The reason of a legacy recording's reject: `legacy recording <name> line <n> col <c>: ...`
_LEGACY_REASON: Final = "legacy recording "
_LEGACY_AT: Final = re.compile(r" line (\d+) col (\d+): ")


class RejectIdsRewritten(NamedTuple):
    """What `migrate_reject_ids` did: rows given the current id, and rows removed because a
    row of their current id was already stored (their input was ingested again meanwhile)."""

    rewritten: int = 0
    removed: int = 0


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
    reject_ids: RejectIdsRewritten = field(default_factory=RejectIdsRewritten)

    @property
    def migrated(self) -> list[TableMigration]:
        return [t for t in self.tables if t.state == "migrated"]

    def _rejects_line(self) -> str:
        ids = self.reject_ids
        removed = (f" ({ids.removed:,} of them removed: a row of their new id was already "
                   "stored)") if ids.removed else ""
        return f"rejects: {ids.rewritten + ids.removed:,} reject id(s) rewritten{removed}"

    def __str__(self) -> str:
        done = self.migrated
        if not done and all(t.state != "migrated" for t in self.tables):
            delta = [t.table for t in self.tables if t.state == "already Delta"]
            if delta and any(self.reject_ids):
                return (f"lake {self.lake} is already in the Delta layout ({len(delta)} "
                        f"tables)\n{self._rejects_line()}")
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
        lines.append(self._rejects_line())
        lines.append(f"old folders kept in {self.lake / WORK_DIR} (hive-<table>); delete them "
                     "once you are satisfied with the migrated lake")
        return "\n".join(lines)


def _swap_marker(lake: Path, table: str) -> Path:
    """Present while `table`'s old folder may be in its backup and not yet in the Delta
    table: from just before the old folder is moved until the rows are in `<lake>/<table>`."""
    return lake / WORK_DIR / f"swapping-{table}"


def _old_source(lake: Path, table: str) -> Path | None:
    """The old-layout folder of `table`: the table folder, or its backup when a killed run
    moved it away before its rows reached the table folder (the swap marker says so; the
    folder is then missing, or a Delta table a concurrent ingest made meanwhile); None when
    the table is Delta or absent."""
    folder = layout.table_dir(lake, table)
    backup = lake / WORK_DIR / f"hive-{table}"
    if backup.is_dir() and _swap_marker(lake, table).exists():
        return backup
    if (folder / LOG_DIR).is_dir():
        return None
    if folder.is_dir() and next(folder.glob("date=*/*.parquet"), None) is not None:
        return folder
    if not folder.exists() and backup.is_dir():
        return backup
    return None


def _visible(source: Path, day: str) -> tuple[list[Path], int]:
    part = source / f"date={day}"
    every = [p for p in part.glob("*.parquet")]
    visible = [p for p in every if p.name not in layout.superseded_names(every)]
    temp = sum(1 for p in part.iterdir() if layout.TEMP_MARKER in p.name)
    return sorted(visible), len(every) - len(visible) + temp


def _copy_rows(source: Path, dest_lake: Path, table: str, rep: TableMigration,
               progress: Callable[[str], None]) -> None:
    """Append the visible rows of `source`, one partition at a time, to `table` of
    `dest_lake` (rows whose key is there already are left out); count them in `rep`."""
    days = sorted(p.name.removeprefix("date=") for p in source.glob("date=*") if p.is_dir())
    for day in days:
        files, skipped = _visible(source, day)
        rep.skipped_files += skipped
        if not files:
            continue
        rows = read_files(files, table)
        rep.rows_before += rows.height
        rep.partitions += 1
        append_absent(dest_lake, table, rows.with_columns(pl.lit(day).alias("date")))
        progress(f"{table} {day}: {rows.height:,} rows")


def _migrate_table(lake: Path, table: str, source: Path,
                   progress: Callable[[str], None]) -> TableMigration:
    rep = TableMigration(table, "migrated")
    staging_lake = lake / WORK_DIR
    staging = staging_lake / table
    shutil.rmtree(staging, ignore_errors=True)
    ensure_table(staging_lake, table)
    _copy_rows(source, staging_lake, table, rep, progress)
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
    marker = _swap_marker(lake, table)
    marker.touch()
    if source != backup:
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(source, backup)
    try:
        os.replace(staging, folder)
    except OSError:
        if not (folder / LOG_DIR).is_dir():
            raise
        # a concurrent ingest made a Delta table here after the old folder was moved away:
        # add the old rows to it (by key, so its own rows are kept once), not over it
        merged = TableMigration(table, "migrated")
        _copy_rows(backup, lake, table, merged, progress)
        shutil.rmtree(staging, ignore_errors=True)
        rep.rows_after = read_rows(lake, table, columns=list(TABLES[table].key)).height
    marker.unlink()
    return rep


def migrate_lake(lake: Path | str, *, progress: Callable[[str], None] | None = None
                 ) -> MigrationReport:
    """Convert every table of `lake` in the old layout to a Delta table, in place; then give
    the `rejects` rows of older id recipes the current ids (`migrate_reject_ids`), also when
    every table was already Delta.

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
        report.reject_ids = migrate_reject_ids(lake)
    except OSError as e:
        raise LakeWriteError(
            f"cannot migrate the lake at {lake}: {delta_message(e)}; make the lake folder "
            "writable and check free space (the migration needs room for a second copy of the "
            "largest table), then run it again", path=lake) from e
    return report


def _old_reject_id(*parts: str) -> str:
    """The ids of the recipes before `tables.rejects.reject_id`, in `lake.validate` and
    `readers.legacy`: BLAKE2b-128 hex of the parts joined by NUL (none after the last)."""
    joined = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=16).hexdigest()


def _old_keys(table: str, reason: str, raw: str) -> Iterator[tuple[str, ...]]:
    """The `reject_id` parts under each way an older rugslab may have made the row, read from
    its own columns: a content reject (`lake.validate.content_key`) with no locator or with a
    locator that prefixes the reason (`<file>:<line>: <why>`), or a legacy recording's piece
    (`readers.legacy.fragment_key`: name, line and column are in the reason)."""
    yield content_key(table, "", raw)
    for m in re.finditer(": ", reason):
        yield content_key(table, reason[:m.start()], raw)
    if reason.startswith(_LEGACY_REASON):
        for m in _LEGACY_AT.finditer(reason, len(_LEGACY_REASON)):
            name = reason[len(_LEGACY_REASON):m.start()]
            yield fragment_key(name, int(m[1]), int(m[2]) - 1, raw)


def _reject_id_plan(rows: pl.DataFrame) -> pl.DataFrame:
    """`old_id`, `new_id`, `duplicate` (a row of `new_id` is stored or comes first) for each
    row of `rows` (rejects columns) whose id an older recipe made; no rows when none did."""
    plan: dict[str, str] = {}
    for rid, table, reason, raw in rows.select("reject_id", "table", "reason", "raw").iter_rows():
        for key in _old_keys(table, reason, raw):
            if rid == _old_reject_id(*key):
                plan[rid] = reject_id(*key)
                break
    taken = set(rows["reject_id"].to_list()) - plan.keys()
    duplicate = []
    for new in plan.values():
        duplicate.append(new in taken)
        taken.add(new)
    return pl.DataFrame({"old_id": list(plan), "new_id": list(plan.values()),
                         "duplicate": duplicate},
                        schema={"old_id": pl.String, "new_id": pl.String, "duplicate": pl.Boolean})


def migrate_reject_ids(lake: Path | str) -> RejectIdsRewritten:
    """Give every `rejects` row whose id an older recipe made the id of the current one
    (`tables.rejects.reject_id`), in one Delta commit.

    Older recipes, recomputed from each row's own columns: `lake.validate` hashed (table,
    locator, raw) joined by NUL, the locator empty or the reason's prefix before a `: `;
    `readers.legacy` hashed (name, line, offset, raw) likewise, read back from its reason
    `legacy recording <name> line <n> col <offset + 1>: ...`. A row whose new id is already
    stored (its input was ingested again after the upgrade) is removed instead. Rows of no
    older recipe (the assembler's ids, which never changed) are left alone. One MERGE on
    `reject_id` with no partition predicate, so Delta counts it as reading the whole table:
    a concurrent rugslab write to `rejects` (a MERGE) makes its commit fail, and it runs
    again on the new version (`delta_write.with_retries`). Reads the whole table into
    memory (`raw` included). Idempotent: a second run finds nothing and commits nothing.

    Args:
        lake: lake root folder (a lake in the Delta layout; no `rejects` table: nothing done).

    Returns:
        `RejectIdsRewritten(rewritten, removed)`.

    Raises:
        LakeError: the table cannot be read or written (as `delta_write.append_absent`).
    """
    lake = Path(lake)
    if open_table(lake, "rejects") is None:
        return RejectIdsRewritten()

    def attempt(dt: DeltaTable) -> RejectIdsRewritten:
        rows = scan_files(table_files(dt), "rejects",
                          columns=["reject_id", "table", "reason", "raw"])
        plan = _reject_id_plan(rows)
        if plan.height == 0:
            return RejectIdsRewritten()
        metrics = (dt.merge(plan.to_arrow(), predicate="t.reject_id = s.old_id",
                            source_alias="s", target_alias="t",
                            writer_properties=writer_properties("rejects"))
                   .when_matched_delete(predicate="s.duplicate")
                   .when_matched_update(updates={"reject_id": "s.new_id"})
                   .execute())
        return RejectIdsRewritten(int(metrics["num_target_rows_updated"]),
                                  int(metrics["num_target_rows_deleted"]))

    return with_retries(lake, "rejects", attempt)
