"""Cluster bootstrap: intervals that resample whole games.

Rows of one game are not independent: its ticks share a receiver and a network path, its side
bets share one rug tick, its 40-tick windows overlap. An interval that treats such rows as
independent is too narrow by about √(design effect) (2,195 real bets in 56 games: ~3×). The
cure used throughout `rugslab.analysis`: draw G games with replacement from the G games of the
sample (every row of a drawn game comes along, a game drawn twice counts twice), recompute the
statistic on the resampled rows, and read the interval off the replicates.

Three entry points, same resampling:
- `bootstrap_sums`: statistics that are functions of per-game column sums (a rate Σwins/Σbets,
  a hazard Σrugs/Σexposure, a correlation from Σx, Σy, Σx², Σy², Σxy, Σn). A replicate's totals
  are `counts @ sums`, with `counts` the multiplicity of each game in the replicate (one
  multinomial draw): exactly the statistic of the resampled rows, vectorised.
- `bootstrap_ratios`: rates Σy/Σn over games with a studentized (bootstrap-t) interval, which
  keeps its coverage better than the percentile interval when games differ much in size;
- `cluster_bootstrap`: any statistic of the resampled rows, called once per replicate with the
  row indices of the drawn games.

Intervals: "percentile" (the (1-level)/2 and (1+level)/2 quantiles of the replicates) or "bca"
(bias-corrected and accelerated; the acceleration from the leave-one-game-out jackknife).
Replicates where the statistic is undefined (NaN, e.g. a resample without bets) are left out of
the quantiles and counted in `undefined`.

Source: Efron & Tibshirani, An Introduction to the Bootstrap (1993), ch. 13–14 (percentile,
BCa); Cameron & Miller, "A Practitioner's Guide to Cluster-Robust Inference" (2015), §VI
(pairs cluster bootstrap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from rugslab.analysis._frames import require_probability
from rugslab.errors import ConfigError

Method = Literal["percentile", "bca"]
DEFAULT_RESAMPLES = 1000
_CHUNK = 256  # replicates per block: bounds memory to _CHUNK × games counts


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """Bootstrap intervals of m statistics from the same resampled games.

    Attributes:
        estimate, lo, hi, se: arrays of shape (m,): the statistic on the sample, the interval
            bounds, and the standard deviation of the replicates (NaN where undefined).
        replicates: (resamples, m) statistic of each replicate (for simultaneous bands).
        level, method: confidence level and interval method.
        clusters: games resampled; resamples: replicates drawn; undefined: (m,) replicates
            whose statistic was NaN.
    """

    estimate: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    se: np.ndarray
    replicates: np.ndarray
    level: float
    method: str
    clusters: int
    resamples: int
    undefined: np.ndarray

    def scalar(self, i: int = 0) -> tuple[float, float, float]:
        """(estimate, lo, hi) of statistic `i` as floats."""
        return float(self.estimate[i]), float(self.lo[i]), float(self.hi[i])


def _check(level: float, n_resamples: int, method: str) -> None:
    require_probability("level", level)
    if n_resamples < 2:
        raise ConfigError(f"Invalid n_resamples {n_resamples!r}: expected a whole number ≥ 2.")
    if method not in ("percentile", "bca"):
        raise ConfigError(f"Invalid method {method!r}: expected 'percentile' or 'bca'.")


def _generator(games: int, seed: int | np.random.Generator | None) -> np.random.Generator:
    """The resampling's generator (`seed` itself if a Generator), once `games` ≥ 2 is checked."""
    if games < 2:
        raise ConfigError(f"A cluster bootstrap needs ≥ 2 games, got {games}.")
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _as_2d(x: ArrayLike) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)


