"""ColumnRows: a sequence of row dicts kept as columns; its frame equals the frame of the same
rows given as dicts."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rugslab.assembly.raw_events import RAW_COLUMNS
from rugslab.assembly.ticks import TICK_COLUMNS
from rugslab.tables.batch import RowBatch
from rugslab.tables.columns import ColumnRows
from rugslab.tables.texts import TextArena

RAW = [
    {"frame_id": "a" * 32, "recv_ts": 1_765_559_818_624_285, "recv_mono_ns": 7,
     "session_id": "s", "seq": 1, "event": "gameStateUpdate", "game_id": None,
     "args_json": '[{"name":"é 😀"}]', "source": "x.jsonl"},
    {"frame_id": "b" * 32, "recv_ts": None, "recv_mono_ns": None, "session_id": None,
     "seq": None, "event": "newChatMessage", "game_id": "20251212-0123456789abcdef",
     "args_json": "[]", "source": "y"},
]


def _columns(rows: list[dict]) -> ColumnRows:
    c = ColumnRows(RAW_COLUMNS, text="args_json")
    for r in rows:
        c.append_values(*(r[k].encode() if k == "args_json" else r[k] for k in RAW_COLUMNS))
    return c


def _frames(rows: list[dict], table: str, c: ColumnRows) -> tuple[pl.DataFrame, pl.DataFrame]:
    as_dicts, as_cols = RowBatch(), RowBatch()
    as_dicts.extend(table, rows)
    as_cols.rows[table] = c
    return as_dicts.frame(table), as_cols.frame(table)


def test_rows_read_back_as_the_dicts_given() -> None:
    c = _columns(RAW)
    assert len(c) == 2 and bool(c)
    assert list(c) == RAW
    assert c[-1] == RAW[1]
    assert c.column("args_json") == ['[{"name":"é 😀"}]', "[]"]
    with pytest.raises(IndexError):
        c[2]


def test_frame_equals_the_frame_of_dict_rows() -> None:
    want, got = _frames(RAW, "raw_events", _columns(RAW))
    assert_frame_equal(got, want)
    assert got["recv_ts"][0] == datetime(2025, 12, 12, 17, 16, 58, 624285, tzinfo=UTC)


def test_extend_by_columns_and_by_dicts_keeps_order() -> None:
    c = _columns(RAW[:1])
    c.extend(_columns(RAW[1:]))
    c.extend(RAW)
    assert list(c) == RAW + RAW
    want, got = _frames(RAW + RAW, "raw_events", c)
    assert_frame_equal(got, want)


def test_a_null_text_value_is_kept_and_typed_as_for_dicts() -> None:
    rows = [RAW[0], {**RAW[1], "args_json": None}]
    c = _columns(RAW[:1])
    c.append(rows[1])
    assert list(c) == rows
    want, got = _frames(rows, "raw_events", c)
    assert_frame_equal(got, want)
    assert got["args_json"].to_list() == ['[{"name":"é 😀"}]', None]


def test_text_bytes_counts_texts_after_a_null_text_too() -> None:
    c = _columns(RAW[:1])
    first = c.text_bytes
    assert first == len(RAW[0]["args_json"].encode()) > 0
    c.append({**RAW[1], "args_json": None})  # the text column falls back to a list
    c.append({**RAW[1], "args_json": "[1,2,3]"})
    assert c.text_bytes == len(RAW[0]["args_json"]) + len("[1,2,3]")


def test_a_value_of_the_wrong_type_raises_type_error_as_for_dicts() -> None:
    c = ColumnRows(TICK_COLUMNS)
    c.append_values("20251212-0123456789abcdef", "12", 1.5, None, "live", False)
    b = RowBatch()
    b.rows["ticks"] = c
    with pytest.raises(TypeError):
        b.frame("ticks")


def test_ticks_frame_equals_the_frame_of_dict_rows() -> None:
    rows = [
        {"game_id": "20251212-0123456789abcdef", "tick": t, "price_x": 1.0 + t / 10,
         "recv_ts": 1_765_559_818_000_000 + t if t % 2 else None, "source": "live",
         "is_rug": t == 3}
        for t in range(4)
    ]
    c = ColumnRows(TICK_COLUMNS)
    for r in rows:
        c.append_values(*(r[k] for k in TICK_COLUMNS))
    want, got = _frames(rows, "ticks", c)
    assert_frame_equal(got, want)


def test_text_column_must_be_a_column() -> None:
    with pytest.raises(ValueError, match="text column 'body'"):
        ColumnRows(("a",), text="body")


def test_text_rows_are_freed_without_a_gc_pass_so_the_arena_lends_again() -> None:
    """No reference cycle: dropping the rows of a batch returns the arena's buffer at once
    (ingest runs with the cyclic GC off; a cycle would make the next batch copy it)."""
    arena = TextArena()
    gc.disable()
    try:
        first = ColumnRows(RAW_COLUMNS, text="args_json", arena=arena)
        first.append_values(*(RAW[0][k].encode() if k == "args_json" else RAW[0][k]
                              for k in RAW_COLUMNS))
        buf = first.text_memory
        del first
        second = _columns(RAW[1:])
        second_arena = ColumnRows(RAW_COLUMNS, text="args_json", arena=arena)
        second_arena.extend(second)
        assert second_arena.text_memory is buf
        assert list(second_arena) == RAW[1:]
    finally:
        gc.enable()


def test_append_tuple_refuses_rows_of_a_text_table() -> None:
    with pytest.raises(TypeError, match="append_values"):
        _columns([]).append_tuple(tuple(RAW[0].values()))


def test_merging_into_an_empty_batch_keeps_the_columns() -> None:
    """The collector merges each drain into its pending batch: the raw rows must stay
    columns (one buffer handed to Arrow), not become a list of dict rows."""
    drained, pending = RowBatch(), RowBatch()
    drained.rows["raw_events"] = _columns(RAW)
    pending.merge(drained)
    assert isinstance(pending.rows["raw_events"], ColumnRows)
    pending.merge(drained)  # a second merge extends them
    assert list(pending.rows["raw_events"]) == RAW + RAW


def test_append_text_row_equals_append_values() -> None:
    by_values = _columns(RAW)
    by_row = ColumnRows(RAW_COLUMNS, text="args_json")
    for r in RAW:
        by_row.append_text_row(r["args_json"].encode(),
                               tuple(r[k] for k in RAW_COLUMNS if k != "args_json"))
    assert list(by_row) == list(by_values) == RAW
