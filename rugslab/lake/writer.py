"""The lake writer: validate a `RowBatch` and write it into the lake's Delta tables.

For each table (see `rugslab.tables.schemas` for the kinds), one Delta commit per table and write
(`lake.delta_write`; none when nothing changed):

    append   `append_absent`: insert the rows whose key the table lacks (one insert-only
             MERGE; re-ingest inserts nothing). ticks: rows whose key is in the lake with
             another `price_x` are counted (`TableReport.conflicts`); the lake's row stays.
    merge    `upsert`: combine the batch's rows with the lake's rows of the same keys by the
             merge rules (`lake.merge`), commit what changed. For `games`, the coverage
             columns (`ticks_recorded`, `ticks_missing`, `completeness`) are recomputed by
             `rugslab.tables.derived.tick_coverage` from the lake's ticks of the games the
             batch touched; `seeds.hash_ok` is recomputed from the merged row.
    replace  (`gaps`) `replace_rows`: `rugslab.tables.derived.find_gaps` over the lake's ticks
             and games of the games the batch touched replaces those games' rows.
             (`player_games`, `player_reconciliation`) the same, by `rugslab.players` from
             the lake's trades, side bets, leaderboard, games and ticks of the games whose
             trades, side bets or leaderboard the batch touched.

Rows that fail typing or their pandera model go to `rejects` (`lake.validate`). No lock:
concurrent writers are safe through Delta's optimistic commits (a commit that conflicts with
one that landed since it read is retried on the new version, `delta_write`). Derived rows
(coverage, gaps) are computed inside each attempt from the ticks as they are then, so the last
commit always holds values derived from every tick committed before it. What a write reports
as new comes from its own commit's metrics, so concurrent writers never both claim a row.
After writing, each table it committed to gets the per-write maintenance
(`delta_maintain.maintain`: compaction of a partition holding many files, checkpoints, log
cleanup). Order of tables: facts first (raw_events, ticks, trades), then merged state (seeds,
side_bets, games), then derived (gaps), then rejects: derived rows always see the ticks of the
same batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from rugslab.errors import LakeError, SchemaViolation
from rugslab.feed.rules import hash_matches
from rugslab.lake import layout
from rugslab.lake.delta_maintain import COMPACT_AFTER_FILES, MaintenanceReport, maintain
from rugslab.lake.delta_read import read_rows
from rugslab.lake.delta_write import append_absent, replace_rows, upsert
from rugslab.lake.keys import COMPARED, count_conflicts, first_per_key, may_match
from rugslab.lake.merge import merge_rows
from rugslab.lake.validate import batch_frame, validate_frame
from rugslab.players.games import player_games
from rugslab.players.reconcile import reconcile
from rugslab.tables.batch import RowBatch
from rugslab.tables.derived import find_gaps, tick_coverage
from rugslab.tables.schemas import TABLES

#: Tables with their own write step (derived columns, ledgers, the rejects of this write).
_SPECIAL = ("games", "gaps", "player_games", "player_reconciliation", "rejects")
#: Every table, in write order: facts (append), entity states (merge), then the special ones.
WRITE_ORDER = (
    *(t.name for t in TABLES.values() if t.kind == "append" and t.name not in _SPECIAL),
    *(t.name for t in TABLES.values() if t.kind == "merge" and t.name not in _SPECIAL),
    *_SPECIAL,
)
COVERAGE_COLUMNS = ("ticks_recorded", "ticks_missing", "completeness")
#: The tick columns coverage and gaps are computed from (`tables.derived`).
TICK_COLUMNS = ("game_id", "tick")
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
        updated: merge and replace tables: rows of keys already in the lake that this write
            changed (gaps: also rows deleted); 0 for append tables.
        days: partitions (`YYYY-MM-DD`) this write committed to.
    """

    offered: int = 0
    new: int = 0
    rejected: int = 0
    conflicts: int = 0
    revealed: int = 0
    updated: int = 0
    days: set[str] = field(default_factory=set)

    @property
    def committed(self) -> bool:
        """Whether this write made a commit to the table (it inserted or changed rows)."""
        return bool(self.new or self.updated)


@dataclass(slots=True)
class WriteReport:
    """Per-table `TableReport`s of one `write_batch` call (untouched tables are absent), and
    what the per-write maintenance did (`delta_maintain.MaintenanceReport` per table) or why
    it failed (`maintenance_errors`: the write's commits stand; the next write or the nightly
    maintenance tries again)."""

    tables: dict[str, TableReport] = field(default_factory=dict)
    maintenance: list[MaintenanceReport] = field(default_factory=list)
    maintenance_errors: list[str] = field(default_factory=list)

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


