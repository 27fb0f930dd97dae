"""Scores, reliability tables with game-level bars, model comparisons on held-out games."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from rugslab.analysis import calibration as cal
from rugslab.analysis import rugmodel
from rugslab.errors import ConfigError


def test_calibration_exact() -> None:
    c = cal.calibration([0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1], bins=2, strategy="uniform")
    assert c.brier == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)
    assert c.log_loss == pytest.approx(-(3 * math.log(0.9) + math.log(0.1)) / 4)
    assert c.base_rate == 0.75 and c.games is None
    assert c.table.select("bin", "n", "mean_pred", "observed", "interval").rows() == [
        (0, 2, pytest.approx(0.1), 0.5, "wilson"), (1, 2, pytest.approx(0.9), 1.0, "wilson")]


def test_calibration_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="equal length"):
        cal.calibration([0.5], [1, 0])
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        cal.calibration([1.5], [1])
    with pytest.raises(ConfigError, match="one game id per prediction"):
        cal.calibration([0.5, 0.5], [1, 0], groups=["a"])


def _overlapping_windows(n_games: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of 40-tick windows: game g has rows t = 0..rug-1, outcome rug ≤ t + 40."""
    rng = np.random.default_rng(seed)
    rug = rng.geometric(0.005, n_games)
    game = np.repeat(np.arange(n_games), rug)
    t = np.concatenate([np.arange(r) for r in rug])
    y = (np.repeat(rug, rug) <= t + 40).astype(float)
    return np.full(y.size, 1 - 0.995**40), y, game


def test_reliability_bars_resample_games_and_are_wider_than_wilson() -> None:
    p, y, game = _overlapping_windows(300, seed=1)
    naive = cal.calibration(p, y, bins=1)
    by_game = cal.calibration(p, y, groups=game, bins=1, n_resamples=400)
    assert by_game.games == 300 and by_game.table["games"][0] == 300
    assert by_game.table["interval"][0] == "game bootstrap"
    wn = naive.table["hi"][0] - naive.table["lo"][0]
    wg = by_game.table["hi"][0] - by_game.table["lo"][0]
    assert wg > 3 * wn  # ~40 overlapping rows per outcome: design effect far above 1
    assert by_game.table["lo"][0] <= 1 - 0.995**40 <= by_game.table["hi"][0]


def _separable_rows(n_games: int = 40) -> pl.DataFrame:
    # games alternate: slow ticks (mean 400 ms) always rug within the window, fast ones never
    rows = []
    for g in range(n_games):
        slow = g % 2 == 0
        for t in range(1, 11):
            rows.append({"game_id": f"g{g:02d}", "tick": t,
                         "mean_interval_ms": 400.0 + t if slow else 250.0 + t,
                         "std_interval_ms": 5.0, "rug_within": slow, "p_constant": 0.18})
    return pl.DataFrame(rows)


def test_compare_models_by_game_prefers_an_informative_timing_model() -> None:
    rows = _separable_rows()
    model = rugmodel.fit_timing_model(rows)
    base = rugmodel.fit_intercept_model(rows)
    cmp = cal.compare_models_by_game(rows, model, baseline=base, n_resamples=500, seed=1)
    assert cmp.select("metric", "reference").rows() == [
        ("brier", "constant"), ("brier", "intercept"), ("log_loss", "constant"),
        ("log_loss", "intercept")]
    assert cmp["better"].to_list() == ["timing"] * 4
    assert cmp["games"].to_list() == [40] * 4 and cmp["rows"].to_list() == [400] * 4
    # the point estimate is the plain difference of the scores compare_models reports
    plain = cal.compare_models(rows, model, baseline=base)
    b = dict(zip(plain["model"], plain["brier"], strict=True))
    assert cmp["diff"][0] == pytest.approx(b["timing"] - b["constant"], rel=1e-12)
    assert cmp["diff"][1] == pytest.approx(b["timing"] - b["intercept"], rel=1e-12)
    assert cmp["reference_score"][0] == pytest.approx(0.5 * 0.82**2 + 0.5 * 0.18**2, rel=1e-12)
    assert b["intercept"] == pytest.approx(0.25)  # predicts 0.5 for every row
    assert (cmp["lo"] <= cmp["diff"] + 1e-12).all() and (cmp["diff"] <= cmp["hi"] + 1e-12).all()


def test_compare_models_by_game_says_neither_when_the_interval_spans_zero() -> None:
    rows = _separable_rows()
    # a model that predicts exactly the constant probability: the difference is 0 everywhere
    same = rugmodel.TimingModel(("mean_interval_ms",), (0.0,), (1.0,),
                                (math.log(0.18 / 0.82), 0.0), 400, True)
    cmp = cal.compare_models_by_game(rows, same, n_resamples=200)
    assert cmp["reference"].to_list() == ["constant", "constant"]
    assert cmp["better"].to_list() == ["neither (interval spans 0)"] * 2
    with pytest.raises(ConfigError, match="2 test games"):
        cal.compare_models_by_game(rows.filter(pl.col("game_id") == "g00"), same)
