"""RawEvents: one raw_events row per frame, into the batch it is given."""

from __future__ import annotations

from rugslab.assembly.raw_events import RAW_COLUMNS, RawEvents
from rugslab.feed.frames import Frame
from rugslab.tables.batch import RowBatch

SESSION = "a" * 32


def _frame(i: int) -> Frame:
    return Frame("gameStateUpdate", [{"i": i}], "src", recv_ts_us=1_000 + i, recv_mono_ns=7 * i,
                 seq=i, session_id=SESSION)


def test_rows_hold_the_frame_fields_and_its_argument_text() -> None:
    raw, batch = RawEvents(), RowBatch()
    frames = [_frame(1), _frame(2)]
    for f in frames:
        raw.add(batch, f, f.frame_id, f.recv_ts_us, f.event, None, f.args_json, "src")
    assert list(batch.rows["raw_events"][0]) == list(RAW_COLUMNS)
    assert [r["args_json"] for r in batch.rows["raw_events"]] == ['[{"i":1}]', '[{"i":2}]']
    assert [(r["seq"], r["session_id"], r["recv_mono_ns"]) for r in batch.rows["raw_events"]] == [
        (1, SESSION, 7), (2, SESSION, 14)]
    assert raw.nbytes == len(frames[0].args_json) + len(frames[1].args_json)


def test_restart_puts_the_next_rows_in_the_next_batch() -> None:
    raw, first, second = RawEvents(), RowBatch(), RowBatch()
    f, g = _frame(1), _frame(2)
    raw.add(first, f, f.frame_id, f.recv_ts_us, f.event, None, f.args_json, "src")
    raw.restart()
    assert raw.nbytes == 0
    raw.add(second, g, g.frame_id, g.recv_ts_us, g.event, None, g.args_json, "src")
    assert [r["frame_id"] for r in first.rows["raw_events"]] == [f.frame_id]
    assert [r["frame_id"] for r in second.rows["raw_events"]] == [g.frame_id]
