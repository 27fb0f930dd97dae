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
from rugslab.analysis.hazard import binomial_interval, game_exposure
from rugslab.analysis.resample import (
    DEFAULT_RESAMPLES,
    bootstrap_ratios,
    bootstrap_sums,
    design_effect,
    ratio_cluster_se,
    simultaneous_band,
)
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


def _window_sums(exposure: pl.DataFrame, last: int) -> np.ndarray:
    """(games, 2·last) per game and tick 1..last: [rug at t, at risk at t] interleaved."""
    start = exposure["at_risk_from"].to_numpy()
    stop = exposure["exit_tick"].to_numpy()
    t = np.arange(1, last + 1)
    at_risk = (start[:, None] <= t) & (t <= stop[:, None])
    rug = exposure["rugged"].to_numpy()[:, None] & (stop[:, None] == t)
    out = np.empty((exposure.height, 2 * last))
    out[:, 0::2], out[:, 1::2] = rug, at_risk
    return out


def _conditional_win(totals: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """1 - Π_{t=s+1}^{end} (1 - rugs_t / at_risk_t) per start, from (..., 2·last) totals."""
    t = totals.reshape(*totals.shape[:-1], -1, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = t[..., 0] / t[..., 1]
        log_s = np.log1p(-np.where(t[..., 1] > 0, np.minimum(h, 1.0), np.nan))
    cum = np.concatenate([np.zeros((*log_s.shape[:-1], 1)), np.cumsum(log_s, axis=-1)], axis=-1)
    return 1.0 - np.exp(cum[..., ends] - cum[..., starts])


def empirical_win_rate(
    games: pl.DataFrame,
    start_ticks: ArrayLike,
    *,
    window: int = SIDEBET_WINDOW_TICKS,
    payout_x: float = SIDEBET_PAYOUT_X,
    max_ticks: int = MAX_TICKS,
    entry_col: str = "first_live_tick",
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Win probability of a bet at each start tick over the lake's games, censoring done right.

    P(win at s) = P(rug at s+1..s+window | alive at s) = 1 - Π_{t=s+1}^{s+window} (1 - h(t)),
    with h the Kaplan–Meier hazard (games at risk and rugs per tick under the exposure rules of
    `hazard.game_exposure`: left truncation at the first live tick, right censoring at the last
    live tick, games rugged at an unknown tick censored). A complete-case count ("games whose
    outcome is known") would keep a game censored inside the window when it rugged (a win is
    known at once) and drop it when it lived on (a loss needs the whole window watched):
    biased towards wins. The product uses every game for exactly the ticks it was watched.

    Args:
        games: `games` table: `game_id`, `rug_tick`, `last_live_tick`, `entry_col`, optional
            `rugged`.
        start_ticks: the start ticks s; the window ends at min(s + window, max_ticks).

    Returns:
        One row per start tick: `start_tick`, `n` (games at risk at s+1), `wins` (their rugs
        inside the window), `n_unknown` (of the n, censored inside the window without a rug),
        `win_rate`, `lo`, `hi` (pointwise: percentile cluster bootstrap, resamples whole games,
        `n_resamples` replicates, seeded; Clopper–Pearson on wins / (n - n_unknown) when every
        replicate agrees), `band_lo`, `band_hi` (simultaneous over all the start ticks: sup-t
        band from the same replicates), `ci_method`, `ev_per_stake` (payout_x·win_rate - 1),
        `ev_lo`, `ev_hi`, `ev_band_lo`, `ev_band_hi`. NaN where no game is at risk.

    Source: Klein & Moeschberger (2003) §4.6 (conditional survival); `resample.bootstrap_sums`,
    `resample.simultaneous_band`.
    """
    require_columns(games, ("game_id", "rug_tick", "last_live_tick", entry_col), table="games")
    s = np.asarray(start_ticks, dtype=np.int64).reshape(-1)
    ends = np.minimum(s + window, max_ticks)
    last = int(max(ends.max(initial=1), 1))
    e = game_exposure(games, entry_col=entry_col).filter(pl.col("used"))
    sums = _window_sums(e, last)
    starts_ix = np.clip(s, 0, last)

    def stat(totals: np.ndarray) -> np.ndarray:
        return _conditional_win(totals, starts_ix, np.maximum(ends, starts_ix))

    est = stat(sums.sum(axis=0)[None, :])[0] if e.height else np.full(s.size, np.nan)
    lo = hi = band_lo = band_hi = np.full(s.size, np.nan)
    if e.height >= 2:
        boot = bootstrap_sums(sums, stat, n_resamples=n_resamples, level=level, seed=seed)
        lo, hi = boot.lo, boot.hi
        band_lo, band_hi, _ = simultaneous_band(boot)
    stop = e["exit_tick"].to_numpy()
    start = e["at_risk_from"].to_numpy()
    rugged = e["rugged"].to_numpy()
    rows = []
    for i, si in enumerate(s.tolist()):
        risk = (start <= si + 1) & (stop >= si + 1)
        inside = risk & rugged & (stop <= ends[i])
        unknown = risk & ~rugged & (stop < ends[i])
        n, k, u = int(risk.sum()), int(inside.sum()), int(unknown.sum())
        method, lo_i, hi_i = "game bootstrap", float(lo[i]), float(hi[i])
        if n and not hi_i > lo_i and n - u > 0:  # every replicate agrees: no spread to read
            lo_i, hi_i = binomial_interval(k, n - u, "exact", level)
            method = "exact"
        rows.append({"start_tick": si, "n": n, "wins": k, "n_unknown": u,
                     "win_rate": float(est[i]) if n else math.nan, "lo": lo_i, "hi": hi_i,
                     "band_lo": float(band_lo[i]), "band_hi": float(band_hi[i]),
                     "ci_method": method if n else None})
    out = pl.DataFrame(rows, schema={
        "start_tick": pl.Int64, "n": pl.Int64, "wins": pl.Int64, "n_unknown": pl.Int64,
        "win_rate": pl.Float64, "lo": pl.Float64, "hi": pl.Float64, "band_lo": pl.Float64,
        "band_hi": pl.Float64, "ci_method": pl.String})
    return out.with_columns(
        (payout_x * pl.col(c) - 1.0).alias(n)
        for c, n in (("win_rate", "ev_per_stake"), ("lo", "ev_lo"), ("hi", "ev_hi"),
                     ("band_lo", "ev_band_lo"), ("band_hi", "ev_band_hi"))
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
    require_probability("level", level)
    rows = []
    for s in np.asarray(start_ticks, dtype=np.int64).tolist():
        alive = t > s
        n = int(alive.sum())
        k = int((t[alive] <= s + window).sum())
        lo, hi = binomial_interval(k, n, "exact", level)
        rows.append({"start_tick": s, "n": n, "wins": k,
                     "win_rate": k / n if n else math.nan, "lo": lo, "hi": hi})
    out = pl.DataFrame(rows, schema={"start_tick": pl.Int64, "n": pl.Int64, "wins": pl.Int64,
                                     "win_rate": pl.Float64, "lo": pl.Float64, "hi": pl.Float64})
    return out.with_columns(
        (payout_x * pl.col(c) - 1.0).alias(n)
        for c, n in (("win_rate", "ev_per_stake"), ("lo", "ev_lo"), ("hi", "ev_hi"))
    )


def bet_outcomes(side_bets: pl.DataFrame, games: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each bet's outcome: the payout record's, else the rule applied to the game's rug tick.

    A bet without a payout record is not dropped when its game says how it ended: rug tick ≤
    end tick wins, a rug after the end or a game seen alive through the end loses (rug tick
    unknown but `last_live_tick` ≥ end). Only bets whose game is not known that far stay
    unknown (`won` null): counting the known ones only would keep a bet whose game rugged
    early (a win, known at once) and drop one whose game was lost from view before the end.

    Returns:
        `side_bets` with `outcome_won` (bool, null when unknown) and `outcome_from`
        ("payout", "rug tick", "seen alive" or null).
    """
    won = pl.when(pl.col("resolved") & pl.col("won").is_not_null()).then(pl.col("won"))
    src = pl.when(pl.col("resolved") & pl.col("won").is_not_null()).then(pl.lit("payout"))
    if games is None:
        return side_bets.with_columns(won.alias("outcome_won"), src.alias("outcome_from"))
    require_columns(games, ("game_id", "rug_tick", "last_live_tick"), table="games")
    g = games.select("game_id", pl.col("rug_tick").cast(pl.Int64).alias("_rug"),
                     pl.col("last_live_tick").cast(pl.Int64).alias("_last")).unique("game_id")
    end = pl.col("end_tick").cast(pl.Int64)
    return side_bets.join(g, on="game_id", how="left").with_columns(
        won.when(pl.col("_rug").is_not_null()).then(pl.col("_rug") <= end)
        .when(pl.col("_last") >= end).then(pl.lit(False)).alias("outcome_won"),
        src.when(pl.col("_rug").is_not_null()).then(pl.lit("rug tick"))
        .when(pl.col("_last") >= end).then(pl.lit("seen alive")).alias("outcome_from"),
    ).drop("_rug", "_last")


def resolved_bets_vs_model(side_bets: pl.DataFrame, *, games: pl.DataFrame | None = None,
                           p: float = RUG_PROB_PER_TICK, include_practice: bool = False,
                           n_resamples: int = DEFAULT_RESAMPLES, level: float = 0.95,
                           seed: int = 0) -> pl.DataFrame:
    """Real side bets next to the constant-hazard model, pooled over all start ticks.

    Bets cluster in few games and the bets of one game share its rug tick, so every interval
    and test here treats games as the independent units.

    Args:
        side_bets: the lake's `side_bets` table (`game_id`, `start_tick`, `end_tick`,
            `resolved`, `won`, `practice`, `bet_amount_sol`, `profit_sol`).
        games: when given, bets without a payout record get their outcome from the game
            (`bet_outcomes`).

    Returns:
        One row: `n` (bets with an outcome), `games`, `n_unknown` (bets without one), `wins`,
        `win_rate`, `lo`, `hi` (studentized cluster bootstrap: resamples whole games,
        `n_resamples` replicates, seeded), `design_effect` (cluster-robust variance over the
        binomial one), `wilson_lo`, `wilson_hi` (the interval that treats bets as independent,
        for comparison), `expected_win_rate` (mean model P(win) of those bets' windows),
        `p_value` (two-sided z test of the win rate against the expected, cluster-robust
        standard error), `staked_sol`, `profit_sol`.

    Source: `resample.bootstrap_ratios`, `resample.ratio_cluster_se`, `resample.design_effect`.
    """
    require_columns(side_bets, ("game_id", "start_tick", "end_tick", "resolved", "won",
                                "practice", "bet_amount_sol", "profit_sol"), table="side_bets")
    bets = bet_outcomes(side_bets, games)
    if not include_practice:
        bets = bets.filter(~pl.col("practice"))
    unknown = bets.filter(pl.col("outcome_won").is_null()).height
    bets = bets.filter(pl.col("outcome_won").is_not_null())
    n, k = bets.height, int(bets["outcome_won"].sum()) if bets.height else 0
    window = (bets["end_tick"] - bets["start_tick"]).to_numpy()
    expected = float(np.mean(1.0 - (1.0 - p) ** window)) if n else math.nan
    # sorted: the bootstrap draws games by position, so their order must not change per call
    per_game = bets.group_by("game_id").agg(pl.col("outcome_won").sum().cast(pl.Float64),
                                            pl.len().cast(pl.Float64).alias("bets")
                                            ).sort("game_id")
    y, m = per_game["outcome_won"].to_numpy(), per_game["bets"].to_numpy()
    lo = hi = w_lo = w_hi = pv = math.nan
    if n:
        w_lo, w_hi = binomial_interval(k, n, "wilson", level)
    if per_game.height >= 2:
        boot = bootstrap_ratios(y, m, n_resamples=n_resamples, level=level, bounds=(0.0, 1.0),
                                seed=seed)
        _, lo, hi = boot.scalar()
        se = ratio_cluster_se(y, m)
        pv = float(2 * stats.norm.sf(abs(k / n - expected) / se)) if se > 0 else math.nan
    return pl.DataFrame([{
        "n": n, "games": per_game.height, "n_unknown": unknown, "wins": k,
        "win_rate": k / n if n else math.nan, "lo": lo, "hi": hi,
        "design_effect": design_effect(y, m), "wilson_lo": w_lo, "wilson_hi": w_hi,
        "expected_win_rate": expected, "p_value": pv,
        "staked_sol": float(bets["bet_amount_sol"].sum()),
        "profit_sol": float(bets["profit_sol"].fill_null(0.0).sum()),
    }])
