"""Facts derived from stored rows: the gap ledger (`gaps`) and each game's tick coverage
(`games.ticks_recorded`, `ticks_missing`, `completeness`).

Pure polars functions over the lake's `ticks` and `games` rows; the lake writer runs them
inside each commit attempt (`rugslab.lake.writer`), so the stored values always follow the
stored ticks.
"""

from __future__ import annotations

import polars as pl


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
