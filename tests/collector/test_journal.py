"""The journal: pending files, the ingested list, one collector per lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from rugslab.collector.journal import (
    Journal,
    collector_lock,
    ingested_journals,
    mark_ingested,
    pending_journals,
)
from rugslab.errors import LakeError
from rugslab.feed.frames import Frame
from rugslab.readers import read_frames

SESSION = "a" * 32


def _frame(i: int) -> Frame:
    """Frame i as the collector builds it: its session, seq counting from 1."""
    return Frame("gameStateUpdate", [{"gameId": "20251212-0123456789abcdef", "n": i}],
                 source="test", recv_ts_us=1_765_500_000_000_000 + i, recv_mono_ns=i,
                 seq=i + 1, session_id=SESSION)


def test_journalled_frames_read_back_and_are_pending_until_marked(tmp_path: Path) -> None:
    j = Journal(tmp_path, SESSION, fsync_every_s=0.0)
    for i in range(5):
        j.append(_frame(i))
    assert j.seconds_since_durable() == 0.0  # fsync_every_s=0: synced at every append
    j.close()
    (path,) = j.paths
    assert pending_journals(tmp_path) == [path]
    back = list(read_frames(path))
    assert [f.args for f in back] == [_frame(i).args for i in range(5)]  # type: ignore[union-attr]
    assert [f.frame_id for f in back] == [_frame(i).frame_id for i in range(5)]  # type: ignore[union-attr]
    mark_ingested(tmp_path, [path])
    assert pending_journals(tmp_path) == []
    assert ingested_journals(tmp_path) == {str(path.relative_to(tmp_path / "_journal"))}


def test_a_second_collector_on_the_same_lake_is_refused(tmp_path: Path) -> None:
    with (
        collector_lock(tmp_path),
        pytest.raises(LakeError, match="another collector"),
        collector_lock(tmp_path),
    ):
        pass
    with collector_lock(tmp_path):  # released: a later collector may start
        pass
