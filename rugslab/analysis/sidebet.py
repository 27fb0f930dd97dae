"""Side bets: the resolution rule, and win probability / EV analytic, empirical and Monte Carlo.

The rule (PROTOCOL.md, checked on 1,828 real resolved bets): a bet placed at `start_tick = s`
ends at `end_tick = s + 40` and wins iff the game's rug tick T ≤ s + 40. A win pays 5× the
stake (profit 4×); a loss forfeits the stake. A game that ends at the cap without a rug never
has T ≤ end, so the bet loses.

Deriving P(win) from the generator (`rugslab.fair.game`): tick 0 is the start price and the
generator draws once per tick t = 1..5000, rugging with probability p at each draw; the feed
reports the rug at tick T = the draw that rugged. A bet at s is placed while tick s is live, so
T > s (presale bets: s = 0, and T ≥ 1 always). The bet wins iff one of the draws at ticks
s+1, …, min(s+40, 5000) rugs: those are m = max(0, min(s + 40, 5000) - s) independent draws, so

    P(win | alive at s) = 1 - (1 - p)^m,      EV per unit stake = 5·P(win) - 1.

Well below the cap m = 40: P = 1 - 0.995^40 = 0.18168, EV = 5·(1 - 0.995^40) - 1 = -0.0916,
the published figure. For s > 4960 the window is cut by the cap (m < 40) and EV falls to -1
at s ≥ 5000. Breakeven needs P(win) = 1/5 = 0.2.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from numpy.typing import ArrayLike
from scipy import stats

from rugslab.analysis._frames import require_columns, require_positive, require_probability
from rugslab.errors import ConfigError
from rugslab.feed.rules import MAX_TICKS, RUG_PROB_PER_TICK, SIDEBET_PAYOUT_X, SIDEBET_WINDOW_TICKS


def sidebet_outcome(start_tick: int, rug_tick: int | None, *,
                    window: int = SIDEBET_WINDOW_TICKS) -> bool:
    """True iff a side bet placed at `start_tick` wins: the game rugs at or before start + 40.

    `rug_tick` None (the game ended at the cap, unrugged) loses.

    Raises:
        ConfigError: `rug_tick` ≤ `start_tick` (the game had already rugged: no bet exists).
    """
    if rug_tick is None:
        return False
    if rug_tick <= start_tick:
        raise ConfigError(
            f"Invalid rug_tick {rug_tick} for a bet at start_tick {start_tick}: a bet is only "
            "placed while the game is live, so rug_tick must be > start_tick."
        )
    return rug_tick <= start_tick + window


def window_draws(start_tick: ArrayLike, *, window: int = SIDEBET_WINDOW_TICKS,
                 max_ticks: int = MAX_TICKS) -> np.ndarray:
    """Rug draws inside a bet's window: m = max(0, min(s + window, max_ticks) - s)."""
    s = np.asarray(start_tick, dtype=np.int64)
    return np.clip(np.minimum(s + window, max_ticks) - s, 0, None)


def rug_within_probability(
    start_tick: ArrayLike, *, p: float = RUG_PROB_PER_TICK, window: int = SIDEBET_WINDOW_TICKS,
    max_ticks: int = MAX_TICKS,
) -> np.ndarray:
    """P(rug at one of ticks s+1..s+window | alive at s) = 1 - (1-p)^m under constant hazard p.

    This is also the constant-hazard model of "rug within the next 40 ticks".
    """
    require_probability("p", p)
    return 1.0 - (1.0 - p) ** window_draws(start_tick, window=window, max_ticks=max_ticks)


def breakeven_probability(payout_x: float = SIDEBET_PAYOUT_X) -> float:
    """The win probability at which a bet paying `payout_x`× the stake has EV 0: 1/payout_x."""
    require_positive("payout_x", payout_x)
    return 1.0 / payout_x


