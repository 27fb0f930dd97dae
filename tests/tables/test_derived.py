"""The gap ledger and tick coverage (`tables.derived`): missing tick runs with their reason, and
ticks recorded and missing per game, within tick 0 to the game's end."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from _capture_frames import FEB06, load_frames

from rugslab.assembly.assembler import GameAssembler
from rugslab.tables.derived import find_gaps, tick_coverage
from rugslab.tables.schemas import TABLES


def _ticks(rows: dict[str, list[int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"game_id": g, "tick": t} for g, ts in rows.items() for t in ts],
        schema={"game_id": pl.String, "tick": pl.Int32},
    )


A, B, C, D, E = (f"20251212-{c * 16}" for c in "abcde")
TICKS = _ticks({A: [2, 5, 6, 8, 9, 10, 10], B: [3, 4, 5, 6], E: [0, 1, 2, 3, 9]})
GAMES = pl.DataFrame(
    {
        "game_id": [A, B, C, D, E, A],
        "rug_tick": [10, None, 4, None, 3, None],
        "first_live_tick": [5, 3, None, None, 0, 2],
    },
    schema={"game_id": pl.String, "rug_tick": pl.Int32, "first_live_tick": pl.Int32},
)


def test_find_gaps_lists_every_missing_run_with_its_reason() -> None:
    gaps = find_gaps(TICKS, GAMES)
    TABLES["gaps"].model.validate(gaps)
    assert gaps.rows() == [
        # A: first live tick min(5, 2) = 2, so 0..1 is before joining; rug at 10
        (A, 0, 1, 2, "before_join"),
        (A, 3, 4, 2, "not_received"),
        (A, 7, 7, 1, "not_received"),
        # B: not rugged: end = highest tick present (6)
        (B, 0, 2, 3, "before_join"),
        # C: rug tick known, no tick at all, never live
        (C, 0, 4, 5, "before_join"),
        # D: no end known: no gaps; E: complete up to its rug (tick 9 beyond the rug ignored)
    ]


def test_tick_coverage_counts_within_zero_to_end() -> None:
    cov = tick_coverage(TICKS, GAMES)
    assert cov.rows() == [
        (A, 6, 5, "partial"),
        (B, 4, 3, "partial"),
        (C, 0, 5, "no_ticks"),
        (D, 0, None, "no_ticks"),
        (E, 4, 0, "complete"),
    ]
    assert cov.schema == {
        "game_id": pl.String,
        "ticks_recorded": pl.Int32,
        "ticks_missing": pl.Int32,
        "completeness": pl.String,
    }


def test_gaps_of_the_curated_game_are_the_unsampled_stretches(captures_dir: Path) -> None:
    asm = GameAssembler()
    for f in load_frames(captures_dir / FEB06):
        asm.feed(f)
    b = asm.drain()
    ticks, games = b.frame("ticks"), b.frame("games")
    g = "20260206-003482fbeaae4ad5"
    # samples: tick 0 (live), 99..103 (window of tick 103), 251..255 (window of the rug frame)
    assert find_gaps(ticks, games).filter(pl.col("game_id") == g).rows() == [
        (g, 1, 98, 98, "not_received"),
        (g, 104, 250, 147, "not_received"),
    ]
    assert tick_coverage(ticks, games).filter(pl.col("game_id") == g).rows() == [
        (g, 11, 245, "partial")
    ]
