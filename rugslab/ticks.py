"""Ticks: one price per (game, tick), chosen among sources, and the gap ledger.

Sources of a tick's price, best first (PROTOCOL.md, "Prices per tick"):
    live     `price` at `tickCount` of an active or rug `gameStateUpdate` (has a receive time)
    partial  the sliding `partialPrices` window (last 5 ticks) of such a frame
    history  a full path: `gameHistory[i].prices` once the game is revealed (last element =
             the crash price at the rug tick len-1), or an Aug 2025 / on-connect `prices` array

`TickBuffer` keeps the best candidate per (game, tick) within one batch of frames: lower
source rank wins, then the earlier receive time, then the lower price, so the choice does not
depend on frame order. `find_gaps` and `tick_coverage` are pure polars functions the lake
writer runs over the stored ticks and games.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl

from rugslab.columns import ColumnRows
from rugslab.config import NO_RECV_TS_US as _NO_TS
from rugslab.config import TICK_MAX
from rugslab.errors import FrameError
from rugslab.games import GameFacts, GameMemory
from rugslab.payloads import as_dict, opt_int, shown
from rugslab.payloads import price as parse_price
from rugslab.rows import RowBatch

LIVE, PARTIAL, HISTORY = 0, 1, 2
#: Tick source names by rank (the `ticks.source` column).
SOURCES = ("live", "partial", "history")
#: "0".."5001" → int: one dict lookup validates and converts a partialPrices key.
_TICK_KEYS = {str(t): t for t in range(TICK_MAX + 1)}
#: `ticks` columns in the order `settle_ticks` appends them (`schemas.TickRow`).
TICK_COLUMNS = ("game_id", "tick", "price_x", "recv_ts", "source", "is_rug")


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
    put = _tick_sink(batch)
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
        put((gid, t, price, ts if rank == LIVE and ts != _NO_TS else None, SOURCES[rank], is_rug))
        by_source[rank] += 1
    # counted once per batch, and only when non-zero (a counter is absent, not 0, if nothing)
    for name, n in (("ticks.beyond_rug", beyond), ("ticks.duplicate", duplicate),
                    ("ticks.price_conflict", conflicts),
                    *((f"ticks.{src}", k) for src, k in zip(SOURCES, by_source, strict=True))):
        if n:
            batch.count(name, n)


def _tick_sink(batch: RowBatch) -> Callable[[tuple[Any, ...]], None]:
    """Appends one `ticks` row given as a tuple in `TICK_COLUMNS` order."""
    rows = batch.rows.get("ticks")
    if rows is None:
        rows = batch.rows["ticks"] = ColumnRows(TICK_COLUMNS)
    if isinstance(rows, ColumnRows):
        return rows.append_tuple
    dict_rows = rows
    return lambda v: dict_rows.append(dict(zip(TICK_COLUMNS, v, strict=True)))


def parse_window(pp: Any, ctx: str) -> tuple[int | None, list[tuple[int, float]], list[str]]:
    """`partialPrices` → (endTick or None, [(tick, price), ...], [reason, ...]).

    A value whose key is not a decimal tick ≤ TICK_MAX, or whose price is not a finite
    number in [0, PRICE_MAX_X] (`payloads.price`), is left out and its reason listed; the
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


