"""Benchmark: the collector's many small lake writes into one day (review M6).

A collector drains its assembler into the lake at every rug and seed reveal and at least every
60 s: one small write per flush, one Delta commit and one new data file per table, all into the
same day partition (compacted at 60 files, and nightly). If a write's cost grew with the files
already in the partition, a long day would slow the collector down. This pushes the captures
(repeated, with fresh game ids, as bench/ingest.py builds them) through `GameAssembler` +
`write_batch` in flushes of `--frames-per-flush` frames, as `rugslab collect` does, and prints
the mean time per write of the first and of the last `--window` flushes, side by side:

    first   the first flushes, into a nearly empty partition (the baseline)
    last    the last flushes, into a partition of `--flushes` part files per table

A ratio last / first near 1.0 means the cost of a write does not grow with the day.

Usage: .venv/bin/python bench/flushes.py [--flushes 600] [--frames-per-flush 60] [--window 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--flushes", type=int, default=600, help="writes into the lake")
    ap.add_argument("--frames-per-flush", type=int, default=60,
                    help="frames per write (~15 s of the live feed)")
    ap.add_argument("--window", type=int, default=50, help="writes averaged at each end")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    a = ap.parse_args()
    if a.window * 2 > a.flushes:
        ap.error(f"--window {a.window}: at most half of --flushes {a.flushes}")

    from ingest import build_archive  # bench/ingest.py: the captures, repeated, fresh ids

    from rugslab.assembly.assembler import GameAssembler
    from rugslab.feed.frames import Frame
    from rugslab.lake.writer import write_batch
    from rugslab.readers import read_frames

    with tempfile.TemporaryDirectory(prefix="rugslab-flushes-") as tmp:
        archive, lake = Path(tmp) / "archive", Path(tmp) / "lake"
        build_archive(a.shared, a.flushes * a.frames_per_flush, archive)
        asm = GameAssembler()
        times: list[float] = []
        n = 0
        for path in sorted(archive.rglob("*.jsonl")):
            for frame in read_frames(path):
                if not isinstance(frame, Frame):  # a BadRecord: the archives built have none
                    raise SystemExit(f"unreadable record in the bench archive: {frame}")
                asm.feed(frame)
                n += 1
                if n % a.frames_per_flush == 0 and len(times) < a.flushes:
                    batch = asm.drain()
                    t = time.perf_counter()
                    write_batch(lake, batch)
                    times.append(time.perf_counter() - t)
        from rugslab.lake.delta_read import snapshot_files

        visible = len(snapshot_files(lake, "ticks"))
        on_disk = sum(1 for _ in (lake / "ticks").rglob("*.parquet"))
    first = statistics.mean(times[: a.window])
    last = statistics.mean(times[-a.window :])
    print(f"{'writes':>7} {'frames/write':>13} {'first ms':>9} {'last ms':>8} {'last/first':>11} "
          f"{'ticks files visible / on disk':>30}")
    print(f"{len(times):>7} {a.frames_per_flush:>13} {first * 1e3:>9.1f} {last * 1e3:>8.1f} "
          f"{last / first:>10.2f}x {visible:>20} / {on_disk}")
    print("first: the first writes (nearly empty partition, the baseline); last: the last "
          f"{a.window} writes. 1.00x = a write costs the same late in the day. Files replaced "
          "by compaction stay on disk until the nightly vacuum, unseen by readers.")


if __name__ == "__main__":
    main()
