"""Delta Lake tables of the lake: schema, opening (with time travel), creation.

    <lake>/<table>/_delta_log/          the table's transaction log (JSON commits, checkpoints)
    <lake>/<table>/date=YYYY-MM-DD/     data files, partitioned by `date` as before

Every lake table (`schemas.TABLES`) is a Delta table with the columns of its pandera model plus
the partition column `date` (`date32`, the row's `layout.partition_dates`). Writes
(`lake.delta_write`) commit through Delta's optimistic protocol; maintenance
(`lake.delta_maintain`) compacts, checkpoints and vacuums. See docs/delta-design.md.

Readers never go through deltalake's pyarrow dataset (`DeltaTable.to_pyarrow_table()` /
`to_pyarrow_dataset()`): in deltalake 1.6.6 a process that used it aborts at interpreter exit
in about half of the runs ("terminate called without an active exception", exit 134). They
take the snapshot's file list (`delta_read.snapshot_files`, from the log's add actions) and
scan it with polars (`delta_read.read_rows`) or DuckDB `read_parquet`.

Time travel: `as_of` (an aware or UTC-naive datetime) selects the latest version whose commit
time is at or before it. Before the table's first commit the table did not exist: it reads as
empty (`open_table` gives None). When the log before `as_of` was removed by maintenance (log
retention), `LakeError` names the earliest time that can still be read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import polars as pl
import pyarrow as pa
from deltalake import ColumnProperties, DeltaTable, WriterProperties
from deltalake.exceptions import DeltaError

from rugslab.errors import LakeError, LakeWriteError
from rugslab.lake.files import PLAIN_COLUMNS, ZSTD_LEVEL
from rugslab.lake.layout import table_dir
from rugslab.tables.schemas import TABLES

PARTITION: Final = "date"
LOG_DIR: Final = "_delta_log"
#: Table properties of every lake table (`ensure_table`); the maintenance policy behind the
#: numbers is in docs/delta-design.md (bench/delta_commits.py measured it).
TABLE_PROPERTIES: Final[dict[str, str]] = {
    # a checkpoint every 100 commits (post-commit hook): a load reads it plus <= 99 commits
    "delta.checkpointInterval": "100",
    # commits older than 12 hours are deleted after a checkpoint: every commit lists the log
    # folder (bench: +27 us per log file per write), so time travel reaches 12 hours back
    "delta.logRetentionDuration": "interval 43200 seconds",
    # removed files are listed (tombstones) in checkpoints for as long as the log reaches
    # back: longer would only grow every checkpoint (vacuum keeps files 7 days by their age)
    "delta.deletedFileRetentionDuration": "interval 43200 seconds",
    "delta.enableExpiredLogCleanup": "true",
}
_MIGRATE_FIX: Final = "run `rugslab lake migrate --lake DIR` to convert it to Delta tables"
_CORRUPT_FIX: Final = (
    "restore the table's _delta_log folder from a backup, or move the table folder out of the "
    "lake and re-ingest its sources"
)


def _arrow_type(dtype: pl.DataType) -> pa.DataType:
    """The Arrow type of a polars dtype of a table column (strings: `large_string`)."""
    return pl.Series([], dtype=dtype).to_arrow().type


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of lake table `table` as a Delta table: its columns plus `date`.

    Columns and order come from `TABLES[table].polars_schema`; strings are `large_string`,
    timestamps `timestamp[us, tz=UTC]`, and a column is nullable exactly when the pandera
    model says so (Delta then refuses nulls in the others, key columns included). The last
    field is the partition column `date` (`date32`, not null).

    Raises:
        KeyError: `table` is not a lake table.
    """
    spec = TABLES[table]
    columns = spec.model.to_schema().columns
    fields = [
        pa.field(name, _arrow_type(dtype), nullable=bool(columns[name].nullable))
        for name, dtype in spec.polars_schema.items()
    ]
    return pa.schema([*fields, pa.field(PARTITION, pa.date32(), nullable=False)])


def writer_properties(table: str) -> WriterProperties:
    """Parquet options of the table's data files, as before: zstd level `files.ZSTD_LEVEL`;
    no dictionary and no statistics on the long free-text `files.PLAIN_COLUMNS`."""
    plain = {
        c: ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE")
        for c in TABLES[table].columns
        if c in PLAIN_COLUMNS
    }
    return WriterProperties(compression="ZSTD", compression_level=ZSTD_LEVEL,
                            column_properties=plain or None)


