"""Parameter sweeps: a grid over a strategy's parameters, one row of ensemble metrics per point.

    rows = sweep("sidebet-fixed", {"start_tick": [0, 50, 100], "stake": [0.1, 0.5]},
                 MonteCarloSource(), paths=1000, games=200, seed=7, workers=None)

Every (point, chunk) pair is one `ChunkTask`, a pure function of (strategy and parameters,
source, rules, seed, chunk), and all of them go through one map-like executor: on one machine
a process pool over every core; on Ray, `executor=ray_map` inside
`ray_engine.ray_executor()` (the same rows). Every point uses the
same seed, so points are compared on the same games where the strategies ask for the same
draws (common random numbers: differences between points are less noisy than their levels).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import polars as pl

from rugslab.errors import ConfigError
from rugslab.strategy.book import PathSummaries
from rugslab.strategy.builtins import make_strategy
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import (
    DEFAULT_CHUNK_PATHS,
    ChunkTask,
    Executor,
    chunk_tasks,
    real_games_of,
    run_tasks,
)
from rugslab.strategy.metrics import ensemble_metrics
from rugslab.strategy.sources import Source


def grid_points(grid: Mapping[str, Sequence[object]]) -> list[dict[str, object]]:
    """Every combination of the grid's values, the last key varying fastest.

    Raises:
        ConfigError: a parameter with no values.
    """
    empty = [k for k, v in grid.items() if len(v) == 0]
    if empty:
        raise ConfigError(f"Invalid grid: {empty} have no values; give each parameter ≥ 1.")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(grid[k] for k in keys))]


def sweep(strategy: str, grid: Mapping[str, Sequence[object]], source: Source, *,
          paths: int, games: int, seed: int = 0, fixed: Mapping[str, object] | None = None,
          rules: ExecutionRules | None = None, chunk_paths: int = DEFAULT_CHUNK_PATHS,
          executor: Executor | None = None, workers: int | None = None,
          progress: bool = False, level: float = 0.95) -> pl.DataFrame:
    """Run an ensemble of registered `strategy` at every point of `grid`.

    Args:
        grid: parameter → values (`rugslab.strategy.builtins` names the parameters).
        fixed: parameters held at one value for every point.
        workers: processes when no executor is given (None: every core).

    Returns:
        One row per point, in `grid_points` order: the parameters, then the flat metrics of
        `EnsembleMetrics.to_dict` (`ev_per_bet`, `ev_per_bet_lo`, ..., `ruin_probability`,
        `final_bankroll_p50`, ...).

    Raises:
        ConfigError: unknown strategy or parameter, bad value, empty grid, bad sizes.
    """
    rules = rules or ExecutionRules()
    points = grid_points(grid)
    tasks: list[ChunkTask] = []
    spans: list[tuple[int, int]] = []
    for point in points:
        s = make_strategy(strategy, {**(fixed or {}), **point})
        ts = chunk_tasks(s, source, paths=paths, games=games, seed=seed, rules=rules,
                         chunk_paths=chunk_paths)
        spans.append((len(tasks), len(tasks) + len(ts)))
        tasks += ts
    parts = run_tasks(tasks, executor=executor, workers=workers, progress=progress)
    rows = []
    for point, (lo, hi) in zip(points, spans, strict=True):
        m = ensemble_metrics(PathSummaries.concat(parts[lo:hi]), games=games, level=level,
                             resampled_from=real_games_of(source.describe()))
        rows.append({**point, **m.to_dict()})
    return pl.DataFrame(rows, infer_schema_length=None)
