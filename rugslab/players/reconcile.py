"""`player_reconciliation`: the ledger beside every leaderboard row of the server.

For each `leaderboard` row (game, tick, player, mark tick m) the ledger replays the player's
feed trades before m (and, as a second candidate, also those at m: a trade shows one tick
late or on time, `players.ledger`), applies the rug's liquidation on a rug frame, marks the
position at the price of tick m, and sums the side bets resolved by m (practice bets apart).

Status (in this order):
    incomplete  `not_observed_from_start`: the game was first seen after its tick 0, so
                earlier trades are unknown; `trade_missing_from_feed`: between two of the
                player's snapshots (or since the game's start) the server's position
                (`positionQty`, `avgCost`) or realized PnL (`regularPnl` less the open
                position's mark) moved with no trade of the player in the feed at ticks
                [previous mark, mark]; from then on every row of the player in that game;
                `no_mark_price`: the lake has no price for the mark tick;
                `side_bets_not_revealed`: the server shows side-bet PnL but the game's
                `gameHistory` entry (the only list of its side bets) was never seen.
    match       every compared value (position, average cost, regular and side-bet PnL)
                within `TOLERANCE` of the server's, for one of the two candidates.
    mismatch    otherwise: data, not an error (`rugslab players` shows examples).
The incomplete test reads only the server's numbers and the presence of feed trades, never
the ledger's arithmetic, so a wrong ledger shows as mismatches.
"""

from __future__ import annotations

import copy
from typing import Any

import polars as pl

from rugslab.players.inputs import GameInputs, game_inputs
from rugslab.players.ledger import QTY_EPS, Position, apply, side_bets_pnl_sol
from rugslab.tables.schemas import TABLES, require_columns

#: Largest difference (SOL, quantity, multiple) that still matches: the server prints
#: 9 decimals and sums floats, so differences of ~1e-9 are rounding.
TOLERANCE = 1e-6
_LB_COLUMNS = ("game_id", "tick", "player_id", "mark_tick", "rugged", "position_qty",
               "avg_cost_x", "regular_pnl_sol", "sidebet_pnl_sol")


def _server_state(r: dict[str, Any], mark: float | None) -> tuple[float, float, float] | None:
    qty, avg, pnl = r["position_qty"] or 0.0, r["avg_cost_x"] or 0.0, r["regular_pnl_sol"]
    if pnl is None or (mark is None and qty > QTY_EPS):
        return None
    return qty, avg, pnl - (qty * (mark - avg) if qty > QTY_EPS and mark is not None else 0.0)


