"""Lake layout: where each table lives, which partition a row belongs to, and the old layout.

    <lake>/<table>/_delta_log/...                  the Delta table's log (`lake.delta`)
    <lake>/<table>/date=YYYY-MM-DD/<file>.parquet  its data files

The partition date is the game's date for rows with a `game_id` (the id's `YYYYMMDD` prefix,
see `rugslab.feed.frames.game_date`), else the UTC date of the row's receive time (`recv_ts`),
else `1970-01-01` (`UNDATED`). See the `rugslab.tables.schemas` docstring.

The old layout (rugslab before the Delta lake, read only by `lake.migrate`): the same folders
without a log; append partitions held `part-*.parquet` files and `compact-*.parquet` files
whose footer lists the files they supersede (`SUPERSEDES_KEY`); a file named by any compacted
file in its folder is invisible (`data_files`). Temporary files of killed writers are named
`<final name>.tmp-<token>` (`TEMP_MARKER`) and never match `*.parquet`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from rugslab.feed.frames import game_date
from rugslab.tables.schemas import TABLES

UNDATED = "1970-01-01"
COMPACT_PREFIX = "compact-"
SUPERSEDES_KEY = "rugslab.supersedes"
TEMP_MARKER = ".tmp-"
_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
#: Row order inside an append table's files where it is not the key: raw frames in receive
#: order (neighbouring frames share most of their text, so zstd finds the repeats, and a
#: file reads back as the stream it was; ties and missing times are ordered by frame_id).
_ROW_ORDER = {"raw_events": ("recv_ts", "frame_id")}


def row_order(table: str) -> list[str]:
    """The columns an append table's rows are sorted by (nulls last) when written and when
    read: the key unless `_ROW_ORDER` says otherwise. Always a total order (the key is among
    them). Readers sort by it; a file's own order is not guaranteed (`append_absent`)."""
    return list(_ROW_ORDER.get(table, TABLES[table].key))


def table_dir(lake: Path, table: str) -> Path:
    """`<lake>/<table>`.

    Raises:
        KeyError: `table` is not a lake table (see `schemas.TABLES`).
    """
    if table not in TABLES:
        raise KeyError(f"unknown lake table {table!r}; expected one of {sorted(TABLES)}")
    return Path(lake) / table


def partition_dir(lake: Path, table: str, day: str) -> Path:
    """`<lake>/<table>/date=<day>` for a `YYYY-MM-DD` day."""
    return table_dir(lake, table) / f"date={day}"


def partitions(lake: Path, table: str) -> list[str]:
    """The days (`YYYY-MM-DD`) that have a partition folder for `table`, sorted."""
    d = table_dir(lake, table)
    if not d.is_dir():
        return []
    days = [m.group(1) for p in d.iterdir() if p.is_dir() and (m := _PARTITION.match(p.name))]
    return sorted(days)


def data_files(lake: Path, table: str, day: str | None = None) -> list[Path]:
    """The visible Parquet files of `table` (of one partition when `day` is given), sorted.

    Visible: finished (`*.parquet`) and not superseded by a compacted file (module docstring).
    """
    days = [day] if day is not None else partitions(lake, table)
    out: list[Path] = []
    for d in days:
        folder = partition_dir(lake, table, d)
        if folder.is_dir():
            files = sorted(folder.glob("*.parquet"))
            gone = superseded_names(files)
            out.extend(f for f in files if f.name not in gone)
    return out


def supersedes(path: Path) -> list[str]:
    """Names of the files a compacted file supersedes ([] for any other file).

    Raises:
        OSError: the file vanished or cannot be read.
    """
    if not path.name.startswith(COMPACT_PREFIX):
        return []
    meta = pq.read_metadata(path).metadata or {}
    raw = meta.get(SUPERSEDES_KEY.encode())
    return list(json.loads(raw)) if raw else []


def superseded_names(files: list[Path]) -> set[str]:
    """The names among a folder's files that some compacted file in `files` supersedes."""
    gone: set[str] = set()
    for f in files:
        if f.name.startswith(COMPACT_PREFIX):
            try:
                gone.update(supersedes(f))
            except FileNotFoundError:  # purged by a concurrent compaction after listing
                continue
    return gone


def _valid_day(day: str | None) -> str | None:
    if day is None:
        return None
    try:
        date.fromisoformat(day)
    except ValueError:
        return None
    return day


def partition_date(game_id: str | None, recv_ts: datetime | None = None) -> str:
    """The partition day of one row: game date, else receive date (UTC), else `UNDATED`.

    A game id whose prefix is not a real calendar date (e.g. `20251399-...`) does not count.
    """
    if game_id is not None and (day := _valid_day(game_date(game_id))):
        return day
    if recv_ts is not None:
        return recv_ts.astimezone(UTC).date().isoformat()
    return UNDATED


def partition_dates(frame: pl.DataFrame) -> pl.Series:
    """`partition_date` for every row of a lake-table frame, as a `date` string Series.

    Uses the frame's `game_id` column when it has one, then `recv_ts` when it has one.
    """
    n = frame.height
    day = pl.Series("date", [None] * n, dtype=pl.String)
    if "game_id" in frame.columns:
        ids = frame["game_id"].unique().drop_nulls().to_list()
        mapping = {g: _valid_day(game_date(g)) for g in ids}
        day = frame["game_id"].replace_strict(mapping, default=None, return_dtype=pl.String)
    if "recv_ts" in frame.columns:
        recv_day = frame["recv_ts"].dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d")
        day = day.fill_null(recv_day)
    return day.fill_null(UNDATED).alias("date")