def delta_message(error: BaseException) -> str:
    """A deltalake (or OS) error as one line: an OS error's `strerror`; else its chain of
    causes (delta-rs prints one per line, marked `↳`) joined with ": ", without the Rust
    backtrace some messages carry."""
    if isinstance(error, OSError) and error.strerror:  # the path is in rugslab's message
        return error.strerror
    parts: list[str] = []
    for line in str(error).strip().splitlines():
        line = line.strip().lstrip("↳").strip()
        if re.match(r"(?i)^(stack backtrace|backtrace:|\d+: )", line):
            break
        if line:
            parts.append(line.rstrip(":"))
    return ": ".join(parts) if parts else type(error).__name__


def _has_commits(log: Path) -> bool:
    with os.scandir(log) as entries:
        return any(e.name.endswith(".json") and e.name[:1].isdigit() for e in entries)


def _check_folder(path: Path) -> bool:
    """True when `path` holds a Delta table; False when there is none yet.

    Raises:
        LakeError: the folder holds old-layout Parquet files, holds something else (neither
            layout), is not a folder, or is unreadable.
    """
    try:
        if not path.exists():
            return False
        if not path.is_dir():
            raise LakeError(f"lake table path {path} is a file, not a table folder; move it out "
                            "of the lake", path=path)
        log = path / LOG_DIR
        if log.is_dir():
            return _has_commits(log)
        if next(path.glob("date=*/*.parquet"), None) is not None:
            raise LakeError(f"{path} holds Parquet files of the old lake layout but no Delta log "
                            f"({LOG_DIR}); {_MIGRATE_FIX}", path=path)
        other = sorted(p.name for p in path.iterdir() if not p.name.startswith("_create.tmp-"))
        if LOG_DIR in other:  # another process began creating the table since the check above
            return _has_commits(log)
        if other:
            raise LakeError(
                f"{path} is neither a Delta table (no {LOG_DIR}) nor a table of the old lake "
                f"layout (no date=*/*.parquet): it holds {', '.join(other[:3])}"
                f"{', ...' if len(other) > 3 else ''}. Move it out of the lake folder, or point "
                "--lake at the right folder.", path=path)
        return False
    except PermissionError as e:
        raise LakeError(f"cannot read lake table folder {path}: {e.strerror}; give this user "
                        "read access to the lake (chmod/chown) or use a readable copy",
                        path=path) from e
    except OSError as e:
        raise LakeError(f"cannot read lake table folder {path}: {delta_message(e)}",
                        path=path) from e


def _commit_ms(log: Path, version: int) -> int | None:
    """The commit time (ms since epoch) recorded in commit `version`; None if unreadable."""
    try:
        with open(log / f"{version:020d}.json", "rb") as f:
            for line in f:
                info = json.loads(line).get("commitInfo")
                if info is not None and "timestamp" in info:
                    return int(info["timestamp"])
    except (OSError, ValueError):
        return None
    return None


def commit_time(dt: DeltaTable) -> datetime:
    """When the loaded version of `dt` was committed (UTC), from its commit file.

    (`DeltaTable.history()` is no help for an older loaded version: in deltalake 1.6.6 its
    first entry carries the newest commit's time.) When the commit file is gone or damaged
    (the version was loaded from its checkpoint), the time the version's log file was last
    written.
    """
    log = Path(dt.table_uri.removeprefix("file://")) / LOG_DIR
    ms = _commit_ms(log, dt.version())
    if ms is not None:
        return datetime.fromtimestamp(ms / 1000, UTC)
    for name in (f"{dt.version():020d}.checkpoint.parquet", f"{dt.version():020d}.json"):
        with contextlib.suppress(OSError):
            return datetime.fromtimestamp((log / name).stat().st_mtime, UTC)
    return datetime.fromtimestamp(0, UTC)


def _earliest_commit(log: Path) -> tuple[int, int | None]:
    versions = [int(n[:20]) for n in os.listdir(log) if n.endswith(".json") and n[:20].isdigit()]
    first = min(versions)
    return first, _commit_ms(log, first)


