"""Trade and side-bet records → fields of `trades` and `side_bets` rows.

`trade_row` maps a trade (`standard/newTrade`, `gameHistory[].globalTrades`, Aug 2025 `trades`)
to a `trades` row; `placed_bet` / `payout_bet` map side-bet records (`globalSidebets` placed and
payout, Aug 2025 `newSideBet`) to the fields of a `side_bets` row keyed
(game_id, player_id, start_tick); `bet_row` joins the two; `RecordBuffer` keeps the best record
per key within a batch, independent of the order of offers.

Each mapper raises `FrameError` (reason names the field and value) for a record it cannot map.

Source: PROTOCOL.md, "Side bets", "Trades"; field names checked against the captures and the
Aug 2025 console frames. Column mapping: tickIndex→tick, price→price_x, type→trade_type,
amount→amount_sol, bonusPortion→bonus_portion_sol, realPortion→real_portion_sol.
"""

from __future__ import annotations

from typing import Any

import orjson

from rugslab.config import NO_RECV_TS_US as _NO_TS
from rugslab.errors import FrameError
from rugslab.feed.payloads import (
    as_dict,
    game_id,
    opt_int,
    opt_num,
    opt_price,
    opt_str,
    req_id,
    req_int,
    req_num,
    req_str,
    shown,
)
from rugslab.feed.rules import (
    AMOUNT_MAX_SOL,
    PAYOUT_MAX_SOL,
    PAYOUT_X_MAX,
    QTY_MAX,
    SIDEBET_END_TICK_MAX,
    TICK_MAX,
    TRADE_TYPES,
)

PRACTICE_COIN = "0xPractice"
#: 2100-01-01 in ms since the epoch: a later `timestamp` is not a real time.
MAX_EPOCH_MS = 4_102_444_800_000

#: (game_id, player_id, start_tick): the key of a `side_bets` row.
BetKey = tuple[str, str, int]

# The bound of a signed SOL amount (the schemas' `_within(AMOUNT_MAX_SOL)`), checked at parse
# time so a bad amount is a reject naming the field, not a row the lake refuses.
def _sol(d: dict[str, Any], key: str, ctx: str) -> float | None:
    return opt_num(d, key, ctx, lo=-AMOUNT_MAX_SOL, hi=AMOUNT_MAX_SOL, what="amount in SOL")


def trade_row(
    d: Any, *, ctx: str, source: str, recv_ts_us: int | None, default_game_id: str | None = None
) -> dict[str, Any]:
    """A `trades` row from one trade record.

    Args:
        d: the record: `id, gameId, playerId, username, level, type, price, qty, tickIndex,
            coin, amount, bonusPortion, realPortion, leverage` (most optional).
        ctx: where the record sits, for error reasons (e.g. `standard/newTrade`).
        source: `live` or `history`.
        recv_ts_us: receive time (µs, UTC) for live trades; None for history.
        default_game_id: game id to use when the record has no `gameId` (Aug 2025 `trades`).

    Raises:
        FrameError: not an object, bad id/gameId/type, or a field of the wrong type.
    """
    d = as_dict(d, ctx)
    gid = d.get("gameId")
    if gid is None:
        gid = default_game_id
    ttype = d.get("type")
    if ttype not in TRADE_TYPES:
        raise FrameError(f"{ctx}.type {shown(ttype)}: expected one of {', '.join(TRADE_TYPES)}")
    return {
        "trade_id": req_id(d, "id", ctx),
        "game_id": game_id(gid, ctx),
        "player_id": opt_str(d, "playerId", ctx),
        "username": opt_str(d, "username", ctx),
        "level": opt_int(d, "level", ctx),
        "trade_type": ttype,
        "tick": opt_int(d, "tickIndex", ctx, hi=TICK_MAX),
        "price_x": opt_price(d, "price", ctx),
        "qty": opt_num(d, "qty", ctx, lo=-QTY_MAX, hi=QTY_MAX, what="qty"),
        "amount_sol": _sol(d, "amount", ctx),
        "bonus_portion_sol": _sol(d, "bonusPortion", ctx),
        "real_portion_sol": _sol(d, "realPortion", ctx),
        "leverage": opt_num(d, "leverage", ctx),
        "coin": opt_str(d, "coin", ctx),
        "recv_ts": recv_ts_us,
        "source": source,
    }


def _bet_common(d: dict[str, Any], ctx: str, gid: str) -> dict[str, Any]:
    coin = opt_str(d, "coinAddress", ctx)
    payout_x = opt_num(d, "xPayout", ctx, nonneg=True, hi=PAYOUT_X_MAX, what="payout_x")
    if payout_x is not None and payout_x <= 0:
        raise FrameError(f"{ctx}.xPayout {shown(d['xPayout'])}: expected a number > 0")
    rec_gid = d.get("gameId")
    if rec_gid is not None and rec_gid != gid:
        raise FrameError(f"{ctx}.gameId {shown(rec_gid)}: expected {gid!r} (its game)")
    return {
        "game_id": gid,
        "player_id": req_str(d, "playerId", ctx),
        "username": opt_str(d, "username", ctx),
        "bet_amount_sol": req_num(d, "betAmount", ctx, hi=AMOUNT_MAX_SOL, what="bet_amount_sol"),
        "payout_x": payout_x,
        "coin_address": coin,
        "practice": coin == PRACTICE_COIN,
    }


