"""headline_numbers: exactly its keys, the numbers of the functions it names, None when the
data cannot say."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rugslab.analysis import hazard, headline, sidebet, timing
from rugslab.sim.timed import simulate_timed_lake


def _bets(games: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Two money bets at tick 0 and one practice bet on every third game."""
    rng = np.random.default_rng(seed)
    g = games.filter(pl.int_range(pl.len()) % 3 == 0)
    rows = []
    for gid, rug in zip(g["game_id"], g["rug_tick"], strict=True):
        for practice in (False, False, True):
            won = rug is not None and rug <= 40
            rows.append({"game_id": gid, "player_id": f"p{rng.integers(9)}", "start_tick": 0,
                         "end_tick": 40, "resolved": True, "won": won, "practice": practice,
                         "bet_amount_sol": 0.1, "profit_sol": 0.4 if won else -0.1})
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def lake() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    games, ticks = simulate_timed_lake(300, late_share=0.3, stall_prob=0.0005, seed=11)
    return games, ticks, _bets(games, 1)


def test_headline_numbers_are_the_named_functions_numbers(lake) -> None:  # type: ignore[no-untyped-def]
    games, ticks, bets = lake
    h = headline.headline_numbers(games, ticks, bets, n_resamples=200, seed=3)
    assert tuple(h) == headline.HEADLINE_KEYS
    assert (h["games"], h["rugged_games"], h["ticks"]) == (
        games.height, games["rug_tick"].is_not_null().sum(), ticks.height)
    s = timing.interval_stats(timing.tick_intervals(ticks, games))
    assert (h["interval_ms_median"], h["interval_ms_mad"], h["stalls"]) == (
        s["median"], s["mad"], s["stalls"])
    pooled = hazard.pooled_hazard(games, n_resamples=200, seed=3)
    assert (h["hazard_pooled"], h["hazard_pooled_lo"]) == (pooled["hazard"], pooled["lo"])
    assert h["hazard_pooled_lo"] < 0.005 < h["hazard_pooled_hi"]
    assert h["weibull_shape_lo"] < 1.0 < h["weibull_shape_hi"]
    assert h["timing_verdict"] in ("constant", "undecided")
    assert h["timing_effect_or_lo"] < 1.0 < h["timing_effect_or_hi"]
    assert h["sidebet_win_prob_analytic"] == pytest.approx(1 - 0.995**40)
    assert h["sidebet_ev_analytic"] == pytest.approx(5 * (1 - 0.995**40) - 1)
    real = sidebet.resolved_bets_vs_model(bets, games=games, n_resamples=200, seed=3)
    assert h["real_bets"] == real["n"][0] == 2 * bets["game_id"].n_unique()
    assert h["real_bets_win_rate"] == real["win_rate"][0]
    assert h["verified_games"] is None and h["verification_failures"] is None


def test_missing_data_gives_none_not_absent_keys(lake) -> None:  # type: ignore[no-untyped-def]
    games, ticks, bets = lake
    h = headline.headline_numbers(games.head(0), ticks.head(0), bets.head(0), n_resamples=50)
    assert tuple(h) == headline.HEADLINE_KEYS
    assert (h["games"], h["ticks"], h["stalls"], h["real_bets"]) == (0, 0, 0, 0)
    missing = [k for k, v in h.items() if v is None]
    assert "hazard_pooled" in missing and "timing_verdict" in missing
    assert h["sidebet_ev_analytic"] is not None  # the rules need no data
    # ticks without rugs: timing numbers, no hazard
    alive = games.with_columns(pl.lit(None, pl.Int32).alias("rug_tick"),
                               pl.lit(False).alias("rugged"))
    h = headline.headline_numbers(alive, ticks, bets.head(0), n_resamples=50)
    assert h["interval_ms_median"] is not None and h["weibull_shape"] is None
    assert h["hazard_pooled"] == 0.0
