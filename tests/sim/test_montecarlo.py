"""rugslab.sim.montecarlo against exact replay (two-sample KS on fixed seeds) and its own paths."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import ks_2samp

from rugslab.errors import ConfigError
from rugslab.fair.fast import replay_games
from rugslab.sim.montecarlo import simulate_paths, simulate_summaries

N_REPLAY = 3000
N_SIM = 20000


def _replayed(version: str):
    seeds = [f"rugslab-ks-{i}" for i in range(N_REPLAY)]
    return replay_games(seeds, ["20251207-e8186dbf38e046d1"] * N_REPLAY, version)


def _simulated(version: str, at_ticks=()):
    return pl.concat(
        simulate_summaries(
            N_SIM, seed=20251207, version=version, at_ticks=at_ticks, chunk_size=7000
        )
    )


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_rug_tick_and_peak_distributions_match_exact_replay(version):
    exact = _replayed(version)
    sim = _simulated(version, at_ticks=(10, 40))
    assert sim.height == N_SIM and sim["game"].to_list() == list(range(N_SIM))
    assert ks_2samp(exact.total_ticks + 1, sim["rug_tick"].to_numpy()).pvalue > 0.001
    assert ks_2samp(exact.peak_multiplier, sim["peak_x"].to_numpy()).pvalue > 0.001
    for t in (10, 40):
        lengths = np.diff(exact.offsets)
        alive = np.flatnonzero(lengths > t)
        exact_at = exact.prices[exact.offsets[alive] + t]
        sim_at = sim[f"price_at_{t}_x"].drop_nulls().to_numpy()
        assert ks_2samp(exact_at, sim_at).pvalue > 0.001, t


def test_mismatched_process_is_detected():
    # the KS check has power: a rug probability twice too high (lengths halved) is rejected
    exact = _replayed("v3")
    sim = _simulated("v3")
    assert ks_2samp((exact.total_ticks + 1) // 2, sim["rug_tick"].to_numpy()).pvalue < 1e-6


def test_summaries_agree_with_paths_of_the_same_seed():
    paths = simulate_paths(300, seed=7, version="v3")
    (summ,) = list(simulate_summaries(300, seed=7, version="v3", at_ticks=(0, 5), chunk_size=300))
    assert [len(p) - 1 for p in paths] == summ["total_ticks"].to_list()
    assert [float(p.max()) for p in paths] == summ["peak_x"].to_list()
    assert [p[5] if len(p) > 5 else None for p in paths] == summ["price_at_5_x"].to_list()
    assert summ["price_at_0_x"].to_list() == [1.0] * 300
    assert all(p[0] == 1.0 and (p >= 0).all() for p in paths)
    assert summ["rug_tick"].to_list() == [t + 1 for t in summ["total_ticks"].to_list()]


def test_same_seed_same_games_and_chunks_are_bounded():
    a = list(simulate_summaries(2500, seed=1, chunk_size=1000))
    b = list(simulate_summaries(2500, seed=1, chunk_size=1000))
    assert [f.height for f in a] == [1000, 1000, 500]
    assert all(x.equals(y) for x, y in zip(a, b, strict=True))
    assert list(simulate_summaries(0, seed=1)) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1}, "Invalid n -1"),
        ({"n": 1, "version": "v4"}, "Invalid version 'v4'"),
        ({"n": 1, "at_ticks": (5001,)}, r"Invalid at_ticks \[5001\]"),
        ({"n": 1, "chunk_size": 0}, "Invalid chunk_size 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        list(simulate_summaries(**kwargs))


def test_too_many_paths_points_to_summaries():
    with pytest.raises(ConfigError, match="use simulate_summaries"):
        simulate_paths(20_001)
