"""The lake rows a player ledger reads, grouped per game and player.

Pure functions over polars frames shaped like the lake's `trades`, `side_bets`, `games` and
`ticks` tables (extra columns ignored), shared by `players.games` and `players.reconcile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from rugslab.feed.rules import SIDEBET_PAYOUT_X
from rugslab.players.ledger import SideBet, Trade
from rugslab.tables.schemas import require_columns

TRADE_COLUMNS = ("game_id", "player_id", "trade_type", "tick", "price_x", "qty", "amount_sol",
                 "recv_ts", "trade_id")
BET_COLUMNS = ("game_id", "player_id", "start_tick", "end_tick", "bet_amount_sol", "payout_x",
               "practice")
GAME_COLUMNS = ("game_id", "rug_tick", "crash_price_x", "first_seen_ts", "start_ts", "revealed")


@dataclass(slots=True)
class GameInputs:
    """One game's facts: rug tick, crash price, whether it was observed from its start (seen
    before tick 0 was) and revealed (its `gameHistory` entry, which lists its side bets, was
    seen), its tick prices, and per player the trades (in play order) and the
    side bets (practice bets apart)."""

    rug_tick: int | None = None
    crash_price_x: float | None = None
    from_start: bool = False
    revealed: bool = False
    prices: dict[int, float] = field(default_factory=dict)
    trades: dict[str, list[Trade]] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    bets: dict[str, list[SideBet]] = field(default_factory=dict)
    practice_bets: dict[str, int] = field(default_factory=dict)


def game_inputs(trades: pl.DataFrame, side_bets: pl.DataFrame, games: pl.DataFrame,
                ticks: pl.DataFrame) -> dict[str, GameInputs]:
    """Per game id (every game of any input): its `GameInputs`.

    Trades without a player, tick, price or quantity are left out (they cannot be replayed);
    trades of one player are ordered by tick, then receive time, then trade id. The crash
    price is the game's `crash_price_x`, else the price of its rug tick.

    Raises:
        SchemaViolation: an input lacks a column it needs.
    """
    require_columns(trades, TRADE_COLUMNS, table="trades")
    require_columns(side_bets, BET_COLUMNS, table="side_bets")
    require_columns(games, GAME_COLUMNS, table="games")
    require_columns(ticks, ("game_id", "tick", "price_x"), table="ticks")
    out: dict[str, GameInputs] = {}

    def of(gid: str) -> GameInputs:
        return out.setdefault(gid, GameInputs())

    g = games.group_by("game_id").agg(
        pl.col("rug_tick").min(), pl.col("crash_price_x").min(),
        pl.col("first_seen_ts").min(), pl.col("start_ts").min(), pl.col("revealed").any())
    for gid, rug, crash, seen, start, revealed in g.iter_rows():
        gi = of(gid)
        gi.revealed = bool(revealed)
        gi.rug_tick, gi.crash_price_x = rug, crash
        gi.from_start = seen is not None and start is not None and seen < start
    for gid, tick, price in ticks.select("game_id", "tick", "price_x").iter_rows():
        of(gid).prices[tick] = price
    for gi in out.values():
        if gi.crash_price_x is None and gi.rug_tick is not None:
            gi.crash_price_x = gi.prices.get(gi.rug_tick)
    usable = trades.filter(pl.col("player_id").is_not_null() & pl.col("tick").is_not_null()
                           & pl.col("price_x").is_not_null() & pl.col("qty").is_not_null())
    cols = ["game_id", "player_id", "trade_type", "tick", "price_x", "qty", "amount_sol"]
    if "username" in usable.columns:
        cols.append("username")
    for r in usable.sort("game_id", "player_id", "tick", "recv_ts", "trade_id",
                         nulls_last=True).select(cols).iter_rows(named=True):
        gi = of(r["game_id"])
        gi.trades.setdefault(r["player_id"], []).append(
            Trade(r["tick"], r["trade_type"], r["qty"], r["price_x"], r["amount_sol"]))
        if r.get("username"):
            gi.usernames[r["player_id"]] = r["username"]
    for gid, pid, start, end, amount, payout_x, practice in side_bets.select(
            BET_COLUMNS).sort("game_id", "player_id", "start_tick").iter_rows():
        gi = of(gid)
        if practice:
            gi.practice_bets[pid] = gi.practice_bets.get(pid, 0) + 1
            continue
        gi.bets.setdefault(pid, []).append(
            SideBet(start, end, amount, payout_x or SIDEBET_PAYOUT_X))
    return out
