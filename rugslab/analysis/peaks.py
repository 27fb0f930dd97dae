"""Real game peaks against the generator, conditional on each game's rug tick.

A game's peak grows with its length, and which games a lake holds completely depends on length:
a receiver that joins late sees a long game in part more often than a short one (partial games
are longer on average), so "complete games" are biased towards short games and low peaks, and a
comparison of their peaks with unconditional Monte Carlo peaks mixes that selection with any
unfairness. Conditioning removes it: given its rug tick T, a game's price path is T - 1 ticks of
the price process (the rug draw does not depend on the price), and whether the receiver saw all
of it does not depend on the prices. So for each complete game with a known rug tick the
generator's conditional distribution of the peak is simulated (`sim.montecarlo.simulate_peaks`)
and the game's peak is mapped through it (probability integral transform, PIT). Under the
published generator the PITs are Uniform(0, 1), whatever the lengths.

Source: Dawid, "Statistical theory: the prequential approach" (1984) for the PIT; ties (peaks of
exactly 1.0) are broken with a uniform draw (randomised PIT, Brockwell 2007).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from rugslab.analysis._frames import require_columns, require_probability
from rugslab.errors import ConfigError
from rugslab.feed.rules import GAME_VERSIONS
from rugslab.sim.montecarlo import simulate_peaks


def _complete_games(games: pl.DataFrame) -> pl.DataFrame:
    require_columns(games, ("game_id", "rug_tick", "peak_x", "completeness"), table="games")
    version = (pl.col("version").fill_null("v3") if "version" in games.columns
               else pl.lit("v3")).alias("version")
    return games.filter(
        (pl.col("completeness") == "complete") & pl.col("rug_tick").is_not_null()
        & pl.col("peak_x").is_not_null() & (pl.col("rug_tick") >= 1)
    ).select("game_id", pl.col("rug_tick").cast(pl.Int64), "peak_x", version).with_columns(
        pl.when(pl.col("version").is_in(GAME_VERSIONS)).then(pl.col("version"))
        .otherwise(pl.lit("v3")).alias("version")).sort("game_id")


def _simulate(used: pl.DataFrame, per_game: int, rng: np.random.Generator) -> np.ndarray:
    """(games, per_game) generator peaks, each row at its game's length and version."""
    if per_game < 10:
        raise ConfigError(f"Invalid per_game {per_game!r}: expected ≥ 10 simulated paths.")
    sims = np.empty((used.height, per_game))
    for v in sorted(set(used["version"].to_list())):
        idx = np.flatnonzero((used["version"] == v).to_numpy())
        lengths = np.repeat(used["rug_tick"].to_numpy()[idx] - 1, per_game)
        sims[idx] = simulate_peaks(lengths, seed=int(rng.integers(2**32)), version=v).reshape(
            idx.size, per_game)
    return sims


def peak_pit(games: pl.DataFrame, *, per_game: int = 200, seed: int = 0) -> pl.DataFrame:
    """The generator's P(peak < observed | rug tick) for every complete game with a rug tick.

    Args:
        games: `games` rows (`game_id`, `rug_tick`, `peak_x`, `completeness`, `version`);
            games not "complete", without a rug tick or peak are left out (their peak is not
            the whole path's).
        per_game: simulated paths per game (the PIT's resolution is 1 / per_game).
        seed: seed of the simulation and the tie-breaking draws.

    Returns:
        One row per game used: `game_id`, `rug_tick`, `peak_x`, `version` (the simulated one:
        the game's, v3 when unknown), `pit` (randomised: F(x⁻) + V·(F(x) - F(x⁻)), V uniform),
        `sim_median_x` (the generator's median peak at that length).

    Raises:
        ConfigError: per_game < 10.
    """
    used = _complete_games(games)
    rng = np.random.default_rng(seed)
    sims = _simulate(used, per_game, rng)
    x = used["peak_x"].to_numpy()[:, None]
    below = (sims < x).mean(axis=1)
    equal = (sims == x).mean(axis=1)
    pit = below + rng.random(used.height) * equal
    return used.with_columns(pl.Series("pit", pit),
                             pl.Series("sim_median_x", np.median(sims, axis=1)))


def _poisson_binomial(prob: np.ndarray) -> np.ndarray:
    """P(count = k), k = 0..n, of independent Bernoulli(prob_i) trials (convolution)."""
    pmf = np.ones(1)
    for p in prob.tolist():
        pmf = np.convolve(pmf, [1.0 - p, p])
    return pmf


def exceedance_given_length(games: pl.DataFrame, levels: list[float], *, per_game: int = 200,
                            seed: int = 0) -> pl.DataFrame:
    """Complete games reaching each peak level: observed against the generator's expectation
    at the same rug ticks.

    Returns:
        One row per level: `level_x`, `games`, `observed` (games with peak ≥ level),
        `expected` (Σ over the games of the generator's P(peak ≥ level | rug tick)), `z`
        ((observed - expected) / √Σ P(1-P): games are independent Bernoulli trials),
        `p_value` (two-sided, exact: the Poisson-binomial law of the count, summing the
        probabilities of counts no likelier than the observed; high levels are rare and a
        normal approximation would be far off).
    """
    used = _complete_games(games)
    sims = _simulate(used, per_game, np.random.default_rng(seed))
    x = used["peak_x"].to_numpy()
    rows = []
    for level in levels:
        prob = (sims >= level).mean(axis=1)
        obs, exp, var = int((x >= level).sum()), float(prob.sum()), float(
            (prob * (1 - prob)).sum())
        z = (obs - exp) / np.sqrt(var) if var > 0 else float("nan")
        pmf = _poisson_binomial(prob)
        p_value = float(pmf[pmf <= pmf[obs] * (1 + 1e-7)].sum())
        rows.append({"level_x": float(level), "games": used.height, "observed": obs,
                     "expected": exp, "z": z, "p_value": min(p_value, 1.0)})
    return pl.DataFrame(rows)


def pit_uniformity(pit: pl.DataFrame, *, level: float = 0.95) -> dict[str, float]:
    """Are the PITs Uniform(0, 1)? Kolmogorov–Smirnov, and the mean against 1/2.

    Args:
        pit: one row per game, column `pit` (from `peak_pit`).
        level: confidence level of the mean's interval.

    Returns:
        `games`, `ks_statistic`, `ks_p_value` (scipy.stats.kstest against uniform),
        `mean_pit` (1/2 under the generator; above: real peaks higher than the generator's
        at the same length), `mean_lo`, `mean_hi` (at `level`, normal with the uniform's
        variance 1/12: no resampling, games are independent draws).

    Raises:
        ConfigError: no PIT, or `level` not in (0, 1).
    """
    require_columns(pit, ("pit",), table="peak_pit")
    require_probability("level", level)
    u = pit["pit"].to_numpy()
    if u.size == 0:
        raise ConfigError("pit_uniformity: no complete game with a known rug tick.")
    ks = stats.kstest(u, "uniform")
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(1 / 12 / u.size)
    return {"games": float(u.size), "ks_statistic": float(ks.statistic),
            "ks_p_value": float(ks.pvalue), "mean_pit": float(u.mean()),
            "mean_lo": float(u.mean() - half), "mean_hi": float(u.mean() + half)}
