"""rugslab.fair.fast equals the plain-Python reference bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rugslab.errors import FairnessError
from rugslab.fair.fast import replay_game_fast, replay_games, seedrandom_draws
from rugslab.fair.game import replay_game
from rugslab.fair.seedrandom import SeedRandom

versions = st.sampled_from(["v1", "v2", "v3"])


def test_published_vector_hello():
    assert seedrandom_draws("hello.", 2).tolist() == [0.9282578795792454, 0.3752569768646784]


def test_raw_draws_equal_npm_seedrandom(golden):
    for r in golden["raw"]:
        assert seedrandom_draws(r["key"], len(r["draws"])).tolist() == r["draws"], r["key"]


def test_golden_games(golden):
    for g in golden["games"]:
        path = replay_game_fast(
            g["server_seed"], g["game_id"], g["version"], max_ticks=g.get("max_ticks", 5000)
        )
        assert path.prices == g["prices"], g["tag"]
        assert (path.peak_multiplier, path.rugged, path.total_ticks) == (
            g["peak_multiplier"],
            g["rugged"],
            g["total_ticks"],
        )


def test_every_dec_2025_game_replays_bit_exactly(history_games):
    dec = {g: e for g, e in history_games.items() if e.get("prices")}
    batch = replay_games(
        [e["provablyFair"]["serverSeed"] for e in dec.values()],
        list(dec),
        [e["gameVersion"] for e in dec.values()],
    )
    assert len(batch) == 23
    for i, entry in enumerate(dec.values()):
        assert batch.path(i).prices == entry["prices"][:-1]


@settings(max_examples=200, deadline=None)
@given(seed=st.text(max_size=300), draws=st.integers(1, 40))
def test_draws_equal_reference(seed, draws):
    rng = SeedRandom(seed)
    assert seedrandom_draws(seed, draws).tolist() == [rng() for _ in range(draws)]


@settings(max_examples=100, deadline=None)
@given(
    seed=st.text(max_size=90),
    game_id=st.text(max_size=30),
    version=versions,
    cap=st.integers(0, 5000),
)
def test_game_equals_reference(seed, game_id, version, cap):
    assert replay_game_fast(seed, game_id, version, max_ticks=cap) == replay_game(
        seed, game_id, version, max_ticks=cap
    )


@settings(max_examples=20, deadline=None)
@given(
    games=st.lists(
        st.tuples(st.text(max_size=70), st.text(max_size=25), versions), min_size=0, max_size=30
    ),
)
def test_batch_equals_reference_game_by_game(games):
    seeds, ids, vers = (list(c) for c in zip(*games, strict=True)) if games else ([], [], [])
    batch = replay_games(seeds, ids, vers)
    summary = replay_games(seeds, ids, vers, with_prices=False)
    assert len(batch) == len(games)
    for i, (s, g, v) in enumerate(games):
        assert batch.path(i) == replay_game(s, g, v)
    np.testing.assert_array_equal(summary.total_ticks, batch.total_ticks)
    np.testing.assert_array_equal(summary.peak_multiplier, batch.peak_multiplier)
    np.testing.assert_array_equal(summary.rugged, batch.rugged)


def test_summary_batch_has_no_paths():
    batch = replay_games(["a"], ["b"], "v3", with_prices=False)
    with pytest.raises(ValueError, match="with_prices=True"):
        batch.path(0)


def test_bad_inputs_are_refused():
    with pytest.raises(FairnessError, match="Invalid version 'V3'"):
        replay_games(["a"], ["b"], ["V3"])
    with pytest.raises(ValueError, match="game_ids has 2 entries, server_seeds has 1"):
        replay_games(["a"], ["b", "c"])
