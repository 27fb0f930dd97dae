"""Performance metrics of a `BacktestResult` (amounts in SOL).

    roi              total profit / total staked
    hit_rate         won bets / bets, with a Wilson interval
    ev_per_bet       mean profit per bet and per unit stake, bootstrap intervals
    max_drawdown     largest fall from a running peak of the bankroll path (SOL and fraction)
    risk_of_ruin     share of bootstrapped game sequences whose bankroll hits the ruin level
    sharpe_per_game  mean / std of the per-game P&L (0 for games played without a bet)
    summarize        all of the above in one row

Source: scipy.stats.bootstrap (percentile intervals), scipy.stats.binomtest (Wilson).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

from rugslab.analysis.backtest import BacktestResult
from rugslab.errors import ConfigError


def roi(result: BacktestResult) -> float:
    """Total profit / total staked (NaN without bets)."""
    staked = float(result.bets["stake_sol"].sum())
    return float(result.bets["profit_sol"].sum()) / staked if staked > 0 else math.nan


def hit_rate(result: BacktestResult, *, level: float = 0.95) -> dict[str, float]:
    """`n`, `wins`, `hit_rate`, `lo`, `hi` (Wilson) of the placed bets."""
    n = result.bets.height
    k = int(result.bets["won"].sum()) if n else 0
    if n == 0:
        return {"n": 0.0, "wins": 0.0, "hit_rate": math.nan, "lo": math.nan, "hi": math.nan}
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return {"n": float(n), "wins": float(k), "hit_rate": k / n, "lo": float(ci.low),
            "hi": float(ci.high)}


def _mean_ci(x: np.ndarray, *, level: float, n_resamples: int, seed: int
             ) -> tuple[float, float]:
    if x.size < 2 or np.all(x == x[0]):
        return (float(x[0]), float(x[0])) if x.size else (math.nan, math.nan)
    res = stats.bootstrap((x,), np.mean, n_resamples=n_resamples, confidence_level=level,
                          method="percentile", vectorized=True,
                          rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def ev_per_bet(result: BacktestResult, *, level: float = 0.95, n_resamples: int = 2000,
               seed: int = 0) -> dict[str, float]:
    """Mean profit per bet (SOL) and per unit stake, each with a bootstrap percentile interval.

    Returns:
        `n`, `ev_sol`, `ev_lo_sol`, `ev_hi_sol`, `ev_per_stake`, `ev_per_stake_lo`,
        `ev_per_stake_hi` (the per-stake mean is of profit/stake per bet). A constant sample
        gets a zero-width interval.
    """
    profit = result.bets["profit_sol"].to_numpy()
    ratio = profit / result.bets["stake_sol"].to_numpy() if profit.size else profit
    lo, hi = _mean_ci(profit, level=level, n_resamples=n_resamples, seed=seed)
    rlo, rhi = _mean_ci(ratio, level=level, n_resamples=n_resamples, seed=seed)
    return {
        "n": float(profit.size),
        "ev_sol": float(profit.mean()) if profit.size else math.nan,
        "ev_lo_sol": lo, "ev_hi_sol": hi,
        "ev_per_stake": float(ratio.mean()) if ratio.size else math.nan,
        "ev_per_stake_lo": rlo, "ev_per_stake_hi": rhi,
    }


def max_drawdown(result: BacktestResult) -> dict[str, float]:
    """Largest peak-to-trough fall of the bankroll path (the start bankroll included).

    Returns:
        `max_drawdown_sol` and `max_drawdown_frac` (the largest (peak - value)/peak; this may
        come from a different trough than the largest SOL fall).
    """
    path = np.r_[result.start_sol, result.bankroll["bankroll_sol"].to_numpy()]
    peak = np.maximum.accumulate(path)
    fall = peak - path
    frac = np.where(peak > 0, fall / np.where(peak > 0, peak, 1.0), 0.0)
    return {"max_drawdown_sol": float(fall.max()), "max_drawdown_frac": float(frac.max())}


def game_pnl(result: BacktestResult) -> np.ndarray:
    """Profit per game played (SOL), 0 for games without a bet, in play order."""
    path = np.r_[result.start_sol, result.bankroll["bankroll_sol"].to_numpy()]
    return np.diff(path)


def sharpe_per_game(result: BacktestResult) -> float:
    """Mean / standard deviation (ddof=1) of the per-game P&L; NaN with < 2 games or no spread.

    Not annualised: games are the time unit.
    """
    x = game_pnl(result)
    if x.size < 2 or np.std(x) == 0:
        return math.nan
    return float(x.mean() / x.std(ddof=1))


def risk_of_ruin(
    result: BacktestResult,
    *,
    n_games: int | None = None,
    ruin_sol: float = 0.0,
    n_paths: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Share of bootstrapped sequences of per-game P&L whose bankroll falls to ≤ `ruin_sol`.

    Each path draws `n_games` (default: the games played) per-game P&Ls with replacement from
    the backtest and adds them to the start bankroll. Resampling absolute P&L ignores that a
    strategy's stake may depend on the bankroll; read it as "the same bets, reordered".

    Returns:
        `risk_of_ruin`, `lo`, `hi` (Wilson over the paths), `n_paths`, `n_games`.
    """
    x = game_pnl(result)
    n = n_games or x.size
    if x.size == 0 or n < 1 or n_paths < 1:
        raise ConfigError(f"risk_of_ruin needs games and paths: got {x.size} games played, "
                          f"n_games={n_games}, n_paths={n_paths}.")
    rng = np.random.default_rng(seed)
    ruined = 0
    batch = max(1, 2_000_000 // n)  # bound memory: at most ~2M draws at a time
    for start in range(0, n_paths, batch):
        m = min(batch, n_paths - start)
        paths = result.start_sol + np.cumsum(rng.choice(x, size=(m, n)), axis=1)
        ruined += int(np.any(paths <= ruin_sol, axis=1).sum())
    ci = stats.binomtest(ruined, n_paths).proportion_ci(method="wilson")
    return {"risk_of_ruin": ruined / n_paths, "lo": float(ci.low), "hi": float(ci.high),
            "n_paths": float(n_paths), "n_games": float(n)}


def summarize(result: BacktestResult, *, seed: int = 0, n_paths: int = 1000) -> pl.DataFrame:
    """One row: `strategy`, `games`, `bets`, `skipped`, `staked_sol`, `profit_sol`,
    `final_sol`, `roi`, `hit_rate`, `ev_per_stake` (+ `_lo`, `_hi`), `max_drawdown_frac`,
    `sharpe_per_game`, `risk_of_ruin`, `stop_reason`."""
    ev = ev_per_bet(result, seed=seed)
    ror = (risk_of_ruin(result, seed=seed, n_paths=n_paths)["risk_of_ruin"]
           if result.bankroll.height else math.nan)
    return pl.DataFrame([{
        "strategy": result.strategy,
        "games": result.bankroll.height,
        "bets": result.bets.height,
        "skipped": result.skipped.height,
        "staked_sol": float(result.bets["stake_sol"].sum()),
        "profit_sol": float(result.bets["profit_sol"].sum()),
        "final_sol": result.final_sol,
        "roi": roi(result),
        "hit_rate": hit_rate(result)["hit_rate"],
        "ev_per_stake": ev["ev_per_stake"],
        "ev_per_stake_lo": ev["ev_per_stake_lo"],
        "ev_per_stake_hi": ev["ev_per_stake_hi"],
        "max_drawdown_frac": max_drawdown(result)["max_drawdown_frac"],
        "sharpe_per_game": sharpe_per_game(result),
        "risk_of_ruin": ror,
        "stop_reason": result.stop_reason,
    }], schema_overrides={"stop_reason": pl.String})
