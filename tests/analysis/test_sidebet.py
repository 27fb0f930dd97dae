"""Side-bet rule, analytic EV against Monte Carlo, empirical win rates on hand-built games."""

from __future__ import annotations

import math

import polars as pl
import pytest

from rugslab.analysis import sidebet
from rugslab.errors import ConfigError
from rugslab.sim import montecarlo

PUBLISHED_EV = 5 * (1 - 0.995**40) - 1


def test_rule_win_iff_rug_at_or_before_end() -> None:
    assert sidebet.sidebet_outcome(100, 140) is True   # rug exactly at the end tick wins
    assert sidebet.sidebet_outcome(100, 141) is False
    assert sidebet.sidebet_outcome(100, 101) is True
    assert sidebet.sidebet_outcome(0, 40) is True      # presale bet
    assert sidebet.sidebet_outcome(4990, None) is False  # cap reached, no rug
    with pytest.raises(ConfigError, match="rug_tick must be > start_tick"):
        sidebet.sidebet_outcome(100, 100)


def test_analytic_ev_is_the_published_figure_below_the_cap() -> None:
    t = sidebet.analytic_sidebet_ev([0, 100, 4960])
    assert t["draws"].to_list() == [40, 40, 40]
    assert t["ev_per_stake"].to_list() == pytest.approx([PUBLISHED_EV] * 3)
    assert abs(PUBLISHED_EV + 0.0916006) < 1e-7


def test_analytic_ev_near_the_cap() -> None:
    t = sidebet.analytic_sidebet_ev([4970, 4999, 5000])
    assert t["draws"].to_list() == [30, 1, 0]
    assert t["p_win"].to_list() == pytest.approx([1 - 0.995**30, 0.005, 0.0])
    assert t["ev_per_stake"][2] == -1.0
    assert sidebet.breakeven_probability() == 0.2


def test_analytic_ev_inside_monte_carlo_interval() -> None:
    games = pl.concat(list(montecarlo.simulate_summaries(400_000, seed=2024)))
    rug = games["rug_tick"].to_numpy()  # null (cap reached) → NaN: never wins
    mc = sidebet.montecarlo_sidebet_ev(rug, [0, 100, 500])
    for row in mc.iter_rows(named=True):
        assert row["ev_lo"] <= PUBLISHED_EV <= row["ev_hi"], row
        assert row["n"] > 1000
    assert mc["n"][0] == 400_000  # every game is alive at tick 0


def _games() -> pl.DataFrame:
    return pl.DataFrame(
        [
            ("a", 0, 30, 29),      # rugs at 30
            ("b", 0, 45, 44),      # rugs at 45
            ("c", 20, None, 70),   # censored at 70 (seen from 20)
            ("d", 0, None, 35),    # censored at 35
            ("e", 5, 12, 11),      # rugs at 12
        ],
        schema={"game_id": pl.String, "first_live_tick": pl.Int32, "rug_tick": pl.Int32,
                "last_live_tick": pl.Int32},
        orient="row",
    )


def test_empirical_win_rate_is_the_conditional_kaplan_meier_probability() -> None:
    e = sidebet.empirical_win_rate(_games(), [0, 10, 20], seed=1, n_resamples=200)
    # at risk per tick (entry + 1 .. exit): a 1..30 (rug), b 1..45 (rug), c 21..70, d 1..35,
    # e 6..12 (rug). s=0, ticks 1..40: rugs at 12 (4 at risk) and 30 (4 at risk):
    # S = (3/4)(3/4), P(win) = 7/16.
    # s=10, ticks 11..50: 12 (1/4), 30 (1/4), 45 (2 at risk: b, c): 1 - (3/4)(3/4)(1/2).
    # s=20, ticks 21..60: 30 (a, b, c, d: 1/4), 45 (b, c: 1/2): 1 - (3/4)(1/2).
    assert e["win_rate"].to_list() == pytest.approx([7 / 16, 23 / 32, 5 / 8])
    assert e["n"].to_list() == [3, 4, 4]  # at risk at s + 1
    assert e["wins"].to_list() == [1, 3, 2]
    assert e["n_unknown"].to_list() == [1, 1, 1]  # d, censored at 35 inside every window
    assert e["ev_per_stake"].to_list() == pytest.approx([5 * 7 / 16 - 1, 5 * 23 / 32 - 1,
                                                         5 * 5 / 8 - 1])
    assert e["ci_method"].to_list() == ["game bootstrap"] * 3
    assert all(lo <= r <= hi for lo, r, hi in zip(e["lo"], e["win_rate"], e["hi"], strict=True))
    # the simultaneous band holds the pointwise interval
    assert ((e["band_lo"] <= e["lo"] + 1e-12) & (e["hi"] <= e["band_hi"] + 1e-12)).all()


