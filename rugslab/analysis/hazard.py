"""The per-tick rug hazard, estimated with left truncation and right censoring.

Tick semantics (`rugslab.fair.game`): tick 0 is the start price 1.0 and never rugs; for each
tick t = 1..5000 the generator draws once and rugs with probability p = 0.005, so the published
hazard is h(t) = P(rug at t | alive at t-1) = p for t in 1..5000 and the rug tick T has
P(T = t) = (1-p)^(t-1)·p. A game that survives 5000 draws ends without a rug.

A game of the `games` table contributes exposure (game-ticks at risk) on ticks
`entry + 1 .. exit`, where
- entry = `first_live_tick` (left truncation): a game joined mid-way is in the sample because it
  was still running at that tick, so its draws 1..entry are known to have passed and it is at
  risk from the tick AFTER entry; null entry = 0 (the path is known from tick 0, e.g. from
  `gameHistory` prices);
- exit = `rug_tick` (an event at exit) or, when `rug_tick` is null, `last_live_tick` (right
  censoring: the game was seen alive at that tick and nothing after). A game known to have
  rugged at an unknown tick (`rugged` true, `rug_tick` null) is censored there too: it was
  alive at its last live tick, and leaving it out would drop long games selectively.
Games with no tick at risk carry no exposure; `game_exposure` reports them with `reason` (a game
first seen on its rug frame, rug tick = entry, is one: it was not running when the receiver
joined). A rug tick before the entry or at tick 0 is inconsistent input and raises.

Source: the life-table / Kaplan–Meier estimator for discrete time with left truncation
(Klein & Moeschberger, Survival Analysis, 2nd ed., §4.6); intervals from scipy's binomtest, and
for the pooled hazard a cluster bootstrap over games (`rugslab.analysis.resample`).
Kaplan–Meier bands, Nelson–Aalen, Weibull and the trend test: `rugslab.analysis.survival`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats
from scipy.special import xlogy

from rugslab.analysis._frames import require_columns, require_probability
from rugslab.analysis.resample import DEFAULT_RESAMPLES, bootstrap_ratios
from rugslab.errors import ConfigError, SchemaViolation
from rugslab.feed.rules import RUG_PROB_PER_TICK

CiMethod = Literal["wilson", "exact"]


def game_exposure(games: pl.DataFrame, *, entry_col: str = "first_live_tick") -> pl.DataFrame:
    """Per game: the ticks it was at risk and whether it rugged.

    Args:
        games: the lake's `games` table (`game_id`, `rug_tick`, `last_live_tick`, `entry_col`,
            optional `rugged`).
        entry_col: the left-truncation column (null → 0).

    Returns:
        One row per input game: `game_id`, `entry` (entry_col, null → 0), `at_risk_from`
        (entry + 1), `exit_tick`, `rugged` (bool: an event at exit), `rug_unknown` (rugged at
        an unknown tick: censored at its last live tick), `used` (bool), `reason` (null when
        used, else "no exposure" or "joined at its rug").

    Raises:
        SchemaViolation: missing columns, or a game with `rug_tick` 0 or before its entry
            (`failure_cases` lists them).
    """
    require_columns(games, ("game_id", "rug_tick", "last_live_tick", entry_col), table="games")
    rug_unknown = (pl.col("rugged").fill_null(False) & pl.col("rug_tick").is_null()
                   if "rugged" in games.columns else pl.lit(False))
    df = games.select(
        "game_id",
        pl.col(entry_col).fill_null(0).cast(pl.Int64).alias("entry"),
        pl.coalesce(pl.col("rug_tick"), pl.col("last_live_tick")).cast(pl.Int64).alias(
            "exit_tick"
        ),
        pl.col("rug_tick").is_not_null().alias("rugged"),
        rug_unknown.alias("rug_unknown"),
        pl.col("rug_tick").cast(pl.Int64).alias("_rug"),
    ).with_columns((pl.col("entry") + 1).alias("at_risk_from"))
    bad = df.filter((pl.col("_rug") == 0) | (pl.col("_rug") < pl.col("entry")))
    if bad.height:
        raise SchemaViolation(
            f"{bad.height} game(s) rug at tick 0 or before their {entry_col} (e.g. "
            f"{bad['game_id'][0]}: rug_tick {bad['_rug'][0]}, {entry_col} {bad['entry'][0]}). "
            "Fix the games table (rug_tick ≥ 1 and ≥ the entry tick).",
            table="games",
            failure_cases=bad.select("game_id", "_rug", "entry"),
        )
    used = pl.col("exit_tick").is_not_null() & (pl.col("exit_tick") >= pl.col("at_risk_from"))
    reason = (
        pl.when(used).then(pl.lit(None, pl.String))
        .when(pl.col("_rug") == pl.col("entry")).then(pl.lit("joined at its rug"))
        .otherwise(pl.lit("no exposure"))
    )
    return df.with_columns(used.alias("used"), reason.alias("reason")).select(
        "game_id", "entry", "at_risk_from", "exit_tick", "rugged", "rug_unknown", "used",
        "reason")


def at_risk_table(games: pl.DataFrame, *, entry_col: str = "first_live_tick") -> pl.DataFrame:
    """Games at risk and rugs per tick (the life table before any pooling).

    Returns:
        One row per tick 1..(last exit tick) with games at risk: `tick`, `at_risk`, `rugs`.
        Same exposure rules as `game_exposure`.
    """
    exposure = game_exposure(games, entry_col=entry_col)
    top = exposure.filter(pl.col("used"))["exit_tick"].max()
    last = int(top) if top is not None else 0  # type: ignore[arg-type]
    at_risk, rugs = _at_risk_and_rugs(exposure, last)
    t = np.arange(last + 1)
    keep = (t >= 1) & (at_risk > 0)
    return pl.DataFrame({"tick": t[keep].astype(np.int64), "at_risk": at_risk[keep],
                         "rugs": rugs[keep].astype(np.int64)})


def _at_risk_and_rugs(exposure: pl.DataFrame, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Arrays indexed by tick 0..last: games at risk, rugs (from used rows)."""
    e = exposure.filter(pl.col("used"))
    start = e["at_risk_from"].to_numpy()
    stop = e["exit_tick"].to_numpy()
    diff = np.zeros(last + 2, dtype=np.int64)
    np.add.at(diff, np.minimum(start, last + 1), 1)
    np.add.at(diff, np.minimum(stop + 1, last + 1), -1)
    at_risk = np.cumsum(diff)[: last + 1]
    rug_ticks = e.filter(pl.col("rugged"))["exit_tick"].to_numpy()
    rugs = np.bincount(rug_ticks, minlength=last + 1)[: last + 1] if rug_ticks.size else (
        np.zeros(last + 1, dtype=np.int64)
    )
    return at_risk, rugs


