"""Sources: the lake's games resampled in blocks, censored games kept to their last live tick."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from rugslab.errors import ConfigError, SchemaViolation
from rugslab.feed.rules import MAX_TICKS
from rugslab.strategy.builtins import SidebetFixed, TradeTarget
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.sources import (
    InOrderSource,
    LakeSource,
    MonteCarloSource,
    lake_games,
    select_games,
)

T0 = dt.datetime(2025, 12, 12, 17, tzinfo=dt.UTC)


def _lake() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Six games in start order c, a, b, d, e, f: c rugs at 4 (tick 2 not recorded), a at 60,
    b is censored (seen to tick 3, no rug), d ran to the cap, e rugged at an unknown tick
    after its last live tick 50 (censored too, no price recorded), f has no tick at all."""
    games = pl.DataFrame({
        "game_id": ["a", "b", "c", "d", "e", "f"],
        "start_ts": [T0 + dt.timedelta(minutes=m) for m in (2, 3, 1, 4, 5, 6)],
        "rug_tick": pl.Series([60, None, 4, None, None, None], dtype=pl.Int32),
        "rugged": [True, None, True, False, True, None],
        "last_live_tick": pl.Series([59, 3, 3, MAX_TICKS, 50, None], dtype=pl.Int32),
    })
    rows = [("c", 0, 1.0), ("c", 1, 1.1), ("c", 3, 1.3), ("c", 4, 0.01),
            ("b", 0, 1.0), ("b", 3, 1.2)] + [("a", t, 1.0 + t / 100) for t in range(5, 60)]
    ticks = pl.DataFrame({
        "game_id": [r[0] for r in rows], "tick": pl.Series([r[1] for r in rows], dtype=pl.Int32),
        "price_x": [r[2] for r in rows],
        "recv_ts": [T0 + dt.timedelta(milliseconds=250 * r[1]) for r in rows],
        "is_rug": [r[0] == "c" and r[1] == 4 for r in rows],
    })
    return games, ticks


def test_lake_games_keep_censored_games_to_their_last_live_tick_in_start_order() -> None:
    data = lake_games(*_lake())
    assert data.game_id.tolist() == ["c", "a", "b", "d", "e"]
    assert data.end_tick.tolist() == [3, 59, 3, MAX_TICKS, 50]
    assert data.rugged.tolist() == [True, True, False, False, False]
    assert data.censored.tolist() == [False, False, True, False, True]
    assert data.counts == {"games": 6, "used": 5, "censored_kept": 2, "left_out": 1,
                           "joined_late": 3, "ticks_missing": 1 + 5 + 2 + MAX_TICKS + 1 + 51}
    c = data.price[data.offset[0]: data.offset[0] + 4]
    # tick 2 was not recorded; the rug's 0.01 is not a tick
    assert np.array_equal(c, [1.0, 1.1, np.nan, 1.3], equal_nan=True)
    assert data.recv_ts[data.offset[0] + 1] == pytest.approx(T0.timestamp() + 0.25)


def test_lake_games_from_batches_in_any_order_equal_one_frame() -> None:
    games, ticks = _lake()
    whole = lake_games(games, ticks)
    shuffled = ticks.sample(fraction=1.0, shuffle=True, seed=5)
    for size in (1, 7, ticks.height):
        parts = lake_games(games, (shuffled.slice(i, size)
                                   for i in range(0, shuffled.height, size)))
        assert parts.counts == whole.counts
        for name in ("game_id", "end_tick", "rugged", "censored", "offset", "price", "recv_ts"):
            a, b = getattr(parts, name), getattr(whole, name)
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    none = lake_games(games, iter(()))  # no tick at all: every kept game joined late
    assert none.counts["joined_late"] == none.n == 5
    with pytest.raises(SchemaViolation, match="price_x"):
        lake_games(games, [ticks.drop("price_x")])


