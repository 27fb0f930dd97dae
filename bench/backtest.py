"""Benchmark: side-bet games per minute through the backtest engine, against the bare generator.

    .venv/bin/python bench/backtest.py [--games 4000000] [--workers 2] [--chunk-paths 500]

Two timed runs of the same number of games, in this order, each on `--workers` processes:

    generator   `rugslab.sim.montecarlo.simulate_summaries` (whole price paths, summaries
                only), split over the workers as `bench/montecarlo.py` does
    engine      `run_ensemble(sidebet-fixed, MonteCarloSource())`: `--paths` bankrolls of
                games / paths games each, every bet placed and settled, metrics computed

and the ratio engine / generator. The engine draws no price for this strategy (it never
reads one), only game lengths, so it may well be faster than the generator.

Memory: the engine on one process at two sizes with the same chunk size, 4x apart in games
per path, and a third with 4x the paths; each in a fresh process, reporting its peak RSS and
the tracemalloc peaks of one chunk and of the whole run (chunks, per-path summaries, metrics).
The timed engine run follows a small warm-up run that starts the forkserver its process pool
forks from (once per process: `rugslab.strategy.ensemble`). Memory is bounded by the chunk
(plus O(paths) summaries), not by paths x games. Goal (issue 18): >= 1,000,000 games/min
through the engine on 2 cores. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _generator_share(n: int, seed: np.random.SeedSequence, chunk: int) -> int:
    from rugslab.sim.montecarlo import simulate_summaries

    games = 0
    for frame in simulate_summaries(n, seed=seed, chunk_size=chunk):
        games += frame.height
    return games


def generator_rate(games: int, workers: int, chunk: int = 100_000) -> float:
    """Games per minute of the bare generator (summaries), over `workers` processes."""
    seeds = np.random.SeedSequence(7).spawn(workers)
    shares = [games // workers + (i < games % workers) for i in range(workers)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        done = sum(pool.map(_generator_share, shares, seeds, [chunk] * workers))
    return done / (time.perf_counter() - t0) * 60


def engine_rate(paths: int, games: int, workers: int, chunk_paths: int) -> tuple[float, dict]:
    """Games per minute through the engine for sidebet-fixed, and its headline metrics."""
    from rugslab.strategy import MonteCarloSource, make_strategy, run_ensemble

    # a small run first starts the forkserver the pools fork from (once per process)
    run_ensemble(make_strategy("sidebet-fixed"), MonteCarloSource(), paths=2 * workers,
                 games_per_path=2, workers=workers, chunk_paths=1)
    t0 = time.perf_counter()
    e = run_ensemble(make_strategy("sidebet-fixed"), MonteCarloSource(), paths=paths,
                     games_per_path=games, seed=11, workers=workers, chunk_paths=chunk_paths)
    d = e.metrics().to_dict()
    return paths * games / (time.perf_counter() - t0) * 60, d


def memory_probe(paths: int, games: int, chunk_paths: int) -> dict:
    """In this process: one chunk under tracemalloc, then the whole run; peak RSS."""
    from rugslab.strategy import ExecutionRules, MonteCarloSource, make_strategy, run_ensemble
    from rugslab.strategy.ensemble import chunk_tasks, run_chunk

    s = make_strategy("sidebet-fixed")
    task = chunk_tasks(s, MonteCarloSource(), paths=paths, games=games, seed=3,
                       rules=ExecutionRules(), chunk_paths=chunk_paths)[0]
    tracemalloc.start()
    run_chunk(task)
    _, chunk_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    def run() -> None:
        run_ensemble(s, MonteCarloSource(), paths=paths, games_per_path=games, seed=3,
                     chunk_paths=chunk_paths, workers=1).metrics()

    t0 = time.perf_counter()
    run()  # timed without tracemalloc, which slows Python several times
    wall = time.perf_counter() - t0
    tracemalloc.start()
    run()
    _, run_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"paths": paths, "games": games, "chunk_paths": chunk_paths,
            "chunk_traced_peak_mib": chunk_peak / 2**20, "run_traced_peak_mib": run_peak / 2**20,
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "games_per_min": paths * games / wall * 60}


def _probe_in_child(paths: int, games: int, chunk_paths: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--probe", f"{paths},{games},{chunk_paths}"],
        check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=4_000_000)
    ap.add_argument("--paths", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-paths", type=int, default=500)
    ap.add_argument("--probe", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.probe:
        p, g, c = (int(x) for x in a.probe.split(","))
        print(json.dumps(memory_probe(p, g, c)))
        return 0
    per_path = a.games // a.paths
    games = per_path * a.paths
    print(f"{games:,} games ({a.paths:,} paths x {per_path:,}), {a.workers} worker(s), "
          f"chunk {a.chunk_paths} paths; cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    gen = generator_rate(games, a.workers)
    print(f"generator (simulate_summaries): {gen:,.0f} games/min")
    eng, d = engine_rate(a.paths, per_path, a.workers, a.chunk_paths)
    print(f"engine (sidebet-fixed, settled, metrics): {eng:,.0f} games/min "
          f"(goal >= 1,000,000): {eng / gen:.2f}x the generator")
    print(f"  EV per bet {d['ev_per_bet']:+.4f} [{d['ev_per_bet_lo']:+.4f}, "
          f"{d['ev_per_bet_hi']:+.4f}] (exact -0.0916), {d['bets']:,} bets")
    base = max(a.chunk_paths * 2, 1000)
    for p, g in ((base, 500), (base, 2000), (4 * base, 500)):
        r = _probe_in_child(p, g, a.chunk_paths)
        print(f"memory at {p:,} paths x {g:,} games ({p * g:,}): peak RSS "
              f"{r['maxrss_mib']:.0f} MiB; traced peak: one chunk "
              f"{r['chunk_traced_peak_mib']:.1f} MiB, whole run {r['run_traced_peak_mib']:.1f} "
              f"MiB; {r['games_per_min']:,.0f} games/min on 1 process")
    print(f"load after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
