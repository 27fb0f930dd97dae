"""Timing statistics on a hand-built ticks frame: every expected number worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import polars as pl
import pytest

from rugslab.analysis import timing
from rugslab.errors import ConfigError, SchemaViolation

A = "20251029-aaaaaaaaaaaaaaaa"
B = "20251029-bbbbbbbbbbbbbbbb"
T0 = dt.datetime(2025, 10, 29, 18, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 10, 29, 19, 0, tzinfo=dt.UTC)


def _ts(base: dt.datetime, ms: float | None) -> dt.datetime | None:
    return None if ms is None else base + dt.timedelta(milliseconds=ms)


@pytest.fixture
def ticks() -> pl.DataFrame:
    # game A: ticks 0..5 → intervals 250, 250, 30 (burst), 250, 1200 (pause)
    # game B: tick 12 not seen live, so 11→13 gives no interval: intervals 300 (t11), 250 (t14)
    rows = [(A, t, _ts(T0, ms)) for t, ms in enumerate([0, 250, 500, 530, 780, 1980])]
    rows += [(B, t, _ts(T1, ms)) for t, ms in [(10, 0), (11, 300), (12, None), (13, 800),
                                               (14, 1050)]]
    return pl.DataFrame(
        rows, schema={"game_id": pl.String, "tick": pl.Int32,
                      "recv_ts": pl.Datetime("us", "UTC")}, orient="row",
    ).sample(fraction=1.0, shuffle=True, seed=3)  # order must not matter


def test_intervals_only_between_adjacent_live_ticks(ticks: pl.DataFrame) -> None:
    iv = timing.tick_intervals(ticks)
    assert iv.select("game_id", "tick", "interval_ms").rows() == [
        (A, 1, 250.0), (A, 2, 250.0), (A, 3, 30.0), (A, 4, 250.0), (A, 5, 1200.0),
        (B, 11, 300.0), (B, 14, 250.0),
    ]
    assert iv["is_burst"].to_list() == [False, False, True, False, False, False, False]
    assert iv["is_pause"].to_list() == [False, False, False, False, True, False, False]


def test_ticks_past_the_games_rug_tick_are_left_out_when_games_are_given(
    ticks: pl.DataFrame,
) -> None:
    # game A rugged at tick 4 (its row at 5 is a lone second rug frame's); B is not in games
    games = pl.DataFrame({"game_id": [A, A], "rug_tick": [5, 4]}, schema_overrides={
        "rug_tick": pl.Int32})  # two rows of a game: the lowest rug tick counts
    iv = timing.tick_intervals(ticks, games)
    assert iv.select("game_id", "tick").rows() == [
        (A, 1), (A, 2), (A, 3), (A, 4), (B, 11), (B, 14)]
    with pytest.raises(SchemaViolation, match="rug_tick"):
        timing.tick_intervals(ticks, games.drop("rug_tick"))


def test_interval_stats_exact(ticks: pl.DataFrame) -> None:
    s = timing.interval_stats(timing.tick_intervals(ticks))
    # sorted sample: 30, 250, 250, 250, 250, 300, 1200 (sum 2530, sum of squares 1780900)
    var = (1780900 - 2530**2 / 7) / 6
    assert s["n"] == 7
    assert s["mean"] == pytest.approx(2530 / 7)
    assert s["median"] == 250.0
    assert s["variance"] == pytest.approx(var)
    assert s["std"] == pytest.approx(math.sqrt(var))
    assert s["cv"] == pytest.approx(math.sqrt(var) / (2530 / 7))
    # linear interpolation at position 6q of the sorted sample
    assert s["p1"] == pytest.approx(30 + 0.06 * 220)
    assert s["p5"] == pytest.approx(30 + 0.3 * 220)
    assert s["p25"] == 250.0
    assert s["p75"] == pytest.approx(275.0)
    assert s["p95"] == pytest.approx(300 + 0.7 * 900)
    assert s["p99"] == pytest.approx(300 + 0.94 * 900)
    assert (s["min"], s["max"]) == (30.0, 1200.0)
    assert s["share_burst"] == pytest.approx(1 / 7)
    assert s["share_pause"] == pytest.approx(1 / 7)


def test_interval_stats_empty_sample_is_nan() -> None:
    s = timing.interval_stats(pl.DataFrame({"interval_ms": []}, schema={"interval_ms": pl.Float64}))
    assert s["n"] == 0 and math.isnan(s["mean"]) and math.isnan(s["p99"])


def test_drift_per_hour(ticks: pl.DataFrame) -> None:
    d = timing.interval_drift(timing.tick_intervals(ticks), every="1h")
    assert d["period_start"].to_list() == [T0, T1]
    assert d["n"].to_list() == [5, 2]
    assert d["mean_ms"].to_list() == pytest.approx([1980 / 5, 275.0])
    assert d["share_pause"].to_list() == pytest.approx([0.2, 0.0])
    h = timing.interval_profile(timing.tick_intervals(ticks), by="hour")
    assert h["hour"].to_list() == [18, 19]


def test_autocorrelation_pairs_within_games(ticks: pl.DataFrame) -> None:
    acf = timing.interval_autocorrelation(timing.tick_intervals(ticks), max_lag=2)
    # lag 1: only game A has neighbouring intervals: (250,250) (250,30) (30,250) (250,1200)
    r1 = statistics.correlation([250, 250, 30, 250], [250, 30, 250, 1200])
    r2 = statistics.correlation([250, 250, 30], [30, 250, 1200])
    assert acf["n_pairs"].to_list() == [4, 3]
    assert acf["acf"].to_list() == pytest.approx([r1, r2])
    assert (acf["lo"] <= acf["acf"]).all() and (acf["acf"] <= acf["hi"]).all()


def test_anomalies_sigma_and_pause(ticks: pl.DataFrame) -> None:
    iv = timing.tick_intervals(ticks)
    # z of 1200 = (1200 - 361.43) / 380.02 = 2.21: a pause but not a 3σ outlier
    a3 = timing.interval_anomalies(iv, sigma=3.0)
    assert a3.select("tick", "reason").rows() == [(5, "pause")]
    a2 = timing.interval_anomalies(iv, sigma=2.0)
    assert a2.select("tick", "reason").rows() == [(5, "sigma+pause")]
    assert a2["z"][0] == pytest.approx((1200 - 2530 / 7) / math.sqrt((1780900 - 2530**2 / 7) / 6))


def test_window_durations_use_only_unbroken_runs(ticks: pl.DataFrame) -> None:
    w = timing.window_durations(timing.tick_intervals(ticks), window_ticks=2)
    assert sorted(w.tolist()) == [280.0, 280.0, 500.0, 1450.0]


def test_predict_window_duration(ticks: pl.DataFrame) -> None:
    iv = timing.tick_intervals(ticks)
    p = timing.predict_window_duration(iv, window_ticks=2, level=0.5, max_lag=1)
    var = (1780900 - 2530**2 / 7) / 6
    r1 = statistics.correlation([250, 250, 30, 250], [250, 30, 250, 1200])
    assert p["mean_ms"] == pytest.approx(2 * 2530 / 7)
    assert p["iid_sd_ms"] == pytest.approx(math.sqrt(2 * var))
    # n = 2: factor 1 + 2·(1 - 1/2)·ρ₁
    assert p["adjusted_sd_ms"] == pytest.approx(math.sqrt(2 * var * (1 + r1)))
    assert p["n_windows"] == 4
    assert p["empirical_mean_ms"] == pytest.approx((280 + 280 + 500 + 1450) / 4)
    # quartiles of [280, 280, 500, 1450]: positions 0.75 and 2.25
    assert (p["empirical_lo_ms"], p["empirical_hi_ms"]) == pytest.approx((280.0, 737.5))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(SchemaViolation, match="recv_ts"):
        timing.tick_intervals(pl.DataFrame({"game_id": [A], "tick": [1]}))
    iv = pl.DataFrame({"game_id": [A], "tick": [1], "interval_ms": [1.0]})
    with pytest.raises(ConfigError, match="max_lag"):
        timing.interval_autocorrelation(iv, max_lag=0)


def test_catch_up_bursts_runs_and_the_stall_before() -> None:
    t0 = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    # game g: ticks 0..7; tick 3 arrives after a 1200 ms stall, ticks 4, 5 at +5 ms, +7 ms
    # (one run of 2 bursts after the stall), tick 7 at +10 ms after 6 (a lone burst)
    ms = [0, 250, 500, 1700, 1705, 1712, 1962, 1972]
    ticks = pl.DataFrame({"game_id": "g", "tick": list(range(8)),
                          "recv_ts": [t0 + dt.timedelta(milliseconds=m) for m in ms]})
    runs = timing.catch_up_bursts(timing.tick_intervals(ticks))
    assert runs.select("first_tick", "last_tick", "n_ticks", "burst_ms", "stall_ms").rows() == [
        (4, 5, 2, 12.0, 1200.0), (7, 7, 1, 10.0, 250.0)]
    assert runs["recv_ts"].to_list() == [t0 + dt.timedelta(milliseconds=1705),
                                         t0 + dt.timedelta(milliseconds=1972)]
    with pytest.raises(ConfigError, match="burst_ms"):
        timing.catch_up_bursts(timing.tick_intervals(ticks), burst_ms=0)


def test_window_prediction_uses_every_lag_below_the_window_by_default() -> None:
    # a period-24 oscillation: correlations beyond lag 10 are far from zero
    import numpy as np

    ms = 250 + 40 * np.sin(2 * np.pi * np.arange(2000) / 24)
    t0 = dt.datetime(2025, 12, 12, tzinfo=dt.UTC)
    ts = t0 + pl.Series(np.cumsum(ms) * 1000).cast(pl.Duration("us"))
    ticks = pl.DataFrame({"game_id": ["g"] * 2000, "tick": range(2000), "recv_ts": ts})
    iv = timing.tick_intervals(ticks)
    default = timing.predict_window_duration(iv, window_ticks=40)
    full = timing.predict_window_duration(iv, window_ticks=40, max_lag=39)
    short = timing.predict_window_duration(iv, window_ticks=40, max_lag=10)
    assert default["adjusted_sd_ms"] == full["adjusted_sd_ms"]
    assert default["adjusted_sd_ms"] != short["adjusted_sd_ms"]
    # the full-lag normal sd is close to the spread of the observed 40-tick windows
    observed_sd = float(np.std(timing.window_durations(iv, window_ticks=40)))
    assert abs(default["adjusted_sd_ms"] - observed_sd) < 0.25 * observed_sd
