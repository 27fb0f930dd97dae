"""Ticks: one price per (game, tick), chosen among the sources a batch of frames offers.

Sources of a tick's price, best first (PROTOCOL.md, "Prices per tick"):
    live     `price` at `tickCount` of an active or rug `gameStateUpdate` (has a receive time)
    partial  the sliding `partialPrices` window (last 5 ticks) of such a frame
    history  a full path: `gameHistory[i].prices` once the game is revealed (last element =
             the crash price at the rug tick len-1), or an Aug 2025 / on-connect `prices` array

`TickBuffer` keeps the best candidate per (game, tick) within one batch of frames: lower
source rank wins, then the earlier receive time, then the lower price, so the choice does not
depend on frame order; `settle_ticks` writes the winners as `ticks` rows. `tick_row` is the
one definition of such a row (the legacy importer builds its rows with it too). The gap ledger
and coverage over stored ticks are `rugslab.tables.derived`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rugslab.assembly.game_facts import GameFacts, GameMemory
from rugslab.config import NO_RECV_TS_US as _NO_TS
from rugslab.errors import FrameError
from rugslab.feed.payloads import as_dict, opt_int, shown
from rugslab.feed.payloads import price as parse_price
from rugslab.feed.rules import TICK_MAX
from rugslab.tables.batch import RowBatch
from rugslab.tables.columns import ColumnRows

LIVE, PARTIAL, HISTORY = 0, 1, 2
#: Tick source names by rank (the `ticks.source` column).
SOURCES = ("live", "partial", "history")
#: "0".."5001" → int: one dict lookup validates and converts a partialPrices key.
_TICK_KEYS = {str(t): t for t in range(TICK_MAX + 1)}
#: `ticks` columns in the order `tick_row` gives them (`schemas.TickRow`).
TICK_COLUMNS = ("game_id", "tick", "price_x", "recv_ts", "source", "is_rug")
#: One `ticks` row: values in `TICK_COLUMNS` order.
TickValues = tuple[str, int, float, int | None, str, bool]


def tick_row(
    game_id: str, tick: int, price_x: float, recv_ts_us: int | None, source: str, is_rug: bool
) -> TickValues:
    """One `ticks` row (`schemas.TickRow`), as values in `TICK_COLUMNS` order: the one
    definition of a tick row, for the assembler (`settle_ticks`) and the legacy importer
    (`readers.legacy`). Append it with `tick_appender(batch)`.

    Args:
        game_id: the game; tick: 0..TICK_MAX; price_x: the multiplier at that tick (the crash
            price at the rug tick); recv_ts_us: receive time, µs since the epoch, UTC (None
            when not received live); source: one of `schemas.TICK_SOURCES` (`SOURCES`, or
            `import` for legacy recordings); is_rug: the tick is the game's rug tick.
    """
    return (game_id, tick, price_x, recv_ts_us, source, is_rug)


def tick_appender(batch: RowBatch) -> Callable[[TickValues], None]:
    """The function that appends one `tick_row` to `batch.rows["ticks"]` (kept as columns,
    `tables.columns.ColumnRows`, which it starts when the batch has no ticks; a batch holding
    its ticks as dicts gets one dict per row)."""
    rows = batch.rows.get("ticks")
    if rows is None:
        rows = batch.rows["ticks"] = ColumnRows(TICK_COLUMNS)
    if isinstance(rows, ColumnRows):
        return rows.append_tuple
    dict_rows = rows
    return lambda v: dict_rows.append(dict(zip(TICK_COLUMNS, v, strict=True)))


class TickBuffer:
    """Best price candidate per (game_id, tick) among the frames of one batch.

    `best[(game_id, tick)] = (rank, recv_ts_us or 2**62, price)`; the minimum tuple wins, so
    offering the same candidates in any order, any number of times, leaves the same content.
    """

    __slots__ = ("best", "conflicts")

    def __init__(self) -> None:
        self.best: dict[tuple[str, int], tuple[int, int, float]] = {}
        #: offers whose price disagreed with the best candidate so far (any source): the
        #: feed contradicting itself; the priority rule picks one, the count says it happened
        #: (a count of disagreeing offers, not of ticks; `settle_ticks` reports it as
        #: `ticks.price_conflict`, plus the candidates that disagree with a tick written earlier)
        self.conflicts = 0

    def offer(
        self, game_id: str, tick: int, rank: int, recv_ts_us: int | None, price: float
    ) -> None:
        """Offer `price` at `tick` from source `rank` (LIVE/PARTIAL/HISTORY)."""
        self.offer_many(game_id, ((tick, price),), rank, TICK_MAX, recv_ts_us)

    def offer_many(
        self, game_id: str, prices: Iterable[tuple[int, float]], rank: int,
        last: int = TICK_MAX, recv_ts_us: int | None = None,
    ) -> None:
        """Offer each `(tick, price)` of `prices` at or below tick `last`, from source `rank`,
        received at `recv_ts_us` (a live price, a partialPrices window, a revealed path).

        The lower `(rank, receive time, price)` is kept; an offer whose price differs from
        the candidate held counts as a conflict."""
        best = self.best
        new_ts = _NO_TS if recv_ts_us is None else recv_ts_us
        for tick, price in prices:
            if tick > last:
                continue
            k = (game_id, tick)
            new = (rank, new_ts, price)
            old = best.get(k)
            if old is None:
                best[k] = new
                continue
            if new < old:
                best[k] = new
            if old[2] != price:
                self.conflicts += 1

    def __len__(self) -> int:
        return len(self.best)


def settle_ticks(
    buf: TickBuffer,
    memory: Mapping[str, GameMemory],
    facts: Mapping[str, GameFacts],
    batch: RowBatch,
) -> None:
    """Write the batch's best tick per (game, tick) as `ticks` rows, once per assembler.

    Drops candidates beyond the game's rug tick (`memory[g].rug_tick`, already lowered by this
    batch) and those already written (`memory[g].emitted`: counted as `ticks.duplicate`, and
    also as `ticks.price_conflict` when the price differs); marks the rug tick `is_rug`. Folds
    into `facts[g]`: first/last live tick, peak (path ticks only) and the crash candidate.
    Every game in `buf` must be in `memory` and `facts`.
    """
    if not buf.best:
        return
    put = tick_appender(batch)
    beyond = duplicate = 0
    conflicts = buf.conflicts
    by_source = [0, 0, 0]
    for (gid, t), (rank, ts, price) in buf.best.items():
        mem, f = memory[gid], facts[gid]
        r = mem.rug_tick
        if r is not None and t > r:
            beyond += 1
            continue
        is_rug = t == r
        if rank == LIVE:
            if f.first_live is None or t < f.first_live:
                f.first_live = t
            if f.last_live is None or t > f.last_live:
                f.last_live = t
        if is_rug:
            c = (rank, ts, price)
            if f.crash is None or c < f.crash:
                f.crash = c
        elif f.peak is None or price > f.peak:
            f.peak = price
        written = mem.emitted.get(t)
        if written is not None:
            duplicate += 1
            if written != price:  # the feed contradicts a tick written in an earlier batch
                conflicts += 1
            continue
        mem.emitted[t] = price
        put(tick_row(gid, t, price, ts if rank == LIVE and ts != _NO_TS else None, SOURCES[rank],
                     is_rug))
        by_source[rank] += 1
    # counted once per batch, and only when non-zero (a counter is absent, not 0, if nothing)
    for name, n in (("ticks.beyond_rug", beyond), ("ticks.duplicate", duplicate),
                    ("ticks.price_conflict", conflicts),
                    *((f"ticks.{src}", k) for src, k in zip(SOURCES, by_source, strict=True))):
        if n:
            batch.count(name, n)


def parse_window(pp: Any, ctx: str) -> tuple[int | None, list[tuple[int, float]], list[str]]:
    """`partialPrices` → (endTick or None, [(tick, price), ...], [reason, ...]).

    A value whose key is not a decimal tick ≤ TICK_MAX, or whose price is not a finite
    number in [0, PRICE_MAX_X] (`feed.payloads.price`), is left out and its reason listed; the
    window's other values are kept.

    Args:
        pp: `{"startTick": t-4, "endTick": t, "values": {"<tick>": price, ...}}`.
        ctx: where it sits, for error reasons.

    Raises:
        FrameError: not an object, `endTick` not an int, or `values` not an object.
    """
    pp = as_dict(pp, ctx)
    end = opt_int(pp, "endTick", ctx)
    vals = as_dict(pp.get("values"), f"{ctx}.values")
    out = []
    bad: list[str] = []
    keys = _TICK_KEYS
    for k, v in vals.items():
        t = keys.get(k) if type(k) is str else None
        if t is None:
            bad.append(f"{ctx}.values key {shown(k)}: expected a decimal tick 0..{TICK_MAX}")
            continue
        try:
            v = parse_price(v, f"{ctx}.values", k)
        except FrameError as e:
            bad.append(e.reason)
            continue
        out.append((t, v))
    return end, out, bad
