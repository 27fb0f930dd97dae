"""Pandera (polars backend) models, one per lake table, and the table registry.

Every write to the lake goes through `TABLES[name].model`; rows that fail land in `rejects`
with the failed checks (see `rugslab.lake.writer`). Column names carry units:
`*_ts` are UTC timestamps (µs), `*_x` are multipliers of the stake or of the start price,
`*_sol` are amounts in the bet's coin (SOL, or practice tokens when `practice`), `*_ms` and
`*_ns` are durations/clocks.

Values are bounded by what the game allows (prices, ticks, amounts, counts: the constants of
`rugslab.feed.rules`, each with its source); a row beyond a bound is rejected, its reason naming
the check and the value (`ticks: price_x <= 1e9 failed: 1.23e29`, `lake.validate`).

Each table is hive-partitioned by `date` (YYYY-MM-DD, UTC): the game's date for rows with a
`game_id` (the id's `YYYYMMDD` prefix, as the server assigns it), else the receive date, else
`1970-01-01` ("undated"). The `date` column lives in the folder name, not in the files.

Kinds (how `rugslab.lake.writer` writes them):
    append  rows are immutable facts; a write adds only rows whose `key` is not yet in the
            partition (re-ingest adds nothing).
    merge   rows are the current state of an entity that later frames can complete (a seed is
            revealed, a payout resolves a side bet); a write combines old and new rows per
            `key` with the table's `merge_rules` (associative, so the order of writes does not
            matter) and rewrites the partition file atomically.
    replace rows derived from other tables (the gap ledger): a write replaces every row of
            the games it covers.

The paper-trading tables (`paper_decisions`, `paper_results`, `paper_games`) have their models in
`rugslab.tables.paper`, the player tables (`leaderboard`, `player_games`,
`player_reconciliation`) in `rugslab.tables.players`; they are registered here like the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandera.polars as pa
import polars as pl

from rugslab.errors import SchemaViolation
from rugslab.feed.rules import (
    AMOUNT_MAX_SOL,
    GAME_ID_PATTERN,
    GAME_VERSIONS,
    PAYOUT_MAX_SOL,
    PAYOUT_X_MAX,
    PRICE_MAX_X,
    QTY_MAX,
    SIDEBET_END_TICK_MAX,
    TICK_MAX,
    TICKS_PER_GAME_MAX,
    TRADE_TYPES,
)
from rugslab.tables.fields import UTC_TS, LakeRow
from rugslab.tables.fields import within as _within
from rugslab.tables.paper import PaperDecisionRow, PaperGameRow, PaperResultRow
from rugslab.tables.players import LeaderboardRow, PlayerGameRow, PlayerReconciliationRow

TICK_SOURCES = ("live", "partial", "history", "import")
COMPLETENESS = ("complete", "partial", "no_ticks")
GAP_REASONS = ("not_received", "before_join")
CONNECTION_KINDS = ("connected", "connect_failed", "disconnected")
VERIFICATION_STATUSES = ("failed", "verified")  # sorted: merge rule "min" keeps a failure


class RawEvent(LakeRow):
    """Every frame as received: one row per Socket.IO event, arguments kept verbatim."""

    frame_id: str = pa.Field(str_length={"min_value": 16, "max_value": 32})
    recv_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    recv_mono_ns: pl.Int64 = pa.Field(nullable=True)
    session_id: str = pa.Field(nullable=True)
    seq: pl.Int64 = pa.Field(nullable=True)
    event: str
    game_id: str = pa.Field(nullable=True)
    args_json: str
    source: str

    class Config:
        name = "raw_events"


class TickRow(LakeRow):
    """One price per (game, tick). The rug tick carries the crash price and `is_rug`."""

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    price_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X)
    recv_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    source: str = pa.Field(isin=TICK_SOURCES)
    is_rug: bool

    class Config:
        name = "ticks"


class GameRow(LakeRow):
    """One row per game.

    `rugged` is True once any source says the game rugged (a live rug frame, a `gameHistory`
    entry, a legacy rug or post-rug record). A game is right-censored only when `rugged` is
    not True and `rug_tick` is null; `rugged` True with a null `rug_tick` means the rug
    happened at an unknown tick (e.g. Feb-2026 history entries carry no prices).
    """

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    version: str = pa.Field(isin=GAME_VERSIONS, nullable=True)
    server_seed_hash: str = pa.Field(str_matches=r"^[0-9a-f]{64}$", nullable=True)
    first_seen_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    start_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    end_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    first_live_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    last_live_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    rug_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    rugged: bool = pa.Field(nullable=True)
    peak_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    crash_price_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    ticks_recorded: pl.Int32 = pa.Field(ge=0, le=TICKS_PER_GAME_MAX, nullable=True)
    ticks_missing: pl.Int32 = pa.Field(ge=0, le=TICKS_PER_GAME_MAX, nullable=True)
    completeness: str = pa.Field(isin=COMPLETENESS, nullable=True)
    seen_live: bool
    revealed: bool

    class Config:
        name = "games"


class SeedRow(LakeRow):
    """The provably-fair commitment of a game and, once revealed, its server seed."""

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    server_seed_hash: str = pa.Field(str_matches=r"^[0-9a-f]{64}$", nullable=True)
    server_seed: str = pa.Field(nullable=True)
    version: str = pa.Field(isin=GAME_VERSIONS, nullable=True)
    hash_ok: bool = pa.Field(nullable=True)

    class Config:
        name = "seeds"


class TradeRow(LakeRow):
    """One trade (`standard/newTrade` live, or `gameHistory[].globalTrades`), by id."""

    trade_id: str
    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    player_id: str = pa.Field(nullable=True)
    username: str = pa.Field(nullable=True)
    level: pl.Int32 = pa.Field(nullable=True)
    trade_type: str = pa.Field(isin=TRADE_TYPES)
    tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    price_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    qty: pl.Float64 = pa.Field(in_range=_within(QTY_MAX), nullable=True)
    amount_sol: pl.Float64 = pa.Field(in_range=_within(AMOUNT_MAX_SOL), nullable=True)
    bonus_portion_sol: pl.Float64 = pa.Field(in_range=_within(AMOUNT_MAX_SOL), nullable=True)
    real_portion_sol: pl.Float64 = pa.Field(in_range=_within(AMOUNT_MAX_SOL), nullable=True)
    leverage: pl.Float64 = pa.Field(nullable=True)
    coin: str = pa.Field(nullable=True)
    recv_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    source: str = pa.Field(isin=("live", "history"))

    class Config:
        name = "trades"


class SideBetRow(LakeRow):
    """One side bet, placed and (once known) resolved. Key: (game_id, player_id, start_tick).

    Win iff rug tick <= end_tick = start_tick + 40; a win pays `payout_x` (5) times the stake.
    """

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    player_id: str
    start_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    end_tick: pl.Int32 = pa.Field(ge=0, le=SIDEBET_END_TICK_MAX)
    username: str = pa.Field(nullable=True)
    bet_amount_sol: pl.Float64 = pa.Field(ge=0, le=AMOUNT_MAX_SOL)
    payout_x: pl.Float64 = pa.Field(gt=0, le=PAYOUT_X_MAX, nullable=True)
    coin_address: str = pa.Field(nullable=True)
    practice: bool
    bonus_portion_sol: pl.Float64 = pa.Field(in_range=_within(AMOUNT_MAX_SOL), nullable=True)
    real_portion_sol: pl.Float64 = pa.Field(in_range=_within(AMOUNT_MAX_SOL), nullable=True)
    placed_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    placed_id: str = pa.Field(nullable=True)
    payout_id: str = pa.Field(nullable=True)
    resolved: bool
    won: bool = pa.Field(nullable=True)
    resolved_tick: pl.Int32 = pa.Field(ge=0, le=SIDEBET_END_TICK_MAX, nullable=True)
    payout_sol: pl.Float64 = pa.Field(ge=0, le=PAYOUT_MAX_SOL, nullable=True)
    profit_sol: pl.Float64 = pa.Field(
        in_range={"min_value": -AMOUNT_MAX_SOL, "max_value": PAYOUT_MAX_SOL}, nullable=True
    )

    class Config:
        name = "side_bets"


class GapRow(LakeRow):
    """A run of ticks of a game that no source filled (inclusive range)."""

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    tick_from: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    tick_to: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    n_ticks: pl.Int32 = pa.Field(ge=1, le=TICKS_PER_GAME_MAX)
    reason: str = pa.Field(isin=GAP_REASONS)

    class Config:
        name = "gaps"


class RejectRow(LakeRow):
    """Input that could not be stored as a row of its table, with the reason and the raw text."""

    reject_id: str
    table: str
    reason: str
    source: str = pa.Field(nullable=True)
    recv_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]
    raw: str

    class Config:
        name = "rejects"


class VerificationRow(LakeRow):
    """The provably-fair verdict on one game with a revealed seed (`rugslab.fair.verify`).

    `status` is "failed" when any check is False, else "verified". A check is null when the
    lake holds nothing to compare (no hash, no recorded ticks, no peak, no rug tick). Games
    without a revealed seed are counted by `rugslab verify` but get no row. Merge rules make a
    failure sticky: a later run cannot turn a False check (or "failed") back.
    """

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    status: str = pa.Field(isin=VERIFICATION_STATUSES)
    hash_ok: bool = pa.Field(nullable=True)
    path_ok: bool = pa.Field(nullable=True)
    first_mismatch_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    peak_ok: bool = pa.Field(nullable=True)
    rug_tick_ok: bool = pa.Field(nullable=True)
    version: str = pa.Field(isin=GAME_VERSIONS, nullable=True)
    verified_at: UTC_TS  # type: ignore[valid-type]
    reason: str = pa.Field(nullable=True)

    class Config:
        name = "verifications"


class ConnectionRow(LakeRow):
    """One connect, failed connect or disconnect of a collector session (`rugslab collect`)."""

    session_id: str
    connection_no: pl.Int32 = pa.Field(ge=1)
    kind: str = pa.Field(isin=CONNECTION_KINDS)
    recv_ts: UTC_TS  # type: ignore[valid-type]  # collector's wall clock at the event
    url: str = pa.Field(nullable=True)
    transport: str = pa.Field(nullable=True)
    reason: str = pa.Field(nullable=True)
    duration_s: pl.Float64 = pa.Field(ge=0, nullable=True)
    backoff_s: pl.Float64 = pa.Field(ge=0, nullable=True)

    class Config:
        name = "connections"


def require_columns(frame: pl.DataFrame, columns: Iterable[str], *, table: str) -> None:
    """Raise `SchemaViolation` naming the columns a `table` frame lacks (and the fix).

    For functions that take a lake table (or a frame shaped like one) as input.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaViolation(
            f"{table} frame lacks column(s) {missing}: got {frame.columns}. Pass the lake's "
            f"`{table}` table (rugslab.tables.schemas) or a frame with these columns.",
            table=table,
            failure_cases=missing,
        )