def _as_utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def open_table(
    lake: Path | str, table: str, *, version: int | None = None, as_of: datetime | None = None
) -> DeltaTable | None:
    """Open lake table `table` at its latest version, at `version`, or as of `as_of`.

    Args:
        lake: lake root folder.
        table: lake table name (`schemas.TABLES`).
        version: a table version (0 = the creation commit).
        as_of: read the latest version committed at or before this instant (UTC when naive).

    Returns:
        The table, or None when it does not exist (yet, or at `as_of`).

    Raises:
        LakeError: the folder holds the old Parquet layout (fix: `rugslab lake migrate`), the
            log is corrupt, the folder is unreadable, `version` does not exist, or the log
            before `as_of` was removed (names the earliest readable time); `.path` names the
            table folder.
        KeyError: `table` is not a lake table.
    """
    path = table_dir(Path(lake), table)
    if not _check_folder(path):
        return None
    try:
        dt = DeltaTable(str(path))
        if version is not None:
            dt.load_as_version(int(version))
        elif as_of is not None:
            when = _as_utc(as_of)
            first, first_ms = _earliest_commit(path / LOG_DIR)
            if first_ms is not None and when.timestamp() * 1000 < first_ms:
                if first == 0:
                    return None  # the table was created after `as_of`
                earliest = datetime.fromtimestamp(first_ms / 1000, UTC).isoformat()
                raise LakeError(
                    f"table {table} at {path} cannot be read as of {when.isoformat()}: its log "
                    f"starts at version {first} ({earliest}); the earlier log was removed by "
                    f"the log retention. Pass an --as-of at or after {earliest}.", path=path)
            dt.load_as_version(when)
    except DeltaError as e:
        raise _open_error(path, table, e, version) from e
    except OSError as e:
        raise LakeError(f"cannot read lake table {table} at {path}: {delta_message(e)}",
                        path=path) from e
    return dt


def _open_error(path: Path, table: str, e: DeltaError, version: int | None) -> LakeError:
    msg = delta_message(e)
    if "access" in msg.lower() or "permission" in msg.lower():
        return LakeError(f"cannot read lake table {table} at {path}: {msg}; give this user read "
                         "access to the lake (chmod/chown) or use a readable copy", path=path)
    if version is not None and "version" in msg.lower():
        return LakeError(f"table {table} at {path} has no version {version}: {msg}; pass a "
                         "version the table has (see `rugslab status`)", path=path)
    return LakeError(f"the Delta log of table {table} at {path / LOG_DIR} is corrupt or "
                     f"unreadable: {msg}; {_CORRUPT_FIX}", path=path)


def ensure_table(lake: Path | str, table: str) -> DeltaTable:
    """Open lake table `table`, creating it (empty, with `arrow_schema`, partitioned by
    `date`, with `TABLE_PROPERTIES`) when it does not exist.

    Safe when processes race to create it: the creation commit is written in a private folder
    and hard-linked to `_delta_log/00000000000000000000.json`, which fails when the file
    exists, so exactly one creation wins and the others open the winner's table.

    Raises:
        LakeError: as `open_table`, or the lake folder cannot be written (read-only disk,
            permissions; the message names the path).
    """
    path = table_dir(Path(lake), table)
    if (dt := open_table(lake, table)) is not None:
        return dt
    staging = path / f"_create.tmp-{uuid.uuid4().hex[:12]}"
    try:
        (path / LOG_DIR).mkdir(parents=True, exist_ok=True)
        DeltaTable.create(str(staging), arrow_schema(table), partition_by=[PARTITION],
                          name=table, configuration=TABLE_PROPERTIES)
        first = f"{0:020d}.json"
        with contextlib.suppress(FileExistsError):  # another process won: open theirs
            os.link(staging / LOG_DIR / first, path / LOG_DIR / first)
    except OSError as e:
        raise LakeWriteError(f"cannot create lake table {table} at {path}: {delta_message(e)}; "
                             "make the lake folder writable (or point --lake at a writable "
                             "folder)", path=path) from e
    except DeltaError as e:
        raise LakeWriteError(f"cannot create lake table {table} at {path}: {delta_message(e)}; "
                             "make the lake folder writable", path=path) from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    dt = open_table(lake, table)
    if dt is None:  # pragma: no cover - the link above or the winner's commit exists
        raise LakeError(f"lake table {table} at {path} vanished while being created", path=path)
    return dt
