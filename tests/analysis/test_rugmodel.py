"""Timing-adjusted rug model: feature rows on hand-built ticks, fitting, calibration scores."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from rugslab.analysis import rugmodel
from rugslab.analysis.calibration import compare_models
from rugslab.errors import ConfigError

T0 = dt.datetime(2025, 11, 3, 12, tzinfo=dt.UTC)


def _ticks() -> pl.DataFrame:
    # game A: ticks 0..9 live, intervals 250 ms except 400 ms at tick 5; rugs at tick 10
    ms_a = np.cumsum([0, 250, 250, 250, 250, 400, 250, 250, 250, 250]).tolist()
    rows = [("A", t, T0 + dt.timedelta(milliseconds=m)) for t, m in enumerate(ms_a)]
    # game B: ticks 0..5 live at 300 ms, last seen at tick 5, no rug seen (censored)
    rows += [("B", t, T0 + dt.timedelta(milliseconds=300 * t)) for t in range(6)]
    return pl.DataFrame(rows, schema={"game_id": pl.String, "tick": pl.Int32,
                                      "recv_ts": pl.Datetime("us", "UTC")}, orient="row")


def _games() -> pl.DataFrame:
    return pl.DataFrame({"game_id": ["A", "B"], "rug_tick": [10, None],
                         "last_live_tick": [9, 5]},
                        schema={"game_id": pl.String, "rug_tick": pl.Int32,
                                "last_live_tick": pl.Int32})


def test_rows_features_and_outcomes_exact() -> None:
    r = rugmodel.rug_window_rows(_ticks(), _games(), horizon=3, k=2, min_intervals=1)
    # A: ticks 1..9 (alive, rugged so outcome known); B: ticks 1, 2 (seen alive through t+3 ≤ 5)
    assert r.select("game_id", "tick").rows() == [("A", t) for t in range(1, 10)] + [
        ("B", 1), ("B", 2)]
    a = r.filter(pl.col("game_id") == "A")
    assert a["rug_within"].to_list() == [False] * 6 + [True] * 3  # 10 ≤ t + 3 iff t ≥ 7
    assert r.filter(pl.col("game_id") == "B")["rug_within"].to_list() == [False, False]
    t5 = a.filter(pl.col("tick") == 5).row(0, named=True)
    assert t5["mean_interval_ms"] == pytest.approx(325.0)
    assert t5["std_interval_ms"] == pytest.approx(math.sqrt(2 * 75**2))
    assert (t5["max_interval_ms"], t5["last_interval_ms"], t5["n_intervals"]) == (400.0, 400.0,
                                                                                  2)
    t1 = a.filter(pl.col("tick") == 1).row(0, named=True)
    assert (t1["mean_interval_ms"], t1["std_interval_ms"], t1["n_intervals"]) == (250.0, 0.0, 1)
    assert r["p_constant"].to_list() == pytest.approx([1 - 0.995**3] * r.height)


def _synthetic(n: int, slope: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    mean_iv = rng.normal(250.0, 30.0, n)
    std_iv = rng.gamma(2.0, 20.0, n)
    z = (mean_iv - 250.0) / 30.0
    prob = 1.0 / (1.0 + np.exp(-(-1.5 + slope * z)))
    return pl.DataFrame({
        "game_id": [f"g{i // 20}" for i in range(n)], "tick": np.arange(n) % 20,
        "mean_interval_ms": mean_iv, "std_interval_ms": std_iv,
        "rug_within": rng.random(n) < prob, "p_constant": np.full(n, 1 - 0.995**40),
    })


def test_fit_recovers_a_real_timing_effect_and_beats_constant() -> None:
    rows = _synthetic(40_000, slope=1.0, seed=5)
    train, test = rugmodel.split_by_game(rows, test_fraction=0.3, seed=1)
    m = rugmodel.fit_timing_model(train, l2=0.0)
    assert m.converged
    # the fitted slope is on (x - train mean) / train std, close to the true 1.0 on z
    assert m.coef[1] == pytest.approx(1.0, abs=0.06)
    assert abs(m.coef[2]) < 0.05  # std_interval_ms carries no signal here
    cmp = compare_models(test, m, baseline=rugmodel.fit_intercept_model(train))
    brier = dict(zip(cmp["model"], cmp["brier"], strict=True))
    assert brier["timing"] < brier["constant"] and brier["timing"] < brier["intercept"]


def test_fit_finds_no_effect_under_the_null() -> None:
    m = rugmodel.fit_timing_model(_synthetic(40_000, slope=0.0, seed=6), l2=0.0)
    assert abs(m.coef[1]) < 0.05 and abs(m.coef[2]) < 0.05


def test_split_keeps_games_whole() -> None:
    rows = _synthetic(2000, slope=0.0, seed=7)  # 100 games of 20 rows
    train, test = rugmodel.split_by_game(rows, test_fraction=0.3, seed=3)
    assert set(train["game_id"]).isdisjoint(set(test["game_id"]))
    assert test["game_id"].n_unique() == 30 and train.height + test.height == 2000


def test_calibration_rejects_bad_input_to_the_fit() -> None:
    with pytest.raises(ConfigError, match="need both outcomes"):
        rugmodel.fit_timing_model(_synthetic(10, 0.0, 1).with_columns(
            pl.lit(False).alias("rug_within")))


def test_intercept_model_predicts_the_train_rate() -> None:
    rows = _synthetic(2000, slope=1.0, seed=9)
    m = rugmodel.fit_intercept_model(rows)
    assert m.features == ()
    assert m.predict(rows) == pytest.approx(np.full(2000, rows["rug_within"].mean()))


def test_split_by_time_holds_out_the_latest_games() -> None:
    t0 = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
    rows = _synthetic(200, slope=0.0, seed=2).with_columns(  # 10 games of 20 rows
        (pl.lit(t0) + pl.duration(minutes=pl.col("game_id").str.slice(1).cast(pl.Int64)
                                  * 7 % 10)).alias("recv_ts"))
    train, test = rugmodel.split_by_time(rows, test_fraction=0.3)
    # minutes 7·g mod 10: g7 → 9, g4 → 8, g1 → 7 are the latest three
    assert sorted(test["game_id"].unique().to_list()) == ["g1", "g4", "g7"]
    assert train.height + test.height == 200 and set(train["game_id"]).isdisjoint(
        test["game_id"])
