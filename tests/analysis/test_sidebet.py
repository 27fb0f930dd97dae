"""Side-bet rule, analytic EV against Monte Carlo, empirical win rates on hand-built games."""

from __future__ import annotations

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


def test_empirical_win_rate_counts_only_known_outcomes() -> None:
    e = sidebet.empirical_win_rate(_games(), [0, 10, 20], seed=1)
    # s=0: alive & observed a, b, d; d censored at 35 < 40 → unknown. a wins (30 ≤ 40), b loses.
    # s=10: a, b, d (unknown), e (entry 5, rug 12 > 10: wins); b rugs at 45 ≤ 50: 3 wins of 3.
    # s=20: a, b, c (censored at 70 ≥ 60: known loss), d unknown; e rugged → a wins, b wins
    #       (45 ≤ 60), c loses.
    assert e["n"].to_list() == [2, 3, 3]
    assert e["wins"].to_list() == [1, 3, 2]
    assert e["n_unknown"].to_list() == [1, 1, 1]
    assert e["win_rate"].to_list() == pytest.approx([0.5, 1.0, 2 / 3])
    assert e["ev_per_stake"].to_list() == pytest.approx([1.5, 4.0, 5 * 2 / 3 - 1])
    assert e["ci_method"].to_list() == ["bootstrap", "exact", "bootstrap"]
    assert all(lo <= r <= hi for lo, r, hi in zip(e["lo"], e["win_rate"], e["hi"], strict=True))


def test_empirical_degenerate_sample_uses_exact_interval() -> None:
    e = sidebet.empirical_win_rate(_games(), [25])
    # s=25: a wins (30), b wins (45 ≤ 65), c censored at 70 ≥ 65: loses → not degenerate
    assert (e["n"][0], e["wins"][0], e["ci_method"][0]) == (3, 2, "bootstrap")
    only_wins = sidebet.empirical_win_rate(_games().filter(pl.col("game_id") == "a"), [0])
    assert only_wins["ci_method"][0] == "exact"
    assert only_wins["lo"][0] == pytest.approx(0.025)  # Clopper–Pearson lower for 1/1: 0.025
    assert only_wins["hi"][0] == 1.0


def test_resolved_bets_vs_model() -> None:
    bets = pl.DataFrame({
        "start_tick": [0, 10, 20, 30], "end_tick": [40, 50, 60, 70],
        "resolved": [True, True, True, False], "won": [True, False, False, None],
        "practice": [False, False, True, False], "bet_amount_sol": [0.1, 0.2, 1.0, 0.5],
        "profit_sol": [0.4, -0.2, -1.0, None],
    })
    r = sidebet.resolved_bets_vs_model(bets).row(0, named=True)
    assert (r["n"], r["wins"]) == (2, 1)
    assert r["expected_win_rate"] == pytest.approx(1 - 0.995**40)
    assert r["staked_sol"] == pytest.approx(0.3)
    assert r["profit_sol"] == pytest.approx(0.2)