def binomial_interval(k: int, n: int, method: CiMethod = "wilson", level: float = 0.95
                      ) -> tuple[float, float]:
    """(lo, hi) of k successes in n independent trials: Wilson score or exact
    (Clopper–Pearson) interval at `level`; (NaN, NaN) when n is 0. What it treats as
    independent: the n trials. No resampling: an analytic interval; where the trials are not
    independent (game-ticks of one game), resample games instead (`resample.cluster_bootstrap`).

    Source: scipy.stats.binomtest(k, n).proportion_ci.
    """
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method=method)
    return float(ci.low), float(ci.high)


def hazard_curve(
    games: pl.DataFrame,
    *,
    max_tick: int = 500,
    entry_col: str = "first_live_tick",
    ci: CiMethod = "wilson",
    level: float = 0.95,
) -> pl.DataFrame:
    """Per-tick rug hazard h(t) = P(rug at t | alive at t-1), with intervals.

    Args:
        games: one row per game (see the module docstring for how rows become exposure).
        max_tick: ticks ≥ this are pooled into one last row (`pooled` true), whose `at_risk`
            is the total game-ticks at risk there.
        entry_col: the left-truncation column.
        ci: "wilson" or "exact" (Clopper–Pearson) binomial interval.
        level: confidence level.

    Returns:
        One row per tick 1..max_tick: `tick`, `last_tick` (= tick; on the pooled row the last
        tick with a game at risk: the tail the row stands for), `at_risk`, `rugs`, `hazard`
        (rugs / at_risk, NaN when at_risk is 0), `lo`, `hi`, `survival` (Kaplan–Meier
        Π(1 - h) up to the tick; null on the pooled row), `pooled`.

        The binomial interval per row is the life table's: a game adds at most one row per
        tick and at most one rug, and the likelihood factorises over ticks (Klein &
        Moeschberger §4.6); what it treats as independent: games at risk at that tick.

    Raises:
        SchemaViolation: see `game_exposure`.
        ConfigError: `max_tick` < 1.
    """
    if max_tick < 1:
        raise ConfigError(f"Invalid max_tick {max_tick!r}: expected a whole number ≥ 1.")
    exposure = game_exposure(games, entry_col=entry_col)
    top = exposure.filter(pl.col("used"))["exit_tick"].max()
    last = max(int(top) if top is not None else 0, max_tick)  # type: ignore[arg-type]
    at_risk, rugs = _at_risk_and_rugs(exposure, last)
    n = np.append(at_risk[1:max_tick], at_risk[max_tick:].sum())
    k = np.append(rugs[1:max_tick], rugs[max_tick:].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    bounds = [binomial_interval(ki, ni, ci, level) for ki, ni in zip(k, n, strict=True)]
    surv = np.cumprod(1.0 - np.nan_to_num(h[:-1], nan=0.0))
    tail = np.flatnonzero(at_risk[max_tick:])
    ticks = np.arange(1, max_tick + 1, dtype=np.int64)
    return pl.DataFrame(
        {
            "tick": ticks,
            "last_tick": np.append(ticks[:-1], max_tick + (int(tail[-1]) if tail.size else 0)),
            "at_risk": n.astype(np.int64),
            "rugs": k.astype(np.int64),
            "hazard": h,
            "lo": [b[0] for b in bounds],
            "hi": [b[1] for b in bounds],
            "survival": [*surv.tolist(), None],
            "pooled": [False] * (max_tick - 1) + [True],
        },
        schema_overrides={"survival": pl.Float64},
    )


@dataclass(frozen=True, slots=True)
class HazardTest:
    """Result of `test_constant_hazard` (probabilities per tick; statistics are G = 2·ΔlogL).

    Attributes:
        p_null: the null hazard tested.
        exposure, rugs: total game-ticks at risk and rugs.
        pooled, lo, hi: the pooled hazard rugs/exposure with its Wilson interval over
            game-ticks (`pooled_hazard` gives one that resamples games).
        binom_p_value: exact two-sided binomial test of the pooled hazard against `p_null`.
        statistic, dof, p_value: likelihood-ratio test of "h = p_null in every bin" against a
            free hazard per bin (dof = bins with exposure).
        homogeneity_statistic, homogeneity_dof, homogeneity_p_value: the same against "one
            constant hazard (any value)": dof = bins with exposure - 1.
        bins: number of tick bins with exposure.
    """

    p_null: float
    exposure: int
    rugs: int
    pooled: float
    lo: float
    hi: float
    binom_p_value: float
    statistic: float
    dof: int
    p_value: float
    homogeneity_statistic: float
    homogeneity_dof: int
    homogeneity_p_value: float
    bins: int


def _g_statistic(k: np.ndarray, n: np.ndarray, p: np.ndarray | float) -> float:
    """2·Σ [k log(k/np) + (n-k) log((n-k)/(n(1-p)))], with 0·log 0 = 0."""
    k = k.astype(float)
    n = n.astype(float)
    expected = n * p
    return float(2.0 * np.sum(xlogy(k, k / expected) + xlogy(n - k, (n - k) / (n - expected))))


def test_constant_hazard(
    games: pl.DataFrame,
    *,
    p: float = RUG_PROB_PER_TICK,
    bin_ticks: int = 25,
    max_tick: int = 500,
    entry_col: str = "first_live_tick",
    level: float = 0.95,
) -> HazardTest:
    """Test the per-tick hazard of `games` against the constant null `p` (0.5% per tick).

    Ticks 1..max_tick-1 are grouped in bins of `bin_ticks` ticks and ticks ≥ max_tick in one
    more bin; each bin's exposure and rugs come from `hazard_curve` (same censoring rules).

    Returns:
        A `HazardTest`. The pooled interval is Wilson's.

    Raises:
        ConfigError: `p` not in (0, 1), `bin_ticks` < 1.
        SchemaViolation: see `game_exposure`.

    Source: likelihood-ratio (G) test for binomial proportions; scipy.stats.chi2, binomtest.
    """
    require_probability("p", p)
    if bin_ticks < 1:
        raise ConfigError(f"Invalid bin_ticks {bin_ticks!r}: expected a whole number ≥ 1.")
    curve = hazard_curve(games, max_tick=max_tick, entry_col=entry_col, level=level)
    binned = (
        curve.with_columns(
            pl.when(pl.col("pooled")).then(pl.lit(-1, pl.Int64))
            .otherwise((pl.col("tick") - 1) // bin_ticks).alias("bin")
        )
        .group_by("bin")
        .agg(pl.col("at_risk").sum(), pl.col("rugs").sum())
        .filter(pl.col("at_risk") > 0)
    )
    n = binned["at_risk"].to_numpy()
    k = binned["rugs"].to_numpy()
    exposure, rugs = int(n.sum()), int(k.sum())
    if exposure == 0:
        raise ConfigError(
            "No exposure: no game has a rug_tick or last_live_tick at or after its entry. "
            "Pass games with observed ticks."
        )
    pooled = rugs / exposure
    lo, hi = binomial_interval(rugs, exposure, "wilson", level)
    g_null = _g_statistic(k, n, p)
    g_h = _g_statistic(k, n, pooled) if 0 < pooled < 1 else 0.0
    dof = int(n.size)
    return HazardTest(
        p_null=p,
        exposure=exposure,
        rugs=rugs,
        pooled=pooled,
        lo=lo,
        hi=hi,
        binom_p_value=float(stats.binomtest(rugs, exposure, p).pvalue),
        statistic=g_null,
        dof=dof,
        p_value=float(stats.chi2.sf(g_null, dof)),
        homogeneity_statistic=g_h,
        homogeneity_dof=dof - 1,
        homogeneity_p_value=float(stats.chi2.sf(g_h, dof - 1)) if dof > 1 else math.nan,
        bins=dof,
    )


test_constant_hazard.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def binned_hazard(curve: pl.DataFrame, *, bin_ticks: int = 25, ci: CiMethod = "wilson",
                  level: float = 0.95) -> pl.DataFrame:
    """Pool a per-tick hazard curve into bins of `bin_ticks` ticks (steadier than per tick).

    Args:
        curve: `hazard_curve` output; its pooled last row stays a bin of its own (its
            `last_tick` is the end of the tail).

    Returns:
        One row per bin with exposure: `tick` (first tick of the bin), `last_tick`, `at_risk`
        (game-ticks), `rugs`, `hazard` (rugs / at_risk), `lo`, `hi` (binomial interval over
        the bin's game-ticks: the life table's, valid as a game adds at most one rug and its
        ticks' terms multiply in the likelihood; for an interval robust to games that differ,
        `pooled_hazard` resamples games), `pooled`.

    Raises:
        ConfigError: `bin_ticks` < 1.
    """
    require_columns(curve, ("tick", "at_risk", "rugs", "pooled"), table="hazard_curve")
    if bin_ticks < 1:
        raise ConfigError(f"Invalid bin_ticks {bin_ticks!r}: expected a whole number ≥ 1.")
    last = pl.col("last_tick") if "last_tick" in curve.columns else pl.col("tick")
    binned = (
        curve.with_columns(
            pl.when(pl.col("pooled")).then(pl.col("tick"))
            .otherwise((pl.col("tick") - 1) // bin_ticks * bin_ticks + 1).alias("_bin")
        )
        .group_by("_bin")
        .agg(last.max().alias("last_tick"), pl.col("at_risk").sum(),
             pl.col("rugs").sum(), pl.col("pooled").any())
        .filter(pl.col("at_risk") > 0)
        .sort("_bin")
        .rename({"_bin": "tick"})
    )
    bounds = [binomial_interval(k, n, ci, level) for k, n in zip(binned["rugs"], binned["at_risk"],
                                                   strict=True)]
    return binned.select(
        "tick", "last_tick", "at_risk", "rugs",
        (pl.col("rugs") / pl.col("at_risk")).alias("hazard"),
        pl.Series("lo", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("hi", [b[1] for b in bounds], dtype=pl.Float64),
        "pooled",
    )


def pooled_hazard(
    games: pl.DataFrame,
    *,
    entry_col: str = "first_live_tick",
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """The constant hazard that fits the games best, rugs / game-ticks at risk, with intervals.

    Returns:
        `games` (with exposure), `exposure` (game-ticks), `rugs`, `hazard`, `lo`, `hi`
        (studentized cluster bootstrap, `resample.bootstrap_ratios`: resamples whole games,
        `n_resamples` replicates, seeded; robust to games that differ in their hazard),
        `wilson_lo`, `wilson_hi` (the binomial interval over game-ticks, exact when every game
        has the same constant hazard).

    Raises:
        ConfigError: no game carries exposure. SchemaViolation: see `game_exposure`.
    """
    e = game_exposure(games, entry_col=entry_col).filter(pl.col("used"))
    if e.height == 0:
        raise ConfigError("No exposure: no game has a rug_tick or last_live_tick after its "
                          "entry. Pass games with observed ticks.")
    sums = e.select(pl.col("rugged").cast(pl.Float64),
                    (pl.col("exit_tick") - pl.col("at_risk_from") + 1).cast(pl.Float64)
                    ).to_numpy()
    rugs, exposure = int(sums[:, 0].sum()), int(sums[:, 1].sum())
    lo = hi = math.nan
    if e.height >= 2:
        boot = bootstrap_ratios(sums[:, 0], sums[:, 1], n_resamples=n_resamples, level=level,
                                bounds=(0.0, 1.0), seed=seed)
        _, lo, hi = boot.scalar()
    w_lo, w_hi = binomial_interval(rugs, exposure, "wilson", level)
    return {"games": float(e.height), "exposure": float(exposure), "rugs": float(rugs),
            "hazard": rugs / exposure, "lo": lo, "hi": hi, "wilson_lo": w_lo, "wilson_hi": w_hi}
