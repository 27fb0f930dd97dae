"""Maintenance of the lake's Delta tables: compaction, checkpoints, log cleanup, vacuum.

Policy (numbers measured by bench/delta_commits.py, see docs/delta-design.md):

    after a write  `maintain(lake, table, days=...)`: compact a touched partition once it holds
                   `COMPACT_AFTER_FILES` files (`optimize.compact`, about one file per commit);
                   a checkpoint when `CHECKPOINT_EVERY` commits have passed since the last one
                   (the post-commit hook usually made it already), then `cleanup_metadata`
                   (deletes commits older than the log retention that a checkpoint covers).
    nightly        `compact_table`: every partition with more than one file, a checkpoint,
                   log cleanup, and `vacuum`: deletes data files no version within the log
                   retention needs (removed more than `LOG_RETENTION` ago, or written by a
                   writer killed before its commit) once they are older than `RETENTION`.

Retentions: the log keeps `LOG_RETENTION` (12 hours) of commits: `--as-of` reaches that far
back. Every commit lists the log folder, so each retained commit costs every later write
(bench/delta_commits.py: with 2 days at one commit a minute the commit cost doubled, +27 us
per log file per write). Removed files stay listed as tombstones in the checkpoints for as long
(`delta.deletedFileRetentionDuration`): a tombstone older than the log serves no time travel
but every checkpoint would carry it. `vacuum` (full mode) deletes a file that no version
references once its tombstone is older than `RETENTION` (7 days) or, when the tombstone has
expired, once the file itself is older than `RETENTION`.

Every step is a Delta commit or a deletion of files no version within the retention needs, so
a kill at any moment leaves the table readable: a killed compaction leaves unreferenced files
(vacuumed later), a killed vacuum leaves some of the files it would have deleted.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import polars as pl
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError, DeltaError

from rugslab.errors import LakeWriteError
from rugslab.lake.delta import (
    LOG_DIR,
    PARTITION,
    TABLE_PROPERTIES,
    delta_message,
    open_table,
    writer_properties,
)
from rugslab.lake.native import native_stderr_filtered
from rugslab.tables.schemas import TABLES

#: A partition is compacted once it holds this many files (collector: ~1 file per minute).
COMPACT_AFTER_FILES: Final = 60
#: A checkpoint at least every this many commits (also `delta.checkpointInterval`).
CHECKPOINT_EVERY: Final = 100
#: `vacuum` deletes unreferenced data files only once they are this old (or removed this long).
RETENTION: Final = timedelta(days=7)
#: Commits (and tombstones) older than this are deleted once a checkpoint covers them.
LOG_RETENTION: Final = timedelta(hours=12)


@dataclass(slots=True)
class MaintenanceReport:
    """What one `maintain` / `compact_table` call did to one table."""

    table: str
    compacted: list[date] = field(default_factory=list)
    files_removed: int = 0
    files_added: int = 0
    checkpoint: int | None = None
    vacuumed: int = 0


def _interval(span: timedelta) -> str:
    return f"interval {int(span.total_seconds())} seconds"


def table_properties(
    checkpoint_every: int = CHECKPOINT_EVERY, log_retention: timedelta = LOG_RETENTION
) -> dict[str, str]:
    """The Delta table properties of a maintenance policy (`delta.TABLE_PROPERTIES` are the
    defaults'): checkpoint interval, log and tombstone retention, expired-log cleanup."""
    return {
        **TABLE_PROPERTIES,
        "delta.checkpointInterval": str(checkpoint_every),
        "delta.logRetentionDuration": _interval(log_retention),
        "delta.deletedFileRetentionDuration": _interval(log_retention),
    }


def _set_properties(dt: DeltaTable, wanted: dict[str, str]) -> None:
    current = dt.metadata().configuration
    if any(current.get(k) != v for k, v in wanted.items()):
        with contextlib.suppress(CommitFailedError):  # a concurrent maintainer set them
            dt.alter.set_table_properties(wanted, raise_if_not_exists=False)


def last_checkpoint(table_path: Path) -> int | None:
    """The version of the table's last checkpoint (`_delta_log/_last_checkpoint`), or None."""
    try:
        return int(json.loads((table_path / LOG_DIR / "_last_checkpoint").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def _file_counts(dt: DeltaTable) -> dict[date, int]:
    actions = pl.DataFrame(dt.get_add_actions(flatten=True))
    if actions.height == 0:
        return {}
    counts = actions.group_by(f"partition.{PARTITION}").len()
    return dict(counts.iter_rows())


def _compact(dt: DeltaTable, table: str, day: date, rep: MaintenanceReport) -> None:
    try:
        metrics = dt.optimize.compact(partition_filters=[(PARTITION, "=", day.isoformat())],
                                      writer_properties=writer_properties(table))
    except CommitFailedError:
        return  # a concurrent commit touched the partition: compact it next time
    if metrics.get("numFilesRemoved", 0):
        rep.compacted.append(day)
        rep.files_removed += int(metrics["numFilesRemoved"])
        rep.files_added += int(metrics["numFilesAdded"])


def _checkpoint(dt: DeltaTable, path: Path, every: int, rep: MaintenanceReport) -> None:
    dt.update_incremental()
    last = last_checkpoint(path)
    if last is None or dt.version() - last >= every:
        dt.create_checkpoint()
        rep.checkpoint = dt.version()
    if rep.checkpoint is not None or last != last_checkpoint(path):
        dt.cleanup_metadata()


def maintain(
    lake: Path | str,
    table: str,
    *,
    days: list[date] | list[str] | None = None,
    commits_between_compactions: int = COMPACT_AFTER_FILES,
    checkpoint_every: int = CHECKPOINT_EVERY,
    retention: timedelta = RETENTION,
    log_retention: timedelta = LOG_RETENTION,
    vacuum: bool = False,
) -> MaintenanceReport:
    """Keep one table cheap to load and to write: the per-write step of the policy.

    Args:
        lake: lake root folder.
        table: lake table name.
        days: partitions the last write touched (None: every partition).
        commits_between_compactions: compact a partition holding at least this many files
            (each append commit adds one file per partition it touches).
        checkpoint_every: write a checkpoint when this many commits passed since the last one.
        retention: `vacuum` deletes an unreferenced data file only once its tombstone, or
            (tombstone expired, or never committed) the file itself, is older than this.
        log_retention: how long commits and tombstones are kept (the time travel window).
        vacuum: also run `vacuum` (`compact_table` sets it).

    Returns:
        A `MaintenanceReport` (empty when the table does not exist).

    Raises:
        LakeError: the table cannot be opened or maintained (read-only disk, corrupt log).
    """
    rep = MaintenanceReport(table)
    dt = open_table(lake, table)
    if dt is None:
        return rep
    path = Path(lake) / table
    wanted = {date.fromisoformat(d) if isinstance(d, str) else d for d in days or []}
    try:
        with native_stderr_filtered():
            _set_properties(dt, table_properties(checkpoint_every, log_retention))
            for day, n in sorted(_file_counts(dt).items()):
                if (days is None or day in wanted) and n >= max(2, commits_between_compactions):
                    _compact(dt, table, day, rep)
            _checkpoint(dt, path, checkpoint_every, rep)
            if vacuum:
                hours = int(retention.total_seconds() // 3600)
                rep.vacuumed = len(dt.vacuum(retention_hours=hours, dry_run=False,
                                             enforce_retention_duration=False, full=True))
    except DeltaError as e:
        raise LakeWriteError(f"cannot maintain lake table {table} at {path}: {delta_message(e)}; "
                        "check that the lake folder is writable and has free space",
                        path=path) from e
    except OSError as e:
        raise LakeWriteError(f"cannot maintain lake table {table} at {path}: {delta_message(e)}; "
                        "check that the "
                        "lake folder is writable and has free space", path=path) from e
    return rep


def compact_table(
    lake: Path | str,
    table: str,
    *,
    retention: timedelta = RETENTION,
    log_retention: timedelta = LOG_RETENTION,
    checkpoint_every: int = CHECKPOINT_EVERY,
) -> MaintenanceReport:
    """The nightly step: compact every partition holding more than one file, checkpoint,
    clean the log and vacuum (see `maintain`).

    Raises:
        LakeError: as `maintain`.
    """
    return maintain(lake, table, days=None, commits_between_compactions=2,
                    checkpoint_every=checkpoint_every, retention=retention,
                    log_retention=log_retention, vacuum=True)


@dataclass(slots=True)
class LakeMaintenance:
    """`maintain_lake`'s per-table reports, printable as the nightly's `== compact ==` part."""

    reports: list[MaintenanceReport]
    retention: timedelta = RETENTION

    def __str__(self) -> str:
        busy = [r for r in self.reports if r.compacted or r.vacuumed or r.checkpoint is not None]
        removed = sum(r.files_removed for r in self.reports)
        added = sum(r.files_added for r in self.reports)
        vacuumed = sum(r.vacuumed for r in self.reports)
        days = sum(len(r.compacted) for r in self.reports)
        lines = [f"compacted {days} partition(s): {removed} files into {added}; vacuum removed "
                 f"{vacuumed} file(s) unreferenced for {self.retention.days} days or more"]
        for r in busy:
            cp = "" if r.checkpoint is None else f", checkpoint at v{r.checkpoint}"
            lines.append(f"  {r.table}: {len(r.compacted)} partition(s), -{r.files_removed} "
                         f"+{r.files_added} files, {r.vacuumed} vacuumed{cp}")
        return "\n".join(lines)


def maintain_lake(
    lake: Path | str, *, retention: timedelta = RETENTION, log_retention: timedelta = LOG_RETENTION
) -> LakeMaintenance:
    """`compact_table` for every lake table (tables not created yet give empty reports).

    Raises:
        LakeError: as `maintain`.
    """
    return LakeMaintenance([compact_table(lake, t, retention=retention,
                                          log_retention=log_retention) for t in TABLES],
                           retention)
