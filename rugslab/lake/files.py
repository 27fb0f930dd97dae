"""Parquet files of the lake: the data file settings and the reader of the old layout.

`ZSTD_LEVEL` and `PLAIN_COLUMNS` set how every Delta data file is written
(`delta.writer_properties`). `read_files` reads Parquet files of a table typed to its schema;
rugslab uses it only to read a lake of the old hive-Parquet layout (`lake.migrate`): a Delta
table is read through its snapshot's file list (`delta_read.read_rows`, the catalog).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import polars as pl

from rugslab.errors import LakeError
from rugslab.tables.schemas import TABLES

#: zstd level of lake files. On 14k raw frames (110 MB of JSON) level 3 wrote in the same
#: time as level 1 (0.10 s, pyarrow) and half the bytes (3.0 vs 6.4 MB).
ZSTD_LEVEL: Final = 3
#: Long free-text columns (a frame's arguments, a rejected row): no dictionary (each value is
#: distinct) and no min/max statistics (no query prunes on them; computing them costs).
PLAIN_COLUMNS: Final = frozenset({"args_json", "raw"})


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
