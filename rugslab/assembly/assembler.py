"""GameAssembler: frames in, lake rows out (raw_events, ticks, games, seeds, trades, side_bets,
leaderboard, rejects), in batches whose content does not depend on the order of the frames.

Usage: `asm.feed(frame)` for each frame; every N frames (`asm.pending`) and at the end,
`writer.write(asm.drain())`.

Where a frame becomes a tick row (the whole path, file by file):
1. `readers/*` turn an input file into `feed.frames.Frame`s; `ingest.ingest` feeds each one
   to `GameAssembler.feed` (the collector does the same with the frames it receives).
2. `feed` reads the frame's identity (`assembly.frame_context.FrameContext`: id, source,
   receive time, argument text) and `_feed` routes a `gameStateUpdate` to `_game_state`, which
   takes its `gameHistory` (`assembly.history_fold.HistoryFold.fold` →
   `assembly.history.fold_entry`: a revealed path, HISTORY), the game id and seed facts, and,
   for an active or rug frame, `_live_ticks`: `tickCount` and `price` (`feed.payloads`), the
   `partialPrices` window (`assembly.ticks.parse_window`), the rug tick
   (`feed.phases.rug_tick_of`) and full `prices` arrays (`assembly.history.fold_arrays`).
   Each price is a candidate in `assembly.ticks.TickBuffer` (best of live > partial > history).
3. `drain` → `assembly.ticks.settle_ticks` keeps one candidate per (game, tick), drops those
   past the rug or written in an earlier batch, and appends each row built by
   `assembly.ticks.tick_row` to the batch (`tables.columns.ColumnRows`, `RowBatch.rows["ticks"]`).
4. `lake.writer.write_batch` checks the rows against `tables.schemas.TickRow` and appends them
   to the Delta table. (Legacy recordings carry no frames: `readers.legacy.LegacyImporter.finish`
   builds its rows with the same `tick_row`, and its game rows with `game_facts.game_row`.)

Rules (every one a min / max / priority, never "last seen", so shuffling or duplicating the
frames of one batch gives the same rows after dedup by table key):
- raw_events: every frame, known event or not. Bad input → a `rejects` row, never an exception.
- ticks: per (game, tick) the best of live > partial > history (then earliest receive time, then
  lowest price). The rug tick is the minimum over the game's rug frames of
  `feed.phases.rug_tick_of` (and len(prices)-1 of a revealed history entry); no tick beyond it is
  written, and the row at it carries `is_rug` and the crash price. Each (game, tick) is written
  once per assembler: within a batch the best candidate wins; across batches the first written
  wins (a live tick that arrives in a later batch than a history tick of the same game/tick is
  counted as `ticks.duplicate`, not written). A candidate whose price differs from the one
  held (same batch) or written (earlier batch) counts as `ticks.price_conflict`.
- games / seeds / side_bets: partial rows per batch (merge rules in `schemas.TABLES`); within a
  batch conflicting "first"-rule values are resolved by taking the minimum (and counted).
- trades: per trade id live > history, then earliest receive time.
- leaderboard: active and rug frames only, per (game, tick, player) the earliest received
  (`assembly.leaderboard`).
Limit: a second rug frame without `partialPrices`, received without the first, shows only
N+1..N+3 as its rug tick; a later revealed path lowers games.rug_tick (merge: min) but the
tick row written at that tick stays (is_rug).

Memory: per-batch buffers are cleared by `drain`; across batches the assembler keeps, per game,
the ticks written with their prices, the rug tick and the digests of gameHistory entries
already parsed (each entry repeats in ~10 frames), for the `keep_games` most recently touched
games (LRU);
the texts of the last 50 gameHistory entries (`assembly.history_cache`); and the raw rows'
text buffer, as large as the largest raw batch (`assembly.raw_events`, `tables.texts`).

Source: PROTOCOL.md; field names checked against the captures in ../shared/captures.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from rugslab.assembly.frame_context import FrameContext
from rugslab.assembly.game_facts import GameFacts, GameMemory, game_row, seed_row
from rugslab.assembly.history import fold_arrays, fold_seed_facts
from rugslab.assembly.history_fold import HistoryFold
from rugslab.assembly.leaderboard import LeaderboardBuffer
from rugslab.assembly.raw_events import RawEvents
from rugslab.assembly.ticks import (
    LIVE,
    PARTIAL,
    SOURCES,
    TICK_MAX,
    TickBuffer,
    parse_window,
    settle_ticks,
)
from rugslab.assembly.trades_bets import RecordBuffer, bet_row, placed_bet, trade_row
from rugslab.errors import FrameError
from rugslab.feed.frames import UNDECODABLE_EVENT, Frame
from rugslab.feed.payloads import game_id, req_int, req_price, shown
from rugslab.feed.phases import GamePhase, no_phase_reason, phase_of, rug_tick_of
from rugslab.tables.batch import RowBatch
from rugslab.tables.rejects import json_text, reject_id

DEFAULT_KEEP_GAMES = 64
_ACTIVE, _RUG = GamePhase.ACTIVE, GamePhase.RUG
_STATE = "gameStateUpdate"  # the event, and where its fields sit in reject reasons
_TRADE = "standard/newTrade"
_SIDE_BET = "newSideBet"
_PARTIAL_PRICES = f"{_STATE}.partialPrices"
_NO_WINDOW: tuple[None, tuple[()], tuple[()]] = (None, (), ())  # `parse_window` of no window


def _min(a: Any, b: Any) -> Any:
    return b if a is None or (b is not None and b < a) else a


class GameAssembler:
    """Turns `Frame`s into lake rows; see the module docstring for the rules.

    Args:
        keep_games: how many recently touched games to remember across batches (ticks
            written, rug tick, parsed history entries). A game evicted and seen again may have
            rows written again; the lake writer dedups them by key.
    """

    def __init__(self, *, keep_games: int = DEFAULT_KEEP_GAMES) -> None:
        self.keep_games = keep_games
        self._games: OrderedDict[str, GameMemory] = OrderedDict()
        self._history = HistoryFold(self._games, self._acc)
        self._raw_events = RawEvents()  # raw rows; their text buffer is reused batch to batch
        self._reset()

    def _reset(self) -> None:
        self._batch = RowBatch()
        self._accs: dict[str, GameFacts] = {}
        self._ticks = TickBuffer()
        self._records = RecordBuffer()
        self._leaders = LeaderboardBuffer()
        self._history.restart(self._batch, self._ticks, self._records)
        self._seen_ids: set[str] = set()
        self._raw_events.restart()
        self.pending = 0

    @property
    def games_remembered(self) -> int:
        """How many games the assembler keeps state for across batches (≤ keep_games after
        a drain, plus the games of the current batch)."""
        return len(self._games)

    # ---------------------------------------------------------------- feeding
    def feed(self, frame: Frame) -> None:
        """Take one frame. Never raises: bad input becomes `rejects` rows and counters."""
        batch = self._batch
        self.pending += 1
        batch.counters["frames"] += 1
        # as much of the frame's identity as was read, for the reject row of an internal error
        fid, src, recv = "", "", None
        try:
            src = frame.source if type(frame.source) is str else repr(frame.source)
            recv = frame.recv_ts_us if type(frame.recv_ts_us) is int else None
            try:
                args_json = frame.args_json
                fid = frame.frame_id
            except Exception as e:  # args that are not JSON (e.g. non-str keys, huge ints)
                # not JSON (just failed): its repr, safe at any depth (`json_text`)
                fid = reject_id(json_text((frame.event, recv, frame.args)))
                reason = f"frame args not JSON-serialisable: {type(e).__name__}: {e}"
                FrameContext(fid, src, recv, b"").reject(batch, "raw_events", reason,
                                                         json_text(frame.args))
                return
            self._feed(frame, FrameContext(fid, src, recv, args_json))
        except Exception as e:  # last resort so that one frame never stops an ingest
            batch.count("errors.internal")
            FrameContext(fid, src, recv, b"").reject(
                batch, "frame", f"internal error {type(e).__name__}: {e}", json_text(frame.args))

    def _feed(self, fr: Frame, ctx: FrameContext) -> None:
        """A frame whose identity is read: its `raw_events` row, then its event's rows."""
        batch = self._batch
        fid = ctx.frame_id
        if fid in self._seen_ids:  # the same frame again in this batch: rows would be equal
            batch.count("duplicates")
            return
        self._seen_ids.add(fid)
        event = fr.event
        if type(event) is not str:
            event = repr(event)
        batch.counters["frames." + event] += 1
        payload = self._payload(fr, ctx)
        gid = payload.get("gameId") if type(payload) is dict else None
        self._raw_events.add(batch, fr, fid, ctx.recv_ts_us, event,
                             gid if type(gid) is str else None, ctx.args_json, ctx.source)
        if event == _STATE:
            self._game_state(payload, ctx)
        elif event == _TRADE:
            self._trade(payload, ctx)
        elif event == _SIDE_BET:
            self._side_bet(payload, ctx)
        elif event == UNDECODABLE_EVENT:  # the collector's record of a packet it could not read
            bad = payload if type(payload) is dict else {}
            ctx.reject(batch, "frame", str(bad.get("error")), str(bad.get("raw")))

    def _payload(self, fr: Frame, ctx: FrameContext) -> Any:
        """The frame's payload (a lazy frame: only the fields the assembler reads, decoded);
        None, and a reject, when its args are not a list."""
        payload = fr.state_fields
        if payload is not None:
            return payload
        if type(fr.args) is list:
            return fr.payload
        ctx.reject(self._batch, "frame", f"Frame.args {shown(fr.args)}: expected a list")
        return None

    def _trade(self, payload: Any, ctx: FrameContext) -> None:
        try:
            row = trade_row(payload, ctx=_TRADE, source="live", recv_ts_us=ctx.recv_ts_us)
        except FrameError as e:
            ctx.reject(self._batch, "trades", e.reason)
            return
        self._touch(row["game_id"], ctx.recv_ts_us)
        self._records.offer_trade(row, LIVE)

    def _side_bet(self, payload: Any, ctx: FrameContext) -> None:
        try:
            gid = game_id(_get(payload, "gameId"), _SIDE_BET)
            key, fields = placed_bet(payload, ctx=_SIDE_BET, gid=gid)
        except FrameError as e:
            ctx.reject(self._batch, "side_bets", e.reason)
            return
        self._touch(key[0], ctx.recv_ts_us)
        self._records.offer_bet(key, fields, 0)

    # ------------------------------------------------------- gameStateUpdate
    def _game_state(self, payload: Any, ctx: FrameContext) -> None:
        """A `gameStateUpdate`: its gameHistory entries, its game's facts, then (active and rug
        frames only) its tick prices."""
        if type(payload) is not dict:
            ctx.reject(self._batch, "frame",
                       f"{_STATE} payload {shown(payload)}: expected an object")
            return
        history = payload.get("gameHistory")
        if history is not None:
            self._history.fold(history, ctx)
        gid = self._state_game_id(payload, ctx)
        if gid is None:
            return
        acc = self._touch(gid, ctx.recv_ts_us)
        self._seed_facts(payload, acc, ctx)
        phase = phase_of(payload)
        if phase is _ACTIVE or phase is _RUG:
            self._live_ticks(payload, gid, acc, phase is _RUG, ctx)
        elif phase is None:
            ctx.reject(self._batch, "ticks", no_phase_reason(payload, _STATE))
        elif payload.get("leaderboard"):  # the last game's final board, or presale's empty one
            self._batch.count("leaderboard.not_in_play")
        # cooldown / presale: no ticks (presale shows tickCount 0 before the start)

    def _state_game_id(self, payload: dict[str, Any], ctx: FrameContext) -> str | None:
        """The frame's `gameId`, checked (None, and a reject, when it is not a game id)."""
        gid = payload.get("gameId")
        if type(gid) is str and gid in self._accs:  # a game of the batch: its id was checked
            return gid
        try:
            return game_id(gid, _STATE)
        except FrameError as e:
            ctx.reject(self._batch, "games", e.reason)
            return None

    def _seed_facts(self, payload: dict[str, Any], acc: GameFacts, ctx: FrameContext) -> None:
        """Version and server seed hash (`provablyFair`) into the game's facts."""
        try:
            fold_seed_facts(payload, acc, _STATE)
        except FrameError as e:
            ctx.reject(self._batch, "seeds", e.reason)

    def _live_ticks(
        self, payload: dict[str, Any], gid: str, acc: GameFacts, rug: bool, ctx: FrameContext
    ) -> None:
        """An active or rug frame: the live price at `tickCount`, the `partialPrices` window and
        any full `prices`/`trades` arrays become candidates; the game's start, rug tick and end
        are folded into its facts."""
        try:
            tick_count = req_int(payload, "tickCount", _STATE)
            price = req_price(payload, "price", _STATE)
        except FrameError as e:
            ctx.reject(self._batch, "ticks", e.reason)
            return
        acc.seen_live = True
        end, window, _ = self._partial_window(payload, ctx)
        last = rug_tick_of(tick_count, end) if rug else tick_count
        if last > TICK_MAX:
            reason = f"{_STATE}.tickCount {tick_count}: above the last tick {TICK_MAX}"
            ctx.reject(self._batch, "ticks", reason)
            return
        recv = ctx.recv_ts_us
        if rug:
            acc.rug = _min(acc.rug, last)
            acc.end = _min(acc.end, recv)
        elif tick_count == 0:
            acc.start = _min(acc.start, recv)
        if tick_count == last:  # not the second rug frame (its tickCount ran on past the rug)
            self._ticks.offer(gid, tick_count, LIVE, recv, price)
        for reason in self._leaders.offer_frame(payload, gid=gid, tick=tick_count,
                                                rug_tick=last if rug else None, recv_ts_us=recv):
            ctx.reject(self._batch, "leaderboard", reason)
        if window:
            self._ticks.offer_many(gid, window, PARTIAL, last)
        if "prices" in payload or "trades" in payload:  # the game's facts: `_touch` above
            for table, reason in fold_arrays(
                payload, gid, last, rug, self._ticks, self._records, self._batch.counters
            ):
                ctx.reject(self._batch, table, reason)

    def _partial_window(
        self, payload: dict[str, Any], ctx: FrameContext
    ) -> tuple[int | None, Sequence[tuple[int, float]], Sequence[str]]:
        """`parse_window` of the frame's `partialPrices` ((None, (), ()) when it has none or it
        is unusable); the values left out are rejected, the window's good ones kept."""
        pp = payload.get("partialPrices")
        if pp is None:
            return _NO_WINDOW
        try:
            parsed = parse_window(pp, _PARTIAL_PRICES)
        except FrameError as e:
            ctx.reject(self._batch, "ticks", e.reason)
            return _NO_WINDOW
        bad = parsed[2]
        if bad:
            ctx.reject(self._batch, "ticks", "; ".join(bad))
        return parsed

    # ---------------------------------------------------------------- draining
    def drain(self) -> RowBatch:
        """The rows and counters gathered since the last drain; starts a new batch.

        Counters: `frames`, `frames.<event>`, `duplicates` (same frame again in the batch),
        `rejects`, `rejects.<table>`, `ticks.live|partial|history` (rows written),
        `ticks.duplicate` (already written in an earlier batch), `ticks.beyond_rug` (candidates
        after the rug tick, from the second rug frame), `ticks.beyond_frame_tick` (`prices`
        past the tick of the frame carrying them, left out), `history.parsed|cached`,
        `trades.live|history`, `side_bets`, `leaderboard.not_in_play`, `games`, `seeds`,
        `games.forgotten`,
        `*_conflict`, `errors.internal` (a bug: should stay 0).
        """
        batch, accs, states = self._batch, self._accs, self._games
        hist_seen = self._history.first_seen
        for gid, acc in accs.items():
            state = states[gid]
            if acc.rug is not None and (state.rug_tick is None or acc.rug < state.rug_tick):
                state.rug_tick = acc.rug
            seen = hist_seen.get(gid)
            if seen is not None and (acc.first_seen is None or seen < acc.first_seen):
                acc.first_seen = seen
        add = batch.add
        settle_ticks(self._ticks, states, accs, batch)
        for gid, acc in accs.items():
            add("games", game_row(gid, acc, batch.counters))
            srow = seed_row(gid, acc, batch.counters)
            if srow is not None:
                add("seeds", srow)
                batch.count("seeds")
            states.move_to_end(gid)
        batch.count("games", len(accs))
        for rank, _, row in self._records.trades.values():
            add("trades", row)
            batch.count(f"trades.{SOURCES[rank]}")
        for placed, payout in self._records.bets.values():
            add("side_bets", bet_row(placed, payout))
        batch.counters.update(self._records.counts())
        batch.extend("leaderboard", self._leaders.rows.values())
        for row in self._history.rejects.rows.values():
            add("rejects", row)
            batch.count("rejects")
            batch.count(f"rejects.{row['table']}")
        while len(states) > self.keep_games:
            states.popitem(last=False)
            batch.count("games.forgotten")
        self._reset()
        return batch

    @property
    def raw_bytes(self) -> int:
        """Bytes of frame arguments held in the pending `raw_events` rows."""
        return self._raw_events.nbytes

    def drain_raw(self) -> RowBatch:
        """The `raw_events` rows gathered since the last drain, alone; the other tables keep
        gathering until `drain`. Raw rows hold each frame's arguments (~6 KB): draining them
        more often than the rest bounds memory without paying the other tables' per-write
        cost as often (`ingest` does this). The frames stay counted in `pending`."""
        out = RowBatch()
        raw = self._batch.rows.pop("raw_events", None)
        if raw is not None:
            out.rows["raw_events"] = raw
        self._raw_events.restart()
        return out

    # ---------------------------------------------------------------- state
    def _acc(self, gid: str) -> GameFacts:
        acc = self._accs.get(gid)
        if acc is None:
            acc = self._accs[gid] = GameFacts()
            state = self._games.get(gid)
            if state is None:
                self._games[gid] = GameMemory()
            else:
                self._games.move_to_end(gid)
        return acc

    def _touch(self, gid: str, recv: int | None) -> GameFacts:
        """The batch's record of `gid`, with `recv` taken as a sighting of the game."""
        acc = self._accs.get(gid) or self._acc(gid)
        if recv is not None and (acc.first_seen is None or recv < acc.first_seen):
            acc.first_seen = recv
        return acc


def _get(payload: Any, key: str) -> Any:
    return payload.get(key) if type(payload) is dict else None
