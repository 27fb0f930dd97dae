"""Ensemble metrics: intervals across paths, and no interval where there cannot be one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rugslab.strategy import metrics
from rugslab.strategy.builtins import SidebetFixed, TradeTarget
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.sources import MonteCarloSource, ScriptedSource, scripted_game


def test_ratio_interval_is_the_delta_method_across_paths() -> None:
    num, den = np.array([1.0, -2.0, 0.5, 3.0] * 5), np.array([2.0, 4.0, 1.0, 2.0] * 5)
    iv = metrics.ratio_interval(num, den)
    r = num.sum() / den.sum()
    d = num - r * den
    se = math.sqrt((d * d).sum() / (20 * 19)) / den.mean()
    assert iv.value == pytest.approx(r)
    assert iv.hi - iv.value == pytest.approx(2.093024054408263 * se)  # t(0.975, 19)
    assert iv.n == 20 and iv.note is None


def test_too_few_paths_or_a_zero_width_give_no_interval() -> None:
    few = metrics.ratio_interval(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    assert (few.value, few.lo, few.hi) == (1.5, None, None)
    assert few.note.startswith("n too small: 2 path(s)")
    same = metrics.mean_interval(np.full(30, 2.0))
    assert (same.lo, same.hi) == (None, None) and "zero width" in same.note
    assert str(same) == "2 (no interval: n too small: zero width (every path had the same value))"
    assert metrics.ratio_interval(np.zeros(30), np.zeros(30)).value is None


def test_wilson_interval_from_one_path() -> None:
    iv = metrics.wilson_interval(0, 1)
    assert iv.value == 0.0 and iv.lo == pytest.approx(0.0, abs=1e-12) and iv.hi > 0.5


def test_a_single_stopped_path_reports_no_interval() -> None:
    e = run_ensemble(SidebetFixed(), MonteCarloSource(), paths=1, games_per_path=500, seed=1)
    ev = e.metrics().intervals["ev_per_bet"]
    assert ev.lo is None and ev.note.startswith("n too small: 1 path")


def test_a_strategy_that_always_loses_everything_gets_no_fake_interval() -> None:
    # every trade is wiped by the rug at tick 3: each path's EV per bet is exactly −1
    e = run_ensemble(TradeTarget(entry_tick=1, stake=1.0, target=9.0),
                     ScriptedSource((scripted_game(3),)), paths=30, games_per_path=4)
    ev = e.metrics().intervals["ev_per_bet"]
    assert ev.value == -1.0 and ev.lo is None and "zero width" in ev.note


def test_metrics_of_hand_built_paths() -> None:
    games = (scripted_game(30), scripted_game(100))  # a win then a loss for a bet at 10
    e = run_ensemble(SidebetFixed(start_tick=10, stake=1.0), ScriptedSource(games), paths=12,
                     games_per_path=4, rules=ExecutionRules(bankroll_sol=10.0))
    d = e.metrics().to_dict()
    assert (d["paths"], d["games"], d["bets"]) == (12, 4, 48)
    assert d["ev_per_bet"] == pytest.approx(3 / 2)  # (4 − 1) per 2 SOL staked
    assert d["profit_factor"] == pytest.approx(4.0) and d["exposure"] == 1.0
    assert d["final_bankroll_p50"] == 16.0 and d["max_drawdown_p50"] == pytest.approx(1 / 14)
    assert d["max_drawdown_duration_p50"] == 1.0 and d["ruin_probability"] == 0.0
    assert d["ev_per_bet_lo"] is None  # every path the same
    bands = e.bankroll_bands()
    assert bands["game"].to_list() == [0, 1, 2, 3, 4]
    assert bands["p50"].to_list() == [10.0, 14.0, 13.0, 17.0, 16.0]


def test_paths_resampled_from_few_real_games_keep_the_real_samples_uncertainty() -> None:
    rng = np.random.default_rng(0)
    pnl, staked = rng.choice([4.0, -1.0], size=(2, 400), p=[0.2, 0.8]), np.ones((2, 400))
    gen = metrics.ratio_interval(pnl[0], staked[0])
    # the same spread, but the paths came from 50 real games, 100 per path: 0.5 paths' worth
    real = metrics.ratio_interval(pnl[0], staked[0], units=50 / 100, note="real")
    assert (real.hi - real.lo) / (gen.hi - gen.lo) == pytest.approx(
        math.sqrt(400 / 0.5) * 1.959964 / 1.965927, rel=1e-4)
    ruin = metrics.wilson_interval(40, 400, units=0.5)
    assert ruin.value == 0.1 and ruin.lo < 0.01 and ruin.hi > 0.8


def test_a_lake_ensembles_intervals_do_not_shrink_with_more_paths() -> None:
    import datetime as dt

    import polars as pl

    from rugslab.strategy.sources import LakeSource, lake_games

    rugs = [30, 100, 45, 200, 12, 80, 51, 60, 300, 20] * 3
    games = pl.DataFrame({"game_id": [f"g{i:02d}" for i in range(30)], "rug_tick": rugs,
                          "rugged": True, "last_live_tick": [r - 1 for r in rugs]})
    ticks = pl.DataFrame({"game_id": ["g00"], "tick": [0], "price_x": [1.0],
                          "recv_ts": [dt.datetime(2025, 12, 1, tzinfo=dt.UTC)], "is_rug": False})
    src = LakeSource(lake_games(games, ticks), block_games=3)

    def width(paths: int) -> float:
        iv = run_ensemble(SidebetFixed(start_tick=5, stake=0.1), src, paths=paths,
                          games_per_path=30, seed=2).metrics().intervals["ev_per_bet"]
        assert iv.note == "for a sample of 30 real games (paths resampled from them)"
        return iv.hi - iv.lo

    assert width(800) == pytest.approx(width(100), rel=0.25)


def test_the_ruin_curve_of_paths_resampled_from_real_games_is_as_wide_as_the_real_sample() -> None:
    e = run_ensemble(SidebetFixed(stake=2.0), MonteCarloSource(), paths=200, games_per_path=50,
                     seed=3, rules=ExecutionRules(bankroll_sol=10.0))
    s = e.summaries
    by_path = metrics.ruin_curve(s, games=50, at=np.array([50]))
    by_game = metrics.ruin_curve(s, games=50, at=np.array([50]), resampled_from=500)
    k = by_path["ruined"][0]
    # 500 real games hold 500 / 50 = 10 independent paths of 50 games: Wilson at n = 10
    real = metrics.wilson_interval(k, 200, units=10)
    assert 0 < k < 200 and by_game["p"][0] == by_path["p"][0] == k / 200
    assert (by_game["lo"][0], by_game["hi"][0]) == (real.lo, real.hi)
    assert by_game["hi"][0] - by_game["lo"][0] > by_path["hi"][0] - by_path["lo"][0]
