"""Tick intervals as a series: autocorrelation within games, and the wall-clock duration of a
40-tick side-bet window.

Intervals of one game are a time series, and a late tick is usually followed by a catch-up
burst, so neighbouring intervals are negatively correlated; how strongly differs by session
and day (`timing.interval_breakdown`). Every interval here resamples whole games
(`rugslab.analysis.resample`): pairs of one game are not independent, and a Fisher-z interval
that treats the ~10⁵ pairs of a lake as independent is about 20× too narrow.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

from rugslab.analysis._frames import require_columns, require_probability
from rugslab.analysis.resample import DEFAULT_RESAMPLES, bootstrap_sums
from rugslab.errors import ConfigError
from rugslab.feed.rules import NOMINAL_TICK_MS, SIDEBET_WINDOW_TICKS

_SUMS = 6  # per game and lag: n, Σa, Σb, Σa², Σb², Σab


def _pearson(totals: np.ndarray) -> np.ndarray:
    """Pearson r from totals (..., 6·L) laid out as [n, Σa, Σb, Σa², Σb², Σab] per lag."""
    t = totals.reshape(*totals.shape[:-1], -1, _SUMS)
    n, sa, sb, saa, sbb, sab = (t[..., i] for i in range(_SUMS))
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sab - sa * sb / n
        va = saa - sa * sa / n
        vb = sbb - sb * sb / n
        r = cov / np.sqrt(va * vb)
    return np.where((n >= 3) & (va > 0) & (vb > 0), r, np.nan)


def lag_sums(intervals: pl.DataFrame, *, max_lag: int) -> tuple[list[str], np.ndarray]:
    """Per game and lag k = 1..max_lag, sums of the pairs (interval at t, interval at t+k).

    Intervals are centred on the nominal tick (250 ms) first; r does not change, and the sums
    of squares keep their precision.

    Returns:
        (game ids, array (games, 6·max_lag)): for lag k the columns 6(k-1) .. 6k-1 hold
        [pairs, Σa, Σb, Σa², Σb², Σab] of that game.
    """
    left = intervals.select("game_id", pl.col("tick").cast(pl.Int64),
                            (pl.col("interval_ms") - NOMINAL_TICK_MS).alias("a"))
    games = left["game_id"].unique().sort()
    index = pl.DataFrame({"game_id": games, "_g": np.arange(games.len())})
    out = np.zeros((games.len(), _SUMS * max_lag))
    for lag in range(1, max_lag + 1):
        right = left.select("game_id", pl.col("tick") - lag, pl.col("a").alias("b"))
        pairs = left.join(right, on=["game_id", "tick"], how="inner")
        per = pairs.group_by("game_id").agg(
            pl.len().cast(pl.Float64).alias("n"), pl.col("a").sum(), pl.col("b").sum(),
            (pl.col("a") ** 2).sum().alias("aa"), (pl.col("b") ** 2).sum().alias("bb"),
            (pl.col("a") * pl.col("b")).sum().alias("ab"),
        ).join(index, on="game_id")
        cols = per.select("n", "a", "b", "aa", "bb", "ab").to_numpy()
        out[per["_g"].to_numpy(), _SUMS * (lag - 1): _SUMS * lag] = cols
    return games.to_list(), out


def interval_autocorrelation(
    intervals: pl.DataFrame,
    *,
    max_lag: int = 20,
    exclude_stalls: bool = False,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Autocorrelation of intervals by lag, within games, with game-level intervals.

    For lag k, every pair (interval ending at tick t, interval ending at tick t+k) of the same
    game where both exist is used; the coefficient is Pearson's r over those pairs, pooled over
    games. With stalls in, r is the correlation the variance of a window's duration needs, but
    a single long stall moves it (its pairs dominate every sum of squares);
    `exclude_stalls` drops the stall intervals (`is_stall`) first, so r describes the ordinary
    ticks, their catch-up bursts included (stalls are counted by `interval_stats`).

    Returns:
        One row per lag 1..max_lag: `lag`, `n_pairs`, `games` (games with a pair), `acf` (r;
        NaN with < 3 pairs or no variance), `lo`, `hi` (cluster-bootstrap percentile interval:
        resamples whole games, `n_resamples` replicates, seeded; the same replicates for every
        lag; `n_resamples` 0: no interval, NaN).

    Raises:
        ConfigError: `max_lag` < 1; SchemaViolation: missing columns.

    Source: `rugslab.analysis.resample.bootstrap_sums` over per-game pair sums.
    """
    require_columns(intervals, ("game_id", "tick", "interval_ms"), table="intervals")
    if max_lag < 1:
        raise ConfigError(f"Invalid max_lag {max_lag!r}: expected a whole number ≥ 1.")
    if exclude_stalls:
        require_columns(intervals, ("is_stall",), table="intervals")
        intervals = intervals.filter(~pl.col("is_stall"))
    _, sums = lag_sums(intervals, max_lag=max_lag)
    pairs = sums[:, 0::_SUMS]
    r = _pearson(sums.sum(axis=0))
    lo = hi = np.full(max_lag, math.nan)
    if sums.shape[0] >= 2 and n_resamples > 0:
        boot = bootstrap_sums(sums, _pearson, n_resamples=n_resamples, level=level, seed=seed)
        lo, hi = boot.lo, boot.hi
    return pl.DataFrame({
        "lag": np.arange(1, max_lag + 1, dtype=np.int64),
        "n_pairs": pairs.sum(axis=0).astype(np.int64),
        "games": (pairs > 0).sum(axis=0).astype(np.int64),
        "acf": r, "lo": lo, "hi": hi,
    })