def find_gaps(ticks: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """Runs of ticks 0..end of each game that no tick row covers (the gap ledger).

    Args:
        ticks: columns `game_id`, `tick` (other columns ignored; duplicates allowed).
        games: columns `game_id`, `rug_tick`, `first_live_tick` (several rows per game
            allowed: rug_tick and first_live_tick are reduced with min).

    Returns:
        `gaps` rows (schemas.GapRow): `game_id`, `tick_from`, `tick_to` (inclusive), `n_ticks`,
        `reason`. end = `rug_tick` (inclusive: the rug tick holds the crash price), or the
        highest tick present for a game not seen to rug; a game with neither has no gaps.
        `reason` is `before_join` for a run starting at tick 0 before the first live tick
        (or in a game never seen live), else `not_received`. Sorted by game_id, tick_from.
    """
    ends = _ends(ticks, games)
    present = ticks.select("game_id", pl.col("tick").cast(pl.Int32)).unique()
    missing = (
        ends.filter(pl.col("end").is_not_null())
        .select(
            "game_id",
            "first_live_tick",
            tick=pl.int_ranges(0, pl.col("end") + 1, dtype=pl.Int32),
        )
        .explode("tick")
        .join(present, on=["game_id", "tick"], how="anti")
        .sort("game_id", "tick")
    )
    runs = (
        missing.with_columns(
            run=(pl.col("tick").diff().over("game_id").fill_null(2) != 1).cum_sum().over("game_id")
        )
        .group_by("game_id", "run", maintain_order=True)
        .agg(
            tick_from=pl.col("tick").min(),
            tick_to=pl.col("tick").max(),
            n_ticks=pl.len().cast(pl.Int32),
            first_live_tick=pl.col("first_live_tick").first(),
        )
    )
    before = (pl.col("tick_from") == 0) & (
        pl.col("first_live_tick").is_null() | (pl.col("tick_to") < pl.col("first_live_tick"))
    )
    return runs.select(
        "game_id",
        pl.col("tick_from").cast(pl.Int32),
        pl.col("tick_to").cast(pl.Int32),
        "n_ticks",
        reason=pl.when(before).then(pl.lit("before_join")).otherwise(pl.lit("not_received")),
    ).sort("game_id", "tick_from")


def tick_coverage(ticks: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """Per game: ticks recorded and missing in 0..end, and the completeness label.

    Args:
        ticks, games: as for `find_gaps`.

    Returns:
        One row per game id found in `games` or `ticks`: `game_id`, `ticks_recorded` (distinct
        ticks in 0..end; all distinct ticks when end is unknown), `ticks_missing`
        (end + 1 - recorded; null when end is unknown), `completeness`: `complete` when the
        game rugged and every tick 0..rug_tick is present, `no_ticks` when it has no tick,
        else `partial`. Int32 counts; sorted by game_id.
    """
    ends = _ends(ticks, games)
    t = ticks.select("game_id", pl.col("tick").cast(pl.Int32)).unique()
    counted = (
        t.join(ends.select("game_id", "end"), on="game_id", how="left")
        .filter(pl.col("end").is_null() | (pl.col("tick") <= pl.col("end")))
        .group_by("game_id")
        .agg(recorded=pl.len())
    )
    out = ends.join(counted, on="game_id", how="left").with_columns(pl.col("recorded").fill_null(0))
    return out.select(
        "game_id",
        ticks_recorded=pl.col("recorded").cast(pl.Int32),
        ticks_missing=(pl.col("end") + 1 - pl.col("recorded")).cast(pl.Int32),
        completeness=pl.when(pl.col("recorded") == 0)
        .then(pl.lit("no_ticks"))
        .when(pl.col("rug_tick").is_not_null() & (pl.col("recorded") == pl.col("rug_tick") + 1))
        .then(pl.lit("complete"))
        .otherwise(pl.lit("partial")),
    ).sort("game_id")


def _ends(ticks: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    """game_id, rug_tick, first_live_tick, end (rug tick, else highest tick present)."""
    g = games.group_by("game_id").agg(
        pl.col("rug_tick").cast(pl.Int32).min(),
        pl.col("first_live_tick").cast(pl.Int32).min(),
    )
    top = ticks.group_by("game_id").agg(max_tick=pl.col("tick").cast(pl.Int32).max())
    return (
        g.join(top, on="game_id", how="full", coalesce=True)
        .with_columns(end=pl.coalesce("rug_tick", "max_tick"))
        .select("game_id", "rug_tick", "first_live_tick", "end")
    )
