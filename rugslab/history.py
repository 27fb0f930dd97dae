"""Records inside the feed: `gameHistory` entries, trades and side bets, as lake-row fields.

`parse_history_entry` reads one `gameHistory[i]` (a finished game: its price path, peak,
revealed seed, trades and side bets); `trade_row` maps a trade (`standard/newTrade`,
`globalTrades`, Aug 2025 `trades`) to a `trades` row; `placed_bet` / `payout_bet` map side-bet
records (`globalSidebets` placed/payout, Aug 2025 `newSideBet`) to the fields of a `side_bets`
row keyed (game_id, player_id, start_tick).

Every function raises `FrameError` (reason names the field and value) for a record it cannot
map; `parse_history_entry` keeps going past bad sub-records and lists them in `.rejects`.

Source: PROTOCOL.md, "Prices per tick", "Side bets", "Trades"; field names checked against the
captures (2025-12-06, 2025-12-12, 2026-02-06) and the Aug 2025 console frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from rugslab.errors import FrameError
from rugslab.games import GameFacts
from rugslab.payloads import (
    as_dict,
    as_list,
    game_id,
    num,
    opt_bool,
    opt_int,
    opt_num,
    opt_str,
    req_id,
    req_int,
    req_num,
    req_str,
    seed_hash,
    shown,
)
from rugslab.schemas import GAME_VERSIONS, TRADE_TYPES
from rugslab.ticks import HISTORY, TICK_MAX, TickBuffer

PRACTICE_COIN = "0xPractice"
_NO_TS = 1 << 62

#: (game_id, player_id, start_tick): the key of a `side_bets` row.
BetKey = tuple[str, str, int]


def version_of(value: Any, ctx: str, key: str) -> str | None:
    """A game version `v1`/`v2`/`v3`, or None when null/absent.

    Raises:
        FrameError: any other value (a new version must be added to `schemas.GAME_VERSIONS`).
    """
    if value is None or value in GAME_VERSIONS:
        return value
    raise FrameError(f"{ctx}.{key} {shown(value)}: expected one of {', '.join(GAME_VERSIONS)}")


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
        "tick": opt_int(d, "tickIndex", ctx),
        "price_x": opt_num(d, "price", ctx, nonneg=True),
        "qty": opt_num(d, "qty", ctx),
        "amount_sol": opt_num(d, "amount", ctx),
        "bonus_portion_sol": opt_num(d, "bonusPortion", ctx),
        "real_portion_sol": opt_num(d, "realPortion", ctx),
        "leverage": opt_num(d, "leverage", ctx),
        "coin": opt_str(d, "coin", ctx),
        "recv_ts": recv_ts_us,
        "source": source,
    }


def _bet_common(d: dict[str, Any], ctx: str, gid: str) -> dict[str, Any]:
    coin = opt_str(d, "coinAddress", ctx)
    payout_x = opt_num(d, "xPayout", ctx, nonneg=True)
    if payout_x is not None and payout_x <= 0:
        raise FrameError(f"{ctx}.xPayout {shown(d['xPayout'])}: expected a number > 0")
    rec_gid = d.get("gameId")
    if rec_gid is not None and rec_gid != gid:
        raise FrameError(f"{ctx}.gameId {shown(rec_gid)}: expected {gid!r} (its game)")
    return {
        "game_id": gid,
        "player_id": req_str(d, "playerId", ctx),
        "username": opt_str(d, "username", ctx),
        "bet_amount_sol": req_num(d, "betAmount", ctx),
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
    ts_ms = opt_int(d, "timestamp", ctx)
    placed_id = d.get("id")
    row.update(
        start_tick=req_int(d, start_key, ctx),
        end_tick=req_int(d, end_key, ctx),
        bonus_portion_sol=opt_num(d, "bonusPortion", ctx),
        real_portion_sol=opt_num(d, "realPortion", ctx),
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
    payout = req_num(d, "payout", ctx)
    row.update(
        start_tick=req_int(d, "startTick", ctx),
        end_tick=req_int(d, "endTick", ctx),
        payout_id=req_id(d, "id", ctx) if d.get("id") is not None else None,
        resolved=True,
        won=payout > 0,
        resolved_tick=opt_int(d, "tickIndex", ctx),
        payout_sol=payout,
        profit_sol=opt_num(d, "profit", ctx),
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

    __slots__ = ("bets", "trades")

    def __init__(self) -> None:
        self.trades: dict[str, tuple[int, int, dict[str, Any]]] = {}
        self.bets: dict[BetKey, list[dict[str, Any] | None]] = {}

    def offer_trade(self, row: dict[str, Any], rank: int) -> None:
        ts = row["recv_ts"] if row["recv_ts"] is not None else _NO_TS
        old = self.trades.get(row["trade_id"])
        if old is None or (rank, ts) < old[:2] or (
            (rank, ts) == old[:2] and row != old[2] and _canon(row) < _canon(old[2])
        ):
            self.trades[row["trade_id"]] = (rank, ts, row)

    def offer_bet(self, key: BetKey, fields: dict[str, Any], slot: int) -> None:
        """`slot` 0 = placed record, 1 = payout record."""
        pair = self.bets.get(key)
        if pair is None:
            pair = self.bets[key] = [None, None]
        old = pair[slot]
        if old is None or (fields != old and _canon(fields) < _canon(old)):
            pair[slot] = fields


def _canon(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)


@dataclass(slots=True)
class HistoryEntry:
    """One parsed `gameHistory[i]`.

    Attributes:
        game_id: the entry's `id`.
        version: `gameVersion` (v1–v3) or None.
        server_seed_hash, server_seed: from the entry's `provablyFair` (seed None if absent).
        prices: the whole path plus the crash price as the last element (Dec 2025), or None
            (Feb 2026 entries carry no prices).
        peak_x: `peakMultiplier`.
        rugged: the entry's `rugged` flag (None when absent).
        trades: `trades` rows (source history) from `globalTrades`.
        placed, payouts: side-bet (key, fields) pairs from `globalSidebets`.
        rejects: (table, reason, record) for sub-records that could not be mapped.
    """

    game_id: str
    version: str | None = None
    server_seed_hash: str | None = None
    server_seed: str | None = None
    prices: list[float] | None = None
    peak_x: float | None = None
    rugged: bool | None = None
    trades: list[dict[str, Any]] = field(default_factory=list)
    placed: list[tuple[BetKey, dict[str, Any]]] = field(default_factory=list)
    payouts: list[tuple[BetKey, dict[str, Any]]] = field(default_factory=list)
    rejects: list[tuple[str, str, Any]] = field(default_factory=list)


def parse_history_entry(entry: Any, ctx: str = "gameHistory[]") -> HistoryEntry:
    """Parse one `gameHistory` entry; bad sub-records go to `.rejects`, the rest is kept.

    Raises:
        FrameError: the entry is not an object or its `id` is not a game id (nothing usable).
    """
    e = as_dict(entry, ctx)
    gid = game_id(e.get("id"), ctx, "id")
    ctx = f"gameHistory[{gid}]"
    out = HistoryEntry(game_id=gid)
    rej = out.rejects

    def keep(table: str, fn: Any, record: Any) -> Any:
        try:
            return fn()
        except FrameError as err:
            rej.append((table, err.reason, record))
            return None

    out.version = keep("games", lambda: version_of(e.get("gameVersion"), ctx, "gameVersion"), e)
    out.rugged = keep("games", lambda: opt_bool(e, "rugged", ctx), e)
    out.peak_x = keep("games", lambda: opt_num(e, "peakMultiplier", ctx, nonneg=True), e)
    pf = e.get("provablyFair")
    if pf is not None:
        if type(pf) is dict:
            out.server_seed_hash = keep(
                "seeds", lambda: seed_hash(pf.get("serverSeedHash"), f"{ctx}.provablyFair"), pf
            )
            out.server_seed = keep(
                "seeds", lambda: opt_str(pf, "serverSeed", f"{ctx}.provablyFair"), pf
            )
        else:
            rej.append(("seeds", f"{ctx}.provablyFair {shown(pf)}: expected an object", pf))
    if e.get("prices") is not None:
        out.prices = keep("ticks", lambda: _prices(e["prices"], f"{ctx}.prices"), e["prices"])
    for key, table in (("globalTrades", "trades"), ("globalSidebets", "side_bets")):
        recs = e.get(key)
        if recs is None:
            continue
        if type(recs) is not list:
            rej.append((table, f"{ctx}.{key} {shown(recs)}: expected a list", recs))
            continue
        for i, r in enumerate(recs):
            rctx = f"{ctx}.{key}[{i}]"
            if table == "trades":
                t = keep(table, lambda r=r, c=rctx: trade_row(  # type: ignore[misc]
                    r, ctx=c, source="history", recv_ts_us=None, default_game_id=gid), r)
                if t is not None:
                    out.trades.append(t)
                continue
            kind = r.get("type") if type(r) is dict else None
            if kind == "placed":
                b = keep(table, lambda r=r, c=rctx: placed_bet(r, ctx=c, gid=gid), r)
                if b is not None:
                    out.placed.append(b)
            elif kind == "payout":
                b = keep(table, lambda r=r, c=rctx: payout_bet(r, ctx=c, gid=gid), r)
                if b is not None:
                    out.payouts.append(b)
            else:
                rej.append((table, f"{rctx}.type {shown(kind)}: expected 'placed' or 'payout'", r))
    return out


def _prices(value: Any, ctx: str) -> list[float]:
    """A list of finite non-negative prices. Raises FrameError naming the first bad element."""
    vals = as_list(value, ctx)
    out = []
    for i, v in enumerate(vals):
        out.append(v if type(v) is float and v >= 0.0 and v != float("inf") else num(v, ctx, str(i)))
    return out


def fold_entry(
    h: HistoryEntry, facts: GameFacts, ticks: TickBuffer, records: RecordBuffer
) -> str | None:
    """Add a parsed entry to the batch: facts (version, hash, seed, peak, rug tick), its price
    path as HISTORY tick candidates, its trades and side bets.

    The last price is the crash price at the rug tick len(prices)-1 (unless the entry says
    `rugged: false`). Returns a reject reason when the path is longer than TICK_MAX+1 prices
    (then no tick of it is kept), else None.
    """
    if h.version is not None:
        facts.versions.add(h.version)
    if h.server_seed_hash is not None:
        facts.hashes.add(h.server_seed_hash)
    if h.server_seed is not None:
        facts.seeds.add(h.server_seed)
        facts.revealed = True
    if h.peak_x is not None and (facts.peak is None or h.peak_x > facts.peak):
        facts.peak = h.peak_x
    for row in h.trades:
        records.offer_trade(row, 1)
    for key, f in h.placed:
        records.offer_bet(key, f, 0)
    for key, f in h.payouts:
        records.offer_bet(key, f, 1)
    prices = h.prices
    if not prices:
        return None
    rug = len(prices) - 1
    if rug > TICK_MAX:
        return f"gameHistory[{h.game_id}].prices: {len(prices)} prices (max {TICK_MAX + 1})"
    if h.rugged is not False and (facts.rug is None or rug < facts.rug):
        facts.rug = rug
    gid, offer = h.game_id, ticks.offer
    for t, v in enumerate(prices):
        offer(gid, t, HISTORY, None, v)
    return None
