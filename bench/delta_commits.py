"""Benchmark: the cost of a collector's Delta commit after thousands of commits (delta-core).

A collector commits a small batch to the lake about once a minute, all day, every day: after a
week a table has ~10,000 commits. Each commit loads the table's log (last checkpoint + the
commits after it) and runs an insert-only MERGE into the day's partition, so a log or a
partition that only grows makes every commit slower. This writes `--commits` collector-sized
batches (`--raw-rows` raw_events rows of ~`--raw-bytes` bytes and `--tick-rows` ticks rows,
one `--feed-s` of feed each, dates advancing with the simulated clock) through
`delta_write.append_absent`, and runs the maintenance policy as production does:

    after every commit  `delta_maintain.maintain(lake, table, days=[today])` for both tables
    at each midnight     `delta_maintain.compact_table` (nightly) for both tables

Time is compressed: the bench runs far faster than one commit per `--feed-s`, so the policy's
durations (log retention 12 hours, vacuum retention 7 days) are scaled by the measured
wall seconds per commit over `--feed-s` after a calibration of `--calibrate` commits, keeping
each retention at the same number of commits as in production.

Printed: per block of `--block` commits the median and p95 commit cost (both tables' writes),
its CPU time and the median maintenance cost; the ratio of the last block's median commit
cost to the first's (target <= 1.5); the time to open the table (`DeltaTable(path)`) over a
checkpoint interval early and at the end; the log's size at the end.

Usage: .venv/bin/python bench/delta_commits.py [--commits 10000] [--block 1000] [--lake DIR]
       (smoke: --commits 300; use `taskset -c 1` when another process is busy)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import deltalake
import polars as pl
from deltalake import DeltaTable

from rugslab.lake import delta_maintain, delta_write
from rugslab.lake.delta import LOG_DIR

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
TABLES = ("raw_events", "ticks")


def _body(n_bytes: int) -> str:
    """A gameStateUpdate-like JSON argument of about `n_bytes` (numbers vary per frame)."""
    rows = ",".join(f'{{"id":"did:privy:{i:05d}","username":"player{i}","pnl":'
                    f'{i * 7 % 113}.{i * 31 % 9973:04d},"level":{i % 60}}}' for i in range(400))
    return ('[{"gameId":"%s","active":true,"price":%s,"tickCount":%d,"leaderboard":[' + rows
            + "]}]")[: n_bytes]


def _batch(i: int, a: argparse.Namespace, body: str) -> dict[str, pl.DataFrame]:
    now = T0 + timedelta(seconds=i * a.feed_s)
    game = f"{now:%Y%m%d}-{(i // 5):016x}"
    seq0 = i * a.raw_rows
    seqs = list(range(seq0, seq0 + a.raw_rows))
    step = timedelta(seconds=a.feed_s / a.raw_rows)
    raw = pl.DataFrame({
        "frame_id": [hashlib.blake2b(f"bench:{q}".encode(), digest_size=16).hexdigest()
                     for q in seqs],
        "recv_ts": [now + k * step for k in range(a.raw_rows)],
        "recv_mono_ns": [q * 1_000_000 for q in seqs],
        "session_id": ["bench-session"] * a.raw_rows,
        "seq": seqs,
        "event": ["gameStateUpdate"] * a.raw_rows,
        "game_id": [game] * a.raw_rows,
        "args_json": [body % (game, 1 + q % 997 / 100, q % 500) for q in seqs],
        "source": ["live"] * a.raw_rows,
    })
    t0 = (i % 5) * a.tick_rows
    ticks = pl.DataFrame({
        "game_id": [game] * a.tick_rows,
        "tick": [t0 + k for k in range(a.tick_rows)],
        "price_x": [1.0 + (t0 + k) / 1000 for k in range(a.tick_rows)],
        "recv_ts": [now + k * timedelta(seconds=a.feed_s / a.tick_rows)
                    for k in range(a.tick_rows)],
        "source": ["live"] * a.tick_rows,
        "is_rug": [False] * a.tick_rows,
    })
    return {"raw_events": raw, "ticks": ticks}


def _open_s(path: Path) -> float:
    t = time.perf_counter()
    DeltaTable(str(path))
    return time.perf_counter() - t


def _p95(xs: list[float]) -> float:
    return sorted(xs)[int(0.95 * (len(xs) - 1))]


def _log_stats(path: Path) -> str:
    log = path / LOG_DIR
    names = os.listdir(log)
    commits = sum(n.endswith(".json") for n in names)
    cps = [log / n for n in names if n.endswith(".checkpoint.parquet")]
    newest = max(cps, key=lambda p: p.stat().st_mtime) if cps else None
    cp = f"{newest.stat().st_size / 1024:.0f} KiB" if newest else "none"
    tomb = 0
    if newest:
        tomb = pl.read_parquet(newest).filter(pl.col("remove").is_not_null()).height
    return (f"{len(names)} log files ({commits} commits, {len(cps)} checkpoints); newest "
            f"checkpoint {cp} with {tomb} tombstones")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--block", type=int, default=1000, help="commits per printed block")
    ap.add_argument("--raw-rows", type=int, default=200)
    ap.add_argument("--raw-bytes", type=int, default=6000)
    ap.add_argument("--tick-rows", type=int, default=50)
    ap.add_argument("--feed-s", type=float, default=60.0, help="feed seconds per commit")
    ap.add_argument("--calibrate", type=int, default=200,
                    help="commits timed before the retentions are scaled")
    ap.add_argument("--lake", type=Path, default=None, help="kept after the run when given")
    a = ap.parse_args()
    block = min(a.block, max(1, a.commits // 3))
    lake = a.lake or Path(tempfile.mkdtemp(prefix="delta-bench-"))
    body = _body(a.raw_bytes)
    retention, log_retention = delta_maintain.RETENTION, delta_maintain.LOG_RETENTION
    print(f"deltalake {deltalake.__version__}, polars {pl.__version__}, python "
          f"{platform.python_version()}, {os.cpu_count()} cpus, affinity "
          f"{sorted(os.sched_getaffinity(0))}; lake {lake}")
    print(f"{a.commits} commits of {a.raw_rows} raw_events rows (~{a.raw_bytes} B) + "
          f"{a.tick_rows} ticks rows, {a.feed_s:g} s of feed each; policy: compact a partition "
          f"at {delta_maintain.COMPACT_AFTER_FILES} files, checkpoint every "
          f"{delta_maintain.CHECKPOINT_EVERY} commits, log retention {log_retention}, vacuum "
          f"retention {retention}, nightly compact_table + vacuum")
    commit_s: list[float] = []
    commit_cpu: list[float] = []  # process CPU time (all threads): less sensitive to a busy box
    maint_s: list[float] = []
    nightly: list[float] = []
    # one open after each commit of a checkpoint interval's worth of commits, early and at the
    # end: an open replays the commits since the last checkpoint, so a single open would
    # measure where it falls in the interval rather than the table's age
    window = delta_maintain.CHECKPOINT_EVERY
    opens_early: list[float] = []
    opens_late: list[float] = []
    start = time.perf_counter()
    day = T0.date()
    for i in range(a.commits):
        batch = _batch(i, a, body)
        today = (T0 + timedelta(seconds=i * a.feed_s)).date()
        if today != day:
            t = time.perf_counter()
            for name in TABLES:
                delta_maintain.compact_table(lake, name, retention=retention,
                                             log_retention=log_retention)
            nightly.append(time.perf_counter() - t)
            day = today
        t, cpu = time.perf_counter(), time.process_time()
        for name in TABLES:
            delta_write.append_absent(lake, name, batch[name])
        commit_s.append(time.perf_counter() - t)
        commit_cpu.append(time.process_time() - cpu)
        t = time.perf_counter()
        for name in TABLES:
            delta_maintain.maintain(lake, name, days=[today], retention=retention,
                                    log_retention=log_retention)
        maint_s.append(time.perf_counter() - t)
        if i + 1 == a.calibrate:
            scale = (time.perf_counter() - start) / a.calibrate / a.feed_s
            retention = delta_maintain.RETENTION * scale
            log_retention = delta_maintain.LOG_RETENTION * scale
            print(f"calibrated: {scale * a.feed_s * 1000:.1f} ms wall per commit; retentions "
                  f"scaled to {retention.total_seconds():.0f} s and "
                  f"{log_retention.total_seconds():.0f} s (same commit counts as production)")
        if window <= i < 2 * window:
            opens_early.append(_open_s(lake / "raw_events"))
        if i >= a.commits - window:
            opens_late.append(_open_s(lake / "raw_events"))
        if (i + 1) % block == 0:
            lo = i + 1 - block
            c, m = commit_s[lo:], maint_s[lo:]
            print(f"commits {lo + 1:>6}-{i + 1:<6} commit median {statistics.median(c) * 1000:6.1f}"
                  f" ms  p95 {_p95(c) * 1000:6.1f} ms  cpu median "
                  f"{statistics.median(commit_cpu[lo:]) * 1000:6.1f} ms  maintain median "
                  f"{statistics.median(m) * 1000:5.1f} ms  load {os.getloadavg()[0]:.1f}  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    first = statistics.median(commit_s[:block])
    n_last = a.commits // block * block
    last = statistics.median(commit_s[n_last - block:n_last])
    print(f"nightly compact_table + vacuum (both tables): {len(nightly)} runs, median "
          f"{statistics.median(nightly) * 1000 if nightly else 0:.0f} ms")
    print(f"table open (DeltaTable(raw_events)), median over {window} commits: "
          f"{statistics.median(opens_early) * 1000:.1f} ms at commits {window + 1}-{2 * window}, "
          f"{statistics.median(opens_late) * 1000:.1f} ms at the last {window}")
    for name in TABLES:
        print(f"{name}: {_log_stats(lake / name)}")
    cpu_first = statistics.median(commit_cpu[:block])
    cpu_last = statistics.median(commit_cpu[n_last - block:n_last])
    print(f"cpu time ratio last/first block median: {cpu_last * 1000:.1f} / "
          f"{cpu_first * 1000:.1f} ms = {cpu_last / cpu_first:.2f}")
    print(f"ratio last/first block median commit cost: {last * 1000:.1f} / {first * 1000:.1f} ms"
          f" = {last / first:.2f} (target <= 1.5)")
    if a.lake is None:
        shutil.rmtree(lake, ignore_errors=True)


if __name__ == "__main__":
    main()
