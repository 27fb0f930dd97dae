"""Tick timing seen by the receiver: intervals between consecutive live ticks.

The feed has no server timestamp per tick (PROTOCOL.md, "Timing"): `ticks.recv_ts` is the
receiver's UTC clock, null for ticks not seen live (backfilled from `partialPrices` or history).
An interval is measured only between two ADJACENT ticks (tick t-1 → t) of one game that were both
received live; a gap in the live ticks yields no interval (its duration spans several ticks).

Nominal 250 ms per tick. Catch-up bursts (frames ~5 ms apart after a stall) show as intervals
under `BURST_MS`. A **stall** is an interval longer than `STALL_MS` = four nominal ticks (1 s):
the receiver saw no tick for the time of four. Stalls are rare and long (one of 20 s moves the
standard deviation of a whole lake), so the headline spread is robust (median, MAD, IQR,
percentiles) and stalls are counted on their own; moments (mean, standard deviation) are
reported beside them, named as sensitive to stalls.

A recording session (`recording_sessions`) is a run of games the receiver watched without a
break longer than `SESSION_GAP`: sessions and days can hold different regimes (receiver,
network, server load), so summaries come per session and per day as well as pooled.

Autocorrelation and the duration of a 40-tick window: `rugslab.analysis.timing_series`.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal

import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns, require_positive
from rugslab.config import parse_duration
from rugslab.errors import ConfigError
from rugslab.feed.rules import NOMINAL_TICK_MS

BURST_MS = 50.0
#: A stall: an interval longer than four nominal ticks.
STALL_MS = 4 * NOMINAL_TICK_MS
#: A new recording session starts when the receiver saw no live tick for this long.
SESSION_GAP = "10m"
PERCENTILES = (1, 5, 25, 75, 95, 99)
#: MAD × this = the standard deviation of a normal sample with that MAD.
MAD_TO_SD = 1.482602218505602


def tick_intervals(ticks: pl.DataFrame, games: pl.DataFrame | None = None) -> pl.DataFrame:
    """Receive-time intervals between consecutive live ticks of each game.

    Args:
        ticks: the lake's `ticks` table (or any frame with `game_id`, `tick`, `recv_ts`);
            rows with null `recv_ts` (not seen live) are ignored.
        games: the lake's `games` (`game_id`, `rug_tick`); when given, ticks past a game's
            `rug_tick` are left out: a second rug frame received without the first leaves a
            row 1-3 ticks past the rug that the revealed history does not remove (README,
            "What to know about the data").

    Returns:
        One row per pair of adjacent live ticks (t-1, t) of a game, sorted by game and tick:
        `game_id`, `tick` (the later tick t), `recv_ts` (of tick t, UTC), `interval_ms`
        (Float64, recv_ts[t] - recv_ts[t-1] in ms; negative when the receiver's clock stepped
        back), `is_burst` (< 50 ms), `is_stall` (> `STALL_MS`).

    Raises:
        SchemaViolation: a required column is missing.
    """
    require_columns(ticks, ("game_id", "tick", "recv_ts"), table="ticks")
    live = ticks.select("game_id", "tick", "recv_ts").filter(pl.col("recv_ts").is_not_null())
    if games is not None:
        require_columns(games, ("game_id", "rug_tick"), table="games")
        rug = games.group_by("game_id").agg(pl.col("rug_tick").cast(pl.Int64).min())
        rug = rug.with_columns(pl.col("game_id").cast(live.schema["game_id"]))
        live = live.join(rug, on="game_id", how="left").filter(
            pl.col("rug_tick").is_null() | (pl.col("tick").cast(pl.Int64) <= pl.col("rug_tick"))
        ).drop("rug_tick")
    live = live.sort("game_id", "tick")
    prev_tick = pl.col("tick").shift(1).over("game_id")
    prev_ts = pl.col("recv_ts").shift(1).over("game_id")
    out = (
        live.with_columns(
            (pl.col("tick").cast(pl.Int64) - prev_tick.cast(pl.Int64)).alias("_step"),
            ((pl.col("recv_ts") - prev_ts).dt.total_microseconds().cast(pl.Float64) / 1000.0)
            .alias("interval_ms"),
        )
        .filter(pl.col("_step") == 1)
        .drop("_step")
        .with_columns(
            (pl.col("interval_ms") < BURST_MS).alias("is_burst"),
            (pl.col("interval_ms") > STALL_MS).alias("is_stall"),
        )
    )
    return out


def interval_stats(intervals: pl.DataFrame, *, column: str = "interval_ms") -> dict[str, float]:
    """Summary of an interval sample: robust spread first, stalls counted, then moments.

    Args:
        intervals: output of `tick_intervals` (or any frame with a numeric `column`).
        column: the column to summarise.

    Returns:
        In this order (ms unless said):
        - `n`, `median`, `mad` (median absolute deviation from the median), `mad_sd`
          (`MAD_TO_SD`·mad: the σ a normal sample with this MAD would have), `iqr` (p75 - p25),
          `min`, `p1`, `p5`, `p25`, `p75`, `p95`, `p99`, `max` (linear interpolation);
        - `stalls` (count of intervals > `STALL_MS`), `share_stall`, `share_burst` (< 50 ms);
        - moments, sensitive to stalls: `mean`, `std`, `variance` (ddof=1), `cv` (std / mean),
          and `mean_no_stalls`, `std_no_stalls` (the same without the stalls).
        With n = 0 every value but `n` and `stalls` is NaN; with n = 1 `std`, `variance`, `cv`
        are NaN.
    """
    require_columns(intervals, (column,), table="intervals")
    x = intervals[column].drop_nulls().to_numpy().astype(float)
    n = x.size
    stall = x > STALL_MS
    out: dict[str, float] = {"n": float(n)}
    if n == 0:
        keys = ["median", "mad", "mad_sd", "iqr", "min", *(f"p{q}" for q in PERCENTILES), "max"]
        keys += ["stalls", "share_stall", "share_burst", "mean", "std", "variance", "cv",
                 "mean_no_stalls", "std_no_stalls"]
        return out | dict.fromkeys(keys, math.nan) | {"stalls": 0.0}
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med)))
    q = dict(zip(PERCENTILES, np.percentile(x, PERCENTILES).tolist(), strict=True))
    out |= {"median": med, "mad": mad, "mad_sd": MAD_TO_SD * mad, "iqr": q[75] - q[25],
            "min": float(x.min())}
    out |= {f"p{k}": float(v) for k, v in q.items()} | {"max": float(x.max())}
    out |= {"stalls": float(stall.sum()), "share_stall": float(stall.mean()),
            "share_burst": float(np.mean(x < BURST_MS))}
    mean = float(x.mean())
    var = float(np.var(x, ddof=1)) if n > 1 else math.nan
    std = math.sqrt(var) if n > 1 else math.nan
    calm = x[~stall]
    out |= {
        "mean": mean,
        "std": std,
        "variance": var,
        "cv": std / mean if mean != 0 else math.nan,
        "mean_no_stalls": float(calm.mean()) if calm.size else math.nan,
        "std_no_stalls": float(np.std(calm, ddof=1)) if calm.size > 1 else math.nan,
    }
    return out


def _summary_exprs() -> list[pl.Expr]:
    """Robust summary per group (the columns of `interval_drift`)."""
    x = pl.col("interval_ms")
    return [
        pl.len().alias("n"),
        pl.col("game_id").n_unique().alias("games"),
        x.median().alias("median_ms"),
        (x - x.median()).abs().median().alias("mad_ms"),
        (x.quantile(0.75, interpolation="linear") - x.quantile(0.25, interpolation="linear"))
        .alias("iqr_ms"),
        x.quantile(0.01, interpolation="linear").alias("p1_ms"),
        x.quantile(0.99, interpolation="linear").alias("p99_ms"),
        pl.col("is_stall").sum().cast(pl.Int64).alias("stalls"),
        pl.col("is_burst").mean().alias("share_burst"),
        x.max().alias("max_ms"),
        x.mean().alias("mean_ms"),
        x.std().alias("std_ms"),
    ]


_SUMMARY = ("`n`, `games`, `median_ms`, `mad_ms`, `iqr_ms`, `p1_ms`, `p99_ms`, `stalls` "
            "(intervals > STALL_MS), `share_burst`, `max_ms`, then the stall-sensitive moments "
            "`mean_ms`, `std_ms`")
_COLS = ("game_id", "recv_ts", "interval_ms", "is_burst", "is_stall")


def interval_drift(intervals: pl.DataFrame, *, every: str = "1h") -> pl.DataFrame:
    """Interval statistics per calendar period of `recv_ts` (drift over time).

    Args:
        intervals: output of `tick_intervals`.
        every: a polars duration string for the period: "1h", "1d", "15m", ...

    Returns:
        One row per period that holds intervals, sorted: `period_start` (UTC), then the robust
        summary: `n`, `games`, `median_ms`, `mad_ms`, `iqr_ms`, `p1_ms`, `p99_ms`, `stalls`,
        `share_burst`, `max_ms`, `mean_ms`, `std_ms`. Periods without intervals have no row
        (charts must not join across them: `rugslab.plots.drift_chart`).
    """
    require_columns(intervals, _COLS, table="intervals")
    return (
        intervals.with_columns(pl.col("recv_ts").dt.truncate(every).alias("period_start"))
        .group_by("period_start")
        .agg(_summary_exprs())
        .sort("period_start")
    )


def interval_profile(
    intervals: pl.DataFrame, *, by: Literal["hour", "weekday"] = "hour"
) -> pl.DataFrame:
    """Tick-interval statistics by hour of day (0–23, UTC) or weekday (1 = Monday … 7 =
    Sunday).

    Returns:
        One row per hour/weekday present: `hour` or `weekday`, then the columns of
        `interval_drift`.
    """
    require_columns(intervals, _COLS, table="intervals")
    if by not in ("hour", "weekday"):
        raise ConfigError(f"Invalid by {by!r}: expected 'hour' or 'weekday'.")
    key = pl.col("recv_ts").dt.hour() if by == "hour" else pl.col("recv_ts").dt.weekday()
    return intervals.with_columns(key.alias(by)).group_by(by).agg(_summary_exprs()).sort(by)


def recording_sessions(intervals: pl.DataFrame, *, gap: str = SESSION_GAP) -> pl.DataFrame:
    """Group games into recording sessions: runs with no break in live ticks longer than `gap`.

    Games are ordered by their first interval's `recv_ts`; a game starts a new session when
    it begins more than `gap` after the latest interval of every earlier game.

    Args:
        intervals: `tick_intervals` output.
        gap: a duration such as "10m", "1h" or "1h30m" (`config.parse_duration`).

    Returns:
        One row per game with intervals, sorted by `first_ts`: `game_id`, `session` (1, 2, ...
        in time order), `session_start` (UTC: the first interval of the session), `first_ts`,
        `last_ts`.
    """
    require_columns(intervals, ("game_id", "recv_ts"), table="intervals")
    limit = timedelta(seconds=parse_duration(gap, arg="gap"))
    spans = intervals.group_by("game_id").agg(
        pl.col("recv_ts").min().alias("first_ts"), pl.col("recv_ts").max().alias("last_ts")
    ).sort("first_ts", "game_id")
    seen = pl.col("last_ts").cum_max().shift(1)
    return spans.with_columns(
        (seen.is_null() | (pl.col("first_ts") - seen > limit)).cum_sum().cast(pl.Int64)
        .alias("session")
    ).with_columns(
        pl.col("first_ts").min().over("session").alias("session_start")
    ).select("game_id", "session", "session_start", "first_ts", "last_ts")


def interval_breakdown(intervals: pl.DataFrame, *, by: Literal["day", "session"] = "day",
                       gap: str = SESSION_GAP) -> pl.DataFrame:
    """Robust interval statistics per UTC day or per recording session.

    Args:
        intervals: `tick_intervals` output.
        by: "day" (UTC date of `recv_ts`) or "session" (`recording_sessions` with `gap`).

    Returns:
        One row per day / session in time order: `day` (Date) or `session` with
        `session_start`, then the columns of `interval_drift` after `period_start`.
    """
    require_columns(intervals, _COLS, table="intervals")
    if by == "day":
        keyed = intervals.with_columns(pl.col("recv_ts").dt.date().alias("day"))
        return keyed.group_by("day").agg(_summary_exprs()).sort("day")
    if by == "session":
        s = recording_sessions(intervals, gap=gap).select("game_id", "session", "session_start")
        keyed = intervals.join(s, on="game_id", how="left")
        return keyed.group_by("session", "session_start").agg(_summary_exprs()).sort("session")
    raise ConfigError(f"Invalid by {by!r}: expected 'day' or 'session'.")


def interval_anomalies(intervals: pl.DataFrame, *, sigma: float = 10.0,
                       by: Literal["day", "all"] = "day") -> pl.DataFrame:
    """Outliers by a robust rule, and stalls.

    An interval is an outlier when its robust z = (x - median) / (`MAD_TO_SD`·MAD) exceeds
    `sigma` in absolute value, with median and MAD taken over its UTC day (`by="day"`: days
    can hold different regimes, and a noisy day would otherwise flag every tick of a calm one)
    or over the whole sample (`by="all"`). Median and MAD do not move with a few stalls, as a
    mean and standard deviation do (a single 20 s interval lifts the standard deviation of a
    lake's ~10⁵ intervals by a seventh and hides every smaller outlier behind it). The
    intervals have a tight core (a MAD of a few ms) and heavy tails, so a small `sigma` flags
    a large share of ordinary catch-ups; the default is 10.

    Returns:
        The matching rows of `intervals` with `z` (robust) and `reason` ("outlier", "stall"
        or "outlier+stall"), sorted by `recv_ts`.
    """
    require_columns(intervals, ("interval_ms", "is_stall", "recv_ts"), table="intervals")
    require_positive("sigma", sigma)
    if by not in ("day", "all"):
        raise ConfigError(f"Invalid by {by!r}: expected 'day' or 'all'.")
    key = pl.col("recv_ts").dt.date() if by == "day" else pl.lit(0)
    x = pl.col("interval_ms")
    med = x.median().over(key)
    scale = MAD_TO_SD * (x - med).abs().median().over(key)
    z = pl.when(scale > 0).then((x - med) / scale).otherwise(pl.lit(0.0))
    out = intervals.with_columns(z.alias("z"))
    far = pl.col("z").abs() > sigma
    reason = (
        pl.when(far & pl.col("is_stall")).then(pl.lit("outlier+stall"))
        .when(far).then(pl.lit("outlier"))
        .otherwise(pl.lit("stall"))
    )
    return out.filter(far | pl.col("is_stall")).with_columns(reason.alias("reason")).sort(
        "recv_ts"
    )


def catch_up_bursts(intervals: pl.DataFrame, *, burst_ms: float = BURST_MS) -> pl.DataFrame:
    """Catch-up bursts: runs of consecutive intervals under `burst_ms` within a game.

    After a stall the receiver gets the ticks it missed a few ms apart; a run is a maximal
    sequence of adjacent ticks t..u of one game whose intervals are all < `burst_ms`.

    Args:
        intervals: `tick_intervals` output.

    Returns:
        One row per run, sorted by `recv_ts`: `game_id`, `first_tick`, `last_tick`, `n_ticks`
        (ticks in the run), `burst_ms` (sum of the run's intervals), `stall_ms` (the interval
        just before the run, at tick first_tick - 1's arrival: the stall being caught up; null
        when not measured), `recv_ts` (arrival of the run's first tick, UTC).
    """
    require_columns(intervals, ("game_id", "tick", "recv_ts", "interval_ms"), table="intervals")
    require_positive("burst_ms", burst_ms)
    iv = intervals.select("game_id", pl.col("tick").cast(pl.Int64), "recv_ts", "interval_ms")
    fast = iv.filter(pl.col("interval_ms") < burst_ms).sort("game_id", "tick").with_columns(
        (pl.col("tick") - pl.int_range(pl.len()).over("game_id")).alias("_run")
    )
    runs = fast.group_by("game_id", "_run").agg(
        pl.col("tick").min().alias("first_tick"),
        pl.col("tick").max().alias("last_tick"),
        pl.len().cast(pl.Int64).alias("n_ticks"),
        pl.col("interval_ms").sum().alias("burst_ms"),
        pl.col("recv_ts").min().alias("recv_ts"),
    )
    before = iv.select("game_id", (pl.col("tick") + 1).alias("first_tick"),
                       pl.col("interval_ms").alias("stall_ms"))
    return (
        runs.join(before, on=["game_id", "first_tick"], how="left")
        .select("game_id", "first_tick", "last_tick", "n_ticks", "burst_ms", "stall_ms",
                "recv_ts")
        .sort("recv_ts", "game_id")
    )
