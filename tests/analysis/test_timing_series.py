"""Autocorrelation with game-level intervals, and the duration of a 40-tick window."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import polars as pl
import pytest

from rugslab.analysis import timing, timing_series
from rugslab.errors import ConfigError

T0 = dt.datetime(2025, 10, 29, 18, 0, tzinfo=dt.UTC)


def _ticks(per_game: dict[str, list[float | None]]) -> pl.DataFrame:
    """Ticks 0..n of each game received at the cumulative sums of its intervals (ms)."""
    rows = []
    for g, (gid, ms) in enumerate(per_game.items()):
        base = T0 + dt.timedelta(hours=g)
        t = 0.0
        rows.append((gid, 0, base))
        for i, m in enumerate(ms, start=1):
            if m is None:  # tick not seen live
                rows.append((gid, i, None))
                continue
            t += m
            rows.append((gid, i, base + dt.timedelta(milliseconds=t)))
    return pl.DataFrame(rows, schema={"game_id": pl.String, "tick": pl.Int32,
                                      "recv_ts": pl.Datetime("us", "UTC")}, orient="row")


@pytest.fixture
def intervals() -> pl.DataFrame:
    # game A: intervals 250, 250, 30, 250, 1200 (a stall); game B: 300 (tick 1), 250 (tick 4)
    ticks = _ticks({"A": [250, 250, 30, 250, 1200], "B": [300, None, 300, 250]})
    return timing.tick_intervals(ticks)


def test_autocorrelation_pairs_within_games(intervals: pl.DataFrame) -> None:
    acf = timing_series.interval_autocorrelation(intervals, max_lag=2, n_resamples=50)
    # lag 1: A (250,250) (250,30) (30,250) (250,1200); B's intervals end at ticks 1 and 4
    # (tick 2 was not seen live, so tick 3 has none): no pair at lag 1 or 2
    r1 = statistics.correlation([250, 250, 30, 250], [250, 30, 250, 1200])
    r2 = statistics.correlation([250, 250, 30], [30, 250, 1200])
    assert acf["n_pairs"].to_list() == [4, 3]
    assert acf["games"].to_list() == [1, 1]
    assert acf["acf"].to_list() == pytest.approx([r1, r2])
    with pytest.raises(ConfigError, match="max_lag"):
        timing_series.interval_autocorrelation(intervals, max_lag=0)
    # without A's stall (1200 at tick 5) its lag-1 pairs are (250,250) (250,30) (30,250)
    calm = timing_series.interval_autocorrelation(intervals, max_lag=1, exclude_stalls=True,
                                                  n_resamples=0)
    assert calm["n_pairs"][0] == 3
    assert calm["acf"][0] == pytest.approx(statistics.correlation([250, 250, 30],
                                                                  [250, 30, 250]))


def _ma1_lake(rng: np.random.Generator, games: int, ticks: int, theta: float) -> pl.DataFrame:
    """Intervals 250 + σ_g(e_t - θ e_{t-1}): MA(1), ρ₁ = -θ/(1+θ²), a scale σ_g per game."""
    rows = []
    for g in range(games):
        sigma = 20.0 * rng.lognormal(0.0, 0.3)
        e = rng.standard_normal(ticks + 1)
        x = 250.0 + sigma * (e[1:] - theta * e[:-1])
        rows.append(pl.DataFrame({"game_id": f"g{g:03d}", "tick": np.arange(1, ticks + 1),
                                  "interval_ms": x}))
    return pl.concat(rows)


def test_autocorrelation_interval_resamples_games_and_covers_the_truth() -> None:
    theta = 0.8
    truth = -theta / (1 + theta**2)
    rng = np.random.default_rng(3)
    hits = 0
    lakes = 100
    for i in range(lakes):
        lake = _ma1_lake(rng, games=40, ticks=60, theta=theta)
        acf = timing_series.interval_autocorrelation(lake, max_lag=1, n_resamples=300, seed=i)
        lo, hi = acf["lo"][0], acf["hi"][0]
        hits += lo <= truth <= hi
    # percentile intervals from 40 unequal games run a little below 95% (measured: 0.90);
    # 100 lakes: 0.95 - 3 binomial sd = 0.885
    assert hits / lakes >= 0.85


def test_games_in_different_regimes_widen_the_interval_far_beyond_fisher_z() -> None:
    # half the games oscillate (ρ₁ = -0.497), half drift (ρ₁ = +0.497): the pooled r is near
    # 0, and whether it is depends on which games the lake happened to catch
    rng = np.random.default_rng(4)
    lake = pl.concat([
        pl.DataFrame({"game_id": f"g{g:02d}", "tick": np.arange(1, 61),
                      "interval_ms": 250 + 20 * (e[1:] - (0.9 if g % 2 else -0.9) * e[:-1])})
        for g, e in enumerate(rng.standard_normal((40, 61)))])
    a = timing_series.interval_autocorrelation(lake, max_lag=1, n_resamples=500).row(0, named=True)
    fisher = 2 * 1.96 / math.sqrt(a["n_pairs"] - 3) * (1 - a["acf"] ** 2)
    assert a["hi"] - a["lo"] > 3 * fisher


def test_window_durations_use_only_unbroken_runs(intervals: pl.DataFrame) -> None:
    w = timing_series.window_durations(intervals, window_ticks=2)
    assert sorted(w["duration_ms"].to_list()) == [280.0, 280.0, 500.0, 1450.0]
    assert w.filter(pl.col("has_stall"))["duration_ms"].to_list() == [1450.0]


def test_predict_window_duration_models_windows_without_stalls(intervals: pl.DataFrame) -> None:
    p = timing_series.predict_window_duration(intervals, window_ticks=2, level=0.5, max_lag=1)
    # the model uses the intervals that are not stalls: A 250, 250, 30, 250; B 300, 250
    calm = [250, 250, 30, 250, 300, 250]
    var = statistics.variance(calm)
    r1 = statistics.correlation([250, 250, 30], [250, 30, 250])  # A's pairs without the stall
    assert p["mean_ms"] == pytest.approx(2 * statistics.mean(calm))
    assert p["iid_sd_ms"] == pytest.approx(math.sqrt(2 * var))
    assert p["adjusted_sd_ms"] == pytest.approx(math.sqrt(2 * var * (1 + r1)))
    # the empirical answer keeps every window, the stall's included: 280, 280, 500, 1450
    assert p["n_windows"] == 4
    assert p["share_with_stall"] == 0.25
    assert p["empirical_median_ms"] == pytest.approx(390.0)
    assert (p["empirical_lo_ms"], p["empirical_hi_ms"]) == pytest.approx((280.0, 737.5))


def test_window_prediction_uses_every_lag_below_the_window_by_default() -> None:
    # a period-24 oscillation: correlations beyond lag 10 are far from zero
    ms = 250 + 40 * np.sin(2 * np.pi * np.arange(2000) / 24)
    iv = timing.tick_intervals(_ticks({"g": ms.tolist()}))
    default = timing_series.predict_window_duration(iv, window_ticks=40)
    full = timing_series.predict_window_duration(iv, window_ticks=40, max_lag=39)
    short = timing_series.predict_window_duration(iv, window_ticks=40, max_lag=10)
    assert default["adjusted_sd_ms"] == full["adjusted_sd_ms"]
    assert default["adjusted_sd_ms"] != short["adjusted_sd_ms"]
    # the full-lag normal sd is close to the spread of the observed 40-tick windows
    observed_sd = float(np.std(timing_series.window_durations(iv, window_ticks=40)[
        "duration_ms"].to_numpy()))
    assert abs(default["adjusted_sd_ms"] - observed_sd) < 0.25 * observed_sd


def test_a_stall_no_longer_widens_the_normal_window_interval() -> None:
    rng = np.random.default_rng(8)
    jitter = rng.normal(0, 10, 4001)
    ms = 250 + np.diff(jitter)  # receive jitter: a window's duration telescopes
    ms[2000] = 20_000.0  # one 20 s stall
    iv = timing.tick_intervals(_ticks({"g": ms.tolist()}))
    p = timing_series.predict_window_duration(iv, window_ticks=40)
    normal = p["normal_hi_ms"] - p["normal_lo_ms"]
    empirical = p["empirical_hi_ms"] - p["empirical_lo_ms"]
    assert normal < 1.5 * empirical
    assert p["share_with_stall"] == pytest.approx(40 / p["n_windows"])
