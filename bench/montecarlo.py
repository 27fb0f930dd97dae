"""Benchmark: Monte Carlo game summaries per minute (rugslab.sim.montecarlo) and peak memory.

    .venv/bin/python bench/montecarlo.py [--games 1000000] [--workers 2] [--chunk 100000]

Splits `--games` over `--workers` processes (independent streams from one SeedSequence), each
consuming `simulate_summaries` chunk by chunk (price at ticks 10 and 40 included) and keeping
only running totals, as a streaming backtest would. Prints games/min over the wall time and
the peak resident memory of the parent and of the largest worker (ru_maxrss), and the
tracemalloc peak of numpy/Python allocations inside one worker. Goal: ≥ 1,000,000 games/min
on 2 cores in bounded memory. Not a test.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _worker(n: int, seed: np.random.SeedSequence, chunk: int) -> dict:
    from rugslab.sim.montecarlo import simulate_summaries

    tracemalloc.start()
    games = 0
    rug_sum = 0
    peak_max = 0.0
    for frame in simulate_summaries(n, seed=seed, at_ticks=(10, 40), chunk_size=chunk):
        games += frame.height
        rug_sum += int(frame["total_ticks"].sum())
        peak_max = max(peak_max, float(frame["peak_x"].max() or 0.0))
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "games": games,
        "ticks": rug_sum,
        "peak_x": peak_max,
        "traced_peak": traced_peak,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20251207)
    a = ap.parse_args()
    seeds = np.random.SeedSequence(a.seed).spawn(a.workers)
    shares = [
        a.games // a.workers + (1 if i < a.games % a.workers else 0) for i in range(a.workers)
    ]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.workers) as pool:
        results = list(pool.map(_worker, shares, seeds, [a.chunk] * a.workers))
    wall = time.perf_counter() - t0
    games = sum(r["games"] for r in results)
    ticks = sum(r["ticks"] for r in results)
    print(
        f"{games:,} game summaries in {wall:.1f} s with {a.workers} worker(s), chunk {a.chunk:,}: "
        f"{games / wall * 60:,.0f} games/min (goal >= 1,000,000)"
    )
    print(
        f"mean total_ticks {ticks / games:.1f} (process: 1/0.005 - 1 = 199), "
        f"highest peak {max(r['peak_x'] for r in results):,.1f}x"
    )
    worst = max(r["maxrss_kb"] for r in results)
    print(
        f"peak memory: largest worker RSS {worst / 1024:.0f} MiB, tracemalloc peak "
        f"{max(r['traced_peak'] for r in results) / 2**20:.0f} MiB; parent RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
