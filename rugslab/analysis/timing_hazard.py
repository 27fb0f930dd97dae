"""Does tick timing move the rug hazard? A discrete-time hazard regression with an equivalence
test, so that the answer can be "constant" when the data support it.

Data: person-period rows (`hazard_rows`), one per game and tick t at risk (the exposure rules of
`rugslab.analysis.hazard.game_exposure`), with timing features computed from the receive
intervals of ticks up to t-1 only (what a watcher knows before the draw at t: the rug frame's
own arrival is not used), and `rug` = the game rugged at t.

Model: logit h(t) = a + b·z(t), z the feature standardised over the rows, fitted by maximum
likelihood (statsmodels Logit: the binomial GLM) with cluster-robust standard errors by game
(the sandwich treats games, not game-ticks, as the independent units). The effect size is
the odds ratio per standard deviation of the feature, exp(b), with its 95% interval.

Verdict, at α = 0.05:
- "constant": the two one-sided tests (TOST) put b inside ±log(margin): the 90% interval lies
  within the margin, so any effect is too small to matter;
- "timing": b differs from 0 (the 95% interval excludes 0) and the effect is not shown to be
  inside the margin;
- "undecided": neither; more games are needed.
The default margin comes from the side bet (`equivalence_margin`): the odds ratio that makes a
40-tick bet placed one standard deviation above the mean feature break even.

Source: Allison, "Discrete-time methods for the analysis of event histories" (1982);
Schuirmann, "A comparison of the two one-sided tests procedure..." (1987); statsmodels Logit
with `cov_type="cluster"`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

from rugslab.analysis._frames import require_columns, require_probability
from rugslab.analysis.hazard import game_exposure
from rugslab.analysis.timing import STALL_MS, tick_intervals
from rugslab.errors import ConfigError
from rugslab.feed.rules import RUG_PROB_PER_TICK, SIDEBET_PAYOUT_X, SIDEBET_WINDOW_TICKS

FEATURES = ("log_mean_interval", "std_interval_ms", "max_interval_ms", "stall_recent")
PRIMARY_FEATURE = "log_mean_interval"


def equivalence_margin(*, p: float = RUG_PROB_PER_TICK, payout_x: float = SIDEBET_PAYOUT_X,
                       window: int = SIDEBET_WINDOW_TICKS) -> float:
    """The smallest odds ratio per SD that would matter: the one that lifts a side bet to
    breakeven one standard deviation above the mean feature.

    A bet wins with 1 - (1-h)^window; breakeven needs 1/payout_x, so h_b = 1 - (1 -
    1/payout_x)^(1/window) (0.00556 for the published rules); the margin is the odds ratio of
    h_b against p (≈ 1.11). An effect inside ±log(margin) per SD cannot make a bet placed at
    +1 SD profitable.
    """
    require_probability("p", p)
    h_b = 1.0 - (1.0 - 1.0 / payout_x) ** (1.0 / window)
    return (h_b / (1.0 - h_b)) / (p / (1.0 - p))


def hazard_rows(ticks: pl.DataFrame, games: pl.DataFrame, *, k: int = 10,
                min_intervals: int | None = None, entry_col: str = "first_live_tick",
                intervals: pl.DataFrame | None = None) -> pl.DataFrame:
    """Person-period rows with time-varying timing features.

    Args:
        ticks: lake `ticks` (`game_id`, `tick`, `recv_ts`).
        games: lake `games` (`game_id`, `rug_tick`, `last_live_tick`, `entry_col`, optional
            `rugged`).
        k: the features look at the intervals ending at ticks t-k..t-1.
        min_intervals: rows with fewer measured intervals there are dropped (default
            max(2, k // 2)); the features of a tick not watched live are unknown.
        intervals: `timing.tick_intervals(ticks, games)` when the caller has it already
            (`ticks` is then not read again).

    Returns:
        One row per game and tick t at risk with features: `game_id`, `tick`, `rug` (bool),
        `n_intervals`, `mean_interval_ms`, `log_mean_interval` (log of the mean, ms floored at
        1), `std_interval_ms` (0 with one interval), `max_interval_ms`, `stall_recent`
        (1.0 when one of them is a stall, > STALL_MS).
    """
    if k < 2:
        raise ConfigError(f"Invalid k {k!r}: expected a whole number ≥ 2.")
    need = max(2, k // 2) if min_intervals is None else min_intervals
    e = game_exposure(games, entry_col=entry_col).filter(pl.col("used"))
    grid = e.select("game_id", "rugged", "exit_tick",
                    pl.int_ranges("at_risk_from", pl.col("exit_tick") + 1).alias("tick")
                    ).explode("tick")
    if intervals is None:
        intervals = tick_intervals(ticks, games)
    iv = intervals.select("game_id", pl.col("tick").cast(pl.Int64), "interval_ms")
    # features at tick u from intervals ending at u-k+1..u, then moved to row t = u + 1
    dense = (e.select("game_id", pl.int_ranges(0, pl.col("exit_tick") + 1).alias("tick"))
             .explode("tick").join(iv, on=["game_id", "tick"], how="left")
             .sort("game_id", "tick"))
    x = pl.col("interval_ms")
    win = f"{k}i"
    feats = dense.with_columns(
        x.is_not_null().cast(pl.Int64).rolling_sum_by("tick", win).over("game_id")
        .alias("n_intervals"),
        x.rolling_mean_by("tick", win).over("game_id").alias("mean_interval_ms"),
        x.rolling_std_by("tick", win).over("game_id").alias("std_interval_ms"),
        x.rolling_max_by("tick", win).over("game_id").alias("max_interval_ms"),
    ).with_columns((pl.col("tick") + 1).alias("tick")).drop("interval_ms")
    rows = grid.join(feats, on=["game_id", "tick"], how="inner").filter(
        pl.col("n_intervals") >= need)
    return rows.select(
        "game_id", pl.col("tick").cast(pl.Int64),
        (pl.col("rugged") & (pl.col("tick") == pl.col("exit_tick"))).alias("rug"),
        "n_intervals", "mean_interval_ms",
        pl.col("mean_interval_ms").clip(lower_bound=1.0).log().alias("log_mean_interval"),
        pl.col("std_interval_ms").fill_null(0.0),
        "max_interval_ms",
        (pl.col("max_interval_ms") > STALL_MS).cast(pl.Float64).alias("stall_recent"),
    ).sort("game_id", "tick")


class NoFiniteFit(ConfigError):
    """The timing-hazard fit has no finite estimate (the feature separates the rugs)."""


@dataclass(frozen=True, slots=True)
class TimingHazardTest:
    """Result of `test_timing_hazard`.

    Attributes:
        feature: the covariate; rows, games, rugs: person-period rows, games, rugs used.
        log_odds_ratio, se: b and its cluster-robust (by game) standard error, per SD.
        odds_ratio, lo, hi: exp(b) and its Wald interval at `level`.
        p_value: two-sided test of b = 0.
        margin: the equivalence margin (odds ratio); tost_p_value: max of the two one-sided
            p-values against ±log(margin).
        verdict: "constant", "timing" or "undecided" (module docstring).
        hazard_at_mean: the fitted hazard at the mean feature (expit(a)).
    """

    feature: str
    rows: int
    games: int
    rugs: int
    log_odds_ratio: float
    se: float
    odds_ratio: float
    lo: float
    hi: float
    p_value: float
    margin: float
    tost_p_value: float
    verdict: str
    hazard_at_mean: float


def test_timing_hazard(rows: pl.DataFrame, *, feature: str = PRIMARY_FEATURE,
                       margin: float | None = None, alpha: float = 0.05,
                       level: float = 0.95) -> TimingHazardTest:
    """Fit logit h = a + b·z(feature) on person-period rows; test b = 0 and |b| < log(margin).

    Args:
        rows: `hazard_rows` output (`game_id`, `rug`, `feature`).
        margin: equivalence margin as an odds ratio per SD (> 1); default `equivalence_margin()`.
        alpha: level of the two-sided test and of each one-sided test of the TOST.
        level: the reported interval of the odds ratio.

    Raises:
        ConfigError: fewer than 2 games, no rug, or a feature without spread.
        NoFiniteFit: (a ConfigError) the fit does not converge or has no finite standard
            error: the feature separates the rugs, so no finite MLE exists.

    Source: statsmodels Logit (the GLM Binomial fit by Newton) with cov_type="cluster",
    groups = games.
    """
    require_columns(rows, ("game_id", "rug", feature), table="hazard_rows")
    m = equivalence_margin() if margin is None else margin
    if m <= 1.0:
        raise ConfigError(f"Invalid margin {margin!r}: expected an odds ratio > 1.")
    y = rows["rug"].cast(pl.Float64).to_numpy()
    x = rows[feature].cast(pl.Float64).to_numpy()
    groups = rows["game_id"].cast(pl.Categorical).to_physical().to_numpy()
    n_games = int(np.unique(groups).size)
    sd = float(np.std(x))
    if n_games < 2 or y.sum() == 0 or not sd > 0:
        raise ConfigError(f"Cannot fit the timing hazard: {n_games} games, {int(y.sum())} rugs, "
                          f"feature sd {sd:.3g}; need ≥ 2 games, a rug and a varying feature.")
    z = (x - x.mean()) / sd
    # Logit (Newton) and GLM Binomial (IRLS) give the same MLE and the same cluster sandwich;
    # Logit peaks at ~0.3 GB on 4M rows where GLM took 2.6 GB (bench/README, year.py)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # checked just below
        warnings.simplefilter("ignore", HessianInversionWarning)
        fit = sm.Logit(y, sm.add_constant(z)).fit(
            disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    b, se = float(fit.params[1]), float(fit.bse[1])
    if not fit.mle_retvals.get("converged", False) or not (math.isfinite(b) and se > 0
                                                           and math.isfinite(se)):
        raise NoFiniteFit(
            f"Cannot fit the timing hazard on {feature}: the maximum-likelihood fit did not "
            f"converge (b = {b:.3g}, se = {se:.3g}); the feature (nearly) separates the rugs "
            "from the other ticks, e.g. no rug right after a stall, so its odds ratio has no "
            "finite estimate. More games are needed.")
    zq = float(stats.norm.ppf(0.5 + level / 2.0))
    p_two = float(fit.pvalues[1])
    d = math.log(m)
    p_tost = max(float(stats.norm.sf((b + d) / se)), float(stats.norm.cdf((b - d) / se)))
    verdict = ("constant" if p_tost < alpha else "timing" if p_two < alpha else "undecided")
    return TimingHazardTest(
        feature=feature, rows=int(y.size), games=n_games, rugs=int(y.sum()),
        log_odds_ratio=b, se=se, odds_ratio=math.exp(b), lo=math.exp(b - zq * se),
        hi=math.exp(b + zq * se), p_value=p_two, margin=m, tost_p_value=p_tost,
        verdict=verdict, hazard_at_mean=float(1.0 / (1.0 + math.exp(-fit.params[0]))),
    )


test_timing_hazard.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def timing_hazard_table(rows: pl.DataFrame, *, features: tuple[str, ...] = FEATURES,
                        margin: float | None = None) -> pl.DataFrame:
    """`test_timing_hazard` for each feature, one row each (features without spread skipped).

    Returns:
        `feature`, `odds_ratio`, `lo`, `hi`, `p_value`, `tost_p_value`, `verdict`, `rows`,
        `games`, `rugs`. Several features are several tests: read a lone "timing" among them
        with that in mind. A feature whose fit has no finite estimate (`test_timing_hazard`
        raises: it separates the rugs) gets verdict "no fit" and null numbers.
    """
    out: list[dict[str, object]] = []
    for f in features:
        if f not in rows.columns or not float(np.std(rows[f].cast(pl.Float64).to_numpy())) > 0:
            continue
        try:
            t = test_timing_hazard(rows, feature=f, margin=margin)
        except NoFiniteFit:
            out.append({"feature": f, "odds_ratio": None, "lo": None, "hi": None,
                        "p_value": None, "tost_p_value": None, "verdict": "no fit",
                        "rows": rows.height, "games": rows["game_id"].n_unique(),
                        "rugs": int(rows["rug"].sum())})
            continue
        out.append({"feature": f, "odds_ratio": t.odds_ratio, "lo": t.lo, "hi": t.hi,
                    "p_value": t.p_value, "tost_p_value": t.tost_p_value,
                    "verdict": t.verdict, "rows": t.rows, "games": t.games, "rugs": t.rugs})
    return pl.DataFrame(out)
