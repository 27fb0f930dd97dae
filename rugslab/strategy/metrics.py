"""Metrics of an ensemble of independent bankrolls, with intervals across paths.

The paths are the independent units: every interval here treats each path's totals as one
draw, never the bets or games inside a path (which share a bankroll, so a stake can depend
on earlier results). Each interval's docstring says what it resamples.

An interval that cannot be honest is not given: with fewer than `MIN_PATHS` paths, or when
it would have zero width (every path had the same value), `lo` and `hi` are None and the
note says why ("n too small: ...").

What the names mean (amounts in SOL; a "bet" is a side bet or a trade, buy to sell or wipe):

    ev_per_bet            Σ P&L / Σ staked over all bets: EV per unit stake
    ev_per_game           Σ P&L / Σ games played (SOL per game)
    expectancy_sol        Σ P&L / Σ bets (SOL per bet)
    hit_rate              Σ wins / Σ bets
    voided                bets and positions a censored real game left without an outcome
                          (stake returned; in no other metric: `rugslab.strategy.engine`)
    profit_factor         Σ winning P&L / Σ |losing P&L| (pooled)
    exposure              share of games with money at risk
    ruin_probability      share of paths ruined (a stake the cash could not cover) by the
                          last game; Wilson interval

Paths resampled from real games (`LakeSource`) are all made of the same few games: their
intervals are those of the real sample, not of the number of paths (`ensemble_metrics`).
    time_to_ruin_*        games until ruin, among ruined paths
    final_bankroll_*      quantiles of the cash after the last game
    max_drawdown_*        quantiles of the largest fall from a running peak (fraction of
                          the peak), and of the longest run of games below a peak
    sharpe, sortino, calmar   per game, from each path's per-game returns r = P&L / cash
                          at the game's start, as backtesting.py and vectorbt define them
                          without annualising (mean r / sd r; mean r / √mean(min(r,0)²);
                          mean r / max drawdown); mean across paths, t interval

Sources: Wilson (1927) score interval; the ratio estimator's delta-method variance
(Cochran, Sampling Techniques, 3rd ed., §6.3); Student t for means across paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from rugslab.strategy.book import PathSummaries

#: Fewer paths than this give no interval across paths ("n too small").
MIN_PATHS = 10
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True, slots=True)
class Interval:
    """A value with its interval (`lo`, `hi` None when there is none; `note` says why).

    `n` is the number of independent units behind it (paths)."""

    value: float | None
    lo: float | None
    hi: float | None
    n: int
    note: str | None = None

    def __str__(self) -> str:
        if self.value is None:
            return f"undefined ({self.note})"
        if self.lo is None or self.hi is None:
            return f"{self.value:.4g} (no interval: {self.note})"
        text = f"{self.value:.4g} [{self.lo:.4g}, {self.hi:.4g}]"
        return f"{text} ({self.note})" if self.note else text


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _guard(value: float, lo: float, hi: float, n: int, note: str | None = None) -> Interval:
    v = _finite(value)
    if v is None:
        return Interval(None, None, None, n, "no data")
    if n < MIN_PATHS:
        return Interval(v, None, None, n, f"n too small: {n} path(s), an interval needs "
                        f"≥ {MIN_PATHS}")
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo <= 0:
        return Interval(v, None, None, n, "n too small: zero width (every path had the "
                        "same value)")
    return Interval(v, float(lo), float(hi), n, note)


def ratio_interval(num: np.ndarray, den: np.ndarray, *, level: float = 0.95,
                   units: float | None = None, note: str | None = None) -> Interval:
    """Σnum / Σden with a delta-method interval across paths.

    Resamples: paths (each path's totals `num[i]`, `den[i]` are one draw). Paths with
    den = 0 count (they add nothing to either sum but are part of the sample).
    Var(R) ≈ Σ(num_i − R·den_i)² / ((n−1)·units·mean(den)²), with a Student t(n−1) quantile,
    where `units` is the number of independent paths behind the estimate: n for a generator
    (the default), or (real games / games per path) for paths resampled from real games,
    then with a normal quantile: however many paths are drawn, they hold no more
    information than the real games they were drawn from (see `ensemble_metrics`).
    """
    num, den = np.asarray(num, float), np.asarray(den, float)
    n = int(num.size)
    if n == 0 or den.sum() <= 0:
        return Interval(None, None, None, n, "no bets" if n else "no paths")
    r = num.sum() / den.sum()
    if n < 2:
        return _guard(r, math.nan, math.nan, n)
    d = num - r * den
    se = math.sqrt(float((d * d).sum()) / ((n - 1) * (units or n))) / float(den.mean())
    q = float(stats.norm.ppf(0.5 + level / 2) if units else stats.t.ppf(0.5 + level / 2, n - 1))
    return _guard(r, r - q * se, r + q * se, n, note)


def wilson_interval(k: int, n: int, *, level: float = 0.95, units: float | None = None,
                    note: str | None = None) -> Interval:
    """k/n with the Wilson score interval. Resamples: paths (k of n paths had the event);
    with `units`, the interval is the Wilson interval of k/n at an effective sample size of
    `units` independent paths (as `ratio_interval`). Never of zero width for n ≥ 1, so it is
    given from one path on."""
    if n == 0:
        return Interval(None, None, None, 0, "no paths")
    m = float(units or n)
    p = k / n
    z = float(stats.norm.ppf(0.5 + level / 2))
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n, note)


def mean_interval(x: np.ndarray, *, level: float = 0.95) -> Interval:
    """Mean of one value per path with a Student t interval. Resamples: paths (NaN dropped)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Interval(None, None, None, 0, "no data")
    m = float(x.mean())
    if n < 2:
        return _guard(m, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return _guard(m, m - half, m + half, n)


def _no_interval(x: np.ndarray, note: str) -> Interval:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return Interval(float(x.mean()) if x.size else None, None, None, int(x.size), note)


def _per_path_ratios(s: PathSummaries) -> dict[str, np.ndarray]:
    n = s.games_played.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s.sum_r / n
        var = (s.sum_r2 - n * mean**2) / (n - 1)
        sd = np.sqrt(np.where(var > 0, var, np.nan))
        down = np.sqrt(s.sum_down2 / n)
        return {"sharpe": mean / sd,
                "sortino": np.where(down > 0, mean / down, np.nan),
                "calmar": np.where(s.max_drawdown > 0, mean / s.max_drawdown, np.nan)}


def _q(x: np.ndarray, q: float) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.quantile(x, q)) if x.size else None


@dataclass(frozen=True, slots=True)
class EnsembleMetrics:
    """Every metric of one ensemble (module docstring); `to_dict()` flattens it for JSON."""

    paths: int
    games: int
    bankroll_sol: float
    bets: int
    voided: int
    intervals: dict[str, Interval]
    values: dict[str, float | None]

    def to_dict(self) -> dict[str, object]:
        """Flat: each interval `x` as `x`, `x_lo`, `x_hi`, `x_note`; then the values."""
        out: dict[str, object] = {"paths": self.paths, "games": self.games,
                                  "bankroll_sol": self.bankroll_sol, "bets": self.bets,
                                  "voided": self.voided}
        for k, iv in self.intervals.items():
            out |= {k: iv.value, f"{k}_lo": iv.lo, f"{k}_hi": iv.hi, f"{k}_note": iv.note}
        return out | self.values

    def __str__(self) -> str:
        lines = [f"{self.paths:,} paths × {self.games:,} games from {self.bankroll_sol:g} SOL; "
                 f"{self.bets:,} bets, {self.voided:,} voided (censored games)"]
        lines += [f"  {k:<22} {iv}" for k, iv in self.intervals.items()]
        lines += [f"  {k:<22} {'n/a' if v is None else format(v, '.4g')}"
                  for k, v in self.values.items()]
        return "\n".join(lines)


def ensemble_metrics(s: PathSummaries, *, games: int, level: float = 0.95,
                     resampled_from: int | None = None) -> EnsembleMetrics:
    """The metrics of an ensemble whose paths each had `games` games (module docstring).

    Args:
        resampled_from: for paths resampled from real games (`LakeSource`), how many real
            games there were. Every path is then made of the same few games, so intervals
            that shrink with the number of paths would only measure the resampling noise.
            The intervals of EV per bet, per game, expectancy, hit rate and ruin are instead
            those of the real sample: the spread across paths at an effective sample size of
            resampled_from / games independent paths; the means of per-path quantities
            (final bankroll, Sharpe, ...) get no interval.
    """
    n = s.paths
    ruined = s.ruin_game >= 0
    ratios = _per_path_ratios(s)
    gross_loss = float(s.gross_loss_sol.sum())
    units = resampled_from / games if resampled_from else None
    note = (f"for a sample of {resampled_from} real games (paths resampled from them)"
            if resampled_from else None)
    kw: dict[str, Any] = {"level": level, "units": units, "note": note}
    per_path = {"final_bankroll_mean": s.final_sol, **ratios}
    intervals = {
        "ev_per_bet": ratio_interval(s.pnl_sol, s.staked_sol, **kw),
        "ev_per_game": ratio_interval(s.pnl_sol, s.games_played, **kw),
        "expectancy_sol": ratio_interval(s.pnl_sol, s.bets, **kw),
        "hit_rate": ratio_interval(s.wins, s.bets, **kw),
        "ruin_probability": wilson_interval(int(ruined.sum()), n, **kw),
        **{k: (mean_interval(v, level=level) if units is None else _no_interval(
            v, "resampled real games: it would only measure the resampling"))
            for k, v in per_path.items()},
    }
    values: dict[str, float | None] = {
        f"final_bankroll_p{round(q * 100):02d}": _q(s.final_sol, q) for q in QUANTILES}
    values |= {
        "max_drawdown_p50": _q(s.max_drawdown, 0.5), "max_drawdown_p95": _q(s.max_drawdown, 0.95),
        "max_drawdown_duration_p50": _q(s.max_underwater_games.astype(float), 0.5),
        "max_drawdown_duration_p95": _q(s.max_underwater_games.astype(float), 0.95),
        "time_to_ruin_p50": _q(s.ruin_game[ruined] + 1.0, 0.5),
        "time_to_ruin_p05": _q(s.ruin_game[ruined] + 1.0, 0.05),
        "profit_factor": (float(s.gross_win_sol.sum()) / gross_loss if gross_loss > 0
                          else None),
        "exposure": (float(s.exposed_games.sum() / s.games_played.sum())
                     if s.games_played.sum() else None),
        "staked_sol": float(s.staked_sol.sum()),
        "pnl_sol": float(s.pnl_sol.sum()),
    }
    return EnsembleMetrics(paths=n, games=games, bankroll_sol=s.bankroll_sol,
                           bets=int(s.bets.sum()), voided=int(s.voided.sum()),
                           intervals=intervals, values=values)


def ruin_curve(s: PathSummaries, *, games: int, level: float = 0.95,
               at: np.ndarray | None = None, resampled_from: int | None = None
               ) -> pl.DataFrame:
    """P(ruin by game g) with Wilson intervals (resamples: paths; for paths resampled from
    real games, the real games: as `ensemble_metrics`).

    Args:
        at: the game counts g to report (default: the checkpoints).
        resampled_from: for paths resampled from real games (`LakeSource`), how many real
            games there were: the interval at g is then Wilson's at an effective sample size
            of min(paths, resampled_from / g) independent paths (ruin by game g rests on the
            first g games of each path, all drawn from the same real games).

    Returns:
        One row per g: `game`, `ruined`, `paths`, `p`, `lo`, `hi`.
    """
    g = s.checkpoint_games if at is None else np.asarray(at, np.int64)
    ruin_by = np.bincount(s.ruin_game[s.ruin_game >= 0] + 1, minlength=games + 2).cumsum()
    rows = []
    for x in g.tolist():
        k = int(ruin_by[min(x, games + 1)])
        units = min(s.paths, resampled_from / max(x, 1)) if resampled_from else None
        iv = wilson_interval(k, s.paths, level=level, units=units)
        rows.append({"game": x, "ruined": k, "paths": s.paths, "p": iv.value, "lo": iv.lo,
                     "hi": iv.hi})
    return pl.DataFrame(rows, schema={"game": pl.Int64, "ruined": pl.Int64, "paths": pl.Int64,
                                      "p": pl.Float64, "lo": pl.Float64, "hi": pl.Float64})


def quantile_bands(values: np.ndarray, checkpoint_games: np.ndarray) -> pl.DataFrame:
    """Quantiles across paths at each checkpoint: `game`, `p05`, `p25`, `p50`, `p75`, `p95`,
    `mean` (from an (n, K) array such as `PathSummaries.cp_bankroll` or `cp_drawdown`).
    No resampling: the spread of the independent paths themselves, not an interval for a
    mean."""
    q = np.quantile(values, QUANTILES, axis=0)
    cols = {f"p{round(x * 100):02d}": q[i] for i, x in enumerate(QUANTILES)}
    return pl.DataFrame({"game": checkpoint_games, **cols, "mean": values.mean(axis=0)})
