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
        ("g1", 0, 3, 2),        # seen from tick 0: at risk 1, 2, 3; rug at 3
        ("g2", 2, 2, None),     # first seen on its rug frame: not running when joined
        ("g3", None, None, None),  # never seen ticking: no exposure
        ("g4", 1, None, 4),     # joined at tick 1 (so alive there), censored after 4: 2..4
        ("g5", 5, 7, 6),        # joined at 5: at risk 6, 7; rug at 7
    ])


def test_life_table_exact(hand_games: pl.DataFrame) -> None:
    c = hazard.hazard_curve(hand_games, max_tick=4)
    assert c["tick"].to_list() == [1, 2, 3, 4]
    assert c["at_risk"].to_list() == [1, 2, 2, 3]  # last row pools ticks ≥ 4: g4@4, g5@6,7
    assert c["rugs"].to_list() == [0, 0, 1, 1]
    assert c["hazard"].to_list() == pytest.approx([0.0, 0.0, 1 / 2, 1 / 3])
    assert c["survival"].to_list()[:3] == pytest.approx([1.0, 1.0, 1 / 2])
    assert c["survival"][3] is None
    assert c["pooled"].to_list() == [False, False, False, True]
    assert c["last_tick"].to_list() == [1, 2, 3, 7]  # the pooled row stands for ticks 4..7
    assert (c["lo"][2], c["hi"][2]) == pytest.approx(_wilson(1, 2))
    assert (c["lo"][0], c["hi"][0]) == pytest.approx(_wilson(0, 1))


def test_risk_sets_start_the_tick_after_entry(hand_games: pl.DataFrame) -> None:
    e = hazard.game_exposure(hand_games)
    assert e.select("game_id", "at_risk_from", "exit_tick").rows()[3:] == [
        ("g4", 2, 4), ("g5", 6, 7)]
    table = hazard.at_risk_table(hand_games)
    assert table.rows() == [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 1, 0), (6, 1, 0), (7, 1, 1)]


def test_exposure_reports_games_without_exposure(hand_games: pl.DataFrame) -> None:
    e = hazard.game_exposure(hand_games)
    assert e.filter(~pl.col("used")).select("game_id", "reason").rows() == [
        ("g2", "joined at its rug"), ("g3", "no exposure")]


def test_a_game_that_rugged_at_an_unknown_tick_is_censored_at_its_last_live_tick(
    hand_games: pl.DataFrame,
) -> None:
    games = hand_games.with_columns(
        pl.Series("rugged", [True, True, None, True, True])  # g4: rugged, tick unknown
    )
    e = hazard.game_exposure(games)
    g4 = e.filter(pl.col("game_id") == "g4").row(0, named=True)
    assert (g4["used"], g4["rugged"], g4["rug_unknown"], g4["exit_tick"]) == (
        True, False, True, 4)
    # the same exposure as a plain censored game: it was alive at tick 4, nothing more known
    c = hazard.hazard_curve(games, max_tick=4)
    assert c["at_risk"].to_list() == [1, 2, 2, 3]
    assert c["rugs"].to_list() == [0, 0, 1, 1]


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


def test_binned_hazard_pools_exposure_and_rugs_per_bin() -> None:
    # three games seen from tick 0: rugs at 3 and 7, one censored alive at tick 9
    games = pl.DataFrame({"game_id": ["a", "b", "c"], "rug_tick": [3, 7, None],
                          "last_live_tick": [2, 6, 9], "first_live_tick": [0, 0, 0]},
                         schema={"game_id": pl.String, "rug_tick": pl.Int32,
                                 "last_live_tick": pl.Int32, "first_live_tick": pl.Int32})
    curve = hazard.hazard_curve(games, max_tick=8)
    b = hazard.binned_hazard(curve, bin_ticks=5)
    # ticks 1-5: a at risk 1..3, b 1..5, c 1..5 = 13 game-ticks, 1 rug (a at 3);
    # tick 6-7: b 6..7, c 6..7 = 4, 1 rug (b at 7); pooled row ticks 8..9: c 8..9 = 2, 0 rugs
    assert b.select("tick", "last_tick", "at_risk", "rugs", "pooled").rows() == [
        (1, 5, 13, 1, False), (6, 7, 4, 1, False), (8, 9, 2, 0, True)]
    assert b["hazard"].to_list() == [1 / 13, 1 / 4, 0.0]
    lo, hi = hazard.binomial_interval(1, 13, "wilson", 0.95)
    assert (b["lo"][0], b["hi"][0]) == (lo, hi)
    with pytest.raises(ConfigError, match="bin_ticks"):
        hazard.binned_hazard(curve, bin_ticks=0)


def test_pooled_hazard_interval_resamples_games() -> None:
    games, _ = _simulated(4000, seed=23)
    h = hazard.pooled_hazard(games, n_resamples=500, seed=2)
    t = hazard.test_constant_hazard(games)
    assert (h["rugs"], h["exposure"]) == (t.rugs, t.exposure)
    assert h["hazard"] == pytest.approx(t.pooled)
    assert h["lo"] <= P <= h["hi"]
    # one hazard for every game: the game bootstrap and the binomial interval agree
    assert h["hi"] - h["lo"] == pytest.approx(h["wilson_hi"] - h["wilson_lo"], rel=0.15)
    with pytest.raises(ConfigError, match="No exposure"):
        hazard.pooled_hazard(_games([("x", None, None, None)]))
