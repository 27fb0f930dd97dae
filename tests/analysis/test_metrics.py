"""Metrics on a hand-built backtest: ROI, hit rate, drawdown, Sharpe, risk of ruin."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from rugslab.analysis import metrics, strategies
from rugslab.analysis.backtest import game_paths_from_rug_ticks, run_backtest
from rugslab.feed.rules import SIDEBET_WINDOW_TICKS


@pytest.fixture
def result():
    # fixed 1 SOL bets at tick 0 from 10 SOL; rugs: win, lose, lose, lose, win, lose
    paths = game_paths_from_rug_ticks([20, 100, 100, 100, 20, 100])
    return run_backtest(paths, strategies.FixedStartTick(0, 1.0), bankroll_sol=10.0)


def test_exact_metrics(result) -> None:
    # bankroll: 14, 13, 12, 11, 15, 14; profit 4-1-1-1+4-1 = 4 on 6 staked
    assert result.bankroll["bankroll_sol"].to_list() == [14.0, 13.0, 12.0, 11.0, 15.0, 14.0]
    assert metrics.roi(result) == pytest.approx(4 / 6)
    h = metrics.hit_rate(result)
    assert (h["n"], h["wins"], h["hit_rate"]) == (6, 2, pytest.approx(1 / 3))
    dd = metrics.max_drawdown(result)
    assert dd["max_drawdown_sol"] == 3.0 and dd["max_drawdown_frac"] == pytest.approx(3 / 14)
    pnl = [4, -1, -1, -1, 4, -1]
    assert metrics.sharpe_per_game(result) == pytest.approx(
        statistics.mean(pnl) / statistics.stdev(pnl))
    ev = metrics.ev_per_bet(result, seed=1)
    assert ev["ev_sol"] == pytest.approx(4 / 6) and ev["ev_per_stake"] == pytest.approx(4 / 6)
    assert ev["ev_lo_sol"] < 4 / 6 < ev["ev_hi_sol"]


def test_risk_of_ruin_extremes(result) -> None:
    # per-game P&L never below -1 and 6 games from 10 SOL: ruin impossible
    assert metrics.risk_of_ruin(result, n_paths=200)["risk_of_ruin"] == 0.0
    # a ruin level of 10.5 over one game is hit exactly when that game loses (4 of 6 P&Ls)
    r = metrics.risk_of_ruin(result, ruin_sol=10.5, n_games=1, n_paths=4000, seed=3)
    assert r["lo"] <= 4 / 6 <= r["hi"]


def test_summary_row_on_simulated_games() -> None:
    # TODO: switch to rugslab.sim.montecarlo once it lands.
    rug = np.random.default_rng(9).geometric(0.005, 3000)
    paths = game_paths_from_rug_ticks(rug)
    r = run_backtest(paths, strategies.FixedStartTick(100, 0.01), bankroll_sol=100.0)
    s = metrics.summarize(r, n_paths=200).row(0, named=True)
    alive = int((rug > 100).sum())
    wins = int(((rug > 100) & (rug <= 100 + SIDEBET_WINDOW_TICKS)).sum())
    assert (s["games"], s["bets"], s["skipped"]) == (3000, alive, 3000 - alive)
    assert s["profit_sol"] == pytest.approx(0.01 * (5 * wins - alive))
    assert s["ev_per_stake_lo"] <= 5 * (1 - 0.995**40) - 1 <= s["ev_per_stake_hi"]
    assert s["stop_reason"] is None
