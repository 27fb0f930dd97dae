"""Parquet files of the lake: atomic writes and typed reads.

Every write goes to `<final name>.tmp-<token>` in the target folder, is fsynced, renamed over
the final name with `os.replace` (atomic on POSIX), and the folder is fsynced so the rename
survives a power cut. The temporary file is removed in `finally` when anything fails, so a
reader globbing `*.parquet` sees either the old file or the new one, never a partial file.
A writer killed with `kill -9` cannot run its `finally`: its temporary file stays until a later
writer removes it (`remove_stale_temp_files`, after `TEMP_GRACE_S`); `rugslab status` counts them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final

import polars as pl
import pyarrow.parquet as pq

from rugslab.errors import LakeError
from rugslab.lake.layout import TEMP_MARKER, temp_files
from rugslab.schemas import TABLES

COMPRESSION: Final = "zstd"
#: zstd level of lake files. On 14k raw frames (110 MB of JSON) level 3 wrote in the same
#: time as level 1 (0.10 s, pyarrow) and half the bytes (3.0 vs 6.4 MB).
ZSTD_LEVEL: Final = 3
#: Long free-text columns (a frame's arguments, a rejected row): no dictionary (each value is
#: distinct) and no min/max statistics (no query prunes on them; computing them costs).
PLAIN_COLUMNS: Final = frozenset({"args_json", "raw"})
#: Seconds a temporary file must have gone unmodified before a writer removes it as the
#: leftover of a killed writer: one hour, far above the longest write (the longest seen is a
#: day's compaction, tens of seconds, and a writer modifies its file all along). Every lake
#: write and compaction also holds the lake's write lock while its temporary file exists,
#: and the sweep runs under that lock, so the grace only guards a writer that does not lock.
TEMP_GRACE_S: Final = 3600.0


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it and rename it over `path`.

    The folder is created if needed and fsynced after the rename; the temporary file is
    removed when the block fails.

    Raises:
        LakeError: the file cannot be written (disk full, permissions); `.path` names it.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}{TEMP_MARKER}{uuid.uuid4().hex[:12]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        raise LakeError(f"cannot write lake file {path}: {e}", path=path) from e
    finally:
        if tmp.exists():
            tmp.unlink()


def write_parquet_atomic(
    frame: pl.DataFrame, path: Path, *, compression_level: int = ZSTD_LEVEL
) -> Path:
    """Write `frame` to `path` (zstd Parquet, pyarrow) atomically; create the folder if needed.

    Columns in `PLAIN_COLUMNS` are written without dictionary encoding and statistics.
    The file carries Parquet types only (no Arrow schema in the footer): readers see
    `string`, `int32`, `timestamp[us, tz=UTC]`, ... whatever Arrow flavour polars held.
    Options: `parquet_options`.

    Returns:
        `path`.

    Raises:
        LakeError: the file cannot be written (disk full, permissions); `.path` names it.
    """
    # newest compat level: polars' string views go to Arrow without a copy of the text
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    with atomic_target(path) as tmp:
        pq.write_table(table, tmp, store_schema=False,
                       **parquet_options(table.column_names, compression_level))
    return Path(path)


def parquet_options(columns: Sequence[str], level: int = ZSTD_LEVEL) -> dict[str, Any]:
    """pyarrow Parquet writer options of every lake file: zstd at `level`, dictionary and
    statistics on all columns but `PLAIN_COLUMNS`."""
    indexed = [c for c in columns if c not in PLAIN_COLUMNS]
    return {"compression": COMPRESSION, "compression_level": level,
            "use_dictionary": indexed, "write_statistics": indexed}


def remove_files(paths: Sequence[Path]) -> None:
    """Remove `paths` (missing ones are fine) and fsync their folders."""
    folders = set()
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            continue
        folders.add(p.parent)
    for d in folders:
        _fsync_dir(d)


def remove_stale_temp_files(
    lake: Path, *, grace_s: float = TEMP_GRACE_S, now: float | None = None
) -> list[Path]:
    """Remove the lake's temporary files (`layout.temp_files`) unmodified for `grace_s` seconds.

    Call with the lake's write lock held (the writer and compaction do). Their rows were
    never visible (a temporary file never matches `*.parquet`), so nothing readable is lost;
    a file that cannot be removed (vanished, permissions) is left for `rugslab status` to count.

    Args:
        lake: lake root.
        grace_s: minimum age (seconds since the file's last modification).
        now: the current time (seconds since the epoch); default `time.time()`.

    Returns:
        The files removed.
    """
    now = time.time() if now is None else now
    removed = []
    for p in temp_files(lake):
        try:
            if now - p.stat().st_mtime < grace_s:
                continue
            p.unlink()
        except OSError:
            continue
        removed.append(p)
    for d in {p.parent for p in removed}:
        with suppress(OSError):  # the removal need not survive a power cut
            _fsync_dir(d)
    return removed


def read_files(
    paths: Sequence[Path],
    table: str,
    *,
    columns: Sequence[str] | None = None,
    where: pl.Expr | None = None,
) -> pl.DataFrame:
    """Read lake files of `table` into one frame with the table's columns and dtypes.

    Args:
        paths: Parquet files of the table (any partitions).
        table: lake table name; its schema fixes the columns (a column missing from an older
            file is null) and their order.
        columns: read only these columns (e.g. the key), in this order.
        where: keep only the rows this filter keeps (it may use any column of the files). It
            is applied while each file is scanned: files whose statistics rule it out are
            skipped, and memory holds the rows kept, not the files.

    Raises:
        LakeError: a file cannot be read (corrupt, not Parquet); `.path` names it.
    """
    schema = TABLES[table].polars_schema
    want = list(columns) if columns is not None else list(schema)
    if len(paths) > 1 or (paths and where is not None):
        # one scan for all files (a day holds hundreds of small ones between compactions:
        # opening each in its own scan cost ~1 ms a file); any trouble: file by file below,
        # whose errors name the file
        try:
            scan = pl.scan_parquet(list(paths), schema=schema, missing_columns="insert",
                                   extra_columns="ignore")
            if where is not None:
                scan = scan.filter(where)
            return scan.select(want).collect()
        except (OSError, pl.exceptions.PolarsError):
            pass
    empty = pl.DataFrame(schema={c: schema[c] for c in want})
    frames = [empty]
    for p in paths:
        try:
            available = pl.read_parquet_schema(p)
            cols = [c for c in want if c in available]
            if where is None:
                df = pl.read_parquet(p, columns=cols)
            else:
                df = pl.scan_parquet(p).filter(where).select(cols).collect()
        except (OSError, pl.exceptions.PolarsError) as e:
            raise LakeError(
                f"cannot read lake file {p}: {e}; move it out of the lake or re-ingest", path=p
            ) from e
        frames.append(df)
    out = pl.concat(frames, how="diagonal_relaxed")
    return out.select([pl.col(c).cast(schema[c]) for c in want])
