"""GameAssembler: frames in, lake rows out (raw_events, ticks, games, seeds, trades, side_bets,
rejects), in batches whose content does not depend on the order of the frames.

Usage: `asm.feed(frame)` for each frame; every N frames (`asm.pending`) and at the end,
`writer.write(asm.drain())`.

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
from typing import Any

import orjson

from rugslab.assembly.game_facts import GameFacts, GameMemory, game_row, seed_row
from rugslab.assembly.history import fold_arrays, fold_entry, fold_seed_facts, parse_history_entry
from rugslab.assembly.history_cache import UNDECODED, RollingHistory
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
from rugslab.tables.rejects import EarliestRejects, json_text, reject_id, reject_row

DEFAULT_KEEP_GAMES = 64
_ACTIVE, _RUG = GamePhase.ACTIVE, GamePhase.RUG


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
        # the frame being fed, for reject rows
        self._fid, self._src, self._args = "", "", b""
        self._recv: int | None = None
        self._rolling = RollingHistory()  # recent gameHistory entries, to read the next cheaply
        self._raw_events = RawEvents()  # raw rows; their text buffer is reused batch to batch
        self._reset()

    def _reset(self) -> None:
        self._batch = RowBatch()
        self._accs: dict[str, GameFacts] = {}
        self._ticks = TickBuffer()
        self._records = RecordBuffer()
        self._hist_seen: dict[str, int] = {}
        self._hist_rejects = EarliestRejects()
        self._seen_ids: set[str] = set()
        self._raw_events.restart()
        self.pending = 0

    @property
    def _raw(self) -> str:  # the frame's arguments as JSON text, for reject rows
        return self._args.decode()

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
        self._fid, self._src, self._recv, self._args = "", "", None, b""
        try:
            self._feed(frame)
        except Exception as e:  # last resort so that one frame never stops an ingest
            batch.count("errors.internal")
            self._reject("frame", f"internal error {type(e).__name__}: {e}", json_text(frame.args))

    def _feed(self, fr: Frame) -> None:
        batch = self._batch
        event = fr.event
        self._src = fr.source if type(fr.source) is str else repr(fr.source)
        recv = fr.recv_ts_us if type(fr.recv_ts_us) is int else None
        self._recv = recv
        try:
            args_json = fr.args_json
            fid = fr.frame_id
        except Exception as e:  # args that are not JSON (e.g. non-str keys, huge ints)
            # not JSON (just failed): its repr, safe at any depth (`json_text`)
            self._fid = reject_id(json_text((event, recv, fr.args)))
            self._reject(
                "raw_events",
                f"frame args not JSON-serialisable: {type(e).__name__}: {e}",
                json_text(fr.args),
            )
            return
        self._fid = fid
        if fid in self._seen_ids:  # the same frame again in this batch: rows would be equal
            batch.count("duplicates")
            return
        self._seen_ids.add(fid)
        if type(event) is not str:
            event = repr(event)
        batch.counters["frames." + event] += 1
        self._args = args_json
        payload = fr.state_fields  # a lazy frame: only the payload fields read here are decoded
        if payload is None:
            if type(fr.args) is list:
                payload = fr.payload
            else:
                self._reject("frame", f"Frame.args {shown(fr.args)}: expected a list", self._raw)
        gid = payload.get("gameId") if type(payload) is dict else None
        self._raw_events.add(batch, fr, fid, recv, event, gid if type(gid) is str else None,
                             args_json, self._src)
        if event == "gameStateUpdate":
            self._game_state(payload, recv)
        elif event == "standard/newTrade":
            try:
                row = trade_row(payload, ctx=event, source="live", recv_ts_us=recv)
            except FrameError as e:
                self._reject("trades", e.reason, self._raw)
                return
            self._touch(row["game_id"], recv)
            self._records.offer_trade(row, LIVE)
        elif event == "newSideBet":
            try:
                gid = game_id(_get(payload, "gameId"), event)
                key, fields = placed_bet(payload, ctx=event, gid=gid)
            except FrameError as e:
                self._reject("side_bets", e.reason, self._raw)
                return
            self._touch(key[0], recv)
            self._records.offer_bet(key, fields, 0)
        elif event == UNDECODABLE_EVENT:  # the collector's record of a packet it could not read
            bad = payload if type(payload) is dict else {}
            self._reject("frame", str(bad.get("error")), str(bad.get("raw")))

    def _game_state(self, payload: Any, recv: int | None) -> None:
        ctx = "gameStateUpdate"
        if type(payload) is not dict:
            self._reject("frame", f"{ctx} payload {shown(payload)}: expected an object", self._raw)
            return
        history = payload.get("gameHistory")
        if history is not None:
            self._history(history, recv)
        gid = payload.get("gameId")
        if type(gid) is not str or gid not in self._accs:  # a game of the batch was checked
            try:
                gid = game_id(gid, ctx)
            except FrameError as e:
                self._reject("games", e.reason, self._raw)
                return
        acc = self._touch(gid, recv)
        try:
            fold_seed_facts(payload, acc, ctx)
        except FrameError as e:
            self._reject("seeds", e.reason, self._raw)
        phase = phase_of(payload)
        if phase is None:
            self._reject("ticks", no_phase_reason(payload, ctx), self._raw)
            return
        if phase is not _ACTIVE and phase is not _RUG:
            return  # cooldown / presale: no ticks (presale shows tickCount 0 before the start)
        try:
            tick_count = req_int(payload, "tickCount", ctx)
            price = req_price(payload, "price", ctx)
        except FrameError as e:
            self._reject("ticks", e.reason, self._raw)
            return
        acc.seen_live = True
        window: list[tuple[int, float]] = []
        end = None
        partial_prices = payload.get("partialPrices")
        if partial_prices is not None:
            try:
                end, window, bad = parse_window(partial_prices, f"{ctx}.partialPrices")
            except FrameError as e:
                self._reject("ticks", e.reason, self._raw)
            else:
                if bad:  # the window's good values are kept
                    self._reject("ticks", "; ".join(bad), self._raw)
        last = rug_tick_of(tick_count, end) if phase is _RUG else tick_count
        if last > TICK_MAX:
            self._reject(
                "ticks", f"{ctx}.tickCount {tick_count}: above the last tick {TICK_MAX}", self._raw
            )
            return
        if phase is _RUG:
            acc.rug = _min(acc.rug, last)
            acc.end = _min(acc.end, recv)
        elif tick_count == 0:
            acc.start = _min(acc.start, recv)
        if tick_count == last:  # not the second rug frame (its tickCount ran on past the rug)
            self._ticks.offer(gid, tick_count, LIVE, recv, price)
        if window:
            self._ticks.offer_many(gid, window, PARTIAL, last)
        if "prices" in payload or "trades" in payload:  # the game's facts: `_touch` above
            for table, reason in fold_arrays(
                payload, gid, last, phase is _RUG, self._ticks, self._records, self._batch.counters
            ):
                self._reject(table, reason, self._raw)

    def _history(self, history: Any, recv: int | None) -> None:
        """gameHistory entries: each distinct entry content is parsed once per assembler
        (content known by its digest; `assembly.history_cache.RollingHistory` tells the
        entries apart)."""
        entries = self._rolling.entries(history)
        if entries is None:
            self._reject(
                "games", f"gameStateUpdate.gameHistory {shown(history)}: expected a list", self._raw
            )
            return
        games, seen, batch = self._games, self._hist_seen, self._batch
        for raw_id, blob, digest, e in entries:
            if raw_id is not None:
                state = games.get(raw_id)
                if state is not None and digest in state.entries:
                    games.move_to_end(raw_id)
                    if recv is not None:
                        seen[raw_id] = _min(seen.get(raw_id), recv)
                    batch.count("history.cached")
                    continue
            if e is UNDECODED:
                e = orjson.loads(blob)
            try:
                h = parse_history_entry(e)
            except FrameError as err:
                self._hist_reject("games", err.reason, blob, digest, recv)
                continue
            batch.count("history.parsed")
            gid = h.game_id
            acc = self._acc(gid)
            games[gid].entries.add(digest)
            if recv is not None:
                seen[gid] = _min(seen.get(gid), recv)
            too_long = fold_entry(h, acc, self._ticks, self._records)
            if too_long:
                self._hist_reject("ticks", too_long, blob, digest, recv)
            for table, reason, rec in h.rejects:
                self._hist_reject(table, reason, json_text(rec), digest, recv)

    # ---------------------------------------------------------------- draining
    def drain(self) -> RowBatch:
        """The rows and counters gathered since the last drain; starts a new batch.

        Counters: `frames`, `frames.<event>`, `duplicates` (same frame again in the batch),
        `rejects`, `rejects.<table>`, `ticks.live|partial|history` (rows written),
        `ticks.duplicate` (already written in an earlier batch), `ticks.beyond_rug` (candidates
        after the rug tick, from the second rug frame), `ticks.beyond_frame_tick` (`prices`
        past the tick of the frame carrying them, left out), `history.parsed|cached`,
        `trades.live|history`, `side_bets`, `games`, `seeds`, `games.forgotten`,
        `*_conflict`, `errors.internal` (a bug: should stay 0).
        """
        batch, accs, states = self._batch, self._accs, self._games
        for gid, acc in accs.items():
            state = states[gid]
            if acc.rug is not None and (state.rug_tick is None or acc.rug < state.rug_tick):
                state.rug_tick = acc.rug
            seen = self._hist_seen.get(gid)
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
        for row in self._hist_rejects.rows.values():
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

    def _reject(self, table: str, reason: str, raw: str) -> None:
        batch = self._batch
        batch.add(
            "rejects",
            reject_row((self._fid, table, reason), table, reason, raw, source=self._src,
                       recv_ts=self._recv),
        )
        batch.count("rejects")
        batch.count(f"rejects.{table}")

    def _hist_reject(
        self, table: str, reason: str, raw: bytes | str, digest: bytes, recv: int | None
    ) -> None:
        """A reject inside a gameHistory entry: one row per entry content, earliest sighting."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        self._hist_rejects.add(
            reject_row((digest, table, reason), table, reason, text, source=self._src, recv_ts=recv)
        )


def _get(payload: Any, key: str) -> Any:
    return payload.get(key) if type(payload) is dict else None