def placed_bet(d: Any, *, ctx: str, gid: str) -> tuple[BetKey, dict[str, Any]]:
    """Key and fields of a side bet's `placed` record.

    Accepts the Dec 2025 `globalSidebets` form (`startedAtTick`, `end`, `id`) and the Aug 2025
    `newSideBet` form (`startTick`, `endTick`, no id). `timestamp` (ms) becomes `placed_ts` (µs).

    Raises:
        FrameError: a required field (playerId, start tick, end tick, betAmount) is missing or
            of the wrong type.
    """
    d = as_dict(d, ctx)
    row = _bet_common(d, ctx, gid)
    start_key = "startedAtTick" if "startedAtTick" in d else "startTick"
    end_key = "end" if "end" in d else "endTick"
    ts_ms = opt_int(d, "timestamp", ctx, hi=MAX_EPOCH_MS)
    placed_id = d.get("id")
    row.update(
        start_tick=req_int(d, start_key, ctx, hi=TICK_MAX),
        end_tick=req_int(d, end_key, ctx, hi=SIDEBET_END_TICK_MAX),
        bonus_portion_sol=_sol(d, "bonusPortion", ctx),
        real_portion_sol=_sol(d, "realPortion", ctx),
        placed_ts=ts_ms * 1000 if ts_ms is not None else None,
        placed_id=req_id(d, "id", ctx) if placed_id is not None else None,
    )
    return (gid, row["player_id"], row["start_tick"]), row


def payout_bet(d: Any, *, ctx: str, gid: str) -> tuple[BetKey, dict[str, Any]]:
    """Key and fields of a side bet's `payout` record (`payout` 0 = lost).

    Gives `resolved` True, `won` = payout > 0, `payout_sol`, `profit_sol`, `resolved_tick`
    (= `tickIndex`) and `payout_id`.

    Raises:
        FrameError: a required field (playerId, startTick, endTick, betAmount, payout) is
            missing or of the wrong type.
    """
    d = as_dict(d, ctx)
    row = _bet_common(d, ctx, gid)
    payout = req_num(d, "payout", ctx, hi=PAYOUT_MAX_SOL, what="payout_sol")
    row.update(
        start_tick=req_int(d, "startTick", ctx, hi=TICK_MAX),
        end_tick=req_int(d, "endTick", ctx, hi=SIDEBET_END_TICK_MAX),
        payout_id=req_id(d, "id", ctx) if d.get("id") is not None else None,
        resolved=True,
        won=payout > 0,
        resolved_tick=opt_int(d, "tickIndex", ctx, hi=SIDEBET_END_TICK_MAX),
        payout_sol=payout,
        profit_sol=opt_num(d, "profit", ctx, lo=-AMOUNT_MAX_SOL, hi=PAYOUT_MAX_SOL,
                           what="profit_sol"),
    )
    return (gid, row["player_id"], row["start_tick"]), row


def bet_row(placed: dict[str, Any] | None, payout: dict[str, Any] | None) -> dict[str, Any]:
    """One `side_bets` row from the placed and/or payout fields of the same key.

    The placed record wins for fields both carry; `resolved` is False (and `won` null) until a
    payout record is known.
    """
    row: dict[str, Any] = {"resolved": False}
    if payout is not None:
        row.update(payout)
    if placed is not None:
        row.update(placed)
    return row


class RecordBuffer:
    """Best trade per trade id and best placed/payout record per side-bet key in one batch.

    Trades: live (rank 0) beats history (rank 1), then the earlier receive time; exact ties
    with different content are broken by the canonical JSON, so the result does not depend on
    the order of offers. Side bets: per key one placed and one payout record (canonical-JSON
    minimum when several differ), merged by `bet_row`.
    """

    __slots__ = ("bets", "key_conflicts", "trades")

    def __init__(self) -> None:
        self.trades: dict[str, tuple[int, int, dict[str, Any]]] = {}
        self.bets: dict[BetKey, list[dict[str, Any] | None]] = {}
        #: records with another bet's id under the same (game, player, start tick) key: one
        #: row keeps one of them; the frames stay in raw_events and the count in the summary
        self.key_conflicts = 0

    def counts(self) -> dict[str, int]:
        """`side_bets` (keys offered) and `side_bets.key_conflict` for the batch counters."""
        out = {"side_bets": len(self.bets)}
        if self.key_conflicts:
            out["side_bets.key_conflict"] = self.key_conflicts
        return out

    def offer_trade(self, row: dict[str, Any], rank: int) -> None:
        """Keep `row` for its trade id unless a better one is held (lower `rank`: live before
        history; then the earlier receive time)."""
        ts = row["recv_ts"] if row["recv_ts"] is not None else _NO_TS
        old = self.trades.get(row["trade_id"])
        if (
            old is None
            or (rank, ts) < old[:2]
            or ((rank, ts) == old[:2] and row != old[2] and _canon(row) < _canon(old[2]))
        ):
            self.trades[row["trade_id"]] = (rank, ts, row)

    def offer_bet(self, key: BetKey, fields: dict[str, Any], slot: int) -> None:
        """`slot` 0 = placed record, 1 = payout record."""
        pair = self.bets.get(key)
        if pair is None:
            pair = self.bets[key] = [None, None]
        old = pair[slot]
        if old is not None and fields != old:
            id_col = "placed_id" if slot == 0 else "payout_id"
            if None not in (old.get(id_col), fields.get(id_col)) and (
                old[id_col] != fields[id_col]
            ):
                self.key_conflicts += 1
        if old is None or (fields != old and _canon(fields) < _canon(old)):
            pair[slot] = fields


def _canon(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)
