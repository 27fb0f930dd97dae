"""`gameStateUpdate.leaderboard` entries → `leaderboard` rows (`tables.players.LeaderboardRow`).

Only active and rug frames give rows: a cooldown frame's leaderboard is the previous game's
final one under the new game's id, and presale frames carry an empty one (both checked on the
Dec 2025 captures), so those are counted (`leaderboard.not_in_play`), not stored; the frames
stay in `raw_events`.

`mark_tick` (the tick whose price the numbers use; evidence in `rugslab.players.ledger`): the
frame's own tick for a full frame (it carries `gameHistory`: the snapshot on connect) and for
a rug frame (the rug tick), else the frame's tick - 1: the stream's leaderboard lags a tick.

Per key (game_id, tick, player_id) the earliest received entry is kept (then the smallest
canonical JSON), so the rows do not depend on the order of frames within a batch.

Column mapping: id→player_id, position→rank, pnl→pnl_sol, regularPnl→regular_pnl_sol,
sidebetPnl→sidebet_pnl_sol, shortPnl→short_pnl_sol, pnlPercent→pnl_pct,
positionQty→position_qty, avgCost→avg_cost_x, totalInvested→total_invested_sol,
sideBet{startedAtTick, end, betAmount}→side_bet_start_tick, side_bet_end_tick,
side_bet_amount_sol.
"""

from __future__ import annotations

from typing import Any

import orjson

from rugslab.config import NO_RECV_TS_US as _NO_TS
from rugslab.errors import FrameError
from rugslab.feed.payloads import as_dict, as_list, opt_int, opt_num, opt_str, req_str
from rugslab.feed.rules import (
    AMOUNT_MAX_SOL,
    PAYOUT_MAX_SOL,
    QTY_MAX,
    SIDEBET_END_TICK_MAX,
    TICK_MAX,
)

_CTX = "gameStateUpdate.leaderboard"
#: (game_id, tick, player_id): the key of a `leaderboard` row.
LeaderKey = tuple[str, int, str]


def mark_tick_of(tick: int, *, rug_tick: int | None, full_frame: bool) -> int:
    """The tick whose price a leaderboard of a frame at `tick` is marked at (see module doc)."""
    if rug_tick is not None:
        return rug_tick
    return tick if full_frame else max(tick - 1, 0)


def _pnl(d: dict[str, Any], key: str, ctx: str) -> float | None:
    return opt_num(d, key, ctx, lo=-PAYOUT_MAX_SOL, hi=PAYOUT_MAX_SOL, what="PnL in SOL")


def entry_row(e: Any, *, ctx: str, gid: str, tick: int, mark_tick: int, rugged: bool,
              full_frame: bool, recv_ts_us: int | None) -> dict[str, Any]:
    """One `leaderboard` row from one entry of a frame's `leaderboard` list.

    Raises:
        FrameError: the entry is not an object, lacks `id`, or a field has the wrong type
            or a value beyond the game's bounds (reason names the field and value).
    """
    d = as_dict(e, ctx)
    side = d.get("sideBet")
    side = as_dict(side, f"{ctx}.sideBet") if side is not None else {}
    sctx = f"{ctx}.sideBet"
    return {
        "game_id": gid,
        "tick": tick,
        "player_id": req_str(d, "id", ctx),
        "mark_tick": mark_tick,
        "rugged": rugged,
        "full_frame": full_frame,
        "username": opt_str(d, "username", ctx),
        "level": opt_int(d, "level", ctx),
        "rank": opt_int(d, "position", ctx, lo=1),
        "pnl_sol": _pnl(d, "pnl", ctx),
        "regular_pnl_sol": _pnl(d, "regularPnl", ctx),
        "sidebet_pnl_sol": _pnl(d, "sidebetPnl", ctx),
        "short_pnl_sol": _pnl(d, "shortPnl", ctx),
        "pnl_pct": opt_num(d, "pnlPercent", ctx),
        "position_qty": opt_num(d, "positionQty", ctx, nonneg=True, hi=QTY_MAX, what="qty"),
        "avg_cost_x": opt_num(d, "avgCost", ctx, nonneg=True, hi=1e9, what="price"),
        "total_invested_sol": opt_num(d, "totalInvested", ctx, lo=-AMOUNT_MAX_SOL,
                                      hi=AMOUNT_MAX_SOL, what="amount in SOL"),
        "side_bet_start_tick": opt_int(side, "startedAtTick", sctx, hi=TICK_MAX),
        "side_bet_end_tick": opt_int(side, "end", sctx, hi=SIDEBET_END_TICK_MAX),
        "side_bet_amount_sol": opt_num(side, "betAmount", sctx, nonneg=True,
                                       hi=AMOUNT_MAX_SOL, what="bet_amount_sol"),
        "recv_ts": recv_ts_us,
    }


class LeaderboardBuffer:
    """The best `leaderboard` row per key within one batch (earliest receive time first)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: dict[LeaderKey, dict[str, Any]] = {}

    def offer_frame(self, payload: dict[str, Any], *, gid: str, tick: int,
                    rug_tick: int | None, recv_ts_us: int | None) -> list[str]:
        """Offer every entry of an active or rug frame's `leaderboard` (`payload` is the
        frame's payload, `tick` its `tickCount`, `rug_tick` the rug tick of a rug frame);
        returns the reasons of the entries that could not be read (one reject each), the
        good entries kept."""
        board = payload.get("leaderboard")
        if not board:
            return []
        full_frame = "gameHistory" in payload
        rugged = rug_tick is not None
        mark_tick = mark_tick_of(tick, rug_tick=rug_tick, full_frame=full_frame)
        bad: list[str] = []
        try:
            entries = as_list(board, _CTX)
        except FrameError as e:
            return [e.reason]
        for i, entry in enumerate(entries):
            try:
                row = entry_row(entry, ctx=f"{_CTX}[{i}]", gid=gid, tick=tick, mark_tick=mark_tick,
                                rugged=rugged, full_frame=full_frame, recv_ts_us=recv_ts_us)
            except FrameError as err:
                bad.append(err.reason)
                continue
            self._offer(row)
        return bad

    def _offer(self, row: dict[str, Any]) -> None:
        key = (row["game_id"], row["tick"], row["player_id"])
        old = self.rows.get(key)
        if old is None:
            self.rows[key] = row
            return
        ts, old_ts = (r["recv_ts"] if r["recv_ts"] is not None else _NO_TS for r in (row, old))
        if ts < old_ts or (ts == old_ts and row != old and _canon(row) < _canon(old)):
            self.rows[key] = row


def _canon(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)
