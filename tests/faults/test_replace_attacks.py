"""Attacks on `delta_write.replace_rows` (the derived tables' rebuild: gaps, player tables),
whose deletes ride in the merge's source as marked rows: kill -9 at any moment of a writer
that keeps replacing a game's rows, and two writers replacing the same game at once.

After each attack the scope game holds exactly one writer's whole frame (never a mix, never
a half-applied delete), the other game's row is untouched, and the marker column never
reaches the table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from rugslab.lake import delta_read, delta_write
from rugslab.tables.schemas import TABLES

REPO = Path(__file__).resolve().parents[2]
G1 = "20251207-e8186dbf38e046d1"
G2 = "20251208-0123456789abcdef"

#: Frame k of game G1: A (three gaps) for even k, B (one gap) for odd k: every other
#: replace deletes two rows.
_FRAMES = {"A": [(1, 2), (5, 6), (9, 9)], "B": [(3, 4)]}

_WRITER = """
import sys
import polars as pl
from rugslab.lake import delta_write
from rugslab.tables.schemas import TABLES
lake, G1, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
FRAMES = {frames!r}
k = 0
while True:
    name = names[k % len(names)]
    rows = FRAMES[name]
    delta_write.replace_rows(lake, "gaps", pl.DataFrame({{
        "game_id": [G1] * len(rows), "tick_from": [a for a, _ in rows],
        "tick_to": [b for _, b in rows], "n_ticks": [b - a + 1 for a, b in rows],
        "reason": ["not_received"] * len(rows)}}, schema=TABLES["gaps"].polars_schema), [G1])
    print(name, flush=True)
    k += 1
    if len(sys.argv) > 4 and k >= int(sys.argv[4]):
        break
"""


def _gaps(game: str, rows: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame({
        "game_id": [game] * len(rows), "tick_from": [a for a, _ in rows],
        "tick_to": [b for _, b in rows], "n_ticks": [b - a + 1 for a, b in rows],
        "reason": ["not_received"] * len(rows)}, schema=TABLES["gaps"].polars_schema)


def _spawn(lake: Path, names: str, count: int | None = None) -> subprocess.Popen[str]:
    code = textwrap.dedent(_WRITER.format(frames=_FRAMES))
    args = [sys.executable, "-c", code, str(lake), G1, names]
    if count is not None:
        args.append(str(count))
    return subprocess.Popen(args, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _state(lake: Path) -> tuple[str, list[tuple[int, int]]]:
    """Which whole frame G1 holds now; fails on anything else."""
    rows = delta_read.read_rows(lake, "gaps").sort("game_id", "tick_from")
    assert rows.filter(pl.col("game_id") == G2).select("tick_from", "tick_to").rows() == [
        (0, 0)], "the other game's row was touched"
    mine = rows.filter(pl.col("game_id") == G1).select("tick_from", "tick_to").rows()
    names = [n for n, frame in _FRAMES.items() if frame == mine]
    assert names, f"G1 holds {mine}: not one whole frame"
    assert delta_write._GONE not in DeltaTable(str(lake / "gaps")).schema().to_arrow().names
    return names[0], mine


def test_kill_9_mid_replace_leaves_one_whole_frame(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    delta_write.replace_rows(lake, "gaps", _gaps(G2, [(0, 0)]), [G2])
    delta_write.replace_rows(lake, "gaps", _gaps(G1, _FRAMES["A"]), [G1])
    seen = set()
    for delay in (1.3, 2.1, 1.7, 2.9, 1.1, 2.4):
        proc = _spawn(lake, "A,B")
        time.sleep(delay + 1.5)  # interpreter start-up, then some replaces
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        seen.update(out.split())
        _state(lake)
    assert seen == {"A", "B"}, "the writer never replaced both ways: the kills tested nothing"


def test_two_writers_replacing_the_same_game_end_with_one_whole_frame(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    delta_write.replace_rows(lake, "gaps", _gaps(G2, [(0, 0)]), [G2])
    procs = [_spawn(lake, "A", count=15), _spawn(lake, "B", count=15)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert [out.split().count(n) for (out, _), n in zip(outs, "AB", strict=True)] == [15, 15]
    _state(lake)
