"""HistoryFold: the `gameHistory` of a gameStateUpdate into the batch, each entry content once.

Every cooldown frame carries the last ~10 finished games; each entry repeats in ~10 frames. An
entry whose content (its digest, `assembly.history_cache.RollingHistory`) was parsed before for
its game (`GameMemory.entries`) is only a sighting: it counts `history.cached` and lowers the
game's first-seen time. A new one is parsed (`assembly.history.parse_history_entry`, counted
`history.parsed`) and folded into the batch's buffers (`assembly.history.fold_entry`). Its
rejects are named by the entry's content, not by the frame: one row per content, the earliest
sighting (`tables.rejects.EarliestRejects`), added to the batch by `GameAssembler.drain`.

Source: PROTOCOL.md, "gameHistory".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from rugslab.assembly.frame_context import FrameContext
from rugslab.assembly.game_facts import GameFacts, GameMemory
from rugslab.assembly.history import fold_entry, parse_history_entry
from rugslab.assembly.history_cache import UNDECODED, RollingHistory
from rugslab.assembly.ticks import TickBuffer
from rugslab.assembly.trades_bets import RecordBuffer
from rugslab.errors import FrameError
from rugslab.feed.payloads import shown
from rugslab.tables.batch import RowBatch
from rugslab.tables.rejects import EarliestRejects, json_text, reject_row

_HISTORY = "gameStateUpdate.gameHistory"


class HistoryFold:
    """Folds gameHistory entries into one assembler's batches (module docstring); `restart`
    gives it each batch's buffers (the assembler calls it at the start of every batch).

    Args:
        games: the assembler's memory of recent games (LRU, most recent last); an entry parsed
            adds its digest to its game's `entries`, a cached one moves its game to the end.
        facts_of: the batch's `GameFacts` of a game id, the game made known to `games`.

    Attributes:
        first_seen: per game named by an entry this batch, the earliest receive time of a frame
            carrying it.
        rejects: the rejects found in entries this batch, one per (content, table, reason).
    """

    __slots__ = ("_batch", "_facts_of", "_games", "_records", "_rolling", "_ticks",
                 "first_seen", "rejects")

    def __init__(
        self, games: OrderedDict[str, GameMemory], facts_of: Callable[[str], GameFacts]
    ) -> None:
        self._games = games
        self._facts_of = facts_of
        self._rolling = RollingHistory()  # recent entries, to read the next history cheaply

    def restart(self, batch: RowBatch, ticks: TickBuffer, records: RecordBuffer) -> None:
        """Start a batch: entries fold into these buffers (`history.parsed|cached` count in
        `batch`); `first_seen` and `rejects` start empty."""
        self._batch, self._ticks, self._records = batch, ticks, records
        self.first_seen: dict[str, int] = {}
        self.rejects = EarliestRejects()

    def fold(self, history: Any, ctx: FrameContext) -> None:
        """A frame's `gameHistory` (a list, or a `feed.frames.HistoryText`); anything else is
        rejected (table `games`) as the frame's."""
        entries = self._rolling.entries(history)
        if entries is None:
            ctx.reject(self._batch, "games", f"{_HISTORY} {shown(history)}: expected a list")
            return
        recv = ctx.recv_ts_us
        games, seen, batch = self._games, self.first_seen, self._batch
        for raw_id, blob, digest, e in entries:
            if raw_id is not None:
                state = games.get(raw_id)
                if state is not None and digest in state.entries:
                    games.move_to_end(raw_id)
                    if recv is not None:
                        old = seen.get(raw_id)
                        if old is None or recv < old:
                            seen[raw_id] = recv
                    batch.count("history.cached")
                    continue
            self._entry(orjson.loads(blob) if e is UNDECODED else e, blob, digest, ctx)

    def _entry(self, e: Any, blob: bytes, digest: bytes, ctx: FrameContext) -> None:
        """One gameHistory entry not parsed before (`blob`: its JSON text)."""
        try:
            h = parse_history_entry(e)
        except FrameError as err:
            self._reject(ctx, "games", err.reason, blob, digest)
            return
        self._batch.count("history.parsed")
        gid = h.game_id
        acc = self._facts_of(gid)
        self._games[gid].entries.add(digest)
        recv = ctx.recv_ts_us
        if recv is not None:
            old = self.first_seen.get(gid)
            if old is None or recv < old:
                self.first_seen[gid] = recv
        too_long = fold_entry(h, acc, self._ticks, self._records)
        if too_long:
            self._reject(ctx, "ticks", too_long, blob, digest)
        for table, reason, rec in h.rejects:
            self._reject(ctx, table, reason, json_text(rec), digest)

    def _reject(
        self, ctx: FrameContext, table: str, reason: str, raw: bytes | str, digest: bytes
    ) -> None:
        """A reject inside a gameHistory entry: one row per entry content, earliest sighting."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        self.rejects.add(reject_row((digest, table, reason), table, reason, text,
                                    source=ctx.source, recv_ts=ctx.recv_ts_us))