def _days(frame: pl.DataFrame) -> set[str]:
    return set(layout.partition_dates(frame).unique().to_list())


def _write_append(lake: Path, table: str, frame: pl.DataFrame, rep: TableReport) -> None:
    key = list(TABLES[table].key)
    compared = COMPARED.get(table, ())
    frame = first_per_key(frame, key)
    rep.offered += frame.height
    if frame.height == 0:
        return
    days = _days(frame)
    if compared:
        existing = read_rows(lake, table, columns=[*key, *compared],
                             where=may_match(table, frame), days=sorted(days))
        if existing.height:
            rep.conflicts += count_conflicts(frame, existing, key, compared)
    inserted = append_absent(lake, table, frame)
    rep.new += inserted
    if inserted:
        rep.days |= days


def _write_merge(
    lake: Path,
    table: str,
    frame: pl.DataFrame,
    rep: TableReport,
    *,
    offered: int | None = None,
    derive: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> None:
    key = list(TABLES[table].key)
    frame = merge_rows(frame, table)
    rep.offered += frame.height if offered is None else offered
    if frame.height == 0:
        return
    revealed_by = _REVEALED_BY.get(table)
    revealed = [0]  # set by the attempt that commits (the last call of `combine`)

    def combine(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
        merged = merge_rows(pl.concat([old, new], how="vertical"), table)
        if derive is not None:
            merged = derive(merged)
        if revealed_by is not None:
            known = old.filter(pl.col(revealed_by).is_not_null()).select(key)
            revealed[0] = (merged.filter(pl.col(revealed_by).is_not_null())
                           .join(known, on=key, how="anti").height)
        return merged

    done = upsert(lake, table, frame, combine)
    rep.new += done.inserted
    rep.updated += done.updated
    if done.inserted or done.updated:
        rep.revealed += revealed[0]
        rep.days |= _days(frame)


def _game_days(game_ids: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for g in game_ids:
        out.setdefault(layout.partition_date(g), []).append(g)
    return out


def _lake_rows(
    lake: Path, table: str, game_ids: Iterable[str], days: Iterable[str],
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    return read_rows(lake, table, columns=columns, days=sorted(set(days)),
                     where=pl.col("game_id").is_in(sorted(set(game_ids))))


def _tick_days(game_ids: Iterable[str], extra: Iterable[str]) -> set[str]:
    """Partitions that can hold ticks of `game_ids`: their games' dates and `extra` (the
    batch's tick partitions: a game id without a date puts its ticks by receive time)."""
    return set(_game_days(game_ids)) | set(extra)


def _fill_coverage(lake: Path, affected: set[str], tick_days: set[str]) -> Any:
    """The derive step of the games merge: coverage columns of the `affected` games from
    the lake's ticks (`TICK_COLUMNS`), read when the step runs (inside each commit attempt)."""
    def derive(games: pl.DataFrame) -> pl.DataFrame:
        mine = games.filter(pl.col("game_id").is_in(sorted(affected)))
        if mine.height == 0:
            return games
        ids = set(mine["game_id"].to_list())
        ticks = _lake_rows(lake, "ticks", ids, _tick_days(ids, tick_days), TICK_COLUMNS)
        cov = tick_coverage(ticks, mine).select("game_id", *COVERAGE_COLUMNS)
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


def _write_games(lake: Path, batch_games: pl.DataFrame, touched: set[str],
                 tick_days: set[str], rep: TableReport) -> None:
    """Merge the batch's games and recompute the coverage of every touched game (a game
    whose ticks came without a games row in the batch is re-read from the lake)."""
    offered = merge_rows(batch_games, "games").height
    others = touched - set(batch_games["game_id"].to_list())
    lake_games = _lake_rows(lake, "games", others, _game_days(others)) if others else None
    frame = batch_games if lake_games is None else pl.concat([batch_games, lake_games])
    _write_merge(lake, "games", frame, rep, offered=offered,
                 derive=_fill_coverage(lake, touched, tick_days))


def _write_gaps(
    lake: Path, affected: set[str], tick_days: set[str], rep: TableReport
) -> list[dict[str, Any]]:
    """Recompute the gaps of `affected` from the lake's ticks and games, in one commit over
    their days (inside each commit attempt: a retry after a concurrent commit reads again)."""
    schema = TABLES["gaps"].polars_schema
    ids = sorted(affected)
    days = sorted(_game_days(ids))
    last: dict[str, Any] = {"bad": [], "rows": 0}

    def compute() -> pl.DataFrame:
        games = _lake_rows(lake, "games", ids, days)
        ticks = _lake_rows(lake, "ticks", ids, _tick_days(ids, tick_days), TICK_COLUMNS)
        computed = find_gaps(ticks, games)
        computed = computed.select([pl.col(c).cast(t) for c, t in schema.items()])
        good, bad = validate_frame(computed, "gaps")
        last["bad"], last["rows"] = bad, good.height
        return good

    done = replace_rows(lake, "gaps", compute, ids)
    rep.rejected += len(last["bad"])
    rep.offered += last["rows"]
    rep.new += done.inserted
    rep.updated += done.updated + done.deleted
    if done.inserted or done.updated or done.deleted:
        rep.days.update(days)
    return list(last["bad"])


_PLAYER_INPUTS = ("trades", "side_bets", "leaderboard", "games", "ticks")

def _write_players(lake: Path, affected: set[str], tick_days: set[str],
                   report: WriteReport) -> list[dict[str, Any]]:
    """Recompute `player_games` and `player_reconciliation` of `affected`, one commit per
    table over all the affected days (a commit per day made a sparse year's build 20x
    slower); the inputs are read inside each attempt (as `_write_gaps`)."""
    ids = sorted(affected)
    days = sorted(_game_days(ids))
    rejects: list[dict[str, Any]] = []
    for table in ("player_games", "player_reconciliation"):
        rep = report.table(table)
        last: dict[str, Any] = {"bad": [], "rows": 0}

        def compute(table: str = table, last: dict[str, Any] = last) -> pl.DataFrame:
            t = {n: _lake_rows(lake, n, ids, _tick_days(ids, tick_days) if n == "ticks"
                               else days) for n in _PLAYER_INPUTS}
            rows = (player_games(t["trades"], t["side_bets"], t["games"], t["ticks"])
                    if table == "player_games" else
                    reconcile(t["leaderboard"], t["trades"], t["side_bets"], t["games"],
                              t["ticks"]))
            good, bad = validate_frame(rows, table)
            last["bad"], last["rows"] = bad, good.height
            return good

        done = replace_rows(lake, table, compute, ids)
        rejects += last["bad"]
        rep.rejected += len(last["bad"])
        rep.offered += last["rows"]
        rep.new += done.inserted
        rep.updated += done.updated + done.deleted
        if done.inserted or done.updated or done.deleted:
            rep.days.update(days)
    return rejects


def write_batch(
    lake: Path | str, batch: RowBatch, *, commits_between_compactions: int = COMPACT_AFTER_FILES
) -> WriteReport:
    """Validate `batch` and write it into the lake at `lake`; rows that fail go to `rejects`.

    Args:
        lake: lake root folder (created if missing).
        batch: rows per table, as filled by the assembler or the legacy importer.
        commits_between_compactions: the per-write maintenance compacts a partition this
            write touched once it holds at least this many files (`delta_maintain.maintain`).

    Returns:
        A `WriteReport`: per table, rows offered, rows new to the lake, rows updated, rows
        rejected, rows that disagree with the lake's row of the same key (ticks), seeds
        revealed, partitions committed to; and what the per-write maintenance did.

    Raises:
        LakeError: a lake table cannot be read or written (read-only or full disk, corrupt
            log, a folder in the old layout, commits lost to concurrent writers 12 times).
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
    for t in WRITE_ORDER:
        if t in frames and t not in _SPECIAL:
            if TABLES[t].kind == "append":
                _write_append(lake, t, frames[t], report.table(t))
            else:
                _write_merge(lake, t, frames[t], report.table(t), derive=_DERIVED.get(t))
    if touched:
        games = frames.get("games", pl.DataFrame(schema=TABLES["games"].polars_schema))
        _write_games(lake, games, touched, tick_days, report.table("games"))
        rejects += _write_gaps(lake, touched, tick_days, report.table("gaps"))
    players = {g for t in ("trades", "side_bets", "leaderboard") if t in frames
               for g in frames[t]["game_id"].to_list()}
    if players or touched:  # after ticks and games: the derived rows see this batch's
        rejects += _write_players(lake, players | touched, tick_days, report)
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
    for t, rep in report.tables.items():
        if rep.committed:
            try:
                report.maintenance.append(maintain(
                    lake, t, days=sorted(rep.days),
                    commits_between_compactions=commits_between_compactions))
            except LakeError as e:  # the rows are committed: a failed tidy-up must not undo
                report.maintenance_errors.append(str(e))  # the write's report
    return report
