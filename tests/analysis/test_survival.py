"""Survival estimators on simulated lakes whose law is known: geometric (the published
generator) and a Weibull with a rising hazard, both left-truncated and right-censored."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from rugslab.analysis import hazard, survival
from rugslab.errors import ConfigError

P = 0.005


def _lake(rug: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """Games with rug ticks `rug` as a receiver logs them: half joined at a uniform tick
    1..300 (kept when still running then), each watched for up to 600 ticks past its entry
    (censored when the rug comes later); a tenth of the censored games are known to have
    rugged at a tick nobody saw (`rugged` true, `rug_tick` null)."""
    n = rug.size
    entry = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 301, n))
    watch_end = entry + rng.integers(1, 601, n)
    censored = watch_end < rug
    keep = rug > entry
    unknown = censored & (rng.random(n) < 0.1)
    return pl.DataFrame({
        "game_id": [f"s{i:05d}" for i in range(n)],
        "first_live_tick": entry.astype(np.int32),
        "rug_tick": np.where(censored, -1, rug).astype(np.int32),
        "last_live_tick": np.where(censored, watch_end, rug - 1).astype(np.int32),
        "rugged": ~censored | unknown,
    }).with_columns(pl.col("rug_tick").replace(-1, None)).filter(pl.Series(keep))


def _geometric(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return _lake(rng.geometric(P, n), rng)


def _weibull(n: int, shape: float, seed: int) -> pl.DataFrame:
    """Rug tick = ⌈W⌉, W ~ Weibull(shape) with the geometric law's median."""
    rng = np.random.default_rng(seed)
    scale = (math.log(2) / -math.log1p(-P)) / math.log(2) ** (1 / shape)
    return _lake(np.ceil(scale * rng.weibull(shape, n)).astype(np.int64).clip(1), rng)


def test_kaplan_meier_is_the_left_truncated_life_table() -> None:
    games = _geometric(3000, seed=1)
    km = survival.kaplan_meier(games)
    life = hazard.hazard_curve(games, max_tick=5000).select(
        "tick", pl.col("at_risk").alias("life_at_risk"), pl.col("survival").alias("life"))
    j = km.join(life, on="tick")
    assert j.height == km.height
    assert (j["at_risk"] == j["life_at_risk"]).all()
    np.testing.assert_allclose(j["survival"], j["life"], rtol=1e-12)
    assert ((km["lo"] <= km["survival"]) & (km["survival"] <= km["hi"])).all()
    assert km["geometric"].to_list() == pytest.approx((1 - P) ** km["tick"].cast(pl.Float64))


def test_the_greenwood_band_holds_the_geometric_law() -> None:
    km = survival.kaplan_meier(_geometric(3000, seed=2)).filter(pl.col("at_risk") >= 50)
    inside = ((km["lo"] <= km["geometric"]) & (km["geometric"] <= km["hi"])).mean()
    assert inside > 0.9  # pointwise bands: most ticks, not necessarily all


def test_nelson_aalen_follows_the_geometric_cumulative_hazard() -> None:
    na = survival.nelson_aalen(_geometric(3000, seed=3))
    at_200 = na.filter(pl.col("tick") <= 200).row(-1, named=True)
    assert at_200["lo"] <= at_200["geometric"] <= at_200["hi"]
    assert na["geometric"][0] == pytest.approx(-na["tick"][0] * math.log1p(-P))


def test_weibull_shape_is_one_for_geometric_games_and_above_one_for_a_rising_hazard() -> None:
    flat = survival.weibull_fit(_geometric(3000, seed=4))
    assert flat["shape_lo"] <= 1.0 <= flat["shape_hi"]
    assert flat["scale"] == pytest.approx(-1 / math.log1p(-P), rel=0.1)
    rising = survival.weibull_fit(_weibull(3000, shape=1.3, seed=12))
    assert rising["shape_lo"] > 1.15 and rising["shape_p_value"] < 1e-6
    assert rising["shape_lo"] <= 1.3 <= rising["shape_hi"]


def test_trend_test_sees_a_monotone_hazard_the_binned_test_may_miss() -> None:
    flat = survival.hazard_trend_test(_geometric(3000, seed=6))
    assert flat["p_value"] > 0.05 and flat["lo"] <= 1.0 <= flat["hi"]
    rising = _weibull(1500, shape=1.15, seed=7)
    trend = survival.hazard_trend_test(rising)
    assert trend["odds_ratio"] > 1 and trend["p_value"] < 0.01
    assert trend["p_value"] < hazard.test_constant_hazard(rising).homogeneity_p_value


def test_qq_against_the_geometric_law() -> None:
    qq = survival.survival_qq(_geometric(3000, seed=8))
    assert qq["q"].to_list()[:3] == [0.05, 0.1, 0.15]
    # geometric quantile: least t with 1 - 0.995^t ≥ q (q = 0.5 → 139)
    assert qq.filter(pl.col("q") == 0.5)["geometric_tick"][0] == 139
    close = (qq["observed_tick"] - qq["geometric_tick"]).abs() <= 0.1 * qq["geometric_tick"] + 3
    assert close.all()


def test_estimators_need_exposure() -> None:
    empty = pl.DataFrame({"game_id": ["x"], "first_live_tick": [None], "rug_tick": [None],
                          "last_live_tick": [None]},
                         schema={"game_id": pl.String, "first_live_tick": pl.Int32,
                                 "rug_tick": pl.Int32, "last_live_tick": pl.Int32})
    with pytest.raises(ConfigError, match="exposure"):
        survival.kaplan_meier(empty)
    censored = empty.with_columns(pl.lit(50, pl.Int32).alias("last_live_tick"))
    with pytest.raises(ConfigError, match="at least one rug"):
        survival.weibull_fit(censored)
