"""Peaks against the generator, conditional on the rug tick: PITs are uniform for generator
games even when the complete games are a length-biased sample."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from rugslab.analysis import peaks
from rugslab.errors import ConfigError
from rugslab.sim import montecarlo


def _lake(n: int, seed: int) -> pl.DataFrame:
    """Generator games; a game is "complete" with probability falling with its length (a
    receiver that joins late misses more of long games), so complete games are short."""
    sims = pl.concat(list(montecarlo.simulate_summaries(n, seed=seed)))
    rng = np.random.default_rng(seed)
    p_complete = np.exp(-sims["total_ticks"].to_numpy() / 150.0)
    return sims.select(
        pl.format("g{}", "game").alias("game_id"), "rug_tick", "peak_x",
        pl.Series("completeness", np.where(rng.random(n) < p_complete, "complete", "partial")),
        pl.lit("v3").alias("version"))


def test_conditional_pits_are_uniform_under_length_biased_completeness() -> None:
    games = _lake(3000, seed=4)
    complete = games.filter(pl.col("completeness") == "complete")
    # the selection is real: complete games are much shorter and their peaks lower
    assert complete["rug_tick"].mean() < 0.6 * games["rug_tick"].drop_nulls().mean()
    pit = peaks.peak_pit(games, per_game=100, seed=1)
    assert pit.height == complete.filter(pl.col("rug_tick").is_not_null()).height
    u = peaks.pit_uniformity(pit)
    assert u["ks_p_value"] > 0.01 and u["mean_lo"] <= 0.5 <= u["mean_hi"]


def test_pits_see_peaks_that_are_too_high() -> None:
    games = _lake(1000, seed=5).with_columns(pl.col("peak_x") * 1.5)
    u = peaks.pit_uniformity(peaks.peak_pit(games, per_game=100, seed=1))
    assert u["mean_pit"] > 0.6 and u["ks_p_value"] < 1e-3
    with pytest.raises(ConfigError, match="per_game"):
        peaks.peak_pit(games, per_game=5)


def test_exceedance_given_length_expects_what_the_lengths_allow() -> None:
    games = _lake(2000, seed=6)
    e = peaks.exceedance_given_length(games, [2.0, 10.0], per_game=100, seed=2)
    assert e["games"][0] == games.filter((pl.col("completeness") == "complete")
                                         & pl.col("rug_tick").is_not_null()).height
    assert (e["p_value"] > 0.001).all()
    # the generator's unconditional share of 2x games (~0.47) would expect far more of these
    # short complete games to reach 2x than their lengths allow
    unconditional = (games["peak_x"] >= 2.0).mean() * e["games"][0]
    assert abs(e["observed"][0] - e["expected"][0]) < 0.5 * abs(e["observed"][0] - unconditional)


def test_the_exceedance_p_value_is_the_exact_count_law() -> None:
    # equal probabilities: the Poisson-binomial law is the binomial one
    pmf = peaks._poisson_binomial(np.full(50, 0.1))
    np.testing.assert_allclose(pmf, stats.binom.pmf(np.arange(51), 50, 0.1), atol=1e-15)


def test_pit_mean_interval_follows_the_level() -> None:
    u = np.linspace(0.005, 0.995, 100)
    pit = pl.DataFrame({"pit": u})
    half = {lv: (r["mean_hi"] - r["mean_lo"]) / 2
            for lv in (0.9, 0.95, 0.99) for r in [peaks.pit_uniformity(pit, level=lv)]}
    for lv, h in half.items():
        assert h == pytest.approx(stats.norm.ppf(0.5 + lv / 2) * np.sqrt(1 / 12 / 100))
    with pytest.raises(ConfigError, match="level"):
        peaks.pit_uniformity(pit, level=1.0)
