"""Ensembles: N independent bankrolls of G games each, split into chunks that run anywhere.

    from rugslab.strategy import MonteCarloSource, make_strategy, run_ensemble
    e = run_ensemble(make_strategy("sidebet-fixed", {"stake": 0.1}), MonteCarloSource(),
                     paths=2000, games_per_path=500, seed=1)
    print(e.metrics())        # EV per bet with its interval, P(ruin), bankroll quantiles...

The paths are split into chunks of `chunk_paths`. A chunk is a pure function of (strategy,
source, rules, games, seed, chunk index, its paths): its games come from the stream
`SeedSequence(seed, spawn_key=(chunk,))`, so the result does not depend on how many workers
run the chunks or in which order (`tests/strategy/test_sweep.py`). Memory per chunk is
O(chunk_paths) (`rugslab.strategy.engine`); the parent keeps O(paths) per-path summaries.

`executor` is any `map`-like callable, `executor(run_chunk, tasks) -> results in task order`:
builtin `map` (one process), `ProcessPoolExecutor.map` (the default with workers > 1: its
processes fork from a fresh forkserver that imported this module once, so polars' threads
are never forked and a worker starts in milliseconds), or Ray's (`ray_engine.ray_map`: the
chunks as Ray tasks, on this machine or a cluster).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import polars as pl
from tqdm import tqdm

from rugslab.errors import ConfigError
from rugslab.strategy.book import PathSummaries, checkpoint_games
from rugslab.strategy.engine import ExecutionRules, play_chunk
from rugslab.strategy.metrics import EnsembleMetrics, ensemble_metrics, quantile_bands, ruin_curve
from rugslab.strategy.protocol import Strategy
from rugslab.strategy.sources import Source

#: Paths per chunk: results depend on it (and the seed), never on the number of workers.
DEFAULT_CHUNK_PATHS = 500
Executor = Callable[[Callable[["ChunkTask"], PathSummaries], Iterable["ChunkTask"]],
                    Iterable[PathSummaries]]


@dataclass(frozen=True, slots=True)
class ChunkTask:
    """One chunk of an ensemble: everything `run_chunk` needs (picklable)."""

    strategy: Strategy
    source: Source
    rules: ExecutionRules
    games: int
    seed: int
    chunk: int
    first_path: int
    paths: int
    checkpoints: np.ndarray


def run_chunk(task: ChunkTask) -> PathSummaries:
    """Play one chunk (a pure function of the task)."""
    seed = np.random.SeedSequence(task.seed, spawn_key=(task.chunk,))
    stream = task.source.stream(task.paths, task.games, seed)
    return play_chunk(task.strategy, stream, task.rules, n=task.paths, games=task.games,
                      first_path=task.first_path, checkpoints=task.checkpoints)


def chunk_tasks(strategy: Strategy, source: Source, *, paths: int, games: int, seed: int,
                rules: ExecutionRules, chunk_paths: int = DEFAULT_CHUNK_PATHS
                ) -> list[ChunkTask]:
    """The chunks of an ensemble, in path order.

    Raises:
        ConfigError: paths, games or chunk_paths < 1, or a seed < 0.
    """
    for name, v in (("paths", paths), ("games", games), ("chunk_paths", chunk_paths)):
        if not isinstance(v, int | np.integer) or v < 1:
            raise ConfigError(f"Invalid {name} {v!r}: expected a whole number ≥ 1.")
    if seed < 0:
        raise ConfigError(f"Invalid seed {seed!r}: expected a whole number ≥ 0.")
    cps = checkpoint_games(games)
    return [ChunkTask(strategy, source, rules, games, seed, i, lo, min(chunk_paths, paths - lo),
                      cps)
            for i, lo in enumerate(range(0, paths, chunk_paths))]


@contextmanager
def executor_for(workers: int | None, tasks: int) -> Iterator[Executor]:
    """`map` for one worker or one task; else a process pool's map (workers None: every
    core; processes from a forkserver, module docstring)."""
    w = min(workers or os.cpu_count() or 1, tasks)
    if w <= 1:
        yield map
        return
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])  # the server imports the lab once; workers fork
    pool = ProcessPoolExecutor(w, mp_context=ctx, initializer=_worker_ignores_sigint)
    try:
        yield pool.map
    except BaseException:  # an error, SIGINT, or SIGTERM as `cli.stopping.Terminated`
        _terminate(pool)  # not `shutdown(wait=True)`: that would finish every running chunk
        raise
    pool.shutdown(wait=True)


def _worker_ignores_sigint() -> None:
    """A pool worker leaves SIGINT to the parent: a Ctrl-C reaches the whole process group,
    and the parent ends the workers itself (`_terminate`) instead of each printing a
    KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel the chunks not started and end the workers now (SIGTERM, then SIGKILL after
    5 s); their results are not wanted. (`ProcessPoolExecutor.terminate_workers` does this
    from Python 3.14; before it, the pool's `_processes` is the only handle on them.)"""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


def run_tasks(tasks: Sequence[ChunkTask], *, executor: Executor | None = None,
              workers: int | None = None, progress: bool = False) -> list[PathSummaries]:
    """Run chunks (through `executor`, else `executor_for(workers)`), results in task order,
    with a tqdm bar of games played on stderr when `progress`."""
    total = sum(t.paths * t.games for t in tasks)
    bar = tqdm(total=total, unit="game", unit_scale=True, disable=not progress,
               file=sys.stderr, desc="backtest")
    out: list[PathSummaries] = []
    try:
        if executor is not None:
            results: Iterable[PathSummaries] = executor(run_chunk, tasks)
            for t, r in zip(tasks, results, strict=True):
                out.append(r)
                bar.update(t.paths * t.games)
        else:
            with executor_for(workers, len(tasks)) as ex:
                for t, r in zip(tasks, ex(run_chunk, tasks), strict=True):
                    out.append(r)
                    bar.update(t.paths * t.games)
    finally:
        bar.close()
    return out


def real_games_of(described: Mapping[str, object]) -> int | None:
    """The number of real games paths were resampled from, given their source's `describe()`
    (a lake source: its `used`), else None (a generator: every path is independent)."""
    real = described.get("used") if described.get("source") == "lake" else None
    return real if isinstance(real, int) else None


@dataclass(frozen=True, slots=True)
class Ensemble:
    """The result of `run_ensemble`: per-path summaries and what produced them."""

    strategy: str
    source: dict[str, object]
    rules: ExecutionRules
    games: int
    seed: int
    summaries: PathSummaries

    @property
    def paths(self) -> int:
        """Number of paths."""
        return self.summaries.paths

    @property
    def resampled_from(self) -> int | None:
        """`real_games_of(self.source)`."""
        return real_games_of(self.source)

    def metrics(self, *, level: float = 0.95) -> EnsembleMetrics:
        """Every metric with intervals across paths (`rugslab.strategy.metrics`); for paths
        resampled from real games, intervals for the real sample (`ensemble_metrics`)."""
        return ensemble_metrics(self.summaries, games=self.games, level=level,
                                resampled_from=self.resampled_from)

    def ruin_curve(self, *, level: float = 0.95) -> pl.DataFrame:
        """P(ruin by game g) at the checkpoints, with Wilson bands (for paths resampled from
        real games, bands for the real sample: `metrics.ruin_curve`)."""
        return ruin_curve(self.summaries, games=self.games, level=level,
                          resampled_from=self.resampled_from)

    def bankroll_bands(self) -> pl.DataFrame:
        """Quantiles of the bankroll across paths at each checkpoint (a fan chart's data; no
        resampling: the spread of the independent paths, `metrics.quantile_bands`)."""
        return quantile_bands(self.summaries.cp_bankroll, self.summaries.checkpoint_games)

    def drawdown_bands(self) -> pl.DataFrame:
        """Quantiles of the drawdown fraction across paths at each checkpoint (no
        resampling: the spread of the independent paths, `metrics.quantile_bands`)."""
        return quantile_bands(self.summaries.cp_drawdown, self.summaries.checkpoint_games)


def run_ensemble(strategy: Strategy, source: Source, *, paths: int, games_per_path: int,
                 seed: int = 0, rules: ExecutionRules | None = None,
                 chunk_paths: int = DEFAULT_CHUNK_PATHS, executor: Executor | None = None,
                 workers: int | None = 1, progress: bool = False) -> Ensemble:
    """Play `strategy` on `paths` independent bankrolls of `games_per_path` games each.

    Args:
        source: `MonteCarloSource()` or `LakeSource(lake_games(...))`.
        rules: bankroll, latency and the ruin rule (`ExecutionRules()` by default).
        chunk_paths: paths per chunk (results depend on it and on `seed` only).
        executor: a map-like callable to run the chunks (module docstring).
        workers: processes when no executor is given (None: every core; 1: this process).
        progress: a tqdm bar on stderr.

    Raises:
        ConfigError: bad sizes or seed; a strategy's bad decision (see `engine.play_chunk`).
        LookaheadError: the strategy read ahead.
    """
    rules = rules or ExecutionRules()
    tasks = chunk_tasks(strategy, source, paths=paths, games=games_per_path, seed=seed,
                        rules=rules, chunk_paths=chunk_paths)
    parts = run_tasks(tasks, executor=executor, workers=workers, progress=progress)
    return Ensemble(strategy=getattr(strategy, "name", type(strategy).__name__),
                    source=source.describe(), rules=rules, games=games_per_path, seed=seed,
                    summaries=PathSummaries.concat(parts))


#: The columns `compare` shows by default.
COMPARE_COLUMNS = (
    "bets", "voided", "ev_per_bet", "ev_per_bet_lo", "ev_per_bet_hi", "ruin_probability",
    "ruin_probability_lo", "ruin_probability_hi", "final_bankroll_p05", "final_bankroll_p50",
    "final_bankroll_p95", "max_drawdown_p50", "exposure", "sharpe")


def compare(ensembles: Mapping[str, Ensemble], *, columns: Sequence[str] = COMPARE_COLUMNS,
            level: float = 0.95) -> pl.DataFrame:
    """One row per named ensemble: `ensemble`, then `columns` of `EnsembleMetrics.to_dict`
    (null where undefined, e.g. an interval with "n too small")."""
    rows = []
    for name, e in ensembles.items():
        d = e.metrics(level=level).to_dict()
        rows.append({"ensemble": name, **{c: d.get(c) for c in columns}})
    return pl.DataFrame(rows, infer_schema_length=None)
