"""The exact Markov-chain oracle for the fixed side bet, and the ensembles against it."""

from __future__ import annotations

import pytest

from rugslab.strategy import oracle
from rugslab.strategy.builtins import SidebetFixed
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.sources import MonteCarloSource

EV = 5 * (1 - 0.995**40) - 1


def _brute_force(u: float, games: int, a: float, w: float) -> list[float]:
    """P(ruin by game g), g = 0..games, by enumerating every sequence of games."""
    out = [0.0] * (games + 1)

    def walk(u: float, g: int, prob: float) -> None:
        if g == games or prob == 0:
            return
        if u < 1:  # a bet due below one stake: ruin in game g + 1; else the game passes
            for k in range(g + 1, games + 1):
                out[k] += prob * a
            walk(u, g + 1, prob * (1 - a))
            return
        walk(u, g + 1, prob * (1 - a))
        walk(u + 4, g + 1, prob * a * w)
        walk(u - 1, g + 1, prob * a * (1 - w))

    walk(u, 0, 1.0)
    return out


@pytest.mark.parametrize(("bankroll", "games", "start"), [(2.0, 6, 11), (3.5, 7, 100),
                                                           (1.0, 5, 0)])
def test_the_oracle_equals_enumerating_every_sequence(bankroll, games, start) -> None:
    a = 0.995**start
    w = 1 - 0.995**40
    exact = oracle.fixed_sidebet_ruin(bankroll_sol=bankroll, stake_sol=1.0, games=games,
                                      bet_start_tick=start)
    assert exact.tolist() == pytest.approx(_brute_force(bankroll, games, a, w), abs=1e-15)


def test_the_oracle_ev_and_bet_probability() -> None:
    assert oracle.fixed_sidebet_ev(11) == pytest.approx(EV, abs=1e-15)
    assert oracle.fixed_sidebet_ev(4980) == pytest.approx(5 * (1 - 0.995**20) - 1)
    assert oracle.bet_probability(11) == pytest.approx(0.995**11)
    assert oracle.bet_probability(5001) == 0.0
    # 100 stakes cannot be lost in 100 games: the 101st bet would be the first one short
    none = oracle.fixed_sidebet_ruin(bankroll_sol=10.0, stake_sol=0.1, games=100,
                                     bet_start_tick=11)
    assert none.tolist() == [0.0] * 101
    # bets at tick 0 are always placed: ruin in game 101 iff the first 100 all lost
    assert oracle.fixed_sidebet_ruin(bankroll_sol=10.0, stake_sol=0.1, games=101,
                                     bet_start_tick=0)[-1] == pytest.approx((0.995**40) ** 100)


@pytest.mark.parametrize(("start_tick", "seed"), [(10, 1), (150, 2)])
def test_ruin_probability_matches_the_markov_chain(start_tick: int, seed: int) -> None:
    rules = ExecutionRules(bankroll_sol=1.0)
    e = run_ensemble(SidebetFixed(start_tick=start_tick, stake=0.1), MonteCarloSource(),
                     paths=3000, games_per_path=150, seed=seed, rules=rules)
    exact = oracle.fixed_sidebet_ruin(bankroll_sol=1.0, stake_sol=0.1, games=150,
                                      bet_start_tick=start_tick + rules.latency_ticks)
    ruin = e.metrics().intervals["ruin_probability"]
    assert ruin.lo < exact[-1] < ruin.hi
    curve = e.ruin_curve()
    mid = curve.filter(curve["game"] == 75).row(0, named=True)
    assert mid["lo"] < exact[75] < mid["hi"]
    ev = e.metrics().intervals["ev_per_bet"]
    assert ev.lo < EV < ev.hi


def test_the_ev_interval_covers_the_true_ev_about_95_percent_of_the_time() -> None:
    """40 ensembles of 100 paths × 40 games (fixed seeds): expect ~38 of 40 intervals to hold
    −0.0916; 33 or fewer would have probability < 0.3% if the coverage were 95%."""
    held = []
    for seed in range(40):
        e = run_ensemble(SidebetFixed(start_tick=20, stake=0.1), MonteCarloSource(),
                         paths=100, games_per_path=40, seed=1000 + seed)
        ev = e.metrics().intervals["ev_per_bet"]
        held.append(ev.lo < EV < ev.hi)
    assert sum(held) >= 34
