"""Parquet files of the lake: atomic writes and typed reads.

Every write goes to `<final name>.tmp-<token>` in the target folder, is fsynced, renamed over
the final name with `os.replace` (atomic on POSIX), and the folder is fsynced so the rename
survives a power cut. The temporary file is removed in `finally` when anything fails, so a
reader globbing `*.parquet` sees either the old file or the new one, never a partial file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import polars as pl

from rugslab.errors import LakeError
from rugslab.lake.layout import TEMP_MARKER
from rugslab.schemas import TABLES

COMPRESSION: Final = "zstd"


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
    frame: pl.DataFrame,
    path: Path,
    *,
    metadata: dict[str, str] | None = None,
    compression_level: int | None = None,
) -> Path:
    """Write `frame` to `path` (zstd Parquet) atomically; create the folder if needed.

    `metadata` goes into the file footer's key-value metadata (compaction records there
    which files a compacted file supersedes). `compression_level` is the zstd level (None:
    the library default, 3).

    Returns:
        `path`.

    Raises:
        LakeError: the file cannot be written (disk full, permissions); `.path` names it.
    """
    with atomic_target(path) as tmp:
        frame.write_parquet(tmp, compression=COMPRESSION, compression_level=compression_level,
                            statistics=True, metadata=metadata)
    return Path(path)


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


def read_files(
    paths: Sequence[Path], table: str, *, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Read lake files of `table` into one frame with the table's columns and dtypes.

    Args:
        paths: Parquet files of the table (any partitions).
        table: lake table name; its schema fixes the columns (a column missing from an older
            file is null) and their order.
        columns: read only these columns (e.g. the key), in this order.

    Raises:
        LakeError: a file cannot be read (corrupt, not Parquet); `.path` names it.
    """
    schema = TABLES[table].polars_schema
    want = list(columns) if columns is not None else list(schema)
    empty = pl.DataFrame(schema={c: schema[c] for c in want})
    frames = [empty]
    for p in paths:
        try:
            available = pl.read_parquet_schema(p)
            df = pl.read_parquet(p, columns=[c for c in want if c in available])
        except (OSError, pl.exceptions.ComputeError) as e:
            raise LakeError(
                f"cannot read lake file {p}: {e}; move it out of the lake or re-ingest", path=p
            ) from e
        frames.append(df)
    out = pl.concat(frames, how="diagonal_relaxed")
    return out.select([pl.col(c).cast(schema[c]) for c in want])