def analytic_sidebet_ev(
    start_ticks: ArrayLike, *, p: float = RUG_PROB_PER_TICK, payout_x: float = SIDEBET_PAYOUT_X,
    window: int = SIDEBET_WINDOW_TICKS, max_ticks: int = MAX_TICKS,
) -> pl.DataFrame:
    """Win probability and EV per unit stake by start tick under constant hazard `p`.

    Returns:
        One row per start tick: `start_tick`, `draws` (m), `p_win`, `ev_per_stake`
        (payout_x·p_win - 1, in units of the stake).
    """
    s = np.asarray(start_ticks, dtype=np.int64)
    pw = rug_within_probability(s, p=p, window=window, max_ticks=max_ticks)
    return pl.DataFrame({
        "start_tick": s,
        "draws": window_draws(s, window=window, max_ticks=max_ticks),
        "p_win": pw,
        "ev_per_stake": payout_x * pw - 1.0,
    })


def _binary_interval(x: np.ndarray, *, n_resamples: int, level: float,
                     rng: np.random.Generator) -> tuple[float, float, str]:
    """Bootstrap percentile interval of a 0/1 mean; exact Clopper–Pearson when degenerate."""
    k, n = int(x.sum()), int(x.size)
    if k in (0, n):  # every resample has the same mean: bootstrap gives a zero-width interval
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
        return float(ci.low), float(ci.high), "exact"
    res = stats.bootstrap((x,), np.mean, n_resamples=n_resamples, confidence_level=level,
                          method="percentile", vectorized=True, rng=rng)
    return float(res.confidence_interval.low), float(res.confidence_interval.high), "bootstrap"


