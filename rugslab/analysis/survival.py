"""Survival of the rug tick with the standard tools: Kaplan–Meier, Nelson–Aalen, Weibull, a
Q–Q plot against the geometric law, and a trend test of the hazard.

Every estimator here takes the lake's `games` and builds its data with the exposure rules of
`rugslab.analysis.hazard.game_exposure`: left truncation at the first live tick (at risk from the
tick after it), right censoring at the last live tick (games whose rug tick is unknown
included), events at the rug tick. Each game is one independent unit.

Discrete time: the rug tick T is an integer ≥ 1 and under the published generator
T ~ Geometric(p), P(T > t) = (1-p)^t. A continuous Weibull fitted to the integer times with
interval censoring (event in (t-1, t]) is exact for that discretisation: the geometric law is
the exponential with rate -log(1-p) rounded up, so its Weibull shape is exactly 1.

Source: lifelines (Davidson-Pilon, JOSS 2019): KaplanMeierFitter, NelsonAalenFitter,
WeibullFitter with `entry`; statsmodels GLM (binomial) for the trend; Klein & Moeschberger,
Survival Analysis (2003), §4.2–4.6 (Greenwood), §12 (parametric models).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import statsmodels.api as sm
from lifelines import KaplanMeierFitter, NelsonAalenFitter, WeibullFitter
from scipy import stats

from rugslab.analysis._frames import require_probability
from rugslab.analysis.hazard import at_risk_table, game_exposure
from rugslab.errors import ConfigError
from rugslab.feed.rules import RUG_PROB_PER_TICK


def _used(games: pl.DataFrame, entry_col: str) -> pl.DataFrame:
    e = game_exposure(games, entry_col=entry_col).filter(pl.col("used"))
    if e.height == 0:
        raise ConfigError("No game carries exposure (a rug_tick or last_live_tick after its "
                          "entry): nothing to estimate.")
    return e


def _alpha(level: float) -> float:
    require_probability("level", level)
    return 1.0 - level


def kaplan_meier(games: pl.DataFrame, *, entry_col: str = "first_live_tick",
                 level: float = 0.95, p: float = RUG_PROB_PER_TICK) -> pl.DataFrame:
    """Kaplan–Meier survival P(T > t) with left truncation, and its Greenwood band.

    lifelines counts a game that enters at e at risk for events at t > e (entrants join after
    the deaths of their own time, lifelines issue 497), so `entry` is the first live tick: at
    risk from the tick after it, as `game_exposure` has it.

    Returns:
        One row per tick with a rug or a censoring: `tick`, `at_risk`, `rugs`, `survival`,
        `lo`, `hi` (pointwise `level` band: Greenwood's variance on the log(-log) scale,
        lifelines' default), `geometric` ((1-p)^tick, the published law).

    Raises:
        ConfigError: no game carries exposure, bad level.
    """
    e = _used(games, entry_col)
    kmf = KaplanMeierFitter(alpha=_alpha(level))
    kmf.fit(e["exit_tick"].to_numpy(), e["rugged"].to_numpy(), entry=e["entry"].to_numpy())
    table = kmf.event_table
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    keep = (table["observed"] + table["censored"] > 0).to_numpy()
    t = table.index.to_numpy()[keep]
    return pl.DataFrame({
        "tick": t.astype(np.int64),
        "at_risk": (table["at_risk"] - table["entrance"]).to_numpy()[keep].astype(np.int64),
        "rugs": table["observed"].to_numpy()[keep].astype(np.int64),
        "survival": sf.loc[t].to_numpy(),
        "lo": ci.iloc[:, 0].loc[t].to_numpy(),
        "hi": ci.iloc[:, 1].loc[t].to_numpy(),
        "geometric": (1.0 - p) ** t.astype(float),
    })


def nelson_aalen(games: pl.DataFrame, *, entry_col: str = "first_live_tick",
                 level: float = 0.95, p: float = RUG_PROB_PER_TICK) -> pl.DataFrame:
    """Nelson–Aalen cumulative hazard H(t) = Σ_{s ≤ t} rugs(s) / at_risk(s), left-truncated.

    Returns:
        One row per tick with a rug: `tick`, `cumulative_hazard`, `lo`, `hi` (lifelines'
        pointwise band, log-transformed), `geometric` (-t·log(1-p): the published law's).
    """
    e = _used(games, entry_col)
    naf = NelsonAalenFitter(alpha=_alpha(level), nelson_aalen_smoothing=False)
    naf.fit(e["exit_tick"].to_numpy(), e["rugged"].to_numpy(), entry=e["entry"].to_numpy())
    table = naf.event_table
    t = table.index.to_numpy()[(table["observed"] > 0).to_numpy()]
    ch = naf.cumulative_hazard_.iloc[:, 0]
    ci = naf.confidence_interval_
    return pl.DataFrame({
        "tick": t.astype(np.int64),
        "cumulative_hazard": ch.loc[t].to_numpy(),
        "lo": ci.iloc[:, 0].loc[t].to_numpy(),
        "hi": ci.iloc[:, 1].loc[t].to_numpy(),
        "geometric": -t.astype(float) * math.log1p(-p),
    })


def weibull_fit(games: pl.DataFrame, *, entry_col: str = "first_live_tick",
                level: float = 0.95) -> dict[str, float]:
    """Weibull S(t) = exp(-(t/λ)^ρ) fitted by maximum likelihood, left-truncated.

    A rug at tick t is interval-censored in (t-1, t], a game censored at tick L in (L, ∞), and
    a game entering at e conditions on T > e (lifelines' `entry`). Shape ρ = 1 is the constant
    hazard; ρ > 1 a hazard rising with the tick, ρ < 1 a falling one.

    Returns:
        `games`, `rugs`, `shape` (ρ), `shape_lo`, `shape_hi` (Wald interval from the observed
        information, lifelines' `confidence_intervals_`), `scale` (λ, ticks), `scale_lo`,
        `scale_hi`, `shape_p_value` (Wald test of ρ = 1).

    Raises:
        ConfigError: no game carries exposure, or no rug (nothing to fit).
    """
    e = _used(games, entry_col)
    if not e["rugged"].any():
        raise ConfigError("weibull_fit needs at least one rug among the games.")
    rug = e["rugged"].to_numpy()
    exit_ = e["exit_tick"].to_numpy().astype(float)
    lower = np.where(rug, exit_ - 1.0, exit_)
    upper = np.where(rug, exit_, np.inf)
    wf = WeibullFitter(alpha=_alpha(level))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' notes on convergence and entry times
        wf.fit_interval_censoring(lower, upper,
                                  entry=e["entry"].to_numpy().astype(float))
    summary = wf.summary  # columns: coef, se(coef), coef lower x%, coef upper x%, ...
    ci = summary.iloc[:, 2:4]
    se = float(summary.loc["rho_", "se(coef)"])
    z = (float(wf.rho_) - 1.0) / se if se > 0 else math.nan
    return {
        "games": float(e.height), "rugs": float(rug.sum()),
        "shape": float(wf.rho_), "shape_lo": float(ci.loc["rho_"].iloc[0]),
        "shape_hi": float(ci.loc["rho_"].iloc[1]),
        "scale": float(wf.lambda_), "scale_lo": float(ci.loc["lambda_"].iloc[0]),
        "scale_hi": float(ci.loc["lambda_"].iloc[1]),
        "shape_p_value": float(2 * stats.norm.sf(abs(z))) if not math.isnan(z) else math.nan,
    }


def survival_qq(games: pl.DataFrame, *, p: float = RUG_PROB_PER_TICK,
                probabilities: np.ndarray | None = None, entry_col: str = "first_live_tick",
                level: float = 0.95) -> pl.DataFrame:
    """Q–Q of the rug tick against the geometric law, from the Kaplan–Meier estimate.

    The observed quantile at probability q is the first tick where the Kaplan–Meier F = 1 - S
    reaches q (so truncation and censoring are handled as in `kaplan_meier`); the geometric
    quantile is the least t with 1 - (1-p)^t ≥ q. Points on the diagonal: the geometric law.

    Args:
        probabilities: the q grid (default 0.05, 0.10, ..., 0.95).

    Returns:
        One row per q the estimate reaches: `q`, `observed_tick`, `lo`, `hi` (the quantiles of
        the Greenwood band's bounds; null where the band does not reach q), `geometric_tick`.
    """
    require_probability("p", p)
    qs = np.round(np.arange(0.05, 0.96, 0.05), 2) if probabilities is None else np.asarray(
        probabilities, float)
    km = kaplan_meier(games, entry_col=entry_col, level=level, p=p)
    t = km["tick"].to_numpy()

    def first(surv: np.ndarray, q: float) -> int | None:
        hit = np.flatnonzero(1.0 - surv >= q)
        return int(t[hit[0]]) if hit.size else None

    rows = []
    for q in qs.tolist():
        obs = first(km["survival"].to_numpy(), q)
        if obs is None:
            continue
        rows.append({"q": q, "observed_tick": obs,
                     "lo": first(km["hi"].to_numpy(), q), "hi": first(km["lo"].to_numpy(), q),
                     "geometric_tick": math.ceil(math.log1p(-q) / math.log1p(-p))})
    return pl.DataFrame(rows, schema={"q": pl.Float64, "observed_tick": pl.Int64,
                                      "lo": pl.Int64, "hi": pl.Int64,
                                      "geometric_tick": pl.Int64})


def hazard_trend_test(games: pl.DataFrame, *, per_ticks: int = 100,
                      entry_col: str = "first_live_tick", level: float = 0.95
                      ) -> dict[str, float]:
    """Does the hazard rise or fall with the tick? A discrete-time hazard regression.

    logit h(t) = a + b·t / per_ticks, fitted by maximum likelihood on the life table (games at
    risk and rugs per tick: the person-period likelihood, summed by tick). A binned G-test
    asks "is any bin different" and spends a degree of freedom per bin; this asks for one
    monotone trend and spends one. The model standard error is valid: a game's likelihood is the
    product of its per-tick terms (at most one rug), so game-ticks enter as independent
    Bernoulli terms.

    Returns:
        `odds_ratio` (exp b: the change in the odds of a rug per `per_ticks` ticks), `lo`,
        `hi` (Wald interval), `p_value` (Wald test of b = 0), `lr_p_value` (likelihood ratio
        against the intercept-only model), `ticks` (distinct ticks at risk), `exposure`,
        `rugs`.

    Raises:
        ConfigError: fewer than 2 ticks at risk or no rug.

    Source: Allison, "Discrete-time methods for the analysis of event histories" (1982);
    statsmodels GLM, Binomial family.
    """
    alpha = _alpha(level)
    table = at_risk_table(games, entry_col=entry_col)
    if table.height < 2 or table["rugs"].sum() == 0:
        raise ConfigError("hazard_trend_test needs rugs and at least 2 ticks at risk.")
    rugs = table["rugs"].to_numpy().astype(float)
    n = table["at_risk"].to_numpy().astype(float)
    endog = np.column_stack([rugs, n - rugs])
    x = sm.add_constant(table["tick"].to_numpy().astype(float) / per_ticks)
    fit = sm.GLM(endog, x, family=sm.families.Binomial()).fit()
    null = sm.GLM(endog, np.ones((len(n), 1)), family=sm.families.Binomial()).fit()
    lo, hi = fit.conf_int(alpha=alpha)[1]
    lr = 2.0 * (fit.llf - null.llf)
    return {
        "odds_ratio": float(np.exp(fit.params[1])), "lo": float(np.exp(lo)),
        "hi": float(np.exp(hi)), "p_value": float(fit.pvalues[1]),
        "lr_p_value": float(stats.chi2.sf(max(lr, 0.0), 1)), "ticks": float(table.height),
        "exposure": float(n.sum()), "rugs": float(rugs.sum()),
    }
