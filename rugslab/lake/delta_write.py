"""Writes to the lake's Delta tables, one Delta commit each, safe under concurrent writers.

    append   `append_absent`: an insert-only MERGE (insert the rows whose key is absent).
    merge    `upsert`: read the rows of the frame's keys, combine old and new (the caller's
             rules, e.g. `lake.merge.merge_rows`), MERGE the rows that changed (update matched
             keys, insert the others).
    replace  `replace_rows`: the rows of given games become exactly the frame's rows (one
             MERGE that updates, inserts and deletes).

Concurrency: every write is a Delta MERGE whose predicate names the partitions it reads
(`t.date IN (...)`) and the key. Delta's optimistic commit checks, at commit time, the commits
that landed since the write read its snapshot; when one of them added or removed files in the
partitions this write read, the commit fails with `CommitFailedError` and nothing of it is
visible. The write then re-opens the table and runs again (re-reading what it must), up to
`MAX_ATTEMPTS` times with jittered exponential sleeps (`rugslab.backoff`). So two processes
writing the same keys at once end with each key once; no lock file is used. A kill at any
moment leaves either the commit (complete) or no commit (its data files unreferenced, removed
by `vacuum`).

Keys: every key column is non-null in every table's pandera model (and in the Delta schema),
so a frame with a null key is refused (`SchemaViolation`) before any commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

import polars as pl
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError, DeltaError

from rugslab.backoff import COMMIT_RETRY_BASE_S, COMMIT_RETRY_CAP_S, Backoff
from rugslab.errors import LakeWriteError, SchemaViolation
from rugslab.lake import layout
from rugslab.lake.delta import PARTITION, delta_message, ensure_table, writer_properties
from rugslab.lake.delta_read import scan_files, table_files
from rugslab.lake.keys import first_per_key, in_row_order
from rugslab.lake.native import native_stderr_filtered
from rugslab.lake.sql_text import key_sql, partitions_sql, prune_sql
from rugslab.tables.schemas import TABLES

#: Attempts of one write before it gives up (each after a conflicting concurrent commit).
MAX_ATTEMPTS: Final = 12

T = TypeVar("T")


class Upserted(NamedTuple):
    """Rows a merge-table write inserted (new keys) and updated (changed rows of old keys)."""

    inserted: int
    updated: int


class Replaced(NamedTuple):
    """Rows a replace write inserted, updated (same key, other values) and deleted."""

    inserted: int
    updated: int
    deleted: int


def prepare_frame(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` as rows of lake table `table`: its columns in schema order with its dtypes,
    plus `date` (`pl.Date`): the frame's own `date` column (a date or `YYYY-MM-DD`) when it
    has one, else `layout.partition_dates`.

    Raises:
        SchemaViolation: a column is missing, a column cannot be cast to its dtype, or a key
            column holds nulls (`.failure_cases` names the columns).
    """
    spec = TABLES[table]
    schema = spec.polars_schema
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise SchemaViolation(
            f"{table} rows lack column(s) {missing}: got {frame.columns}. Pass rows with the "
            f"columns of rugslab.tables.schemas.TABLES[{table!r}].", table=table,
            failure_cases=missing)
    try:
        typed = frame.select([pl.col(c).cast(t) for c, t in schema.items()])
        if PARTITION in frame.columns:
            day = frame[PARTITION]
            day = day.str.to_date("%Y-%m-%d") if day.dtype == pl.String else day.cast(pl.Date)
        else:
            day = layout.partition_dates(typed).str.to_date("%Y-%m-%d")
    except pl.exceptions.PolarsError as e:
        raise SchemaViolation(f"{table} rows cannot be typed: {e}", table=table) from e
    typed = typed.with_columns(day.alias(PARTITION))
    null_keys = [k for k in [*spec.key, PARTITION] if typed[k].null_count()]
    if null_keys:
        raise SchemaViolation(
            f"{table} rows have null key column(s) {null_keys}: a key identifies the row, so "
            "it cannot be null; send such rows to `rejects` (rugslab.lake.validate).",
            table=table, failure_cases=null_keys)
    return typed


def with_retries(lake: Path, table: str, attempt: Callable[[DeltaTable], T]) -> T:
    """`attempt(table)` on the table freshly opened (created when missing), again after each
    `CommitFailedError` (with a `Backoff` sleep), at most `MAX_ATTEMPTS` times.

    Raises:
        LakeWriteError: the table cannot be written, or every attempt lost to a concurrent one.
    """
    path = layout.table_dir(lake, table)
    backoff = Backoff(COMMIT_RETRY_BASE_S, COMMIT_RETRY_CAP_S)
    for _ in range(MAX_ATTEMPTS):
        dt = ensure_table(lake, table)
        try:
            with native_stderr_filtered():
                return attempt(dt)
        except CommitFailedError:
            time.sleep(backoff.next_delay())
        except DeltaError as e:
            raise _write_error(path, table, e) from e
        except OSError as e:
            raise LakeWriteError(f"cannot write lake table {table} at {path}: {delta_message(e)}; "
                            "make the lake "
                            "folder writable and check free space", path=path) from e
    raise LakeWriteError(f"lake table {table} at {path}: {MAX_ATTEMPTS} attempts to commit lost to "
                    "concurrent writers; run the command again", path=path)


