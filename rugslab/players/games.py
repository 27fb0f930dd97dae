"""`player_games` rows: each player's game rebuilt from the feed (`players.ledger`)."""

from __future__ import annotations

from typing import Any

import polars as pl

from rugslab.players.inputs import GameInputs, game_inputs
from rugslab.players.ledger import Method, replay, side_bet_pnl_sol
from rugslab.tables.schemas import TABLES


def player_game_rows(gid: str, gi: GameInputs, *, method: Method = "average"
                     ) -> list[dict[str, Any]]:
    """One `player_games` row per player with a trade or side bet in game `gid`.

    At the rug (a game with a rug tick and crash price) the open quantity is liquidated at
    the crash price: `unrealized_pnl_sol` = open qty·(crash - avg cost), `realized_pnl_sol`
    then includes it. A game not seen to rug keeps the open position: `open_qty_at_rug`,
    `unrealized_pnl_sol`, `side_bet_pnl_sol` (open bets) and `pnl_sol` are null.
    """
    rows = []
    rugged = gi.rug_tick is not None and gi.crash_price_x is not None
    for pid in sorted(set(gi.trades) | set(gi.bets) | set(gi.practice_bets)):
        trades = gi.trades.get(pid, [])
        pos = replay(trades, method=method)
        avg, open_qty = pos.avg_cost_x, pos.qty
        unrealized = None
        if rugged:
            assert gi.crash_price_x is not None
            unrealized = pos.unrealized_pnl_sol(gi.crash_price_x)
            pos.liquidate(gi.crash_price_x)
        bets = gi.bets.get(pid, [])
        bet_pnls = [side_bet_pnl_sol(b, tick=gi.rug_tick, rug_tick=gi.rug_tick)
                    if gi.rug_tick is not None else None for b in bets]
        bet_pnl = sum(v for v in bet_pnls if v is not None) if rugged else None
        buys = [t for t in trades if t.kind == "buy"]
        sells = [t for t in trades if t.kind == "sell"]
        rows.append({
            "game_id": gid, "player_id": pid, "username": gi.usernames.get(pid),
            "trades": len(trades), "buys": len(buys), "sells": len(sells),
            "short_trades": len(trades) - len(buys) - len(sells),
            "qty_bought": sum(t.qty for t in buys), "qty_sold": sum(t.qty for t in sells),
            "bought_sol": sum(_amount(t) for t in buys),
            "sold_sol": sum(_amount(t) for t in sells),
            "avg_cost_x": avg if trades else None,
            "open_qty_at_rug": open_qty if rugged else None,
            "realized_pnl_sol": pos.realized_pnl_sol,
            "unrealized_pnl_sol": unrealized,
            "side_bets": len(bets), "side_bets_won": sum(1 for v in bet_pnls if v and v > 0),
            "side_bets_practice": gi.practice_bets.get(pid, 0),
            "side_bet_stake_sol": sum(b.amount_sol for b in bets),
            "side_bet_pnl_sol": bet_pnl,
            "pnl_sol": pos.realized_pnl_sol + bet_pnl if bet_pnl is not None else None,
            "rug_tick": gi.rug_tick, "from_start": gi.from_start,
        })
    return rows


def _amount(t: Any) -> float:
    return float(t.amount_sol if t.amount_sol is not None else t.qty * t.price_x)


def player_games(trades: pl.DataFrame, side_bets: pl.DataFrame, games: pl.DataFrame,
                 ticks: pl.DataFrame, *, method: Method = "average") -> pl.DataFrame:
    """`player_games` rows (`tables.players.PlayerGameRow`) of every game in the inputs.

    Args:
        trades, side_bets, games, ticks: lake tables (or frames with their columns; see
            `players.inputs.game_inputs`), of the games wanted.
        method: "average" (the server's convention) or "fifo".

    Returns:
        One row per (game, player) with a trade or side bet, sorted by game_id, player_id.

    Raises:
        SchemaViolation: an input lacks a column.
        ConfigError: an unknown `method`.
    """
    rows = [r for gid, gi in sorted(game_inputs(trades, side_bets, games, ticks).items())
            for r in player_game_rows(gid, gi, method=method)]
    return pl.DataFrame(rows, schema=TABLES["player_games"].polars_schema)
