"""Benchmark: GameAssembler throughput on one core (frames/s), without I/O.

Repeats the 2025-12-12 capture (../shared/captures) `--reps` times; each repetition gets fresh
game ids and receive times shifted by 100 s, so nothing is a duplicate of an earlier frame.
Frames are built before timing (as a reader would hand them over: args parsed, JSON not yet
encoded). Two runs:

    active   only the typical active gameStateUpdate frames (no gameHistory)
    all      every frame of the capture (cooldown, full frames with gameHistory, trades, chat)

Each run feeds all frames and drains every `--batch` frames (the drain is timed too); the
best of `--repeat` runs in CPU time (process_time) is reported, since the machine is shared.
`floor` is what every ingest pays per frame before the assembler's own work: `Frame.args_json`
(orjson), `Frame.frame_id` (BLAKE2b) and decoding the JSON to str for `raw_events`.

Usage: .venv/bin/python bench/assemble.py [--reps 40] [--batch 20000] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rugslab.assembly.assembler import GameAssembler
from rugslab.feed.frames import Frame, normalize_args

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GID = re.compile(r"(\d{8}-[0-9a-f]{12})([0-9a-f]{4})")


def build(path: Path, reps: int, active_only: bool) -> list[Frame]:
    lines = path.read_text().splitlines()
    out: list[Frame] = []
    for r in range(reps):
        for line in lines:
            text = _GID.sub(lambda m, r=r: f"{m.group(1)}{r:04x}", line)
            rec = json.loads(text)
            data = rec["data"]
            if active_only and not (
                rec["event"] == "gameStateUpdate"
                and isinstance(data, dict)
                and data.get("active") is True
                and "gameHistory" not in data
            ):
                continue
            dt = datetime.fromisoformat(rec["ts"]).replace(tzinfo=UTC)
            us = (dt - _EPOCH) // timedelta(microseconds=1) + r * 100_000_000
            out.append(
                Frame(event=rec["event"], args=normalize_args(data), source="bench", recv_ts_us=us)
            )
    return out


def floor(frames: list[Frame]) -> float:
    for f in frames:
        f._args_json = None
    t0 = time.process_time()
    for f in frames:
        f.args_json.decode()
        _ = f.frame_id
    return time.process_time() - t0


def run(frames: list[Frame], batch: int) -> tuple[float, int]:
    for f in frames:
        f._args_json = None  # as a reader hands it over: JSON not encoded yet
    asm = GameAssembler()
    rows = 0
    t0 = time.process_time()
    for f in frames:
        asm.feed(f)
        if asm.pending >= batch:
            rows += len(asm.drain())
    rows += len(asm.drain())
    return time.process_time() - t0, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    a = ap.parse_args()
    path = a.shared / "captures" / "2025-12-12_two-rugs.jsonl"
    for name, active_only in (("active", True), ("all", False)):
        frames = build(path, a.reps, active_only)
        secs, rows = min(run(frames, a.batch) for _ in range(a.repeat))
        base = min(floor(frames) for _ in range(a.repeat))
        n = len(frames)
        print(
            f"{name:7s} {n:8d} frames  assembler {n / secs:9,.0f} frames/s "
            f"({secs / n * 1e6:5.1f} us/frame, of which floor {base / n * 1e6:5.1f} us)"
            f"  rows {rows}"
        )


if __name__ == "__main__":
    main()
