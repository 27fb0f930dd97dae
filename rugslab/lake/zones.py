"""The lake's side of "one recording, one zone" (`rugslab.readers.clock`): the receive times
of the capture frames it already holds, so a capture read again (whole, in part, or
overlapping) is read under the zone its frames already have.

    zones = RecordingZones(LakeReceipts(lake))   # one per ingest run (`rugslab.ingest`)
    read_frames(path, zones=zones)               # every file of the run

Only frames without a (session_id, seq) are looked at (captures and browser logs; collector
frames carry UTC times), and only in the partitions their time window can reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from rugslab.lake.delta import open_table
from rugslab.lake.delta_read import scan_files, table_files

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: a game's frames sit in the partition of its id's date, which can be the day before they
#: were received (a game that runs over midnight)
_GAME_DAY_SLACK = timedelta(days=1)


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


class LakeReceipts:
    """The receipts of a lake's frames without (session_id, seq) (`clock.LakeReceipts`).

    Args:
        lake: lake root folder (it may not exist yet: then it holds nothing).
    """

    def __init__(self, lake: Path | str) -> None:
        self.lake = Path(lake)
        self._files: list[tuple[Path, date]] = []

    def _not_by_session(self) -> pl.Expr:
        return pl.col("session_id").is_null() | pl.col("seq").is_null()

    def receipts(self, lo_us: int, hi_us: int) -> list[tuple[int, str, str]]:
        """(recv_ts µs, event, frame_id) of the lake's frames without (session_id, seq)
        received in [lo_us, hi_us].

        Raises:
            LakeError: a lake file cannot be read.
        """
        lo, hi = _dt(lo_us), _dt(hi_us)
        first, last = (lo - _GAME_DAY_SLACK).date(), (hi + _GAME_DAY_SLACK).date()
        dt = open_table(self.lake, "raw_events")
        self._files = [] if dt is None else [
            (p, d) for p, d in table_files(dt) if first <= d <= last]
        if not self._files:
            return []
        where = self._not_by_session() & pl.col("recv_ts").is_between(lo, hi)
        rows = scan_files(self._files, "raw_events", columns=["recv_ts", "event", "frame_id"],
                          where=where)
        us = rows["recv_ts"].dt.epoch("us")
        return list(zip(us.to_list(), rows["event"].to_list(), rows["frame_id"].to_list(),
                        strict=True))

    def args_of(self, frame_ids: Sequence[str]) -> dict[str, str]:
        """frame_id → args_json of those of `frame_ids` in the files the last `receipts`
        call read.

        Raises:
            LakeError: a lake file cannot be read.
        """
        if not self._files or not frame_ids:
            return {}
        rows = scan_files(self._files, "raw_events", columns=["frame_id", "args_json"],
                          where=pl.col("frame_id").is_in(list(frame_ids)))
        return dict(zip(rows["frame_id"].to_list(), rows["args_json"].to_list(), strict=True))

