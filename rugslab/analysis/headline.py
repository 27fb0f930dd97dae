"""The lake's headline numbers in one call: what `rugslab report` prints and the notebooks show.

Every number comes from the analysis function named beside it, with the same defaults, so the
report and the notebooks agree. Intervals are 95% (`level`); each one's docstring in its module
says what it resamples. A number whose data are missing (no ticks, no rugs, fewer than two games,
no seeds) is None, never absent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.analysis.hazard import pooled_hazard
from rugslab.analysis.sidebet import resolved_bets_vs_model, rug_within_probability
from rugslab.analysis.survival import hazard_trend_test, weibull_fit
from rugslab.analysis.timing import interval_stats, tick_intervals
from rugslab.analysis.timing_hazard import hazard_rows, test_timing_hazard
from rugslab.analysis.timing_series import interval_autocorrelation
from rugslab.errors import ConfigError
from rugslab.fair.verify import FAILED, VERIFIED, verify_games
from rugslab.feed.rules import SIDEBET_PAYOUT_X

Value = float | int | str | None
T = TypeVar("T")

#: The keys of `headline_numbers`, in order.
HEADLINE_KEYS = (
    "games", "rugged_games", "ticks",
    "interval_ms_median", "interval_ms_mad", "interval_ms_p99", "stalls",
    "lag1_autocorr", "lag1_autocorr_lo", "lag1_autocorr_hi",
    "hazard_pooled", "hazard_pooled_lo", "hazard_pooled_hi", "hazard_trend_p",
    "weibull_shape", "weibull_shape_lo", "weibull_shape_hi",
    "timing_effect_or", "timing_effect_or_lo", "timing_effect_or_hi", "timing_verdict",
    "sidebet_win_prob_analytic", "sidebet_ev_analytic",
    "real_bets", "real_bets_win_rate", "real_bets_win_rate_lo", "real_bets_win_rate_hi",
    "verified_games", "verification_failures",
)


def _num(x: object) -> float | None:
    """A finite float, or None (NaN and None are missing data)."""
    if x is None:
        return None
    v = float(x)  # type: ignore[arg-type]
    return v if math.isfinite(v) else None


def _try(f: Callable[[], T]) -> T | None:
    """f(), or None when the data cannot answer (ConfigError: no rugs, too few games...)."""
    try:
        return f()
    except ConfigError:
        return None


def headline_numbers(
    games: pl.DataFrame,
    ticks: pl.DataFrame,
    side_bets: pl.DataFrame,
    *,
    seeds: pl.DataFrame | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Value]:
    """The headline numbers of a lake (or any set of games).

    Args:
        games: the `games` rows to describe (the caller picks them: e.g. the real games,
            `rugslab.notebook.Lab.games()`); columns `game_id`, `rug_tick`, `last_live_tick`,
            `first_live_tick`, optional `rugged`.
        ticks: the `ticks` rows of those games (`game_id`, `tick`, `recv_ts`; `price_x`,
            `is_rug` when `seeds` is given); rows of other games are ignored.
        side_bets: the `side_bets` rows; only bets on `games` count.
        seeds: the `seeds` table; when given, the games are verified against their revealed
            seeds (`fair.verify.verify_games`); None: the two verification keys are None.
        n_resamples, seed: the cluster bootstraps' replicates and seed (same seed, same
            intervals).
        level: confidence level of every interval.

    Returns:
        A dict with exactly the keys of `HEADLINE_KEYS` (None where the data cannot say):
        - `games` (rows of `games`), `rugged_games` (a rug tick known or `rugged` true),
          `ticks` (tick rows of those games);
        - `interval_ms_median`, `interval_ms_mad`, `interval_ms_p99`, `stalls` (> 1 s):
          `timing.interval_stats` of the receive intervals;
        - `lag1_autocorr` (+ `_lo`, `_hi`): `timing_series.interval_autocorrelation`, lag 1,
          stalls excluded (they are counted in `stalls`), interval resampling games;
        - `hazard_pooled` (+ `_lo`, `_hi`): `hazard.pooled_hazard` (per tick; studentized
          game bootstrap); `hazard_trend_p`: `survival.hazard_trend_test` (Wald p of a
          linear trend in the logit hazard);
        - `weibull_shape` (+ `_lo`, `_hi`): `survival.weibull_fit` (Wald interval);
        - `timing_effect_or` (+ `_lo`, `_hi`): odds ratio of a rug per SD of the log mean of
          the last 10 intervals, game-clustered errors; `timing_verdict`: "constant",
          "timing" or "undecided" (`timing_hazard.test_timing_hazard`, TOST against the
          side bet's breakeven margin);
        - `sidebet_win_prob_analytic`, `sidebet_ev_analytic`: 1 - (1-p)^40 and 5·P - 1 for a
          bet below the cap;
        - `real_bets` (money bets on these games with a known outcome),
          `real_bets_win_rate` (+ `_lo`, `_hi`): `sidebet.resolved_bets_vs_model`
          (studentized game bootstrap);
        - `verified_games`, `verification_failures`: games whose verification status is
          "verified" / "failed".

    Raises:
        SchemaViolation: a frame lacks a column the numbers need.
    """
    require_columns(games, ("game_id", "rug_tick", "last_live_tick", "first_live_tick"),
                    table="games")
    ids = games["game_id"].unique().implode()
    ticks = ticks.filter(pl.col("game_id").is_in(ids))
    rugged = pl.col("rug_tick").is_not_null()
    if "rugged" in games.columns:
        rugged = rugged | pl.col("rugged").fill_null(False)
    out: dict[str, Value] = dict.fromkeys(HEADLINE_KEYS)
    out |= {"games": games.height, "rugged_games": games.filter(rugged).height,
            "ticks": ticks.height}

    iv = tick_intervals(ticks, games)
    s = interval_stats(iv)
    out |= {"interval_ms_median": _num(s["median"]), "interval_ms_mad": _num(s["mad"]),
            "interval_ms_p99": _num(s["p99"]), "stalls": int(s["stalls"])}
    if iv.height:
        acf = interval_autocorrelation(iv, max_lag=1, exclude_stalls=True,
                                       n_resamples=n_resamples, level=level, seed=seed
                                       ).row(0, named=True)
        out |= {"lag1_autocorr": _num(acf["acf"]), "lag1_autocorr_lo": _num(acf["lo"]),
                "lag1_autocorr_hi": _num(acf["hi"])}

    h = _try(lambda: pooled_hazard(games, n_resamples=n_resamples, level=level, seed=seed))
    if h is not None:
        out |= {"hazard_pooled": _num(h["hazard"]), "hazard_pooled_lo": _num(h["lo"]),
                "hazard_pooled_hi": _num(h["hi"])}
    trend = _try(lambda: hazard_trend_test(games, level=level))
    out["hazard_trend_p"] = _num(trend["p_value"]) if trend else None
    w = _try(lambda: weibull_fit(games, level=level))
    if w is not None:
        out |= {"weibull_shape": _num(w["shape"]), "weibull_shape_lo": _num(w["shape_lo"]),
                "weibull_shape_hi": _num(w["shape_hi"])}
    if iv.height:
        t = _try(lambda: test_timing_hazard(hazard_rows(ticks, games, intervals=iv),
                                              level=level))
        if t is not None:
            out |= {"timing_effect_or": _num(t.odds_ratio), "timing_effect_or_lo": _num(t.lo),
                    "timing_effect_or_hi": _num(t.hi), "timing_verdict": t.verdict}

    p_win = float(rug_within_probability(0))
    out |= {"sidebet_win_prob_analytic": p_win,
            "sidebet_ev_analytic": SIDEBET_PAYOUT_X * p_win - 1.0}
    bets = side_bets.filter(pl.col("game_id").is_in(ids))
    if bets.height:
        r = resolved_bets_vs_model(bets, games=games, n_resamples=n_resamples, level=level,
                                   seed=seed).row(0, named=True)
        out |= {"real_bets": int(r["n"]), "real_bets_win_rate": _num(r["win_rate"]),
                "real_bets_win_rate_lo": _num(r["lo"]), "real_bets_win_rate_hi": _num(r["hi"])}
    else:
        out["real_bets"] = 0

    if seeds is not None:
        v = verify_games(games, seeds.filter(pl.col("game_id").is_in(ids)), ticks)
        out |= {"verified_games": v.filter(pl.col("status") == VERIFIED).height,
                "verification_failures": v.filter(pl.col("status") == FAILED).height}
    return out