def _interval(estimate: np.ndarray, reps: np.ndarray, jack: np.ndarray | None, level: float,
              method: str) -> tuple[np.ndarray, np.ndarray]:
    """Percentile or BCa bounds per column of `reps` (NaN replicates ignored)."""
    alpha = np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    lo = np.full(estimate.shape, np.nan)
    hi = np.full(estimate.shape, np.nan)
    for j in range(estimate.size):
        r = reps[:, j][~np.isnan(reps[:, j])]
        if r.size == 0 or np.isnan(estimate[j]):
            continue
        q = alpha
        if method == "bca" and jack is not None:
            below = (np.sum(r < estimate[j]) + 0.5 * np.sum(r == estimate[j])) / r.size
            z0 = stats.norm.ppf(np.clip(below, 1e-10, 1 - 1e-10))
            jj = jack[:, j][~np.isnan(jack[:, j])]
            d = jj.mean() - jj
            den = 6.0 * np.sum(d * d) ** 1.5
            a = float(np.sum(d**3) / den) if den > 0 else 0.0
            z = stats.norm.ppf(alpha)
            q = stats.norm.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
        lo[j], hi[j] = np.quantile(r, q)
    return lo, hi


def _result(estimate: np.ndarray, reps: np.ndarray, jack: np.ndarray | None, level: float,
            method: str, clusters: int) -> BootstrapResult:
    lo, hi = _interval(estimate, reps, jack, level, method)
    undefined = np.isnan(reps).sum(axis=0)
    with np.errstate(invalid="ignore"):
        se = np.array([np.nanstd(reps[:, j], ddof=1) if reps.shape[0] - undefined[j] > 1
                       else np.nan for j in range(reps.shape[1])])
    return BootstrapResult(estimate, lo, hi, se, reps, level, method, clusters, reps.shape[0],
                           undefined)


def bootstrap_sums(
    sums: ArrayLike,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    method: Method = "percentile",
    seed: int | np.random.Generator | None = 0,
) -> BootstrapResult:
    """Cluster bootstrap of a statistic of column totals, resampling games.

    Args:
        sums: (G, k) per-game column sums (one row per game, e.g. [wins, bets]).
        statistic: maps totals of shape (..., k) to the statistic(s) of shape (...,) or
            (..., m); called on the sample's totals, on a (B, k) block of replicate totals and,
            for BCa, on the (G, k) leave-one-game-out totals. Must be vectorised over the
            leading axis. NaN marks an undefined value (e.g. 0/0).
        n_resamples: replicates B.
        level: confidence level; method: "percentile" or "bca".
        seed: seed or Generator of the resampling (same seed → same interval).

    Returns:
        A `BootstrapResult`; what it resamples: whole games (rows of `sums`).

    Raises:
        ConfigError: fewer than 2 games, bad level / n_resamples / method.
    """
    _check(level, n_resamples, method)
    s = _as_2d(sums)
    g = s.shape[0]
    rng = _generator(g, seed)
    total = s.sum(axis=0)
    estimate = np.atleast_1d(np.asarray(statistic(total[None, :]), dtype=float).reshape(-1))
    blocks = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for lo in range(0, n_resamples, _CHUNK):
            b = min(_CHUNK, n_resamples - lo)
            counts = rng.multinomial(g, np.full(g, 1.0 / g), size=b).astype(float)
            blocks.append(np.asarray(statistic(counts @ s), dtype=float).reshape(b, -1))
        reps = np.vstack(blocks)
        jack = (np.asarray(statistic(total[None, :] - s), dtype=float).reshape(g, -1)
                if method == "bca" else None)
    return _result(estimate, reps, jack, level, method, g)


