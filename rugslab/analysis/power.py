"""How many games would settle a question the lake cannot settle yet.

The side bet's win probability under the published generator, P = 1 - (1-p)^40 = 0.1817, sits
below the breakeven 1/5 = 0.2. Telling the two apart from data needs independent outcomes: one
bet per game is one independent outcome; several bets of one game share its rug tick and count
for fewer (the design effect). `games_to_separate` gives the number of games for a test of
"P = breakeven" at level α to reject with the requested power when the truth is P.

Source: the normal approximation of the one-sample test of a proportion on Cohen's arcsine
effect size h = 2·asin√P - 2·asin√P₀ (statsmodels `NormalIndPower` with ratio 0, i.e. one
sample); the exact binomial power (scipy) at the answer as a check; Kish (1965) for the design
effect.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from rugslab.analysis._frames import require_probability
from rugslab.analysis.sidebet import breakeven_probability, rug_within_probability
from rugslab.errors import ConfigError


def _exact_power(n: int, p_true: float, p_null: float, alpha: float) -> float:
    """Power of scipy's exact two-sided binomial test with n trials (rejection region summed)."""
    k = np.arange(n + 1)
    pmf0 = stats.binom.pmf(k, n, p_null)
    # two-sided "minlike" p-value: the sum of null probabilities no larger than P(k)
    order = np.sort(pmf0)
    p_value = np.searchsorted(order, pmf0 * (1 + 1e-7), side="right")
    cum = np.concatenate([[0.0], np.cumsum(order)])[p_value]
    return float(stats.binom.pmf(k[cum <= alpha], n, p_true).sum())


def sidebet_power(
    *,
    p_true: float | None = None,
    p_null: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
    bets_per_game: float = 1.0,
    games_now: int | None = None,
) -> dict[str, float]:
    """Games needed to tell the side bet's win probability from breakeven.

    Args:
        p_true: the win probability to detect (default: the published rules' 1 - 0.995^40).
        p_null: the value to reject (default: breakeven, 1 / payout).
        alpha: two-sided level; power: the chance to reject when `p_true` holds.
        design_effect, bets_per_game: for bets clustered in games: n independent outcomes
            need n·design_effect bets, in n·design_effect / bets_per_game games.
        games_now: games available today (for `power_now`).

    Returns:
        `p_true`, `p_null`, `effect_h` (Cohen's h), `independent_bets` (one per game: the
        games needed at design effect 1), `exact_power` (exact binomial power at that n),
        `games_needed` (with the design effect and bets per game), `power_now` (the power with
        `games_now` games of `bets_per_game` bets; NaN without it).

    Raises:
        ConfigError: probabilities outside (0, 1), equal probabilities, design effect < 1.
    """
    pt = float(rug_within_probability(0)) if p_true is None else p_true
    p0 = breakeven_probability() if p_null is None else p_null
    for name, v in (("p_true", pt), ("p_null", p0), ("alpha", alpha), ("power", power)):
        require_probability(name, v)
    if pt == p0 or design_effect < 1 or bets_per_game <= 0:
        raise ConfigError(f"Invalid power question: p_true {pt}, p_null {p0}, design_effect "
                          f"{design_effect}, bets_per_game {bets_per_game}: need p_true ≠ "
                          "p_null, design effect ≥ 1, bets per game > 0.")
    h = float(proportion_effectsize(pt, p0))
    engine = NormalIndPower()
    n = math.ceil(engine.solve_power(effect_size=abs(h), alpha=alpha, power=power, ratio=0.0,
                                     alternative="two-sided"))
    games = math.ceil(n * design_effect / bets_per_game)
    now = math.nan
    if games_now:
        effective = games_now * bets_per_game / design_effect
        now = float(engine.power(effect_size=abs(h), nobs1=effective, alpha=alpha, ratio=0.0,
                                 alternative="two-sided"))
    return {"p_true": pt, "p_null": p0, "effect_h": h, "independent_bets": float(n),
            "exact_power": _exact_power(n, pt, p0, alpha), "games_needed": float(games),
            "power_now": now}