def test_blocks_are_runs_of_consecutive_games() -> None:
    data = lake_games(*_lake())
    src = LakeSource(data, block_games=2)
    stream = src.stream(50, 5, np.random.SeedSequence(1))
    everyone = np.arange(50)
    # (paths, games): each game told apart by its end tick and whether it is censored
    dealt = [stream.deal(everyone) for _ in range(5)]
    order = {(3, False): 0, (59, False): 1, (3, True): 2, (MAX_TICKS, False): 3, (50, True): 4}
    pos = np.array([[order[int(end[i]), bool(cens[i])] for end, _, cens in dealt]
                    for i in range(50)])
    # games 0-1 and 2-3 of a path are two consecutive real games; game 4 starts a block
    assert np.all(pos[:, 1] == pos[:, 0] + 1) and np.all(pos[:, 3] == pos[:, 2] + 1)
    assert set(pos[:, 0]) == {0, 1, 2, 3}
    assert src.describe()["block_games"] == 2 and LakeSource(data).block == 2  # round(5^⅓)


def test_a_bet_on_real_games_settles_from_what_they_show() -> None:
    src = LakeSource(lake_games(*_lake()), block_games=5)
    s = run_ensemble(SidebetFixed(start_tick=2, stake=1.0), src, paths=1, games_per_path=5,
                     seed=0).summaries
    # the one block is c, a, b, d, e; the bet covers 3..43. c rugs at 4 (win), a at 60 (loss),
    # b censored at 3 (void: the window runs past what was seen), d capped (loss), e censored
    # but alive at 50 (a known loss: leaving e out would drop it)
    assert (s.final_sol[0], s.bets[0], s.wins[0], s.voided[0]) == (10 + 4 - 1 - 1 - 1, 4, 1, 1)


def test_a_buy_on_a_real_game_waits_for_a_recorded_price() -> None:
    src = LakeSource(lake_games(*_lake()), block_games=5)
    rules = ExecutionRules(bankroll_sol=10.0)
    s = run_ensemble(TradeTarget(entry_tick=1, stake=1.0, target=1.1), src, paths=1,
                     games_per_path=1, seed=0, rules=rules).summaries
    # c: buy due at tick 2 (not recorded) fills at 3 (1.3); the rug at 4 wipes it
    assert (s.final_sol[0], s.bets[0]) == (9.0, 1)


def test_a_lake_without_a_usable_game_says_so() -> None:
    games, ticks = _lake()
    with pytest.raises(ConfigError, match="No lake games can settle a bet"):
        LakeSource(lake_games(games.filter(pl.col("game_id") == "f"), ticks))
    with pytest.raises(ConfigError, match="block_games"):
        LakeSource(lake_games(games, ticks), block_games=0)


def test_the_generator_source_checks_its_version() -> None:
    with pytest.raises(ConfigError, match="v4"):
        MonteCarloSource("v4")


def test_select_games_replays_the_games_asked_for_in_that_order() -> None:
    data = lake_games(*_lake())
    picked = select_games(data, ["a", "c", "a"])
    assert picked.game_id.tolist() == ["a", "c", "a"]
    assert picked.end_tick.tolist() == [59, 3, 59] and picked.offset.tolist() == [0, 60, 64]
    assert np.isnan(picked.price[62]) and picked.price[63] == 1.3  # c's tick 2 unrecorded
    assert picked.price[64 + 10] == pytest.approx(1.1)
    stream = InOrderSource(picked).stream(2, 3, np.random.SeedSequence(0))
    end, rugged, censored = stream.deal(np.array([0, 1]))
    assert end.tolist() == [59, 59] and rugged.tolist() == [True, True]
    assert censored.tolist() == [False, False]
    assert stream.deal(np.array([1]))[0].tolist() == [3]
    # a censored game is selected with its mark (b: alive at tick 3, rug not recorded)
    b = select_games(data, ["b"])
    assert (b.end_tick.tolist(), b.rugged.tolist(), b.censored.tolist()) == ([3], [False], [True])
    with pytest.raises(ConfigError, match=r"Games \['f'\] \(1 in all\) are not among"):
        select_games(data, ["a", "f"])