def _write_error(path: Path, table: str, e: BaseException) -> LakeWriteError:
    msg = delta_message(e)
    low = msg.lower()
    if "read-only" in low or "permission" in low or "access" in low or "no space" in low:
        fix = "make the lake folder writable and check free space (or use another --lake)"
    else:
        fix = "check the lake's disk; if the log is damaged see `rugslab status`"
    return LakeWriteError(f"cannot write lake table {table} at {path}: {msg}; {fix}", path=path)


#: `replace_rows`'s source column marking the rows to delete (not a table column).
_GONE = "_rugslab_gone"


def _merge(dt: DeltaTable, table: str, rows: pl.DataFrame, predicate: str) -> Any:
    return dt.merge(rows.to_arrow(), predicate=predicate, source_alias="s", target_alias="t",
                    writer_properties=writer_properties(table))


def append_absent(lake: Path | str, table: str, frame: pl.DataFrame) -> int:
    """Insert the rows of `frame` whose key (`TABLES[table].key`) is not in the table.

    One insert-only Delta MERGE (`t.date IN (frame's dates) AND key equal`), so only the
    frame's partitions are scanned; rows of the same key within `frame` count once (the
    first). Creates the table when missing. Idempotent: writing the same rows again inserts 0
    and commits nothing. Rows are offered to the merge in `layout.row_order` (raw frames in
    receive order); delta-rs's merge may still reorder them within a file (seen once in CI),
    so readers sort (`catalog.read_table`, the views' ORDER BY, `ray_scan`), never rely on it.

    Args:
        lake: lake root folder.
        table: an append table (`raw_events`, `ticks`, `trades`, `rejects`, `connections`).
        frame: rows with the table's columns, optionally `date` (else `partition_dates`).

    Returns:
        Rows inserted (from the merge's metrics; concurrent writers' rows are not counted).

    Raises:
        SchemaViolation: as `prepare_frame`.
        LakeError: the table cannot be opened or written (read-only disk, corrupt log), or
            `MAX_ATTEMPTS` commits lost to concurrent writers.
    """
    lake = Path(lake)
    key = list(TABLES[table].key)
    rows = in_row_order(first_per_key(prepare_frame(table, frame), key), table)
    if rows.height == 0:
        return 0
    predicate = (f"{partitions_sql(rows[PARTITION].unique())} AND {prune_sql(table, rows)} "
                 f"AND {key_sql(key)}")

    def attempt(dt: DeltaTable) -> int:
        metrics = _merge(dt, table, rows, predicate).when_not_matched_insert_all().execute()
        return int(metrics["num_target_rows_inserted"])

    return with_retries(lake, table, attempt)


def _current(dt: DeltaTable, table: str, days: list[date], where: pl.Expr) -> pl.DataFrame:
    """Rows of `dt`'s loaded version (the version the merge will read and commit against)."""
    cols = [*TABLES[table].polars_schema, PARTITION]
    return scan_files(table_files(dt, days), table, columns=cols, where=where)


def _changed(new: pl.DataFrame, old: pl.DataFrame) -> pl.DataFrame:
    """Rows of `new` that are not in `old` with exactly the same values (null equals null)."""
    if old.height == 0:
        return new
    return new.join(old, on=new.columns, how="anti", nulls_equal=True)


def _in_keys(frame: pl.DataFrame, key: list[str]) -> pl.Expr:
    if len(key) == 1:
        return pl.col(key[0]).is_in(frame[key[0]].unique().implode())
    keys = frame.select(key).unique()
    return pl.struct(key).is_in(keys.select(pl.struct(key)).to_series().implode())