def window_durations(intervals: pl.DataFrame, *, window_ticks: int = SIDEBET_WINDOW_TICKS
                     ) -> pl.DataFrame:
    """Observed wall-clock durations of every run of `window_ticks` consecutive intervals.

    A window ending at tick t sums the intervals of ticks t-window_ticks+1..t of one game and
    exists only when all of them were measured (overlapping windows; one per end tick).

    Returns:
        One row per window: `game_id`, `tick` (end tick), `duration_ms`, `has_stall` (one of
        its intervals is a stall, `is_stall`; False when the column is absent).
    """
    require_columns(intervals, ("game_id", "tick", "interval_ms"), table="intervals")
    if window_ticks < 1:
        raise ConfigError(f"Invalid window_ticks {window_ticks!r}: expected a whole number ≥ 1.")
    stall = pl.col("is_stall") if "is_stall" in intervals.columns else pl.lit(False)
    df = intervals.select("game_id", pl.col("tick").cast(pl.Int64), "interval_ms",
                          stall.cast(pl.Int64).alias("_stall")).sort("game_id", "tick")
    # a run of consecutive ticks shares (tick - row number) within a game
    df = df.with_columns(
        (pl.col("tick") - pl.int_range(pl.len()).over("game_id")).alias("_run")
    )
    sums = df.with_columns(
        pl.col("interval_ms").rolling_sum(window_ticks).over("game_id", "_run")
        .alias("duration_ms"),
        (pl.col("_stall").rolling_sum(window_ticks).over("game_id", "_run") > 0)
        .alias("has_stall"),
    )
    return sums.filter(pl.col("duration_ms").is_not_null()).select(
        "game_id", "tick", "duration_ms", "has_stall")


def predict_window_duration(
    intervals: pl.DataFrame,
    *,
    window_ticks: int = SIDEBET_WINDOW_TICKS,
    level: float = 0.95,
    max_lag: int | None = None,
) -> dict[str, float]:
    """Wall-clock duration of a `window_ticks`-tick window: observed, and a normal model.

    - empirical (the answer): quantiles of the observed durations of all runs of
      `window_ticks` consecutive measured intervals (`window_durations`); a predictive
      interval that carries the real autocorrelation, catch-ups and stalls, no model needed;
      `share_with_stall` says how many windows held a stall.
    - normal (a model, for comparison): the sum of n = window_ticks intervals with mean μ,
      variance σ² and lag-k autocorrelation ρ_k has mean nμ and variance
      nσ²(1 + 2 Σ_{k<n} (1 - k/n) ρ_k) (the variance of a sum of a stationary series; ρ_k for
      k > `max_lag` taken as 0, default every lag below the window: the intervals' correlation
      oscillates with catch-ups well past lag 10). μ, σ and ρ come from the intervals that are
      not stalls, so the model describes a window without a stall: a single stall inflates σ²
      and makes the interval several times wider than the observed one. `iid_sd_ms` is the same
      with every ρ_k = 0.

    Returns:
        `window_ticks`, `n_windows`, `empirical_median_ms`, `empirical_mean_ms`,
        `empirical_lo_ms`, `empirical_hi_ms` (quantiles (1-level)/2 and (1+level)/2; NaN when
        no window), `share_with_stall`; `mean_ms` (n·μ), `iid_sd_ms`, `adjusted_sd_ms`,
        `normal_lo_ms`, `normal_hi_ms` (mean ± z·adjusted sd).
    """
    require_probability("level", level)
    n = window_ticks
    calm = intervals.filter(~pl.col("is_stall")) if "is_stall" in intervals.columns else (
        intervals)
    x = calm["interval_ms"].drop_nulls().to_numpy()
    lags = max(1, min(n - 1 if max_lag is None else max_lag, n - 1))
    acf = interval_autocorrelation(calm, max_lag=lags, n_resamples=0) if x.size else None
    rho = np.nan_to_num(acf["acf"].to_numpy(), nan=0.0) if acf is not None else np.zeros(0)
    k = np.arange(1, rho.size + 1)
    factor = 1.0 + 2.0 * float(np.sum((1.0 - k / n) * rho))
    var1 = float(np.var(x, ddof=1)) if x.size > 1 else math.nan
    mean = n * float(x.mean()) if x.size else math.nan
    adj = math.sqrt(max(n * var1 * factor, 0.0)) if x.size > 1 else math.nan
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    w = window_durations(intervals, window_ticks=n)
    d = w["duration_ms"].to_numpy()
    q_lo, q_hi = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    e_lo, e_med, e_hi = (float(v) for v in np.quantile(d, [q_lo, 0.5, q_hi])) if d.size else (
        math.nan,) * 3
    return {
        "window_ticks": float(n),
        "n_windows": float(d.size),
        "empirical_median_ms": e_med,
        "empirical_mean_ms": float(d.mean()) if d.size else math.nan,
        "empirical_lo_ms": e_lo,
        "empirical_hi_ms": e_hi,
        "share_with_stall": float(np.mean(w["has_stall"].to_numpy())) if d.size else math.nan,
        "mean_ms": mean,
        "iid_sd_ms": math.sqrt(n * var1) if x.size > 1 else math.nan,
        "adjusted_sd_ms": adj,
        "normal_lo_ms": mean - z * adj,
        "normal_hi_ms": mean + z * adj,
    }