Kind = Literal["append", "merge", "replace"]
#: How a merge combines the values of one column across rows with the same key:
#: "first" = first non-null in write order (old before new), "min"/"max", "any" (logical or).
MergeRule = Literal["first", "min", "max", "any"]


@dataclass(frozen=True, slots=True)
class Table:
    """A lake table: its pandera model, primary key and write kind."""

    name: str
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]
    kind: Kind
    merge_rules: tuple[tuple[str, MergeRule], ...] = ()

    def merge_rule(self, column: str) -> MergeRule:
        """The rule for `column` ("first" unless the table names another)."""
        return dict(self.merge_rules).get(column, "first")

    @property
    def columns(self) -> list[str]:
        """The table's column names, in schema order."""
        return list(self.model.to_schema().columns)

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        """Column name → polars dtype, in schema order (for building empty frames)."""
        return {n: c.dtype.type for n, c in self.model.to_schema().columns.items()}


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("raw_events", RawEvent, ("frame_id",), "append"),
        Table("ticks", TickRow, ("game_id", "tick"), "append"),
        Table(
            "games",
            GameRow,
            ("game_id",),
            "merge",
            (
                ("first_seen_ts", "min"),
                ("start_ts", "min"),
                ("end_ts", "min"),
                ("first_live_tick", "min"),
                ("last_live_tick", "max"),
                ("rug_tick", "min"),
                ("rugged", "any"),
                ("peak_x", "max"),
                ("seen_live", "any"),
                ("revealed", "any"),
            ),
        ),
        Table("seeds", SeedRow, ("game_id",), "merge"),
        Table("trades", TradeRow, ("trade_id",), "append"),
        Table(
            "side_bets",
            SideBetRow,
            ("game_id", "player_id", "start_tick"),
            "merge",
            (("resolved", "any"),),
        ),
        Table("gaps", GapRow, ("game_id", "tick_from"), "replace"),
        Table("leaderboard", LeaderboardRow, ("game_id", "tick", "player_id"), "append"),
        Table("player_games", PlayerGameRow, ("game_id", "player_id"), "replace"),
        Table("player_reconciliation", PlayerReconciliationRow,
              ("game_id", "tick", "player_id"), "replace"),
        Table("rejects", RejectRow, ("reject_id",), "append"),
        Table("connections", ConnectionRow, ("session_id", "connection_no", "kind"), "append"),
        Table("paper_decisions", PaperDecisionRow, ("run_id", "order_no"), "append"),
        Table("paper_results", PaperResultRow, ("run_id", "order_no"), "append"),
        Table("paper_games", PaperGameRow, ("run_id", "game_id"), "append"),
        Table(
            "verifications",
            VerificationRow,
            ("game_id",),
            "merge",
            (
                ("status", "min"),
                ("hash_ok", "min"),
                ("path_ok", "min"),
                ("first_mismatch_tick", "min"),
                ("peak_ok", "min"),
                ("rug_tick_ok", "min"),
                ("verified_at", "max"),
            ),
        ),
    )
}
