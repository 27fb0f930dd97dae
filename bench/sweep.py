"""Benchmark: a parameter sweep on the local engine and on Ray in local mode, same cores.

    .venv/bin/python bench/sweep.py [--ticks 10] [--stakes 10] [--paths 10000] [--games 500]
                                    [--cpus 2] [--chunk-paths 500] [--seed 21]

The sweep (issue 21): `sidebet-fixed` over `--ticks` start ticks (0, 10, 20, ...) × `--stakes`
stakes (0.01, 0.02, ...), 100 points by default, each an ensemble of `--paths` bankrolls ×
`--games` games (`rugslab.strategy.sweep.sweep`, one seed for every point). Two timed runs, in
this order, each on `--cpus` cores, repeated `--repeats` rounds (a shared machine's load
changes between runs; the rounds interleave the engines so both see it):

    local   `sweep(..., workers=cpus)`: a process pool (after a small warm-up sweep that starts
            the forkserver its workers fork from, once per process)
    ray     `sweep(..., executor=...)` inside `ray_executor(num_cpus=cpus)`: Ray started on
            this machine once (its start-up timed apart; a small warm-up sweep starts its
            workers)

Prints each run's seconds and games/min, ray / local per round and in total (goal ≤ 1.3x),
Ray's start-up, and whether the last round's result frames are identical (they must be: same
seed, same numbers). Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=10, help="start ticks in the grid")
    ap.add_argument("--stakes", type=int, default=10, help="stakes in the grid")
    ap.add_argument("--paths", type=int, default=10_000, help="bankrolls per point")
    ap.add_argument("--games", type=int, default=500, help="games per bankroll")
    ap.add_argument("--cpus", type=int, default=2, help="cores for both engines")
    ap.add_argument("--chunk-paths", type=int, default=500)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--repeats", type=int, default=2, help="rounds of local then ray")
    a = ap.parse_args()

    from polars.testing import assert_frame_equal

    from rugslab.strategy.ray_engine import ray_executor
    from rugslab.strategy.sources import MonteCarloSource
    from rugslab.strategy.sweep import sweep

    grid = {"start_tick": [10 * i for i in range(a.ticks)],
            "stake": [round(0.01 * (i + 1), 2) for i in range(a.stakes)]}
    points = a.ticks * a.stakes
    games = points * a.paths * a.games
    kw = {"paths": a.paths, "games": a.games, "seed": a.seed, "chunk_paths": a.chunk_paths}
    warm = {"paths": 4 * a.cpus, "games": 5, "chunk_paths": 1}
    print(f"sweep: sidebet-fixed, {a.ticks} start ticks x {a.stakes} stakes = {points} points "
          f"x {a.paths:,} paths x {a.games:,} games = {games:,} games; {a.cpus} cores, chunks "
          f"of {a.chunk_paths} paths ({points * -(-a.paths // a.chunk_paths):,} tasks); "
          f"load {os.getloadavg()[0]:.1f}", flush=True)

    t0 = time.perf_counter()
    with ray_executor(num_cpus=a.cpus) as ex:
        t_start = time.perf_counter() - t0
        sweep("sidebet-fixed", {"stake": [0.1]}, MonteCarloSource(), workers=a.cpus, **warm)
        sweep("sidebet-fixed", {"stake": [0.1]}, MonteCarloSource(), executor=ex, **warm)
        print(f"Ray start-up {t_start:.1f} s (not in the times below)", flush=True)
        times: dict[str, list[float]] = {"local": [], "ray": []}
        for r in range(a.repeats):
            for engine in ("local", "ray"):
                t0 = time.perf_counter()
                rows = sweep("sidebet-fixed", grid, MonteCarloSource(), **kw,
                             **({"workers": a.cpus} if engine == "local" else {"executor": ex}))
                t = time.perf_counter() - t0
                times[engine].append(t)
                if engine == "local":
                    local = rows
                else:
                    on_ray = rows
                print(f"{r + 1}  {engine:6} {t:8.1f} s  {games / t * 60:14,.0f} games/min  "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
    ratios = [b / a_ for a_, b in zip(times["local"], times["ray"], strict=True)]
    print(f"ray / local per round: {', '.join(f'{x:.2f}x' for x in ratios)}; total "
          f"{sum(times['ray']) / sum(times['local']):.2f}x (goal <= 1.3x)")
    try:
        assert_frame_equal(local, on_ray)
        same = "identical"
    except AssertionError as e:
        same = f"DIFFERENT: {str(e).splitlines()[0]}"
    print(f"results: {same} ({local.height} rows x {local.width} columns); EV per bet at the "
          f"first point {local['ev_per_bet'][0]:.4f}")


if __name__ == "__main__":
    main()
