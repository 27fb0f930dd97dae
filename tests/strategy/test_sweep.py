"""Sweeps and chunked ensembles: the same numbers whatever runs the chunks."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rugslab.errors import ConfigError
from rugslab.strategy.builtins import SidebetFixed
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.sources import MonteCarloSource
from rugslab.strategy.sweep import grid_points, sweep

GRID = {"start_tick": [0, 60], "stake": [0.1, 1.0]}


def _reversed_map(fn, tasks):
    """A map that runs the chunks last to first (results still in task order)."""
    tasks = list(tasks)
    return list(reversed([fn(t) for t in reversed(tasks)]))


def test_grid_points_vary_the_last_key_fastest() -> None:
    assert grid_points(GRID) == [{"start_tick": 0, "stake": 0.1}, {"start_tick": 0, "stake": 1.0},
                                 {"start_tick": 60, "stake": 0.1},
                                 {"start_tick": 60, "stake": 1.0}]
    with pytest.raises(ConfigError, match="stake"):
        grid_points({"stake": []})


def test_a_sweep_is_the_same_with_one_worker_two_processes_or_any_chunk_order() -> None:
    kw = {"paths": 90, "games": 30, "seed": 5, "chunk_paths": 25}
    one = sweep("sidebet-fixed", GRID, MonteCarloSource(), workers=1, **kw)
    two = sweep("sidebet-fixed", GRID, MonteCarloSource(), workers=2, **kw)
    rev = sweep("sidebet-fixed", GRID, MonteCarloSource(), executor=_reversed_map, **kw)
    assert one.height == 4 and one.select("start_tick", "stake").rows() == [
        (0, 0.1), (0, 1.0), (60, 0.1), (60, 1.0)]
    assert_frame_equal(one, two)
    assert_frame_equal(one, rev)
    assert {"ev_per_bet", "ev_per_bet_lo", "ruin_probability", "final_bankroll_p50"} <= set(
        one.columns)


def test_an_ensemble_depends_on_the_seed_and_the_chunk_size_only() -> None:
    def run(**kw):
        return run_ensemble(SidebetFixed(), MonteCarloSource(), paths=60, games_per_path=20,
                            **kw).summaries.final_sol

    a = run(seed=3, chunk_paths=16)
    assert np.array_equal(a, run(seed=3, chunk_paths=16, executor=_reversed_map))
    assert not np.array_equal(a, run(seed=4, chunk_paths=16))


def test_sweep_rejects_an_unknown_parameter() -> None:
    with pytest.raises(ConfigError, match=r"Unknown --param treshold=0.2 for sidebet-fixed"):
        sweep("sidebet-fixed", {"treshold": [0.2]}, MonteCarloSource(), paths=2, games=2)


def test_sweep_rows_hold_the_metrics_of_each_point() -> None:
    rows = sweep("sidebet-fixed", {"stake": [0.1, 0.2]}, MonteCarloSource(), paths=20,
                 games=10, seed=1, fixed={"start_tick": 5}, workers=1)
    assert isinstance(rows, pl.DataFrame)
    # common random numbers: the same games, stakes doubled → P&L doubled exactly
    assert rows["pnl_sol"][1] == pytest.approx(2 * rows["pnl_sol"][0])
