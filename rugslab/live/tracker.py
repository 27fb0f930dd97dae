"""The running game as the live server sees it: frames in, channel messages out.

`FeedTracker.feed(frame)` reads one frame cheaply (no lake rows: that is the assembler's job,
and the collector runs it beside this when a lake is written) and returns the messages it
makes, as (channel, message) pairs, plus the frame's newest live tick for the signals:

- `ticks`: each new tick of the running game, in tick order, once (a replay that loops plays
  its games again: a rugged game seen live again at or before its first tick starts over). A
  tick missed live but
  carried by a later frame's `partialPrices` window (PROTOCOL.md, "Prices per tick") comes
  with `live: false` (its `recv_ts` is then the receive time of the frame that carried it);
  the rug tick (the crash price) with `is_rug: true`. Duplicates and ticks at or below the last
  one sent are not sent again.
- `games`: `start` (the first frame of a game seen active; `first_tick` > 0 when joined late),
  `rug` (the first rug frame; or the second, whose `partialPrices` end at the rug tick), `seed`
  (the game's server seed revealed in a later `gameHistory`, with the hash check) for the games
  this tracker saw. The verification verdict (`games` kind `verdict`) needs the replay of the
  path: `verdict_message` runs it, off the event loop (the server's job).
- `trades`: `standard/newTrade` (`assembly.trades_bets.trade_row`).
- `sidebets`: `placed` bets as the leaderboard entries' `sideBet` show them live (source
  `leaderboard`), Aug 2025 `newSideBet` events (source `live`), and the `placed` / `payout`
  records of `gameHistory[].globalSidebets` of the tracked games (source `history`), each once.

A frame that cannot be read (wrong types, a bad game id) makes no message and is counted in
`.skipped`; nothing here raises.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import polars as pl

from rugslab.assembly.history import parse_history_entry
from rugslab.assembly.ticks import parse_window
from rugslab.assembly.trades_bets import BetKey, payout_bet, placed_bet, trade_row
from rugslab.errors import FrameError, RugslabError
from rugslab.fair.verify import verify_games
from rugslab.feed.frames import Frame, iso_utc
from rugslab.feed.payloads import game_id, opt_hash_hex, req_int, req_price
from rugslab.feed.phases import GamePhase, phase_of, rug_tick_of
from rugslab.feed.rules import GAME_VERSIONS, TICK_MAX, hash_matches

STATE, TRADE, SIDE_BET = "gameStateUpdate", "standard/newTrade", "newSideBet"
#: Finished games kept in memory (for `get_game` and their seed reveal): the feed's
#: `gameHistory` holds the last 10, so a seed arrives while its game is still among these.
KEEP_GAMES = 12

Message = tuple[str, dict[str, Any]]


class LiveTick(NamedTuple):
    """The newest tick of a frame received live (the signals are computed for it)."""

    game_id: str
    tick: int
    price_x: float
    recv_ts_us: int | None
    recv_mono_ns: int | None


@dataclass(slots=True)
class TrackedGame:
    """What the tracker knows of one game."""

    game_id: str
    phase: str = "cooldown"
    first_tick: int | None = None
    last_tick: int = -1  # the highest tick sent on `ticks`
    prices: dict[int, float] = field(default_factory=dict)
    recv_ts_us: dict[int, int | None] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    rug_tick: int | None = None
    peak_x: float | None = None
    server_seed_hash: str | None = None
    version: str | None = None
    server_seed: str | None = None
    history_done: bool = False
    verdict: dict[str, Any] | None = None
    bets: set[tuple[str, BetKey]] = field(default_factory=set)

    def ticks(self) -> list[dict[str, Any]]:
        """Every tick known, in order: `tick`, `price_x`, `recv_ts`, `live`, `is_rug`."""
        return [{"tick": t, "price_x": self.prices[t], "recv_ts": iso_utc(self.recv_ts_us[t]),
                 "live": t in self.live, "is_rug": t == self.rug_tick}
                for t in sorted(self.prices)]

    def summary(self) -> dict[str, Any]:
        """The game's facts without its ticks."""
        return {"game_id": self.game_id, "phase": self.phase, "first_tick": self.first_tick,
                "last_tick": None if self.last_tick < 0 else self.last_tick,
                "rug_tick": self.rug_tick, "peak_x": self.peak_x, "version": self.version,
                "server_seed_hash": self.server_seed_hash,
                "seed_revealed": self.server_seed is not None}


