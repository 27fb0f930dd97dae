"""Same data, same seed, same intervals: a bootstrap that resamples games must see the games in
one order, not in the order a hash grouping happens to give on this call."""

from __future__ import annotations

import polars as pl

from rugslab.analysis import headline, sidebet
from rugslab.sim.timed import simulate_timed_lake


def _bets(games: pl.DataFrame) -> pl.DataFrame:
    """Up to three money bets at tick 0 on every other game."""
    rows = []
    for i, (gid, rug) in enumerate(zip(games["game_id"], games["rug_tick"], strict=True)):
        for j in range(i % 2 * (1 + i % 3)):
            won = rug is not None and rug <= 40
            rows.append({"game_id": gid, "player_id": f"p{j}", "start_tick": 0,
                         "end_tick": 40, "resolved": True, "won": won, "practice": False,
                         "bet_amount_sol": 0.1, "profit_sol": 0.4 if won else -0.1})
    return pl.DataFrame(rows)


def test_real_bets_interval_is_the_same_on_every_call() -> None:
    games, _ = simulate_timed_lake(300, seed=6)
    bets = _bets(games)
    calls = {sidebet.resolved_bets_vs_model(bets, games=games, n_resamples=200, seed=3)
             .select("lo", "hi").row(0) for _ in range(8)}
    assert len(calls) == 1


def test_headline_numbers_are_the_same_on_every_call() -> None:
    games, ticks = simulate_timed_lake(150, late_share=0.3, stall_prob=0.0005, seed=5)
    bets = _bets(games)
    first = headline.headline_numbers(games, ticks, bets, n_resamples=100, seed=1)
    for _ in range(3):
        assert headline.headline_numbers(games, ticks, bets, n_resamples=100, seed=1) == first
