"""RawEvents: the `raw_events` rows an assembler gathers, one per frame, kept as columns.

A frame's arguments (~6 KB of JSON) are its row's bulk: they go back to back into a buffer
that a `texts.TextArena` lends from batch to batch, so a run touches that memory once
(`columns.ColumnRows` with a text column). The other columns are plain values.

Source: the `raw_events` table of `rugslab.tables.schemas` (every frame as received).
"""

from __future__ import annotations

from rugslab.feed.frames import Frame
from rugslab.tables.batch import RowBatch
from rugslab.tables.columns import ColumnRows
from rugslab.tables.texts import TextArena

#: `raw_events` columns in the order `RawEvents.add` appends them.
RAW_COLUMNS = ("frame_id", "recv_ts", "recv_mono_ns", "session_id", "seq", "event", "game_id",
               "args_json", "source")


class RawEvents:
    """The pending `raw_events` rows of one assembler; the rows live in its current batch."""

    __slots__ = ("_arena", "_rows")

    def __init__(self) -> None:
        self._arena = TextArena()
        self._rows: ColumnRows | None = None

    def add(
        self, batch: RowBatch, fr: Frame, fid: str, recv: int | None, event: str,
        game_id: str | None, args_json: bytes, source: str,
    ) -> None:
        """Append the row of frame `fr` (its checked id, receive time, event name, game id,
        argument text and source) to `batch.rows["raw_events"]`."""
        rows = self._rows
        if rows is None:
            rows = self._rows = ColumnRows(RAW_COLUMNS, text="args_json", arena=self._arena)
            batch.rows["raw_events"] = rows
        mono, sid, seq = fr.recv_mono_ns, fr.session_id, fr.seq
        rows.append_text_row(args_json, (
            fid, recv, mono if type(mono) is int else None, sid if type(sid) is str else None,
            seq if type(seq) is int else None, event, game_id, source))

    @property
    def nbytes(self) -> int:
        """Bytes of frame arguments in the pending rows."""
        return self._rows.text_bytes if self._rows is not None else 0

    def restart(self) -> None:
        """Start new rows with the next frame (the batch holding these was handed over)."""
        self._rows = None
