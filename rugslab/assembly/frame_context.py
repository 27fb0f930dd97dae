"""FrameContext: the frame `GameAssembler.feed` is taking, as its `rejects` rows name it.

One is made per frame and passed down to every step that may reject (`assembly.assembler`,
`assembly.history_fold`); `FrameContext.reject` adds such a row to the batch.

Source: `tables.rejects` (the row and its id).
"""

from __future__ import annotations

from typing import NamedTuple

from rugslab.tables.batch import RowBatch
from rugslab.tables.rejects import reject_row


class FrameContext(NamedTuple):
    """The frame being fed, as its `rejects` rows name it.

    Attributes:
        frame_id: `Frame.frame_id` (for args that are not JSON: an id over event, receive time
            and the args' repr); "" when a frame could not be read that far.
        source: `Frame.source` (its repr when not a str).
        recv_ts_us: `Frame.recv_ts_us` when an int, else None.
        args_json: the argument list as JSON text (`Frame.args_json`); b"" in the context of
            a frame whose args are not JSON, or of an internal error (those rejects carry the
            args' `json_text`).
    """

    frame_id: str
    source: str
    recv_ts_us: int | None
    args_json: bytes

    @property
    def raw(self) -> str:
        """The frame's arguments as JSON text: a reject row's `raw`."""
        return self.args_json.decode()

    def reject(self, batch: RowBatch, table: str, reason: str, raw: str | None = None) -> None:
        """Add to `batch` a `rejects` row for this frame, counted in `rejects` and
        `rejects.<table>`: `raw` (default: the frame's arguments, `raw`) could not become a
        row of `table` for `reason`."""
        batch.add(
            "rejects",
            reject_row((self.frame_id, table, reason), table, reason,
                       self.raw if raw is None else raw, source=self.source,
                       recv_ts=self.recv_ts_us),
        )
        batch.count("rejects")
        batch.count(f"rejects.{table}")
