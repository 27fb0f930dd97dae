"""Benchmark: replay throughput of rugslab.fair.fast (one core) vs the real seedrandom on Node.

    .venv/bin/python bench/replay.py [--games 20000] [--repeats 3]

Both sides replay the same games (made-up 64-hex seeds, v3, whole price paths kept) in the
same run; each reports its best of `--repeats` timed passes after a warm-up (numba compile /
V8 JIT excluded). Prints games/s for each, the ratio rugslab/Node (goal ≥ 1.0), and checks
that both sides agree on the total ticks and peaks. Without node/npm it says why and still
prints rugslab's number. Not a test: nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GOLDEN = ROOT / "tests" / "fair" / "golden"
NODE_SCRIPT = ROOT / "bench" / "replay_node.js"


def make_games(n: int) -> list[tuple[str, str, str]]:
    return [
        (hashlib.sha256(f"bench-{i}".encode()).hexdigest(), f"20251207-{i:016x}", "v3")
        for i in range(n)
    ]


def bench_rugslab(
    games: list[tuple[str, str, str]], repeats: int
) -> tuple[float, int, float, float]:
    """(best seconds, sum of total_ticks, sum of peaks, first-call seconds incl. compile)."""
    from rugslab.fair.fast import replay_games

    seeds, ids, versions = (list(c) for c in zip(*games, strict=True))
    t0 = time.perf_counter()
    replay_games(seeds[:10], ids[:10], versions[:10])  # compile (or load the cache)
    warm = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        batch = replay_games(seeds, ids, versions, with_prices=True)
        best = min(best, time.perf_counter() - t0)
    # sequential sum, as the Node side does, so equal peaks give an equal sum
    return best, int(batch.total_ticks.sum()), sum(batch.peak_multiplier.tolist()), warm


def node_ready() -> str | None:
    """None when Node can run the bench, else the reason it cannot."""
    if shutil.which("node") is None:
        return "node is not on PATH (install Node ≥ 18 to compare with the real seedrandom)"
    if not (GOLDEN / "node_modules" / "seedrandom").is_dir():
        if shutil.which("npm") is None:
            return "seedrandom is not installed in tests/fair/golden and npm is not on PATH"
        r = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=GOLDEN, capture_output=True, text=True
        )
        if r.returncode != 0:
            return f"`npm ci` in tests/fair/golden failed: {r.stderr.strip()[-300:]}"
    return None


def bench_node(games: list[tuple[str, str, str]], repeats: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(games, f)
        path = f.name
    try:
        r = subprocess.run(
            ["node", str(NODE_SCRIPT), path, str(repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(r.stdout)
    finally:
        os.unlink(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    games = make_games(a.games)
    secs, ticks, peaks, warm = bench_rugslab(games, a.repeats)
    ours = a.games / secs
    print(
        f"rugslab.fair.fast: {ours:,.0f} games/s ({a.games} games, "
        f"{ticks / a.games:.1f} ticks/game, "
        f"best of {a.repeats}; first call {warm:.2f} s incl. numba compile/cache load)"
    )
    why = node_ready()
    if why:
        print(f"node: skipped: {why}")
        return 0
    node = bench_node(games, a.repeats)
    theirs = node["games"] / node["seconds"]
    print(f"node seedrandom:   {theirs:,.0f} games/s (same games, best of {a.repeats})")
    same = node["sum_ticks"] == ticks and node["sum_peak"] == peaks
    print(f"results agree: {'yes' if same else 'NO'} (sum of ticks {ticks} vs {node['sum_ticks']})")
    print(f"ratio rugslab/node: {ours / theirs:.2f}x (goal >= 1.0x)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
