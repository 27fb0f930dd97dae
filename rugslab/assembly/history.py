"""gameHistory: the last 10 finished games carried in "full" gameStateUpdate frames.

`parse_history_entry` reads one `gameHistory[i]` (its price path with the crash price last,
peak, revealed seed, trades and side bets) and keeps going past bad sub-records (listed in
`.rejects`); `fold_entry` adds a parsed entry to the batch's buffers; `fold_arrays` does the
same for the full `prices` / `trades` arrays of a gameStateUpdate (Aug 2025 era).

Source: PROTOCOL.md, "Prices per tick" (rug tick = len(prices) - 1), "Provably fair"; field
names checked against the captures (2025-12-06, 2025-12-12, 2026-02-06).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rugslab.assembly.game_facts import GameFacts
from rugslab.assembly.ticks import HISTORY, TickBuffer
from rugslab.assembly.trades_bets import (
    BetKey,
    RecordBuffer,
    payout_bet,
    placed_bet,
    trade_row,
)
from rugslab.errors import FrameError
from rugslab.feed.payloads import (
    as_dict,
    as_list,
    game_id,
    opt_bool,
    opt_hash_hex,
    opt_price,
    opt_str,
    price,
    shown,
)
from rugslab.feed.rules import GAME_VERSIONS, TICK_MAX


def version_of(value: Any, ctx: str, key: str) -> str | None:
    """A game version `v1`/`v2`/`v3`, or None when null/absent.

    Raises:
        FrameError: any other value (a new version must be added to `feed.rules.GAME_VERSIONS`).
    """
    if value is None or value in GAME_VERSIONS:
        return value
    raise FrameError(f"{ctx}.{key} {shown(value)}: expected one of {', '.join(GAME_VERSIONS)}")


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
    out.peak_x = keep("games", lambda: opt_price(e, "peakMultiplier", ctx), e)
    pf = e.get("provablyFair")
    if pf is not None:
        if type(pf) is dict:
            out.server_seed_hash = keep(
                "seeds", lambda: opt_hash_hex(pf.get("serverSeedHash"), f"{ctx}.provablyFair"), pf
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
            kind = None
            if table == "trades":
                fn: Any = _history_trade
            else:
                kind = r.get("type") if type(r) is dict else None
                fn = _PLACED_OR_PAYOUT.get(kind) if type(kind) is str else None
                if fn is None:
                    rctx = f"{ctx}.{key}[{i}]"
                    rej.append((table, f"{rctx}.type {shown(kind)}: expected 'placed' or 'payout'",
                                r))
                    continue
            try:
                got = fn(r, _LATER, gid)
            except FrameError:
                # the mappers are pure: map again with the record's own context for the reason
                try:
                    got = fn(r, f"{ctx}.{key}[{i}]", gid)
                except FrameError as err:
                    rej.append((table, err.reason, r))
                    continue
            if table == "trades":
                out.trades.append(got)
            elif kind == "placed":
                out.placed.append(got)
            else:
                out.payouts.append(got)
    return out


#: Context given to a record's mapper on the first try (only read if the record is bad).
_LATER = "gameHistory[?]"


def _history_trade(r: Any, ctx: str, gid: str) -> dict[str, Any]:
    return trade_row(r, ctx=ctx, source="history", recv_ts_us=None, default_game_id=gid)


_PLACED_OR_PAYOUT: dict[str, Any] = {
    "placed": lambda r, ctx, gid: placed_bet(r, ctx=ctx, gid=gid),
    "payout": lambda r, ctx, gid: payout_bet(r, ctx=ctx, gid=gid),
}


def _prices(value: Any, ctx: str) -> list[float]:
    """A list of prices (`feed.payloads.price`: finite, in [0, PRICE_MAX_X]). Raises FrameError
    naming the first bad element."""
    vals = as_list(value, ctx)
    return [price(v, ctx, str(i)) for i, v in enumerate(vals)]


def fold_seed_facts(p: dict[str, Any], facts: GameFacts, ctx: str) -> None:
    """Add a gameStateUpdate payload's seed hash (`provablyFair.serverSeedHash`) and game
    versions (`provablyFair.version`, `gameVersion`) to `facts`. Called per frame: a value
    already in the facts' sets (which hold checked values) is not checked again.

    Raises:
        FrameError: `provablyFair` is not an object, or a value is not a SHA-256 hex digest /
            a known version (the values before it are kept).
    """
    pf = p.get("provablyFair")
    if pf is not None:
        pf = as_dict(pf, f"{ctx}.provablyFair")
        h = pf.get("serverSeedHash")
        if type(h) is not str or h not in facts.hashes:
            h = opt_hash_hex(h, f"{ctx}.provablyFair")
            if h is not None:
                facts.hashes.add(h)
        v = pf.get("version")
        if v is not None and (type(v) is not str or v not in facts.versions):
            facts.versions.add(_version(v, f"{ctx}.provablyFair", "version"))
    v = p.get("gameVersion")
    if v is not None and (type(v) is not str or v not in facts.versions):
        facts.versions.add(_version(v, ctx, "gameVersion"))


def _version(value: Any, ctx: str, key: str) -> str:
    """`version_of` for a value that is not None. Raises FrameError."""
    v = version_of(value, ctx, key)
    assert v is not None
    return v


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
    if h.rugged:
        facts.rugged = True
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
    ticks.offer_many(h.game_id, enumerate(prices), HISTORY)
    return None


def fold_arrays(
    p: dict[str, Any],
    gid: str,
    last: int,
    rugged: bool,
    ticks: TickBuffer,
    records: RecordBuffer,
    counters: Counter[str],
) -> list[tuple[str, str]]:
    """Add the full `prices` / `trades` arrays of a gameStateUpdate (Aug 2025 frames, and the
    on-connect frame later on) as HISTORY ticks and history trades.

    Args:
        p: the payload; gid: its game; last: its tick (the rug tick for a rug frame);
        rugged: it is a rug frame: only ticks before the rug are taken from `prices` (its last
            element may be the crash price; the live `price` gives the rug tick).
        counters: the batch's counters: `ticks.beyond_frame_tick` counts the prices past the
            frame's own tick, left out (a path cannot run ahead of the frame that carries it).

    Returns:
        (table, reason) for each part that could not be used.
    """
    out: list[tuple[str, str]] = []
    ctx = "gameStateUpdate"
    try:
        prices = as_list(p.get("prices") or [], f"{ctx}.prices")
        if len(prices) > last + 1:
            counters["ticks.beyond_frame_tick"] += len(prices) - (last + 1)
        top = min(last - 1 if rugged else last, TICK_MAX)
        for t, v in enumerate(prices[: top + 1]):
            ticks.offer(gid, t, HISTORY, None, price(v, f"{ctx}.prices", str(t)))
    except FrameError as e:
        out.append(("ticks", e.reason))
    trades = p.get("trades")
    if trades is None:
        return out
    if type(trades) is not list:
        out.append(("trades", f"{ctx}.trades {shown(trades)}: expected a list"))
        return out
    for i, rec in enumerate(trades):
        try:
            row = trade_row(
                rec,
                ctx=f"{ctx}.trades[{i}]",
                source="history",
                recv_ts_us=None,
                default_game_id=gid,
            )
        except FrameError as e:
            out.append(("trades", e.reason))
            continue
        records.offer_trade(row, 1)
    return out
