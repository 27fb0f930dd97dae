"""Pandera models of the player tables: the server's `leaderboard`, the feed-rebuilt
`player_games` and the `player_reconciliation` of the two.

    leaderboard            one row per (game, tick, player) snapshot of the public top-10
                           `leaderboard` of an active or rug `gameStateUpdate` (the first
                           frame received wins a key). Append table. `mark_tick` is the tick
                           whose price the numbers are marked at (`rugslab.players.ledger`).
    player_games           one row per (game, player) that traded or side-bet in the feed:
                           the ledger's totals at the rug. Derived (replace per game).
    player_reconciliation  one row per leaderboard row: the ledger at that tick beside the
                           server's numbers, the differences and a status. Derived (replace
                           per game).

Amounts in SOL (or practice tokens), quantities in the game's units, prices and average
costs as multiples (`*_x`). Source of the field names: PROTOCOL.md; conventions: docs/players.md.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from rugslab.feed.rules import (
    AMOUNT_MAX_SOL,
    GAME_ID_PATTERN,
    PAYOUT_MAX_SOL,
    PRICE_MAX_X,
    QTY_MAX,
    SIDEBET_END_TICK_MAX,
    TICK_MAX,
)
from rugslab.tables.fields import UTC_TS, LakeRow
from rugslab.tables.fields import within as _within

#: `player_reconciliation.status`: within tolerance, outside it, or the ledger is known to
#: lack trades (game not observed from its start, or the server's position moved without a
#: trade of the player in the feed).
RECONCILE_STATUSES = ("incomplete", "match", "mismatch")
_PNL = _within(PAYOUT_MAX_SOL)
_QTY = {"min_value": 0, "max_value": QTY_MAX}


class LeaderboardRow(LakeRow):
    """One player's entry of the public leaderboard of one active or rug frame."""

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    player_id: str
    mark_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    rugged: bool
    full_frame: bool
    username: str = pa.Field(nullable=True)
    level: pl.Int32 = pa.Field(nullable=True)
    rank: pl.Int32 = pa.Field(ge=1, nullable=True)
    pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    regular_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    sidebet_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    short_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    pnl_pct: pl.Float64 = pa.Field(nullable=True)
    position_qty: pl.Float64 = pa.Field(in_range=_QTY, nullable=True)
    avg_cost_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    total_invested_sol: pl.Float64 = pa.Field(in_range=_within(AMOUNT_MAX_SOL), nullable=True)
    side_bet_start_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    side_bet_end_tick: pl.Int32 = pa.Field(ge=0, le=SIDEBET_END_TICK_MAX, nullable=True)
    side_bet_amount_sol: pl.Float64 = pa.Field(ge=0, le=AMOUNT_MAX_SOL, nullable=True)
    recv_ts: UTC_TS = pa.Field(nullable=True)  # type: ignore[valid-type]

    class Config:
        name = "leaderboard"


class PlayerGameRow(LakeRow):
    """One player's game as the feed's trades and side bets rebuild it (average cost)."""

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    player_id: str
    username: str = pa.Field(nullable=True)
    trades: pl.Int32 = pa.Field(ge=0)
    buys: pl.Int32 = pa.Field(ge=0)
    sells: pl.Int32 = pa.Field(ge=0)
    short_trades: pl.Int32 = pa.Field(ge=0)
    qty_bought: pl.Float64 = pa.Field(in_range=_QTY)
    qty_sold: pl.Float64 = pa.Field(in_range=_QTY)
    bought_sol: pl.Float64 = pa.Field(ge=0, le=PAYOUT_MAX_SOL)
    sold_sol: pl.Float64 = pa.Field(ge=0, le=PAYOUT_MAX_SOL)
    avg_cost_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    open_qty_at_rug: pl.Float64 = pa.Field(in_range=_QTY, nullable=True)
    realized_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL)
    unrealized_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    side_bets: pl.Int32 = pa.Field(ge=0)
    side_bets_won: pl.Int32 = pa.Field(ge=0)
    side_bets_practice: pl.Int32 = pa.Field(ge=0)
    side_bet_stake_sol: pl.Float64 = pa.Field(ge=0, le=PAYOUT_MAX_SOL)
    side_bet_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    rug_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX, nullable=True)
    from_start: bool

    class Config:
        name = "player_games"


class PlayerReconciliationRow(LakeRow):
    """The ledger beside one leaderboard row: differences are ledger minus server."""

    game_id: str = pa.Field(str_matches=GAME_ID_PATTERN)
    tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    player_id: str
    mark_tick: pl.Int32 = pa.Field(ge=0, le=TICK_MAX)
    status: str = pa.Field(isin=RECONCILE_STATUSES)
    reason: str = pa.Field(nullable=True)
    ledger_trades: pl.Int32 = pa.Field(ge=0)
    position_qty: pl.Float64 = pa.Field(in_range=_QTY, nullable=True)
    avg_cost_x: pl.Float64 = pa.Field(ge=0, le=PRICE_MAX_X, nullable=True)
    regular_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    sidebet_pnl_sol: pl.Float64 = pa.Field(in_range=_PNL, nullable=True)
    qty_diff: pl.Float64 = pa.Field(nullable=True)
    avg_cost_diff_x: pl.Float64 = pa.Field(nullable=True)
    regular_pnl_diff_sol: pl.Float64 = pa.Field(nullable=True)
    sidebet_pnl_diff_sol: pl.Float64 = pa.Field(nullable=True)

    class Config:
        name = "player_reconciliation"