def empirical_win_rate(
    games: pl.DataFrame,
    start_ticks: ArrayLike,
    *,
    window: int = SIDEBET_WINDOW_TICKS,
    payout_x: float = SIDEBET_PAYOUT_X,
    entry_col: str = "first_live_tick",
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Win rate of a hypothetical bet at each start tick, over the lake's games.

    A game counts for start tick s when a bet could have been placed and its outcome is known:
    it was observed alive at s (entry ≤ s < rug tick) and either rugged, or was seen alive
    through s + window (censored games seen for less are left out of that tick; counted in
    `n_unknown`).

    Args:
        games: `games` table: `game_id`, `rug_tick`, `last_live_tick`, `entry_col`.

    Returns:
        One row per start tick: `start_tick`, `n` (games), `wins`, `n_unknown`, `win_rate`,
        `lo`, `hi` (bootstrap percentile interval over games; exact binomial when all bets
        won or all lost), `ci_method`, `ev_per_stake` (payout_x·win_rate - 1), `ev_lo`, `ev_hi`.

    Source: scipy.stats.bootstrap (percentile), scipy.stats.binomtest.
    """
    require_columns(games, ("game_id", "rug_tick", "last_live_tick", entry_col), table="games")
    rug = games["rug_tick"].to_numpy().astype(float)  # null → NaN
    last = games["last_live_tick"].fill_null(-1).to_numpy().astype(float)
    entry = games[entry_col].fill_null(0).to_numpy().astype(float)
    rng = np.random.default_rng(seed)
    rows = []
    for s in np.asarray(start_ticks, dtype=np.int64).tolist():
        alive = (entry <= s) & ~(rug <= s)  # NaN rug compares False: still alive
        known = ~np.isnan(rug) | (last >= s + window)
        x = (rug[alive & known] <= s + window).astype(float)
        row: dict[str, object] = {"start_tick": s, "n": int(x.size), "wins": int(x.sum()),
                                  "n_unknown": int((alive & ~known).sum())}
        if x.size:
            lo, hi, method = _binary_interval(x, n_resamples=n_resamples, level=level, rng=rng)
            rate = float(x.mean())
        else:
            lo = hi = rate = math.nan
            method = None
        row |= {"win_rate": rate, "lo": lo, "hi": hi, "ci_method": method}
        rows.append(row)
    out = pl.DataFrame(rows, schema={"start_tick": pl.Int64, "n": pl.Int64, "wins": pl.Int64,
                                     "n_unknown": pl.Int64, "win_rate": pl.Float64,
                                     "lo": pl.Float64, "hi": pl.Float64, "ci_method": pl.String})
    return out.with_columns(
        (payout_x * pl.col(c) - 1.0).alias(n)
        for c, n in (("win_rate", "ev_per_stake"), ("lo", "ev_lo"), ("hi", "ev_hi"))
    )


def montecarlo_sidebet_ev(
    rug_ticks: ArrayLike,
    start_ticks: ArrayLike,
    *,
    window: int = SIDEBET_WINDOW_TICKS,
    payout_x: float = SIDEBET_PAYOUT_X,
    level: float = 0.95,
) -> pl.DataFrame:
    """Win rate and EV per start tick over simulated games, with exact binomial intervals.

    Args:
        rug_ticks: one rug tick per simulated game (the feed's convention, ≥ 1); a negative
            value or NaN marks a game that reached the cap unrugged.
        start_ticks: the start ticks to evaluate.

    Returns:
        One row per start tick: `start_tick`, `n` (games alive at s), `wins`, `win_rate`, `lo`,
        `hi` (Clopper–Pearson), `ev_per_stake`, `ev_lo`, `ev_hi` (payout_x·rate - 1).

    Source: scipy.stats.binomtest (exact interval; with 10⁵+ games a bootstrap would only
    reproduce it at a far higher cost).
    """
    t = np.asarray(rug_ticks, dtype=float)
    t = np.where(np.isnan(t) | (t < 0), np.inf, t)  # unrugged: never ≤ end
    if level <= 0 or level >= 1:
        raise ConfigError(f"Invalid level {level!r}: expected a probability strictly in (0, 1).")
    rows = []
    for s in np.asarray(start_ticks, dtype=np.int64).tolist():
        alive = t > s
        n = int(alive.sum())
        k = int((t[alive] <= s + window).sum())
        lo, hi = (math.nan, math.nan)
        if n:
            ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
            lo, hi = float(ci.low), float(ci.high)
        rows.append({"start_tick": s, "n": n, "wins": k,
                     "win_rate": k / n if n else math.nan, "lo": lo, "hi": hi})
    out = pl.DataFrame(rows, schema={"start_tick": pl.Int64, "n": pl.Int64, "wins": pl.Int64,
                                     "win_rate": pl.Float64, "lo": pl.Float64, "hi": pl.Float64})
    return out.with_columns(
        (payout_x * pl.col(c) - 1.0).alias(n)
        for c, n in (("win_rate", "ev_per_stake"), ("lo", "ev_lo"), ("hi", "ev_hi"))
    )


def resolved_bets_vs_model(side_bets: pl.DataFrame, *, p: float = RUG_PROB_PER_TICK,
                           include_practice: bool = False) -> pl.DataFrame:
    """Real resolved side bets next to the constant-hazard model, pooled over all start ticks.

    Args:
        side_bets: the lake's `side_bets` table (`start_tick`, `end_tick`, `resolved`, `won`,
            `practice`, `bet_amount_sol`, `profit_sol`).

    Returns:
        One row: `n`, `wins`, `win_rate`, `lo`, `hi` (Wilson), `expected_win_rate` (mean
        model P(win) of those bets' windows), `binom_p_value` (exact test of wins against the
        expected rate, valid as the model rate is ≈ constant), `staked_sol`, `profit_sol`.
    """
    require_columns(side_bets, ("start_tick", "end_tick", "resolved", "won", "practice",
                                "bet_amount_sol", "profit_sol"), table="side_bets")
    bets = side_bets.filter(pl.col("resolved") & pl.col("won").is_not_null())
    if not include_practice:
        bets = bets.filter(~pl.col("practice"))
    n, k = bets.height, int(bets["won"].sum()) if bets.height else 0
    window = (bets["end_tick"] - bets["start_tick"]).to_numpy()
    expected = float(np.mean(1.0 - (1.0 - p) ** window)) if n else math.nan
    if n:
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        lo, hi = float(ci.low), float(ci.high)
        pv = float(stats.binomtest(k, n, expected).pvalue)
    else:
        lo = hi = pv = math.nan
    return pl.DataFrame([{
        "n": n, "wins": k, "win_rate": k / n if n else math.nan, "lo": lo, "hi": hi,
        "expected_win_rate": expected, "binom_p_value": pv,
        "staked_sol": float(bets["bet_amount_sol"].sum()),
        "profit_sol": float(bets["profit_sol"].fill_null(0.0).sum()),
    }])