def bootstrap_ratios(
    numerators: ArrayLike,
    denominators: ArrayLike,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    bounds: tuple[float, float] = (-np.inf, np.inf),
    seed: int | np.random.Generator | None = 0,
) -> BootstrapResult:
    """Studentized cluster bootstrap (bootstrap-t) of rates r_j = Σ_g y_gj / Σ_g n_gj.

    The rate of rows over games (wins per bet, rugs per game-tick, positives per reliability
    bin) is a ratio of per-game sums. Each replicate draws games with replacement and
    studentizes its rate with its own cluster-robust standard error
    (`ratio_cluster_se`); the interval is r̂ - q·se with q the replicates' t quantiles. With
    few games of very unequal size (bets: a few games hold most of them) this keeps its
    coverage better than the percentile interval (tests/analysis/test_resample.py measures
    both).

    Args:
        numerators, denominators: (G,) or (G, m) per-game sums.
        bounds: the interval is clipped to these (e.g. (0, 1) for a probability).
        n_resamples, level, seed: as `bootstrap_sums`.

    Returns:
        A `BootstrapResult` (method "studentized"; `replicates` are the replicate rates, `se`
        the sample's cluster-robust standard error); what it resamples: whole games. A rate
        whose replicates cannot all be studentized (a replicate without spread between games)
        gets the percentile interval instead.

    Raises:
        ConfigError: fewer than 2 games, bad level / n_resamples, shapes differ.

    Source: Davison & Hinkley, Bootstrap Methods and their Application (1997), §5.2.1
    (studentized intervals); Cameron, Gelbach & Miller, "Bootstrap-based improvements for
    inference with clustered errors" (2008).
    """
    _check(level, n_resamples, "percentile")
    y, n = _as_2d(numerators), _as_2d(denominators)
    if y.shape != n.shape:
        raise ConfigError(f"numerators {y.shape} and denominators {n.shape} differ in shape.")
    g = y.shape[0]
    rng = _generator(g, seed)
    k = y.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(n.sum(axis=0) > 0, y.sum(axis=0) / n.sum(axis=0), np.nan)
    # residuals at the estimate: a replicate's Σ w (y - r*·n)² = Σ w e² - 2δ Σ w e·n + δ² Σ w n²
    # with δ = r* - r̂, free of the cancellation of Σ w y² - 2r* Σ w y·n + r*² Σ w n²
    e = y - np.nan_to_num(est) * n
    cols = np.hstack([y, n, e * e, e * n, n * n])

    def rate_and_se(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sy, sn, see, sen, snn = (t[:, i * k:(i + 1) * k] for i in range(5))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(sn > 0, sy / np.where(sn > 0, sn, 1.0), np.nan)
            d = r - est
            ss = np.maximum(see - 2 * d * sen + d * d * snn, 0.0)
            return r, np.sqrt(g / (g - 1) * ss) / sn

    se = rate_and_se(cols.sum(axis=0)[None, :])[1][0]
    reps, ts = [], []
    for lo in range(0, n_resamples, _CHUNK):
        b = min(_CHUNK, n_resamples - lo)
        counts = rng.multinomial(g, np.full(g, 1.0 / g), size=b).astype(float)
        r, s = rate_and_se(counts @ cols)
        reps.append(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            ts.append((r - est) / s)
    rep, t = np.vstack(reps), np.vstack(ts)
    # where the replicates cannot be studentized (no spread in a replicate): percentile
    lo_b, hi_b = _interval(est, rep, None, level, "percentile")
    for j in range(k):
        tj = t[:, j][np.isfinite(t[:, j])]
        if tj.size > 1 and tj.size == np.sum(~np.isnan(rep[:, j])) and se[j] > 0:
            q_lo, q_hi = np.quantile(tj, [(1 - level) / 2, (1 + level) / 2])
            lo_b[j], hi_b[j] = est[j] - q_hi * se[j], est[j] - q_lo * se[j]
    lo_b = np.clip(lo_b, *bounds)
    hi_b = np.clip(hi_b, *bounds)
    return BootstrapResult(est, lo_b, hi_b, se, rep, level, "studentized", g, n_resamples,
                           np.isnan(rep).sum(axis=0))


def cluster_bootstrap(
    groups: ArrayLike,
    statistic: Callable[[np.ndarray], float | np.ndarray],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    method: Method = "percentile",
    seed: int | np.random.Generator | None = 0,
) -> BootstrapResult:
    """Cluster bootstrap of any statistic of the rows, resampling games.

    Args:
        groups: (n,) the game of each row (any hashable labels).
        statistic: called with an int array of row indices (the rows of the drawn games, a game
            drawn twice appearing twice; first call: all rows in order) and returning a float
            or an (m,) array; NaN marks an undefined value.
        n_resamples, level, method, seed: as `bootstrap_sums` (BCa calls `statistic` once
            more per game, leaving that game out).

    Returns:
        A `BootstrapResult`; what it resamples: whole games (the distinct values of `groups`).

    Raises:
        ConfigError: fewer than 2 games, bad level / n_resamples / method.
    """
    _check(level, n_resamples, method)
    _, code = np.unique(np.asarray(groups), return_inverse=True)
    g = int(code.max()) + 1 if code.size else 0
    rng = _generator(g, seed)
    order = np.argsort(code, kind="stable")
    sizes = np.bincount(code, minlength=g)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    def rows_of(games: np.ndarray) -> np.ndarray:
        n = sizes[games]
        offsets = np.repeat(starts[games] - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        return order[np.arange(int(n.sum())) + offsets]

    def call(ix: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.atleast_1d(np.asarray(statistic(ix), dtype=float)).reshape(-1)

    estimate = call(np.arange(code.size))
    reps = np.vstack([call(rows_of(rng.integers(0, g, g))) for _ in range(n_resamples)])
    jack = None
    if method == "bca":
        every = np.arange(g)
        jack = np.vstack([call(rows_of(np.delete(every, i))) for i in range(g)])
    return _result(estimate, reps, jack, level, method, g)


def simultaneous_band(result: BootstrapResult) -> tuple[np.ndarray, np.ndarray, float]:
    """A simultaneous percentile band over the m statistics of one bootstrap.

    No resampling of its own: it calibrates on the replicates of `result`, so it resamples
    what that bootstrap resampled (games, for this module's bootstraps).

    The pointwise percentile intervals are widened to a common pointwise level γ ≥ `level`,
    the smallest for which a share `level` of the replicates lies inside every interval at
    once; the band then holds all m values together with probability ≈ `level`. It contains
    the pointwise intervals and stays inside the range of the replicates (a probability band
    stays in [0, 1]). Replicates with an undefined value are left out of the calibration.

    Returns:
        (lo, hi, γ).

    Source: Mandel & Betensky, "Simultaneous confidence intervals based on the percentile
    bootstrap approach", Comput. Stat. Data Anal. 52 (2008).
    """
    reps = result.replicates
    full = reps[~np.isnan(reps).any(axis=1)]
    if full.shape[0] < 2:
        return result.lo.copy(), result.hi.copy(), result.level

    def bounds(gamma: float) -> tuple[np.ndarray, np.ndarray]:
        q = np.quantile(full, [(1 - gamma) / 2, (1 + gamma) / 2], axis=0)
        return q[0], q[1]

    def joint(gamma: float) -> float:
        lo, hi = bounds(gamma)
        return float(np.mean(np.all((full >= lo) & (full <= hi), axis=1)))

    a, b = result.level, 1.0
    if joint(a) < result.level:
        for _ in range(40):  # bisection on the pointwise level
            mid = (a + b) / 2
            a, b = (a, mid) if joint(mid) >= result.level else (mid, b)
        a = b
    lo, hi = bounds(a)
    return np.minimum(lo, result.lo), np.maximum(hi, result.hi), a


def ratio_of_sums(totals: np.ndarray) -> np.ndarray:
    """totals[..., 0] / totals[..., 1] (NaN where the denominator is 0): a rate over games."""
    num, den = totals[..., 0], totals[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def ratio_cluster_se(successes: ArrayLike, trials: ArrayLike) -> float:
    """Cluster-robust standard error of the rate r = Σy/Σn over games (one entry per game).

    Linearisation: Var(r) = G/(G-1) · Σ_g (y_g - r·n_g)² / (Σn)². NaN with fewer than 2 games
    or no trials. What it treats as independent: games.

    Source: Cameron & Miller, "A Practitioner's Guide to Cluster-Robust Inference" (2015), §II.
    """
    y = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    g, tot = y.size, n.sum()
    if g < 2 or tot == 0:
        return float("nan")
    r = y.sum() / tot
    return float(np.sqrt(g / (g - 1) * np.sum((y - r * n) ** 2)) / tot)


def design_effect(successes: ArrayLike, trials: ArrayLike) -> float:
    """Design effect of a rate over clustered 0/1 rows: cluster-robust variance / binomial.

    The cluster-robust variance is `ratio_cluster_se`² and the binomial one r(1-r)/Σn: their
    ratio is the factor by which an interval that treats rows as independent understates the
    variance. NaN when r is 0 or 1 or there are fewer than 2 games.

    Source: Kish, Survey Sampling (1965), §8.2.
    """
    y = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    se = ratio_cluster_se(y, n)
    tot = n.sum()
    r = y.sum() / tot if tot else float("nan")
    if np.isnan(se) or r in (0.0, 1.0):
        return float("nan")
    return float(se**2 / (r * (1 - r) / tot))