class FeedTracker:
    """Frames → channel messages (module docstring)."""

    def __init__(self, keep_games: int = KEEP_GAMES) -> None:
        self.keep_games = keep_games
        self.games: OrderedDict[str, TrackedGame] = OrderedDict()
        self.current: TrackedGame | None = None
        self.frames = 0
        self.skipped = 0

    def game(self, gid: str | None = None) -> TrackedGame | None:
        """The tracked game `gid` (default: the current one), or None."""
        return self.current if gid is None else self.games.get(gid)

    def feed(self, frame: Frame) -> tuple[list[Message], LiveTick | None]:
        """Read one frame: its messages in send order and its newest live tick (or None)."""
        self.frames += 1
        out: list[Message] = []
        try:
            payload = frame.payload
            recv = frame.recv_ts_us
            if frame.event == STATE and type(payload) is dict:
                return out, self._state(payload, recv, frame.recv_mono_ns, out)
            if frame.event == TRADE:
                row = trade_row(payload, ctx=TRADE, source="live", recv_ts_us=None)
                out.append(("trades", {**row, "recv_ts": iso_utc(recv)}))
            elif frame.event == SIDE_BET and type(payload) is dict:
                gid = game_id(payload.get("gameId"), SIDE_BET)
                self._bet(self._track(gid), "placed", "live", payload, recv, out)
        except (FrameError, RugslabError, TypeError, ValueError, AttributeError):
            self.skipped += 1
        return out, None

    # ------------------------------------------------------------------ gameStateUpdate
    def _state(self, p: dict[str, Any], recv: int | None, mono: int | None,
               out: list[Message]) -> LiveTick | None:
        history = p.get("gameHistory")
        if type(history) is list:
            self._history(history, recv, out)
        gid = game_id(p.get("gameId"), STATE)
        g = self._track(gid)
        self.current = g
        pf = p.get("provablyFair")
        if type(pf) is dict:
            g.server_seed_hash = opt_hash_hex(pf.get("serverSeedHash"), STATE) or (
                g.server_seed_hash)
            if pf.get("version") in GAME_VERSIONS:
                g.version = pf["version"]
        if p.get("gameVersion") in GAME_VERSIONS:
            g.version = p["gameVersion"]
        board = p.get("leaderboard")
        if type(board) is list:
            self._leaderboard(g, board, recv, out)
        phase = phase_of(p)
        if phase is None:
            self.skipped += 1
            return None
        if phase not in (GamePhase.ACTIVE, GamePhase.RUG):
            if g.rug_tick is None:
                g.phase = phase.value
            return None
        return self._ticks(g, p, phase is GamePhase.RUG, recv, mono, out)

    def _ticks(self, g: TrackedGame, p: dict[str, Any], rug: bool, recv: int | None,
               mono: int | None, out: list[Message]) -> LiveTick | None:
        tick_count = req_int(p, "tickCount", STATE, hi=TICK_MAX + 3)
        price = req_price(p, "price", STATE)
        end, window, _ = (parse_window(p["partialPrices"], "partialPrices")
                          if p.get("partialPrices") is not None else (None, [], []))
        last = rug_tick_of(tick_count, end) if rug else tick_count
        if g.rug_tick is not None:
            if rug or last >= g.rug_tick or g.first_tick is None or last > g.first_tick:
                return None  # the game is over: the second rug frame, duplicates
            # the game runs again from its start: a replay that loops (`--loop`)
            g = self.games[g.game_id] = self.current = TrackedGame(
                g.game_id, version=g.version, server_seed_hash=g.server_seed_hash)
            self.games.move_to_end(g.game_id)
        if g.first_tick is None:
            g.first_tick = last
            g.phase = "active"
            out.append(("games", {"kind": "start", "game_id": g.game_id,
                                  "recv_ts": iso_utc(recv), "first_tick": last,
                                  "joined_late": last > 0, "version": g.version,
                                  "server_seed_hash": g.server_seed_hash}))
        for t, v in sorted(window):
            if g.last_tick < t < last:
                self._tick(g, t, v, recv, False, False, out)
        if last <= g.last_tick:
            return None  # a duplicate or a frame that came late
        if tick_count == last:  # (a second rug frame's own tickCount ran on past the rug)
            self._tick(g, last, price, recv, True, rug, out)
        elif rug:  # only the second rug frame came: its window holds the crash price
            crash = dict(window).get(last)
            if crash is not None:
                self._tick(g, last, crash, recv, False, True, out)
        if rug:
            g.rug_tick, g.phase = last, "rugged"
            out.append(("games", {"kind": "rug", "game_id": g.game_id, "recv_ts": iso_utc(recv),
                                  "rug_tick": last, "price_x": g.prices.get(last),
                                  "peak_x": g.peak_x, "ticks_seen": len(g.prices)}))
            return None
        g.phase = "active"
        return LiveTick(g.game_id, last, price, recv, mono) if tick_count == last else None

    def _tick(self, g: TrackedGame, t: int, price: float, recv: int | None, live: bool,
              is_rug: bool, out: list[Message]) -> None:
        g.prices[t] = price
        g.recv_ts_us[t] = recv
        if live:
            g.live.add(t)
        if not is_rug and (g.peak_x is None or price > g.peak_x):
            g.peak_x = price
        g.last_tick = t
        out.append(("ticks", {"game_id": g.game_id, "tick": t, "price_x": price,
                              "recv_ts": iso_utc(recv), "live": live, "is_rug": is_rug}))

    # ------------------------------------------------------------------ bets and history
    def _leaderboard(self, g: TrackedGame, board: list[Any], recv: int | None,
                     out: list[Message]) -> None:
        for entry in board:
            if type(entry) is not dict or type(entry.get("sideBet")) is not dict:
                continue
            bet = {**entry["sideBet"], "playerId": entry.get("id"),
                   "username": entry.get("username")}
            try:
                self._bet(g, "placed", "leaderboard", bet, recv, out)
            except FrameError:
                self.skipped += 1

    def _bet(self, g: TrackedGame, kind: str, source: str, record: dict[str, Any],
             recv: int | None, out: list[Message]) -> None:
        mapper = placed_bet if kind == "placed" else payout_bet
        key, fields = mapper(record, ctx=f"sidebet[{source}]", gid=g.game_id)
        if (kind, key) in g.bets:
            return
        g.bets.add((kind, key))
        out.append(("sidebets", {"kind": kind, "source": source, **fields,
                                 "placed_ts": iso_utc(fields.get("placed_ts")),
                                 "recv_ts": iso_utc(recv)}))

    def _history(self, history: list[Any], recv: int | None, out: list[Message]) -> None:
        for entry in history:
            gid = entry.get("id") if type(entry) is dict else None
            g = self.games.get(gid) if type(gid) is str else None
            if g is None or g.history_done:
                continue
            try:
                h = parse_history_entry(entry)
            except FrameError:
                self.skipped += 1
                continue
            if h.server_seed is None:
                continue
            g.history_done = True
            g.server_seed = h.server_seed
            g.server_seed_hash = g.server_seed_hash or h.server_seed_hash
            g.version = g.version or h.version
            out.append(("games", {"kind": "seed", "game_id": g.game_id, "recv_ts": iso_utc(recv),
                                  "server_seed": h.server_seed,
                                  "server_seed_hash": g.server_seed_hash,
                                  "hash_ok": hash_matches(h.server_seed, g.server_seed_hash),
                                  "version": g.version}))
            for kind, records in (("placed", h.placed), ("payout", h.payouts)):
                for key, fields in records:
                    if (kind, key) not in g.bets:
                        g.bets.add((kind, key))
                        out.append(("sidebets", {"kind": kind, "source": "history", **fields,
                                                 "placed_ts": iso_utc(fields.get("placed_ts")),
                                                 "recv_ts": iso_utc(recv)}))

    def _track(self, gid: str) -> TrackedGame:
        g = self.games.get(gid)
        if g is None:
            g = self.games[gid] = TrackedGame(gid)
            while len(self.games) > self.keep_games:
                self.games.popitem(last=False)
        return g


