"""Reading a Delta table of the lake: the file list of one version, and its rows, typed.

Readers never go through deltalake's pyarrow dataset (it can abort the process at exit:
`lake.delta`); they take the data files of one version from its log (`table_files`,
`snapshot_files`) and scan them with polars (`scan_files`, `read_rows`) or DuckDB
(`lake.catalog`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote

import polars as pl
from deltalake import DeltaTable

from rugslab.errors import LakeError
from rugslab.lake.delta import PARTITION, delta_message, open_table
from rugslab.tables.schemas import TABLES


def table_files(
    dt: DeltaTable, days: Sequence[str | date] | None = None
) -> list[tuple[Path, date]]:
    """The data files of the loaded version of `dt` (of partitions `days` only, when given) with
    their partition dates, sorted by path: the snapshot's add actions, not a folder listing."""
    actions = pl.DataFrame(dt.get_add_actions(flatten=True))
    if actions.height == 0:
        return []
    root = Path(dt.table_uri.removeprefix("file://"))
    actions = actions.select(pl.col("path"), pl.col(f"partition.{PARTITION}").alias("day"))
    if days is not None:
        wanted = {d if isinstance(d, date) else date.fromisoformat(d) for d in days}
        actions = actions.filter(pl.col("day").is_in(sorted(wanted)))
    return sorted((root / unquote(p), d) for p, d in actions.iter_rows())


def snapshot_files(
    lake: Path | str,
    table: str,
    *,
    as_of: datetime | None = None,
    version: int | None = None,
    days: Sequence[str | date] | None = None,
) -> list[tuple[Path, date]]:
    """The data files of one version of `table` (latest, `version` or `as_of`), with the
    partition date of each, sorted by path; [] when the table does not exist.

    For readers (the DuckDB catalog: `read_parquet([paths], hive_partitioning = true)`).
    A file listed here stays on disk at least 12 hours after a later version removes it
    (`delta.deletedFileRetentionDuration`) and at least 7 days after it was written
    (`delta_maintain.RETENTION`), so a listed snapshot stays readable that long.

    Args:
        days: only files of these partitions (`YYYY-MM-DD` or dates).

    Raises:
        LakeError: as `open_table`.
    """
    dt = open_table(lake, table, version=version, as_of=as_of)
    return [] if dt is None else table_files(dt, days)


def empty_frame(table: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """An empty frame with the table's columns (or `columns`; `date` allowed) and dtypes."""
    schema = {**TABLES[table].polars_schema, PARTITION: pl.Date()}
    want = list(columns) if columns is not None else list(TABLES[table].polars_schema)
    return pl.DataFrame(schema={c: schema[c] for c in want})


def scan_files(
    files: Sequence[tuple[Path, date]],
    table: str,
    *,
    columns: Sequence[str] | None = None,
    where: pl.Expr | None = None,
) -> pl.DataFrame:
    """Read Delta data files of `table` (as `snapshot_files` lists them) into one typed frame.

    Args:
        files: (path, partition date) pairs.
        columns: these columns in this order (default: the table's columns); `date` (the
            partition, `pl.Date`) may be among them.
        where: a row filter, applied during the scan; may use any column and `date`.

    Raises:
        LakeError: a listed file is missing or unreadable (`.path` names the first file).
    """
    want = list(columns) if columns is not None else list(TABLES[table].polars_schema)
    if not files:
        return empty_frame(table, want)
    schema = dict(TABLES[table].polars_schema)
    try:
        scan = pl.scan_parquet([str(p) for p, _ in files], schema=schema,
                               missing_columns="insert", extra_columns="ignore",
                               hive_partitioning=True, hive_schema={PARTITION: pl.Date()})
        if where is not None:
            scan = scan.filter(where)
        return scan.select(want).collect()
    except (OSError, pl.exceptions.PolarsError) as e:
        first = files[0][0]
        raise LakeError(f"cannot read the data files of lake table {table} (first: {first}): "
                        f"{delta_message(e)}; a file of the table's snapshot is missing or "
                        "damaged: restore it or re-ingest its partition", path=first) from e


def read_rows(
    lake: Path | str,
    table: str,
    *,
    columns: Sequence[str] | None = None,
    where: pl.Expr | None = None,
    days: Sequence[str | date] | None = None,
    as_of: datetime | None = None,
    version: int | None = None,
) -> pl.DataFrame:
    """Rows of lake table `table` (latest version, `version`, or as of `as_of`), typed.

    Args:
        lake: lake root folder.
        table: lake table name.
        columns: these columns, in this order (default: the table's columns, schema order;
            `date`, the partition as `pl.Date`, may be requested).
        where: keep the rows this filter keeps (may use any column and `date`).
        days: read only these partitions (`YYYY-MM-DD` or dates): the others are not opened.
        as_of: time travel (see the module docstring); version: a table version.

    Returns:
        The rows with the table's dtypes (`schemas.TABLES[table].polars_schema`); an empty
        frame with those columns when the table does not exist.

    Raises:
        LakeError: as `open_table`, or a data file is missing or unreadable.
    """
    files = snapshot_files(lake, table, as_of=as_of, version=version, days=days)
    return scan_files(files, table, columns=columns, where=where)