def _moved(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    return any(abs(x - y) > TOLERANCE * max(1.0, abs(x), abs(y)) for x, y in zip(a, b, strict=True))


def _candidate(pos: Position, gi: GameInputs, r: dict[str, Any], mark: float | None
               ) -> dict[str, float | None]:
    if r["rugged"] and gi.crash_price_x is not None:
        pos = copy.deepcopy(pos)
        pos.liquidate(gi.crash_price_x)
    return {"position_qty": pos.qty, "avg_cost_x": pos.avg_cost_x,
            "regular_pnl_sol": pos.regular_pnl_sol(mark) if mark is not None else None}


def _player_rows(gi: GameInputs, pid: str, snaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    trades = gi.trades.get(pid, [])
    bets = gi.bets.get(pid, [])
    pos, i, out = Position(), 0, []
    prev_state, prev_mark, missing = (0.0, 0.0, 0.0), 0, False
    for r in snaps:
        m = r["mark_tick"]
        mark = gi.crash_price_x if r["rugged"] else gi.prices.get(m)
        while i < len(trades) and trades[i].tick < m:
            apply(pos, trades[i])
            i += 1
        with_m = copy.deepcopy(pos)
        j = i
        while j < len(trades) and trades[j].tick <= m:
            apply(with_m, trades[j])
            j += 1
        if r["rugged"]:  # every trade up to the rug counts, then the liquidation
            pos, i = with_m, j
        state = _server_state(r, mark)
        traded = any(prev_mark <= t.tick <= m for t in trades)
        if state is not None and not traded and _moved(state, prev_state):
            missing = True
        if state is not None:
            prev_state, prev_mark = state, m
        sb = side_bets_pnl_sol(bets, tick=m, rug_tick=gi.rug_tick if r["rugged"] else None)
        cands = [_candidate(p, gi, r, mark) for p in (pos, with_m)]
        diffs = [_diffs(c, r, sb) for c in cands]
        best = min(diffs, key=lambda d: max((abs(v) for v in d.values() if v is not None),
                                            default=float("inf")))
        led = cands[diffs.index(best)]
        if not gi.from_start:
            status, reason = "incomplete", "not_observed_from_start"
        elif missing:
            status, reason = "incomplete", "trade_missing_from_feed"
        elif mark is None:
            status, reason = "incomplete", "no_mark_price"
        elif not gi.revealed and abs(r["sidebet_pnl_sol"] or 0.0) > TOLERANCE:
            status, reason = "incomplete", "side_bets_not_revealed"
        elif all(v is not None and abs(v) <= TOLERANCE for v in best.values()):
            status, reason = "match", None
        else:
            status, reason = "mismatch", None
        out.append({
            "game_id": r["game_id"], "tick": r["tick"], "player_id": pid, "mark_tick": m,
            "status": status, "reason": reason, "ledger_trades": j if r["rugged"] else i,
            "position_qty": led["position_qty"], "avg_cost_x": led["avg_cost_x"],
            "regular_pnl_sol": led["regular_pnl_sol"], "sidebet_pnl_sol": sb,
            "qty_diff": best["qty_diff"], "avg_cost_diff_x": best["avg_cost_diff_x"],
            "regular_pnl_diff_sol": best["regular_pnl_diff_sol"],
            "sidebet_pnl_diff_sol": best["sidebet_pnl_diff_sol"],
        })
    return out


def _diffs(c: dict[str, float | None], r: dict[str, Any], sb: float) -> dict[str, float | None]:
    def d(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    return {"qty_diff": d(c["position_qty"], r["position_qty"]),
            "avg_cost_diff_x": d(c["avg_cost_x"], r["avg_cost_x"]),
            "regular_pnl_diff_sol": d(c["regular_pnl_sol"], r["regular_pnl_sol"]),
            "sidebet_pnl_diff_sol": d(sb, r["sidebet_pnl_sol"])}


def reconcile(leaderboard: pl.DataFrame, trades: pl.DataFrame, side_bets: pl.DataFrame,
              games: pl.DataFrame, ticks: pl.DataFrame) -> pl.DataFrame:
    """`player_reconciliation` rows (`tables.players.PlayerReconciliationRow`): one per
    leaderboard row, the ledger's values, ledger - server differences and the status.

    Args:
        leaderboard, trades, side_bets, games, ticks: lake tables (or frames with their
            columns) of the games wanted.

    Returns:
        Rows sorted by game_id, tick, player_id (see the module doc for the statuses).

    Raises:
        SchemaViolation: an input lacks a column.
    """
    require_columns(leaderboard, _LB_COLUMNS, table="leaderboard")
    inputs = game_inputs(trades, side_bets, games, ticks)
    rows: list[dict[str, Any]] = []
    lb = leaderboard.select(_LB_COLUMNS).sort("game_id", "player_id", "mark_tick", "tick")
    for (gid, pid), part in lb.group_by(["game_id", "player_id"], maintain_order=True):
        gi = inputs.get(str(gid)) or GameInputs()
        rows += _player_rows(gi, str(pid), part.to_dicts())
    schema = TABLES["player_reconciliation"].polars_schema
    return pl.DataFrame(rows, schema=schema).sort("game_id", "tick", "player_id")
