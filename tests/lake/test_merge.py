"""Merge rules: rows of one key combine by first / min / max / any, associatively."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rugslab.lake.merge import merge_rows
from rugslab.tables.batch import RowBatch

GID = "20251207-e8186dbf38e046d1"
GID2 = "20251207-00000000000000ff"


def _games(rows: list[dict[str, object]]) -> pl.DataFrame:
    b = RowBatch()
    b.extend("games", rows)
    return b.frame("games")


def test_each_column_merges_by_its_rule() -> None:
    t1, t2 = datetime(2025, 12, 7, 1, tzinfo=UTC), datetime(2025, 12, 7, 2, tzinfo=UTC)
    old = {"game_id": GID, "version": None, "first_seen_ts": t2, "first_live_tick": 129,
           "last_live_tick": 200, "peak_x": 3.5, "seen_live": True, "revealed": False}
    new = {"game_id": GID, "version": "v3", "first_seen_ts": t1, "first_live_tick": 0,
           "last_live_tick": 180, "rug_tick": 266, "peak_x": 2.0, "seen_live": False,
           "revealed": True}
    out = merge_rows(_games([old, new]), "games")
    assert out.height == 1
    r = out.row(0, named=True)
    assert (r["version"], r["first_seen_ts"], r["first_live_tick"], r["last_live_tick"]) == (
        "v3", t1, 0, 200)
    assert (r["rug_tick"], r["peak_x"], r["seen_live"], r["revealed"]) == (266, 3.5, True, True)


def test_first_rule_keeps_the_older_non_null_value() -> None:
    a = {"game_id": GID, "version": "v2", "seen_live": False, "revealed": False}
    b = {"game_id": GID, "version": "v3", "seen_live": False, "revealed": False}
    assert merge_rows(_games([a, b]), "games")["version"].to_list() == ["v2"]


def test_output_is_sorted_by_key_with_one_row_per_key() -> None:
    rows = [{"game_id": g, "seen_live": False, "revealed": False} for g in (GID, GID2, GID)]
    assert merge_rows(_games(rows), "games")["game_id"].to_list() == [GID2, GID]


def test_non_merge_table_is_refused() -> None:
    with pytest.raises(ValueError, match="'ticks' is of kind 'append'"):
        merge_rows(pl.DataFrame(), "ticks")


_TRUTH = {"version": "v3", "server_seed_hash": "a" * 64, "crash_price_x": 0.004}


@st.composite
def _partial_game(draw: st.DrawFn) -> dict[str, object]:
    """A games row as one source sees it: facts either known (the truth) or null."""
    row: dict[str, object] = {"game_id": draw(st.sampled_from([GID, GID2]))}
    for col, val in _TRUTH.items():
        row[col] = val if draw(st.booleans()) else None
    for col in ("first_live_tick", "last_live_tick", "rug_tick"):
        row[col] = draw(st.none() | st.integers(0, 5000))
    row["peak_x"] = draw(st.none() | st.floats(1.0, 1000.0))
    row["seen_live"] = draw(st.booleans())
    row["revealed"] = draw(st.booleans())
    return row


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(_partial_game(), min_size=1, max_size=8),
    cut=st.integers(0, 8),
    order=st.randoms(use_true_random=False),
)
def test_merge_is_associative_and_order_free_for_agreeing_sources(rows, cut, order) -> None:
    whole = merge_rows(_games(rows), "games")
    a, b = rows[:cut], rows[cut:]
    staged = merge_rows(
        pl.concat([merge_rows(_games(a), "games"), merge_rows(_games(b), "games")]), "games"
    )
    shuffled = list(rows)
    order.shuffle(shuffled)
    assert staged.equals(whole)
    assert merge_rows(_games(shuffled), "games").equals(whole)
