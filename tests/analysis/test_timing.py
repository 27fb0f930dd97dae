"""Timing statistics on a hand-built ticks frame: every expected number worked out by hand."""

from __future__ import annotations

import datetime as dt
import itertools
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
    assert iv["is_stall"].to_list() == [False, False, False, False, True, False, False]


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
    assert s["share_stall"] == pytest.approx(1 / 7)
    # robust spread: |x - 250| sorted 0, 0, 0, 0, 50, 220, 950 → MAD 0; IQR 275 - 250
    assert (s["mad"], s["mad_sd"], s["iqr"], s["stalls"]) == (0.0, 0.0, 25.0, 1.0)
    # without the stall (1200): 30, 250, 250, 250, 250, 300
    calm = [30, 250, 250, 250, 250, 300]
    assert s["mean_no_stalls"] == pytest.approx(statistics.mean(calm))
    assert s["std_no_stalls"] == pytest.approx(statistics.stdev(calm))
    assert list(s)[:4] == ["n", "median", "mad", "mad_sd"]  # robust spread leads


def test_interval_stats_empty_sample_is_nan() -> None:
    s = timing.interval_stats(pl.DataFrame({"interval_ms": []}, schema={"interval_ms": pl.Float64}))
    assert s["n"] == 0 and math.isnan(s["mean"]) and math.isnan(s["p99"])
    assert s["stalls"] == 0 and math.isnan(s["mad"])


def test_drift_per_hour(ticks: pl.DataFrame) -> None:
    d = timing.interval_drift(timing.tick_intervals(ticks), every="1h")
    assert d["period_start"].to_list() == [T0, T1]
    assert d["n"].to_list() == [5, 2]
    assert d["mean_ms"].to_list() == pytest.approx([1980 / 5, 275.0])
    assert d["stalls"].to_list() == [1, 0]
    assert d["games"].to_list() == [1, 1]
    # hour 18, game A: 30, 250, 250, 250, 1200 → median 250, MAD 0; hour 19: 300, 250
    assert d["median_ms"].to_list() == [250.0, 275.0]
    assert d["mad_ms"].to_list() == [0.0, 25.0]
    h = timing.interval_profile(timing.tick_intervals(ticks), by="hour")
    assert h["hour"].to_list() == [18, 19]


def test_anomalies_are_robust_outliers_and_stalls(ticks: pl.DataFrame) -> None:
    iv = timing.tick_intervals(ticks)
    # MAD is 0 here (four intervals of exactly 250): no robust scale, so only the stall counts
    a = timing.interval_anomalies(iv)
    assert a.select("tick", "reason").rows() == [(5, "stall")]
    # a sample with spread: 240..260 around 250, one 600 ms late tick and one 5 s stall
    ms = [250, 240, 260, 245, 255, 250, 600, 250, 5000, 250]
    stamps = [T0 + dt.timedelta(milliseconds=v) for v in itertools.accumulate([0, *ms])]
    iv2 = timing.tick_intervals(pl.DataFrame({"game_id": "g", "tick": range(11),
                                              "recv_ts": stamps}))
    # median 250, |x - 250| = 0,10,10,5,5,0,350,0,4750,0 → MAD 5 → robust σ = 7.41
    out = timing.interval_anomalies(iv2, sigma=10.0)
    assert out.select("tick", "reason").rows() == [(7, "outlier"), (9, "outlier+stall")]
    assert out["z"][0] == pytest.approx(350 / (timing.MAD_TO_SD * 5))
    # the old 3σ rule on mean and sd: the stall lifts the sd to 1.5 s and hides the 600 ms tick
    assert (600 - statistics.mean(ms)) / statistics.stdev(ms) < 1
    # a second day, 40 times as spread: z is taken against each day's own median and MAD, so
    # the same ticks stand out; pooled, the wide day's ordinary ticks would all be outliers
    wide = iv2.with_columns(pl.col("recv_ts") + dt.timedelta(days=1),
                            (pl.col("interval_ms") - 250) * 40 + 250)
    both = pl.concat([iv2, wide])
    assert timing.interval_anomalies(both, sigma=10.0)["tick"].to_list() == [7, 9, 7, 9]
    assert timing.interval_anomalies(both, sigma=10.0, by="all").height > 4
    with pytest.raises(ConfigError, match="'day' or 'all'"):
        timing.interval_anomalies(both, by="week")  # type: ignore[arg-type]


def test_breakdown_by_day_and_session() -> None:
    t0 = dt.datetime(2025, 11, 3, 9, tzinfo=dt.UTC)
    rows = []
    # games a, b 1 minute apart (one session), c 2 hours later (a new session), d next day
    for gid, start, ms in [("a", t0, 250), ("b", t0 + dt.timedelta(minutes=1), 250),
                           ("c", t0 + dt.timedelta(hours=2), 300),
                           ("d", t0 + dt.timedelta(days=1), 200)]:
        rows += [(gid, t, start + dt.timedelta(milliseconds=ms * t)) for t in range(5)]
    iv = timing.tick_intervals(pl.DataFrame(rows, schema=["game_id", "tick", "recv_ts"],
                                            orient="row"))
    s = timing.recording_sessions(iv)
    assert s.select("game_id", "session").rows() == [("a", 1), ("b", 1), ("c", 2), ("d", 3)]
    by_session = timing.interval_breakdown(iv, by="session")
    assert by_session.select("session", "n", "games", "median_ms").rows() == [
        (1, 8, 2, 250.0), (2, 4, 1, 300.0), (3, 4, 1, 200.0)]
    by_day = timing.interval_breakdown(iv, by="day")
    assert by_day.select("n", "games").rows() == [(12, 3), (4, 1)]
    with pytest.raises(ConfigError, match="gap"):
        timing.recording_sessions(iv, gap="ten minutes")
    with pytest.raises(ConfigError, match="'day' or 'session'"):
        timing.interval_breakdown(iv, by="week")  # type: ignore[arg-type]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(SchemaViolation, match="recv_ts"):
        timing.tick_intervals(pl.DataFrame({"game_id": [A], "tick": [1]}))
    two = pl.DataFrame({"game_id": [A, A], "tick": [0, 1], "recv_ts": [T0, T0]})
    with pytest.raises(ConfigError, match="'hour' or 'weekday'"):
        timing.interval_profile(timing.tick_intervals(two), by="minute")  # type: ignore[arg-type]


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
