"""Exact results for the fixed side bet: the reference the ensembles are tested against.

A path bets `stake` at the same start tick s in each of G games, from `bankroll` (in stake
units u₀ = bankroll / stake). In each game, independently:

- the game has tick s with probability a = (1 − p)^s (else it rugged first: no bet, step 0);
- then the bet wins with probability w = 1 − (1 − p)^m, m = min(s + 40, 5000) − s, and the
  bankroll moves by +4 (5× paid back) or −1 (`rugslab.analysis.sidebet`).

So the bankroll in stake units is a random walk with steps +4 / −1 / 0. Ruin (as the engine
defines it, `rugslab.strategy.engine`) is the first game in which a bet is due (the game has
tick s) while u < 1: the cash cannot cover the stake. Below 1 the walk cannot move (no bet
is placed), so P(ruin by game g) is a first-passage probability, computed exactly by
propagating the distribution of u over games (a Markov chain on u₀ + k, k an integer).
States above u₀ + G + 1 can never be ruined within G games and are dropped into "safe".

EV per unit stake of every bet is 5w − 1 whatever the bankroll, since each bet is an
independent draw: well below the cap, 5·(1 − 0.995^40) − 1 = −0.0916.
"""

from __future__ import annotations

import math

import numpy as np

from rugslab.analysis.sidebet import rug_within_probability
from rugslab.errors import ConfigError
from rugslab.feed.rules import (
    MAX_TICKS,
    RUG_PROB_PER_TICK,
    SIDEBET_PAYOUT_X,
    SIDEBET_WINDOW_TICKS,
)


def bet_probability(bet_start_tick: int, *, p: float = RUG_PROB_PER_TICK,
                    max_ticks: int = MAX_TICKS) -> float:
    """P(a game has tick s) = (1 − p)^s: a bet starting at s is placed (0 beyond the cap)."""
    if bet_start_tick > max_ticks:
        return 0.0
    return float((1.0 - p) ** bet_start_tick)


def fixed_sidebet_ev(bet_start_tick: int, *, p: float = RUG_PROB_PER_TICK,
                     payout_x: float = SIDEBET_PAYOUT_X,
                     window: int = SIDEBET_WINDOW_TICKS) -> float:
    """EV per unit stake of a side bet starting at `bet_start_tick`: payout·w − 1."""
    w = float(rug_within_probability(bet_start_tick, p=p, window=window))
    return payout_x * w - 1.0


def fixed_sidebet_ruin(*, bankroll_sol: float, stake_sol: float, games: int,
                       bet_start_tick: int, p: float = RUG_PROB_PER_TICK,
                       payout_x: float = SIDEBET_PAYOUT_X,
                       window: int = SIDEBET_WINDOW_TICKS) -> np.ndarray:
    """P(ruin by game g) for g = 0..games (module docstring), exactly.

    Args:
        bet_start_tick: the tick the bet starts at (the engine's decision tick + latency).

    Returns:
        float64 array of games + 1 probabilities, non-decreasing, starting at 0.

    Raises:
        ConfigError: stake or bankroll ≤ 0, games < 0, or a payout below 1.
    """
    if not (stake_sol > 0 and bankroll_sol > 0 and games >= 0 and payout_x >= 1):
        raise ConfigError(f"Invalid oracle inputs: bankroll {bankroll_sol!r}, stake "
                          f"{stake_sol!r}, games {games!r}, payout {payout_x!r}.")
    u0 = bankroll_sol / stake_sol
    a = bet_probability(bet_start_tick, p=p)
    w = float(rug_within_probability(bet_start_tick, p=p, window=window))
    up = round(payout_x - 1.0)
    if not math.isclose(up, payout_x - 1.0):
        raise ConfigError(f"Invalid payout {payout_x!r}: the oracle needs a whole net payout.")
    out = np.zeros(games + 1)
    if u0 >= games + 1:  # more stakes than games: ruin is impossible
        return out
    lo = -math.ceil(u0)  # u0 + lo < 1: the lowest state the walk can reach
    hi = games + 2 - math.floor(u0)  # above: ruin impossible within `games`
    k = np.arange(lo, hi + 1)
    live = u0 + k >= 1.0 - 1e-9  # the engine's tolerance: a stake within 1e-9 is covered
    mass = np.zeros(k.size)
    mass[-lo] = 1.0  # k = 0
    ruined = 0.0
    for g in range(1, games + 1):
        new = (1.0 - a) * mass  # no bet due: nothing moves
        ruined += a * mass[~live].sum()  # a bet due below 1 unit: ruin
        bet = a * mass * live
        new[up:] += (w * bet)[:-up] if up else w * bet  # +up; mass beyond `hi` is safe
        new[:-1] += ((1.0 - w) * bet)[1:]  # −1
        mass = new
        out[g] = ruined
    return out
