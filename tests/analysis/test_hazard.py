"""Hazard estimation: exact life table on hand-built games; recovery of 0.005 on simulated games."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from rugslab.analysis import hazard
from rugslab.errors import ConfigError, SchemaViolation
from rugslab.sim import montecarlo

P = 0.005


def _games(rows: list[tuple[str, int | None, int | None, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"game_id": pl.String, "first_live_tick": pl.Int32, "rug_tick": pl.Int32,
                "last_live_tick": pl.Int32},
        orient="row",
    )


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    return centre - half, centre + half


@pytest.fixture
def hand_games() -> pl.DataFrame:
    return _games([
        ("g1", 0, 3, 2),        # at risk 1,2,3; rug at 3
        ("g2", 2, 2, None),     # joined on the rug frame: at risk 2; rug at 2
        ("g3", None, None, None),  # never seen ticking: no exposure
        ("g4", 1, None, 4),     # censored after tick 4: at risk 1..4
        ("g5", 5, 7, 6),        # at risk 5,6,7; rug at 7
    ])


def test_life_table_exact(hand_games: pl.DataFrame) -> None:
    c = hazard.hazard_curve(hand_games, max_tick=4)
    assert c["tick"].to_list() == [1, 2, 3, 4]
    assert c["at_risk"].to_list() == [2, 3, 2, 4]  # last row pools ticks ≥ 4: g4@4, g5@5,6,7
    assert c["rugs"].to_list() == [0, 1, 1, 1]
    assert c["hazard"].to_list() == pytest.approx([0.0, 1 / 3, 1 / 2, 1 / 4])
    assert c["survival"].to_list()[:3] == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert c["survival"][3] is None
    assert c["pooled"].to_list() == [False, False, False, True]
    assert (c["lo"][1], c["hi"][1]) == pytest.approx(_wilson(1, 3))
    assert (c["lo"][0], c["hi"][0]) == pytest.approx(_wilson(0, 2))


def test_exposure_reports_games_without_exposure(hand_games: pl.DataFrame) -> None:
    e = hazard.game_exposure(hand_games)
    assert e.filter(~pl.col("used"))["game_id"].to_list() == ["g3"]
    assert e.filter(~pl.col("used"))["reason"].to_list() == ["no exposure"]


def test_a_game_that_rugged_at_an_unknown_tick_is_left_out_not_censored(
    hand_games: pl.DataFrame,
) -> None:
    games = hand_games.with_columns(
        pl.Series("rugged", [True, True, None, True, True])  # g4: rugged, tick unknown
    )
    e = hazard.game_exposure(games)
    assert e.filter(~pl.col("used")).select("game_id", "reason").rows() == [
        ("g3", "no exposure"),
        ("g4", "rugged, rug tick unknown"),
    ]
    c = hazard.hazard_curve(games, max_tick=4)
    assert c["at_risk"].to_list() == [1, 2, 1, 3]  # g4's ticks 1..4 no longer count
    assert c["rugs"].to_list() == [0, 1, 1, 1]


def test_rug_before_entry_raises() -> None:
    with pytest.raises(SchemaViolation, match="before their first_live_tick"):
        hazard.hazard_curve(_games([("bad", 10, 5, None)]))


def _simulated(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Games of the constant-hazard generator, as a receiver would log them.

    Half the games are joined mid-way at a uniform tick 1..300 and kept only if still running
    then (left truncation); each game is watched until a uniform tick up to 600 past its entry
    (right censoring when that comes before the rug).
    Rug ticks come from `rugslab.sim.montecarlo` (the published generator).
    """
    rng = np.random.default_rng(seed)
    sims = pl.concat(list(montecarlo.simulate_summaries(n, seed=seed)))
    rug = sims["rug_tick"].fill_null(montecarlo.MAX_TICKS + 1).to_numpy().astype(np.int64)
    entry = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 301, n))
    watch_end = entry + rng.integers(0, 601, n)
    seen = rug >= entry
    censored = watch_end < rug
    games = pl.DataFrame({
        "game_id": [f"s{i}" for i in range(n)],
        "first_live_tick": entry,
        "rug_tick": np.where(censored, -1, rug),
        "last_live_tick": np.where(censored, watch_end, rug - 1),
    }).with_columns(pl.col("rug_tick").replace(-1, None)).filter(pl.Series(seen))
    return games, rug


def test_hazard_recovers_published_rate_with_truncation_and_censoring() -> None:
    games, _ = _simulated(20_000, seed=11)
    assert games["rug_tick"].null_count() > 1000  # censoring really happens
    assert (games["first_live_tick"] > 0).sum() > 5000  # truncation really happens
    t = hazard.test_constant_hazard(games, p=P)
    assert t.lo <= P <= t.hi
    assert t.p_value > 0.01 and t.homogeneity_p_value > 0.01 and t.binom_p_value > 0.01
    assert t.pooled == pytest.approx(t.rugs / t.exposure)
    # ignoring the truncation adds exposure the sample never had: the estimate drops below p
    naive = hazard.test_constant_hazard(games.with_columns(pl.lit(0).alias("first_live_tick")))
    assert naive.hi < P


def test_constant_hazard_rejects_a_wrong_null() -> None:
    games, _ = _simulated(20_000, seed=12)
    t = hazard.test_constant_hazard(games, p=0.0055)
    assert t.p_value < 0.001 and t.binom_p_value < 0.001


def test_scipy_km_matches_life_table_on_untruncated_games() -> None:
    games, _ = _simulated(3000, seed=13)
    untruncated = games.filter(pl.col("first_live_tick") == 0)
    km = hazard.survival_curve(untruncated)
    life = hazard.hazard_curve(untruncated, max_tick=2000)
    joined = km.join(life.select("tick", pl.col("survival").alias("life")), on="tick")
    assert joined.height == km.filter(pl.col("tick") < 2000).height
    np.testing.assert_allclose(joined["survival"], joined["life"], rtol=1e-10)
    with pytest.raises(ConfigError, match="left-truncated"):
        hazard.survival_curve(games)


def test_binned_hazard_pools_exposure_and_rugs_per_bin() -> None:
    # three games seen from tick 0: rugs at 3 and 7, one censored alive at tick 9
    games = pl.DataFrame({"game_id": ["a", "b", "c"], "rug_tick": [3, 7, None],
                          "last_live_tick": [2, 6, 9], "first_live_tick": [0, 0, 0]},
                         schema={"game_id": pl.String, "rug_tick": pl.Int32,
                                 "last_live_tick": pl.Int32, "first_live_tick": pl.Int32})
    curve = hazard.hazard_curve(games, max_tick=8)
    b = hazard.binned_hazard(curve, bin_ticks=5)
    # ticks 1-5: a at risk 1..3, b 1..5, c 1..5 = 13 game-ticks, 1 rug (a at 3);
    # tick 6-7: b 6..7, c 6..7 = 4, 1 rug (b at 7); pooled row tick 8: c 8..9 = 2, 0 rugs
    assert b.select("tick", "last_tick", "at_risk", "rugs", "pooled").rows() == [
        (1, 5, 13, 1, False), (6, 7, 4, 1, False), (8, 8, 2, 0, True)]
    assert b["hazard"].to_list() == [1 / 13, 1 / 4, 0.0]
    lo, hi = hazard._ci(1, 13, "wilson", 0.95)
    assert (b["lo"][0], b["hi"][0]) == (lo, hi)
    with pytest.raises(ConfigError, match="bin_ticks"):
        hazard.binned_hazard(curve, bin_ticks=0)