def upsert(
    lake: Path | str,
    table: str,
    frame: pl.DataFrame,
    combine: Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame],
) -> Upserted:
    """Combine `frame` with the table's rows of the same keys and commit what changed.

    In each attempt: read the table's current rows of `frame`'s keys (in `frame`'s
    partitions), `combined = combine(existing, new)`, and MERGE the rows of `combined` that
    differ from `existing` (matched keys updated, others inserted). When nothing differs no
    commit is made (no new version): a re-ingest leaves the table as it was.

    Args:
        lake: lake root folder.
        table: a merge table (`games`, `seeds`, `side_bets`, `verifications`).
        frame: rows with the table's columns (optionally `date`).
        combine: `(existing, new) -> rows`, both with the table's columns (no `date`),
            `existing` older; returns one row per key with the table's columns, e.g.
            `lambda old, new: merge_rows(pl.concat([old, new]), table)`. A row's partition is
            recomputed from it (`layout.partition_dates`).

    Returns:
        `Upserted(inserted, updated)` from the merge's metrics ((0, 0) without a commit).

    Raises:
        SchemaViolation: as `prepare_frame` (for `frame` and for `combine`'s result).
        LakeError: as `append_absent`.
    """
    lake = Path(lake)
    spec = TABLES[table]
    key = list(spec.key)
    cols = list(spec.polars_schema)
    new = prepare_frame(table, frame)
    if new.height == 0:
        return Upserted(0, 0)
    days = sorted(new[PARTITION].unique().to_list())
    where = _in_keys(new, key)

    def attempt(dt: DeltaTable) -> Upserted:
        existing = _current(dt, table, days, where)
        combined = prepare_frame(table, combine(existing.select(cols), new.select(cols)))
        changed = _changed(combined, existing)
        if changed.height == 0:
            return Upserted(0, 0)
        all_days = sorted(set(days) | set(changed[PARTITION].to_list()))
        predicate = (f"{partitions_sql(all_days)} AND {prune_sql(table, changed)} AND "
                     f"{key_sql(key)}")
        metrics = (_merge(dt, table, changed, predicate)
                   .when_matched_update_all().when_not_matched_insert_all().execute())
        return Upserted(int(metrics["num_target_rows_inserted"]),
                        int(metrics["num_target_rows_updated"]))

    return with_retries(lake, table, attempt)


def replace_rows(
    lake: Path | str,
    table: str,
    frame: pl.DataFrame | Callable[[], pl.DataFrame],
    scope_game_ids: Iterable[str],
) -> Replaced:
    """Make the rows of the games `scope_game_ids` exactly `frame`'s rows, in one commit.

    One MERGE over those games' partitions: rows of `frame` whose key exists are updated,
    others inserted, and rows of the scope games that `frame` lacks are deleted. Rows of
    other games are untouched. When the table already holds exactly `frame`'s rows for the
    scope, no commit is made.

    Args:
        lake: lake root folder.
        table: a table with a `game_id` column (the replace table `gaps`).
        frame: the new rows of the scope games (table columns, optionally `date`); may be
            empty (the scope games then lose all their rows). Or a function returning them,
            called in every attempt: rows derived from other tables (gaps from ticks) are then
            recomputed after a concurrent commit made the attempt fail, so the last commit
            always holds rows derived from what it read.
        scope_game_ids: the games whose rows are replaced; every row of `frame` must be of
            one of them.

    Returns:
        `Replaced(inserted, updated, deleted)` ((0, 0, 0) without a commit).

    Raises:
        SchemaViolation: as `prepare_frame`, or `frame` holds rows of games outside the scope.
        LakeError: as `append_absent`.
    """
    lake = Path(lake)
    key = list(TABLES[table].key)
    scope = sorted(set(scope_game_ids))
    if not scope:
        return Replaced(0, 0, 0)
    in_scope = pl.col("game_id").is_in(scope)
    scope_days = {date.fromisoformat(layout.partition_date(g)) for g in scope}

    def rows_of() -> pl.DataFrame:
        new = prepare_frame(table, frame() if callable(frame) else frame).sort(key)
        outside = new.filter(~in_scope)["game_id"].unique().to_list()
        if outside:
            raise SchemaViolation(
                f"{table} rows of games {sorted(outside)[:5]} are outside scope_game_ids; pass "
                "every game of the frame in scope_game_ids", table=table, failure_cases=outside)
        return new

    fixed = None if callable(frame) else rows_of()

    def attempt(dt: DeltaTable) -> Replaced:
        new = fixed if fixed is not None else rows_of()
        days = sorted(scope_days | set(new[PARTITION].to_list()))
        existing = _current(dt, table, days, in_scope).sort(key)
        if existing.equals(new):
            return Replaced(0, 0, 0)
        # the rows to delete go in the source, marked, and are deleted as matched rows: a
        # `when_not_matched_by_source` clause would make delta-rs scan every file of the
        # table (no early filter), so a write's cost grew with the lake (a day into a year's
        # lake took 2.6x a day into a new one, bench/README)
        old_keys = existing.select(key)
        gone = existing.join(new.select(key), on=key, how="anti")
        source = pl.concat([new.with_columns(pl.lit(False).alias(_GONE)),
                            gone.with_columns(pl.lit(True).alias(_GONE))])
        predicate = f"{partitions_sql(days)} AND {key_sql(key)}"
        (_merge(dt, table, source, predicate)
         .when_matched_delete(predicate=f"s.{_GONE}")
         .when_matched_update_all(predicate=f"NOT s.{_GONE}", except_cols=[_GONE])
         .when_not_matched_insert_all(predicate=f"NOT s.{_GONE}", except_cols=[_GONE])
         .execute())
        # counted here: the merge counts every matched row as updated, changed or not
        inserted = new.join(old_keys, on=key, how="anti").height
        deleted = gone.height
        updated = _changed(new, existing).height - inserted
        return Replaced(inserted, updated, deleted)

    return with_retries(lake, table, attempt)