def verdict_message(g: TrackedGame) -> dict[str, Any]:
    """The `games` message of kind `verdict` for a game whose seed is revealed: its live and
    backfilled ticks replayed from the seed (`fair.verify.verify_games`: seed hash, path,
    peak, rug tick). CPU-bound (the replay): run it off the event loop."""
    ticks = pl.DataFrame(
        {"game_id": [g.game_id] * len(g.prices), "tick": list(g.prices),
         "price_x": list(g.prices.values()), "is_rug": [t == g.rug_tick for t in g.prices]},
        schema={"game_id": pl.String, "tick": pl.Int64, "price_x": pl.Float64,
                "is_rug": pl.Boolean})
    games = pl.DataFrame([{"game_id": g.game_id, "rug_tick": g.rug_tick,
                           "server_seed_hash": g.server_seed_hash, "version": g.version}],
                         schema={"game_id": pl.String, "rug_tick": pl.Int64,
                                 "server_seed_hash": pl.String, "version": pl.String})
    seeds = pl.DataFrame([{"game_id": g.game_id, "server_seed": g.server_seed}],
                         schema={"game_id": pl.String, "server_seed": pl.String})
    v = verify_games(games, seeds, ticks).row(0, named=True)
    return {"kind": "verdict", "game_id": g.game_id, "status": v["status"],
            "hash_ok": v["hash_ok"], "path_ok": v["path_ok"], "peak_ok": v["peak_ok"],
            "rug_tick_ok": v["rug_tick_ok"], "first_mismatch_tick": v["first_mismatch_tick"],
            "version": v["version"], "reason": v["reason"],
            "ticks_compared": len(g.prices) - (g.rug_tick in g.prices)}
