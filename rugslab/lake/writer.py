"""The lake writer: validate a `RowBatch` and write it into the partitions, atomically.

For each table (see `rugslab.schemas` for the kinds):

    append   dedupe the batch by key, drop keys already in the partition (reads only the key
             columns, and ticks' price to count disagreements: `lake.keys`), write the rest
             as a new file `part-<UTC time>-<uuid8>.parquet`,
             rows sorted by `layout.row_order` (the key; raw_events: receive order); then
             `compact.tidy_partition` keeps the partition's file count bounded.
    merge    read the partition, add the batch, combine rows per key (`lake.merge`), rewrite
             the partition's single `data.parquet`. For `games`, the coverage columns
             (`ticks_recorded`, `ticks_missing`, `completeness`) are then recomputed by
             `rugslab.ticks.tick_coverage` from the lake's ticks of the games the batch touched.
    replace  (`gaps`) recompute `rugslab.ticks.find_gaps` from the lake's ticks and games for
             the games the batch touched and replace those games' rows.

Rows that fail typing or their pandera model go to `rejects` (`lake.validate`). Writes hold an
exclusive lock on `<lake>/.write.lock`, so two writers never interleave; what a write reports
as new (`TableReport.new`, `.revealed`) is counted under that lock, so concurrent writers never
both claim the same rows. Under the lock, a process's first write (then one every
`TEMP_SWEEP_EVERY_S`) removes the temporary files of killed writers
(`files.remove_stale_temp_files`). Order of tables: facts first (raw_events, ticks, trades),
then merged state (seeds, side_bets, games), then derived (gaps), then rejects: derived rows
always see the ticks of the same batch.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from rugslab.errors import LakeError, SchemaViolation
from rugslab.games import hash_matches
from rugslab.lake import layout
from rugslab.lake.files import (
    read_files,
    remove_files,
    remove_stale_temp_files,
    write_parquet_atomic,
)
from rugslab.lake.keys import (
    COMPARED,
    count_conflicts,
    first_per_key,
    in_row_order,
    may_match,
    not_in,
)
from rugslab.lake.merge import merge_rows
from rugslab.lake.validate import batch_frame, validate_frame
from rugslab.rows import RowBatch
from rugslab.schemas import TABLES

#: Tables with their own write step (derived columns, ledgers, the rejects of this write).
_SPECIAL = ("games", "gaps", "rejects")
#: Every table, in write order: facts (append), entity states (merge), then the special ones.
WRITE_ORDER = (
    *(t.name for t in TABLES.values() if t.kind == "append" and t.name not in _SPECIAL),
    *(t.name for t in TABLES.values() if t.kind == "merge" and t.name not in _SPECIAL),
    *_SPECIAL,
)
COVERAGE_COLUMNS = ("ticks_recorded", "ticks_missing", "completeness")
#: The tick columns coverage and gaps are computed from (`ticks.tick_coverage`, `find_gaps`).
TICK_COLUMNS = ("game_id", "tick")
LOCK_FILE = ".write.lock"
#: Seconds between two sweeps of stale temporary files by one process (its first write always
#: sweeps): a sweep walks the whole lake, ~0.1 s at 30,000 files.
TEMP_SWEEP_EVERY_S = 600.0
_last_sweep: dict[Path, float] = {}  # resolved lake root → time.monotonic() of its last sweep
#: Merge tables whose rows count as revealed once this column is known (`TableReport.revealed`).
_REVEALED_BY = {"seeds": "server_seed"}


@dataclass(slots=True)
class TableReport:
    """What one write did to one table.

    Attributes:
        offered: rows that passed validation, counted once per key within the batch (for
            `gaps`: the gap rows recomputed for the games the batch touched).
        new: rows whose key was not in the lake before (re-ingest gives 0).
        rejected: rows of the batch sent to `rejects` (wrong type or failed checks).
        conflicts: rows whose key was already in the lake with other values in the table's
            `COMPARED` columns (ticks: `price_x`); the lake's row is kept.
        revealed: `seeds`: rows whose `server_seed` this write made known (the lake held no
            row or a row without it); 0 for other tables.
        files: files written or rewritten.
    """

    offered: int = 0
    new: int = 0
    rejected: int = 0
    conflicts: int = 0
    revealed: int = 0
    files: list[Path] = field(default_factory=list)


@dataclass(slots=True)
class WriteReport:
    """Per-table `TableReport`s of one `write_batch` call (untouched tables are absent), and
    the stale temporary files the write removed (`files.remove_stale_temp_files`)."""

    tables: dict[str, TableReport] = field(default_factory=dict)
    temp_removed: list[Path] = field(default_factory=list)

    def table(self, name: str) -> TableReport:
        """The report of table `name` (created empty on first use)."""
        return self.tables.setdefault(name, TableReport())

    def offered(self, name: str) -> int:
        """Rows of `name` offered (0 when the write did not touch it)."""
        return self.tables[name].offered if name in self.tables else 0

    def new(self, name: str) -> int:
        """Rows of `name` new to the lake (0 when the write did not touch it)."""
        return self.tables[name].new if name in self.tables else 0

    def revealed(self, name: str) -> int:
        """Rows of `name` this write revealed (`TableReport.revealed`; 0 when untouched)."""
        return self.tables[name].revealed if name in self.tables else 0

    @property
    def rejected(self) -> int:
        """Rows of the batch that became `rejects` rows during validation."""
        return sum(r.rejected for r in self.tables.values())


@contextmanager
def lake_lock(lake: Path) -> Iterator[None]:
    """Hold the lake's exclusive write lock (blocks until other writers finish).

    Raises:
        LakeError: the lake folder cannot be created or locked.
    """
    try:
        lake.mkdir(parents=True, exist_ok=True)
        fh = open(lake / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the whole block
    except OSError as e:
        raise LakeError(f"cannot open lake {lake} for writing: {e}", path=lake) from e
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def _by_day(frame: pl.DataFrame) -> Iterable[tuple[str, pl.DataFrame]]:
    days = layout.partition_dates(frame)
    if days.n_unique() == 1:  # the usual batch: no copy of the rows
        yield str(days[0]), frame
        return
    tagged = frame.with_columns(days.alias("__date"))
    for (day,), part in tagged.partition_by("__date", as_dict=True, maintain_order=True).items():
        yield str(day), part.drop("__date")


def _write_append(lake: Path, table: str, frame: pl.DataFrame, rep: TableReport) -> None:
    key = list(TABLES[table].key)
    compared = COMPARED.get(table, ())
    frame = first_per_key(frame, key)
    rep.offered += frame.height
    for day, part in _by_day(frame):
        files = layout.data_files(lake, table, day)
        existing = read_files(files, table, columns=[*key, *compared],
                              where=may_match(table, part))
        if compared and existing.height:
            rep.conflicts += count_conflicts(part, existing, key, compared)
            existing = existing.select(key)
        fresh = not_in(part, existing, key)
        if fresh.height == 0:
            continue
        fresh = in_row_order(fresh, table)
        path = layout.partition_dir(lake, table, day) / layout.new_part_name()
        rep.files.append(write_parquet_atomic(fresh, path))
        rep.new += fresh.height
        _tidy(lake, table, day, [*files, path])


def _tidy(lake: Path, table: str, day: str, files: list[Path]) -> None:
    from rugslab.lake.compact import tidy_partition  # compact imports this module

    tidy_partition(lake, table, day, files=files)


def _rewrite_partition(lake: Path, table: str, day: str, frame: pl.DataFrame) -> Path:
    """Replace the whole partition by `frame` (one `data.parquet`).

    An emptied partition keeps a valid `data.parquet` with no rows: a reader (a catalog
    connection) that listed the file before this write must still be able to open it.
    """
    old = layout.data_files(lake, table, day)
    target = layout.partition_dir(lake, table, day) / layout.MERGED_FILE
    write_parquet_atomic(frame, target)
    remove_files([p for p in old if p != target])
    return target


def _write_merge(
    lake: Path,
    table: str,
    frame: pl.DataFrame,
    rep: TableReport,
    *,
    extra_days: Iterable[str] = (),
    derive: Any = None,
) -> None:
    key = list(TABLES[table].key)
    frame = merge_rows(frame, table)
    rep.offered += frame.height
    parts = dict(_by_day(frame))
    for day in extra_days:
        parts.setdefault(day, frame.clear())
    for day, part in sorted(parts.items()):
        existing = read_files(layout.data_files(lake, table, day), table)
        merged = merge_rows(pl.concat([existing, part], how="vertical"), table)
        if derive is not None:
            merged = derive(merged)
        if merged.equals(existing.sort(key)):
            continue
        rep.new += merged.join(existing.select(key), on=key, how="anti").height
        if (col := _REVEALED_BY.get(table)) is not None:
            known = existing.filter(pl.col(col).is_not_null()).select(key)
            rep.revealed += (merged.filter(pl.col(col).is_not_null())
                             .join(known, on=key, how="anti").height)
        rep.files.append(_rewrite_partition(lake, table, day, merged))


def _game_days(game_ids: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for g in game_ids:
        out.setdefault(layout.partition_date(g), []).append(g)
    return out


def _lake_rows(
    lake: Path, table: str, game_ids: set[str], days: Iterable[str],
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    files = [f for d in sorted(set(days)) for f in layout.data_files(lake, table, d)]
    return read_files(files, table, columns=columns,
                      where=pl.col("game_id").is_in(sorted(game_ids)))


def _fill_coverage(affected: set[str], ticks: pl.DataFrame) -> Any:
    """The derive step of the games merge: coverage columns of the `affected` games from
    `ticks` (their lake ticks, `TICK_COLUMNS`)."""
    from rugslab.ticks import tick_coverage

    def derive(games: pl.DataFrame) -> pl.DataFrame:
        mine = games.filter(pl.col("game_id").is_in(sorted(affected)))
        if mine.height == 0:
            return games
        ids = set(mine["game_id"].to_list())
        mine_ticks = ticks.filter(pl.col("game_id").is_in(sorted(ids)))
        cov = tick_coverage(mine_ticks, mine).select("game_id", *COVERAGE_COLUMNS)
        schema = TABLES["games"].polars_schema
        joined = games.join(cov, on="game_id", how="left", suffix="__cov")
        hit = pl.col("game_id").is_in(sorted(ids))
        return joined.with_columns(
            [pl.when(hit).then(pl.col(f"{c}__cov")).otherwise(pl.col(c)).cast(schema[c]).alias(c)
             for c in COVERAGE_COLUMNS]
        ).select(list(schema))

    return derive


def _seed_check(seeds: pl.DataFrame) -> pl.DataFrame:
    """`hash_ok` recomputed after the merge: a seed and its hash that arrived in different
    batches are checked once both are in the row."""
    ok = [hash_matches(s, h) for s, h in seeds.select("server_seed", "server_seed_hash")
          .iter_rows()]
    return seeds.with_columns(pl.Series("hash_ok", ok, dtype=pl.Boolean))


#: Merge tables with a column derived from the merged row.
_DERIVED = {"seeds": _seed_check}


def _write_gaps(
    lake: Path, affected: set[str], ticks: pl.DataFrame, rep: TableReport
) -> list[dict[str, Any]]:
    from rugslab.ticks import find_gaps

    key = list(TABLES["gaps"].key)
    rejects: list[Any] = []
    for day, ids in sorted(_game_days(affected).items()):
        games = _lake_rows(lake, "games", set(ids), [day])
        computed = find_gaps(ticks.filter(pl.col("game_id").is_in(ids)), games)
        schema = TABLES["gaps"].polars_schema
        computed = computed.select([pl.col(c).cast(t) for c, t in schema.items()])
        computed, bad = validate_frame(computed, "gaps")
        rejects += bad
        rep.rejected += len(bad)
        rep.offered += computed.height
        existing = read_files(layout.data_files(lake, "gaps", day), "gaps")
        kept = existing.filter(~pl.col("game_id").is_in(ids))
        new = pl.concat([kept, computed], how="vertical").sort(key)
        if new.equals(existing.sort(key)):
            continue
        rep.new += computed.join(existing, on=list(computed.columns), how="anti").height
        rep.files.append(_rewrite_partition(lake, "gaps", day, new))
    return rejects


def _sweep_temp_files(lake: Path) -> list[Path]:
    """`remove_stale_temp_files` at the first write of this process, then at most once every
    `TEMP_SWEEP_EVERY_S`. Call with the write lock held."""
    root, now = lake.resolve(), time.monotonic()
    last = _last_sweep.get(root)
    if last is not None and now - last < TEMP_SWEEP_EVERY_S:
        return []
    _last_sweep[root] = now
    return remove_stale_temp_files(lake)


def write_batch(lake: Path | str, batch: RowBatch) -> WriteReport:
    """Validate `batch` and write it into the lake at `lake`; rows that fail go to `rejects`.

    Args:
        lake: lake root folder (created if missing).
        batch: rows per table, as filled by the assembler or the legacy importer.

    Returns:
        A `WriteReport`: per table, rows offered, rows new to the lake, rows rejected, rows
        that disagree with the lake's row of the same key (ticks), seeds revealed, files; and
        the stale temporary files removed.

    Raises:
        LakeError: a lake file cannot be read or written.
    """
    lake = Path(lake)
    report = WriteReport()
    frames: dict[str, pl.DataFrame] = {}
    rejects: list[dict[str, Any]] = []
    for t in WRITE_ORDER:
        if t == "rejects" or not batch.rows.get(t):
            continue
        frame, bad_type = batch_frame(batch, t)
        good, bad_check = validate_frame(frame, t)
        report.table(t).rejected = len(bad_type) + len(bad_check)
        rejects += bad_type + bad_check
        frames[t] = good
    touched: set[str] = set()
    tick_days: set[str] = set()
    for t in ("ticks", "games", "gaps"):
        if t in frames:
            touched.update(frames[t]["game_id"].to_list())
    if "ticks" in frames:
        tick_days = set(layout.partition_dates(frames["ticks"]).unique().to_list())
    with lake_lock(lake):
        report.temp_removed = _sweep_temp_files(lake)
        for t in WRITE_ORDER:
            if t in frames and t not in _SPECIAL:
                if TABLES[t].kind == "append":
                    _write_append(lake, t, frames[t], report.table(t))
                else:
                    _write_merge(lake, t, frames[t], report.table(t), derive=_DERIVED.get(t))
        if touched:
            games = frames.get("games", pl.DataFrame(schema=TABLES["games"].polars_schema))
            # the lake ticks of the touched games, read once for coverage and gaps (a game's
            # ticks live in its own date's partition)
            ticks = _lake_rows(lake, "ticks", touched, tick_days | set(_game_days(touched)),
                               TICK_COLUMNS)
            _write_merge(lake, "games", games, report.table("games"),
                         extra_days=_game_days(touched), derive=_fill_coverage(touched, ticks))
            rejects += _write_gaps(lake, touched, ticks, report.table("gaps"))
        reject_rows = RowBatch()
        reject_rows.extend("rejects", [*batch.rows.get("rejects", []), *rejects])
        if len(reject_rows):
            frame, untyped = batch_frame(reject_rows, "rejects")
            if untyped:
                raise SchemaViolation(
                    f"rejects rows cannot be typed: {untyped[0]['reason']}", table="rejects"
                )
            good, _ = validate_frame(frame, "rejects")  # raises SchemaViolation on failure
            _write_append(lake, "rejects", good, report.table("rejects"))
    return report
