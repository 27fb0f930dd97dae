"""Tick timing seen by the receiver: intervals between consecutive live ticks.

The feed has no server timestamp per tick (PROTOCOL.md, "Timing"): `ticks.recv_ts` is the
receiver's UTC clock, null for ticks not seen live (backfilled from `partialPrices` or history).
An interval is measured only between two ADJACENT ticks (tick t-1 → t) of one game that were both
received live; a gap in the live ticks yields no interval (its duration spans several ticks).

Nominal 250 ms per tick. Catch-up bursts (frames ~5 ms apart after a stall) show as intervals
under `BURST_MS`; stalls as intervals over `PAUSE_MS`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from rugslab.analysis._frames import require_columns, require_positive
from rugslab.errors import ConfigError
from rugslab.feed.rules import SIDEBET_WINDOW_TICKS

BURST_MS = 50.0
PAUSE_MS = 1000.0
PERCENTILES = (1, 5, 25, 75, 95, 99)


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
        back), `is_burst` (< 50 ms), `is_pause` (> 1000 ms).

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
            (pl.col("interval_ms") > PAUSE_MS).alias("is_pause"),
        )
    )
    return out


def interval_stats(intervals: pl.DataFrame, *, column: str = "interval_ms") -> dict[str, float]:
    """Summary of an interval sample.

    Args:
        intervals: output of `tick_intervals` (or any frame with a numeric `column`).
        column: the column to summarise.

    Returns:
        `n`, `mean`, `median`, `std` (ddof=1), `variance` (ddof=1), `cv` (std / mean),
        `min`, `p1`, `p5`, `p25`, `p75`, `p95`, `p99`, `max` (ms; percentiles by linear
        interpolation, numpy's default), `share_burst` (< 50 ms), `share_pause` (> 1000 ms).
        With n = 0 every value but `n` is NaN; with n = 1 `std`, `variance`, `cv` are NaN.
    """
    require_columns(intervals, (column,), table="intervals")
    x = intervals[column].drop_nulls().to_numpy().astype(float)
    n = x.size
    out: dict[str, float] = {"n": float(n)}
    if n == 0:
        keys = ["mean", "median", "std", "variance", "cv", "min"]
        keys += [f"p{q}" for q in PERCENTILES] + ["max", "share_burst", "share_pause"]
        return out | dict.fromkeys(keys, math.nan)
    d = stats.describe(x, ddof=1) if n > 1 else None
    mean = float(x.mean())
    var = float(d.variance) if d is not None else math.nan
    std = math.sqrt(var) if d is not None else math.nan
    out |= {
        "mean": mean,
        "median": float(np.median(x)),
        "std": std,
        "variance": var,
        "cv": std / mean if mean != 0 else math.nan,
        "min": float(x.min()),
    }
    for q, v in zip(PERCENTILES, np.percentile(x, PERCENTILES), strict=True):
        out[f"p{q}"] = float(v)
    out["max"] = float(x.max())
    out["share_burst"] = float(np.mean(x < BURST_MS))
    out["share_pause"] = float(np.mean(x > PAUSE_MS))
    return out


def _summary_exprs() -> list[pl.Expr]:
    x = pl.col("interval_ms")
    return [
        pl.len().alias("n"),
        x.mean().alias("mean_ms"),
        x.median().alias("median_ms"),
        x.std().alias("std_ms"),
        (x.quantile(0.99, interpolation="linear")).alias("p99_ms"),
        pl.col("is_burst").mean().alias("share_burst"),
        pl.col("is_pause").mean().alias("share_pause"),
    ]


def interval_drift(intervals: pl.DataFrame, *, every: str = "1h") -> pl.DataFrame:
    """Interval statistics per calendar period of `recv_ts` (drift over time).

    Args:
        intervals: output of `tick_intervals`.
        every: a polars duration string for the period: "1h", "1d", "15m", ...

    Returns:
        One row per period that holds intervals, sorted: `period_start` (UTC), `n`, `mean_ms`,
        `median_ms`, `std_ms`, `p99_ms`, `share_burst`, `share_pause`.
    """
    require_columns(intervals, ("recv_ts", "interval_ms", "is_burst", "is_pause"),
                    table="intervals")
    return (
        intervals.with_columns(pl.col("recv_ts").dt.truncate(every).alias("period_start"))
        .group_by("period_start")
        .agg(_summary_exprs())
        .sort("period_start")
    )


def interval_profile(
    intervals: pl.DataFrame, *, by: Literal["hour", "weekday"] = "hour"
) -> pl.DataFrame:
    """Interval statistics by hour of day (0–23, UTC) or weekday (1 = Monday … 7 = Sunday).

    Returns:
        One row per hour/weekday present: `hour` or `weekday`, then the columns of
        `interval_drift`.
    """
    require_columns(intervals, ("recv_ts", "interval_ms", "is_burst", "is_pause"),
                    table="intervals")
    if by not in ("hour", "weekday"):
        raise ConfigError(f"Invalid by {by!r}: expected 'hour' or 'weekday'.")
    key = pl.col("recv_ts").dt.hour() if by == "hour" else pl.col("recv_ts").dt.weekday()
    return intervals.with_columns(key.alias(by)).group_by(by).agg(_summary_exprs()).sort(by)


def _lag_pairs(intervals: pl.DataFrame, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (interval at tick t, interval at tick t+lag) of the same game."""
    left = intervals.select("game_id", "tick", "interval_ms")
    right = left.with_columns(pl.col("tick") - lag).rename({"interval_ms": "later"})
    pairs = left.join(right, on=["game_id", "tick"], how="inner")
    return pairs["interval_ms"].to_numpy(), pairs["later"].to_numpy()


def interval_autocorrelation(intervals: pl.DataFrame, *, max_lag: int = 20) -> pl.DataFrame:
    """Autocorrelation of intervals by lag, within games.

    For lag k, every pair (interval ending at tick t, interval ending at tick t+k) of the same
    game where both exist is used; the coefficient is Pearson's r over those pairs.

    Returns:
        One row per lag 1..max_lag: `lag`, `n_pairs`, `acf` (r; NaN with < 3 pairs or no
        variance), `lo`, `hi` (95% interval from `scipy.stats.pearsonr`, Fisher z).

    Source: scipy.stats.pearsonr.
    """
    require_columns(intervals, ("game_id", "tick", "interval_ms"), table="intervals")
    if max_lag < 1:
        raise ConfigError(f"Invalid max_lag {max_lag!r}: expected a whole number ≥ 1.")
    rows = []
    for lag in range(1, max_lag + 1):
        a, b = _lag_pairs(intervals, lag)
        r = lo = hi = math.nan
        if a.size >= 3 and np.std(a) > 0 and np.std(b) > 0:
            res = stats.pearsonr(a, b)
            ci = res.confidence_interval(0.95)
            r, lo, hi = float(res.statistic), float(ci.low), float(ci.high)
        rows.append({"lag": lag, "n_pairs": int(a.size), "acf": r, "lo": lo, "hi": hi})
    return pl.DataFrame(
        rows,
        schema={"lag": pl.Int64, "n_pairs": pl.Int64, "acf": pl.Float64, "lo": pl.Float64,
                "hi": pl.Float64},
    )


def interval_anomalies(intervals: pl.DataFrame, *, sigma: float = 3.0) -> pl.DataFrame:
    """Intervals more than `sigma` standard deviations from the mean, or pauses (> 1 s).

    Returns:
        The matching rows of `intervals` with `z` ((x - mean) / std over the whole sample) and
        `reason` ("sigma", "pause" or "sigma+pause"), sorted by `recv_ts`.
    """
    require_columns(intervals, ("interval_ms", "is_pause", "recv_ts"), table="intervals")
    require_positive("sigma", sigma)
    mean = intervals["interval_ms"].mean()
    std = intervals["interval_ms"].std()
    if mean is None or std is None or std == 0:
        z = pl.lit(0.0)
    else:
        z = (pl.col("interval_ms") - mean) / std
    out = intervals.with_columns(z.alias("z"))
    far = pl.col("z").abs() > sigma
    reason = (
        pl.when(far & pl.col("is_pause")).then(pl.lit("sigma+pause"))
        .when(far).then(pl.lit("sigma"))
        .otherwise(pl.lit("pause"))
    )
    return out.filter(far | pl.col("is_pause")).with_columns(reason.alias("reason")).sort(
        "recv_ts"
    )


def window_durations(intervals: pl.DataFrame, *, window_ticks: int = SIDEBET_WINDOW_TICKS
                     ) -> np.ndarray:
    """Observed wall-clock durations (ms) of every run of `window_ticks` consecutive intervals.

    A window ending at tick t sums the intervals of ticks t-window_ticks+1..t of one game and
    exists only when all of them were measured (overlapping windows; one per end tick).
    """
    require_columns(intervals, ("game_id", "tick", "interval_ms"), table="intervals")
    if window_ticks < 1:
        raise ConfigError(f"Invalid window_ticks {window_ticks!r}: expected a whole number ≥ 1.")
    df = intervals.select("game_id", "tick", "interval_ms").sort("game_id", "tick")
    # a run of consecutive ticks shares (tick - row number) within a game
    df = df.with_columns(
        (pl.col("tick").cast(pl.Int64) - pl.int_range(pl.len()).over("game_id")).alias("_run")
    )
    sums = df.with_columns(
        pl.col("interval_ms").rolling_sum(window_ticks).over("game_id", "_run").alias("_sum")
    )
    return sums["_sum"].drop_nulls().to_numpy()


def predict_window_duration(
    intervals: pl.DataFrame,
    *,
    window_ticks: int = SIDEBET_WINDOW_TICKS,
    level: float = 0.95,
    max_lag: int | None = None,
) -> dict[str, float]:
    """Predicted wall-clock duration of a `window_ticks`-tick window, with its uncertainty.

    Two answers, side by side:
    - empirical: the observed durations of all runs of `window_ticks` consecutive measured
      intervals (`window_durations`); its quantiles are a predictive interval that carries the
      real autocorrelation and tails (pauses), no model needed;
    - normal: the sum of n = window_ticks intervals with mean μ, variance σ² and lag-k
      autocorrelation ρ_k has mean nμ and variance nσ²(1 + 2 Σ_{k<n} (1 - k/n) ρ_k) (the
      standard variance of a sum of a stationary series); ρ_k for k > `max_lag` is taken as
      0. The default uses every lag below the window (`window_ticks - 1`): the real feed's
      intervals oscillate (ρ_1 ≈ -0.6, catch-up after a stall) well past lag 10, and cutting
      them off understates the spread. `iid_sd_ms` is the same with every ρ_k = 0.

    Returns:
        `window_ticks`, `mean_ms` (n·μ), `iid_sd_ms`, `adjusted_sd_ms`, `normal_lo_ms`,
        `normal_hi_ms` (mean ± z·adjusted sd), `n_windows`, `empirical_mean_ms`,
        `empirical_lo_ms`, `empirical_hi_ms` (quantiles (1-level)/2 and (1+level)/2 of the
        observed windows; NaN when none).
    """
    if not 0.0 < level < 1.0:
        raise ConfigError(f"Invalid level {level!r}: expected a probability strictly in (0, 1).")
    s = interval_stats(intervals)
    n = window_ticks
    lags = n - 1 if max_lag is None else max_lag
    acf = interval_autocorrelation(intervals, max_lag=max(1, min(lags, n - 1)))
    rho = np.nan_to_num(acf["acf"].to_numpy(), nan=0.0)
    k = np.arange(1, rho.size + 1)
    keep = k < n
    factor = 1.0 + 2.0 * float(np.sum((1.0 - k[keep] / n) * rho[keep]))
    var1 = s["variance"]
    iid_var = n * var1
    adj_var = max(iid_var * factor, 0.0)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    mean = n * s["mean"]
    windows = window_durations(intervals, window_ticks=window_ticks)
    q_lo, q_hi = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    if windows.size:
        e_mean = float(windows.mean())
        e_lo, e_hi = (float(v) for v in np.quantile(windows, [q_lo, q_hi]))
    else:
        e_mean = e_lo = e_hi = math.nan
    return {
        "window_ticks": float(n),
        "mean_ms": mean,
        "iid_sd_ms": math.sqrt(iid_var),
        "adjusted_sd_ms": math.sqrt(adj_var),
        "normal_lo_ms": mean - z * math.sqrt(adj_var),
        "normal_hi_ms": mean + z * math.sqrt(adj_var),
        "n_windows": float(windows.size),
        "empirical_mean_ms": e_mean,
        "empirical_lo_ms": e_lo,
        "empirical_hi_ms": e_hi,
    }


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
