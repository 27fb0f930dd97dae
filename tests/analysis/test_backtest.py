"""Backtest engine: bankroll accounting on hand-built games, every expected bankroll by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rugslab.analysis import backtest, strategies
from rugslab.analysis.backtest import RiskLimits, run_backtest
from rugslab.errors import ConfigError
from rugslab.sim import montecarlo


def _paths(rugs: list[int | None], *, last: list[int] | None = None,
           ended: list[bool] | None = None) -> pl.DataFrame:
    n = len(rugs)
    return pl.DataFrame({
        "game_id": [f"g{i}" for i in range(n)],
        "rug_tick": pl.Series(rugs, dtype=pl.Int64),
        "first_tick": [0] * n,
        "last_tick": last or [(r - 1) if r is not None else 5000 for r in rugs],
        "ended": ended or [True] * n,
    })


def test_fixed_start_tick_bankroll_exact() -> None:
    paths = _paths([30, 100, 5, None, 45], last=[29, 99, 4, 20, 44],
                   ended=[True, True, True, False, True])
    r = run_backtest(paths, strategies.FixedStartTick(10, 1.0), bankroll_sol=10.0)
    # g0 rug 30 ≤ 50: +4 → 14; g1 rug 100: -1 → 13; g2 rugged at 5 before tick 10: no bet;
    # g3 seen alive only to 20: outcome unknown, no bet; g4 rug 45 ≤ 50: +4 → 17
    assert r.bets["bankroll_after_sol"].to_list() == [14.0, 13.0, 17.0]
    assert r.bets["profit_sol"].to_list() == [4.0, -1.0, 4.0]
    assert r.bets["payout_sol"].to_list() == [5.0, 0.0, 5.0]
    assert r.bets["resolved_tick"].to_list() == [30, 50, 45]
    assert r.bankroll["bankroll_sol"].to_list() == [14.0, 13.0, 13.0, 13.0, 17.0]
    assert r.skipped.select("game_id", "reason").rows() == [
        ("g2", "rugged before start"), ("g3", "unknown outcome")]
    assert r.final_sol == 17.0 and r.stop_reason is None


def test_martingale_and_max_stake() -> None:
    paths = _paths([100, 200, 20, 300])
    r = run_backtest(paths, strategies.Martingale(1.0, start_tick=10), bankroll_sol=10.0)
    # stakes 1 (lose → 9), 2 (lose → 7), 4 (win: 7 - 4 + 20 = 23), 1 (lose → 22)
    assert r.bets["stake_sol"].to_list() == [1.0, 2.0, 4.0, 1.0]
    assert r.bets["bankroll_after_sol"].to_list() == [9.0, 7.0, 23.0, 22.0]
    capped = run_backtest(paths, strategies.Martingale(1.0, start_tick=10), bankroll_sol=10.0,
                          limits=RiskLimits(max_stake_sol=1.5))
    # stakes 1 → 9, 1.5 (clipped) → 7.5, 1.5 win → 7.5 - 1.5 + 7.5 = 13.5, 1 → 12.5
    assert capped.bets["stake_sol"].to_list() == [1.0, 1.5, 1.5, 1.0]
    assert capped.bets["clipped"].to_list() == [False, True, True, False]
    assert capped.bets["bankroll_after_sol"].to_list() == [9.0, 7.5, 13.5, 12.5]


def test_anti_martingale_banks_streaks() -> None:
    paths = _paths([20, 20, 20, 100, 20])
    r = run_backtest(paths, strategies.AntiMartingale(1.0, start_tick=0, max_steps=2),
                     bankroll_sol=10.0)
    # stakes 1 (win +4 → 14), 2 (win +8 → 22), 4 (win +16 → 38), streak of 3 > 2 resets: 1
    # (lose → 37), 1 (win → 41)
    assert r.bets["stake_sol"].to_list() == [1.0, 2.0, 4.0, 1.0, 1.0]
    assert r.bets["bankroll_after_sol"].to_list() == [14.0, 22.0, 38.0, 37.0, 41.0]


def test_risk_limits_stop_the_run() -> None:
    loss_loss_win = _paths([100, 100, 20])
    r = run_backtest(loss_loss_win, strategies.FixedStartTick(0, 1.0), bankroll_sol=10.0,
                     limits=RiskLimits(max_consecutive_losses=2))
    assert (r.stop_reason, r.final_sol, r.bankroll.height) == ("max consecutive losses", 8.0, 2)
    dd = run_backtest(loss_loss_win, strategies.FixedStartTick(0, 1.0), bankroll_sol=4.0,
                      limits=RiskLimits(max_drawdown=0.25))
    assert (dd.stop_reason, dd.final_sol, dd.bankroll.height) == ("drawdown breaker", 3.0, 1)
    ruin = run_backtest(loss_loss_win, strategies.FixedStartTick(0, 5.0), bankroll_sol=3.0)
    # the stake is cut to the bankroll (3), lost: ruin before game 2
    assert ruin.bets["stake_sol"].to_list() == [3.0]
    assert (ruin.stop_reason, ruin.final_sol) == ("ruin", 0.0)


def test_stop_loss_take_profit_wrapper() -> None:
    paths = _paths([20, 20, 100, 100])
    s = strategies.StopLossTakeProfit(strategies.FixedStartTick(0, 1.0), take_profit=0.5)
    r = run_backtest(paths, s, bankroll_sol=10.0)
    # 10 → 14 → 18 ≥ 15: no more bets
    assert r.bets.height == 2 and r.final_sol == 18.0


def test_kelly_does_not_bet_a_negative_edge() -> None:
    assert strategies.kelly_fraction(1 - 0.995**40) == pytest.approx(
        (5 * (1 - 0.995**40) - 1) / 4)
    r = run_backtest(_paths([20, 20]), strategies.FractionalKelly(0.5), bankroll_sol=10.0)
    assert r.bets.height == 0 and r.final_sol == 10.0
    # with p = 0.3 from a model column: f* = (4·0.3 - 0.7)/4 = 0.125, half Kelly = 6.25% of 10
    paths = _paths([20, 100]).with_columns(pl.Series("p", [[0.3], [0.3]]))
    r2 = run_backtest(paths, strategies.FractionalKelly(0.5, prob_col="p"), bankroll_sol=10.0)
    assert r2.bets["stake_sol"].to_list() == pytest.approx([0.625, 0.5 * 0.125 * 12.5])
    assert r2.final_sol == pytest.approx(12.5 - 0.78125)


def test_threshold_bets_at_first_crossing() -> None:
    paths = _paths([30, 8]).with_columns(
        pl.Series("p_rug_window", [[0.1, 0.1, 0.25, 0.3], [0.1] * 9 + [0.4]]))
    r = run_backtest(paths, strategies.ThresholdSideBet(0.2, 1.0), bankroll_sol=10.0)
    # g0: crosses at tick 2, rug 30 ≤ 42: win → 14; g1: crosses at 9 > rug 8: no bet
    assert r.bets["tick"].to_list() == [2] and r.final_sol == 14.0
    assert r.skipped["reason"].to_list() == ["rugged before start"]


def _price_paths() -> pl.DataFrame:
    return pl.DataFrame({
        "game_id": ["up", "rug", "cap"],
        "rug_tick": pl.Series([6, 4, None], dtype=pl.Int64),
        "first_tick": [0, 0, 0],
        "last_tick": [5, 3, 2],
        "ended": [True, True, True],
        "prices": [[1.0, 1.2, 1.5, 2.1, 1.8, 2.5], [1.0, 0.9, 1.1, 1.2], [1.0, 1.1, 1.3]],
    })


def test_trades_exit_at_target_tick_rug_or_cap() -> None:
    r = run_backtest(_price_paths(), strategies.Trade(1.0, entry_tick=1, exit_multiple=1.5),
                     bankroll_sol=10.0)
    # up: buy 1.2 at tick 1, target 1.8 first met at tick 3 (2.1): value 1.75 → +0.75
    # rug: buy 0.9 at tick 1, 1.35 never reached, rug at 4 wipes: -1
    # cap: buy 1.1 at tick 1, no target, ran to the cap: sells at 1.3 → +0.3/1.1
    assert r.bets.select("tick", "resolved_tick").rows() == [(1, 3), (1, 4), (1, 2)]
    assert r.bets["profit_sol"].to_list() == pytest.approx([0.75, -1.0, 1.3 / 1.1 - 1])
    assert r.final_sol == pytest.approx(10.0 + 0.75 - 1.0 + 1.3 / 1.1 - 1)
    by_price = run_backtest(_price_paths()[:1], strategies.Trade(2.0, entry_price_x=1.1,
                                                                 exit_multiple=None, exit_tick=4),
                            bankroll_sol=10.0)
    # enters at tick 1 (1.2 ≥ 1.1), exits at tick 4 (1.8): 2·1.5 = 3 back, +1
    assert by_price.bets["profit_sol"].to_list() == pytest.approx([1.0])
    with pytest.raises(ConfigError, match="prices"):
        run_backtest(_paths([10]), strategies.Trade(1.0), bankroll_sol=1.0)


def test_paths_from_rug_ticks_and_lake() -> None:
    p = backtest.game_paths_from_rug_ticks([12, -1])
    assert p.select("rug_tick", "last_tick", "ended").rows() == [(12, 11, True), (None, 5000, True)]
    ticks = pl.DataFrame({
        "game_id": ["b", "b", "b", "b", "a"], "tick": [1, 2, 4, 5, 0],
        "price_x": [1.1, 1.2, 1.4, 0.01, 1.0], "is_rug": [False, False, False, True, False],
    })
    games = pl.DataFrame({"game_id": ["a", "b", "c"], "rug_tick": [None, 5, 3]},
                         schema={"game_id": pl.String, "rug_tick": pl.Int32})
    lp = backtest.game_paths_from_lake(games, ticks)
    assert lp.select(*backtest.PATH_COLUMNS).rows() == [
        ("a", None, 0, 0, False), ("b", 5, 1, 4, True)]
    assert lp["prices"].to_list() == [[1.0], [None, 1.1, 1.2, None, 1.4]]


def test_trades_over_simulated_paths_are_exact() -> None:
    paths = montecarlo.simulate_paths(200, seed=4)
    gp = backtest.game_paths_from_price_arrays(paths)
    r = run_backtest(gp, strategies.Trade(1.0, entry_tick=0, exit_multiple=1.2),
                     bankroll_sol=1000.0)
    # by hand: buy at 1.0 (tick 0); sell at the first later tick ≥ 1.2, else the rug wipes it
    expected = 0.0
    for p in paths:
        hit = np.flatnonzero(p[1:] >= 1.2)
        expected += (p[1 + hit[0]] - 1.0) if hit.size else -1.0
    assert r.bets.height == 200
    assert r.final_sol == pytest.approx(1000.0 + expected)