def test_a_censored_game_counts_for_the_ticks_it_was_watched() -> None:
    # 200 games seen from tick 0: half rug at tick 10, half alive until tick 20 then lost
    # from view. A complete-case rate at s = 0 keeps the 100 wins and drops the 100 unknowns
    # (1.0); the hazard uses the unknowns for ticks 1..20 and has no rug after: also 1/2 rug
    # at tick 10, then nothing at risk beyond 20 → NaN beyond the watched ticks.
    n = 200
    games = pl.DataFrame({
        "game_id": [f"g{i:03d}" for i in range(n)], "first_live_tick": [0] * n,
        "rug_tick": [10 if i % 2 else None for i in range(n)],
        "last_live_tick": [9 if i % 2 else 20 for i in range(n)],
    }, schema_overrides={"first_live_tick": pl.Int32, "rug_tick": pl.Int32,
                         "last_live_tick": pl.Int32})
    e = sidebet.empirical_win_rate(games, [0], window=15, n_resamples=100)
    assert e["win_rate"][0] == pytest.approx(0.5)
    assert (e["wins"][0], e["n_unknown"][0]) == (100, 0)
    beyond = sidebet.empirical_win_rate(games, [0], window=40, n_resamples=100)
    assert math.isnan(beyond["win_rate"][0]) and beyond["n_unknown"][0] == 100


def test_empirical_degenerate_sample_uses_exact_interval() -> None:
    only_wins = sidebet.empirical_win_rate(_games().filter(pl.col("game_id") == "a"), [0])
    assert only_wins["ci_method"][0] == "exact"
    assert only_wins["lo"][0] == pytest.approx(0.025)  # Clopper–Pearson lower for 1/1: 0.025
    assert only_wins["hi"][0] == 1.0


def _bets() -> pl.DataFrame:
    return pl.DataFrame({
        "game_id": ["g1", "g1", "g1", "g2", "g2", "g3", "g3", "g4"],
        "start_tick": [0, 10, 20, 0, 10, 30, 5, 0], "end_tick": [40, 50, 60, 40, 50, 70, 45, 40],
        "resolved": [True, True, True, True, True, True, True, False],
        "won": [True, True, True, False, False, True, False, None],
        "practice": [False, False, False, False, False, False, True, False],
        "bet_amount_sol": [0.1, 0.1, 0.1, 0.2, 0.2, 1.0, 1.0, 0.5],
        "profit_sol": [0.4, 0.4, 0.4, -0.2, -0.2, 4.0, -1.0, None],
    })


def test_resolved_bets_vs_model_treats_games_as_the_units() -> None:
    r = sidebet.resolved_bets_vs_model(_bets(), n_resamples=500).row(0, named=True)
    # money bets with a payout: g1 3 of 3 won, g2 0 of 2, g3 1 of 1 → 4 of 6; g4 unknown
    assert (r["n"], r["games"], r["wins"], r["n_unknown"]) == (6, 3, 4, 1)
    assert r["expected_win_rate"] == pytest.approx(1 - 0.995**40)
    # cluster-robust var 3/2·[(3-2)² + (0-4/3)² + (1-2/3)²]/6² over binomial (2/3)(1/3)/6
    assert r["design_effect"] == pytest.approx(3.25)
    assert r["lo"] <= r["win_rate"] <= r["hi"]
    assert r["staked_sol"] == pytest.approx(0.3 + 0.4 + 1.0)
    assert r["profit_sol"] == pytest.approx(1.2 - 0.4 + 4.0)


def test_bets_without_a_payout_take_their_outcome_from_the_game() -> None:
    games = pl.DataFrame({"game_id": ["g1", "g2", "g3", "g4"], "rug_tick": [None] * 4,
                          "last_live_tick": [100, 100, 100, 60]},
                         schema_overrides={"rug_tick": pl.Int32, "last_live_tick": pl.Int32})
    out = sidebet.bet_outcomes(_bets(), games)
    assert out["outcome_from"].to_list()[-1] == "seen alive"  # g4 alive at 60 ≥ end 40: lost
    assert out["outcome_won"].to_list()[-1] is False
    r = sidebet.resolved_bets_vs_model(_bets(), games=games).row(0, named=True)
    assert (r["n"], r["n_unknown"], r["wins"]) == (7, 0, 4)
    ruggy = games.with_columns(pl.Series("rug_tick", [None, None, None, 30], pl.Int32))
    assert sidebet.bet_outcomes(_bets(), ruggy)["outcome_won"].to_list()[-1] is True
