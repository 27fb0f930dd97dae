"""Captured frames → a send schedule for the replay server.

`replay_schedule(frames, speed)` keeps each frame's event and original argument list
(two-argument events stay `[trace, payload]`) and its captured timing: the gap between two
consecutive frames of the same source is `(recv_ts_us[i] − recv_ts_us[i−1]) / speed`, with
zero or negative gaps (catch-up bursts, clock steps) sent at once and unknown times (None)
counted as 0. Successive files follow each other without a pause.

Recorder markers (`connect`, `disconnect`, `connect_error`) are not server broadcasts and are
skipped; `BadRecord`s cannot be sent. Both are counted in `ReplayStats`, never dropped unseen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rugslab.errors import ConfigError
from rugslab.feed.frames import MARKER_EVENTS, BadRecord, Frame
from rugslab.readers import read_frames
from rugslab.sim.feed import ScheduledFrame


@dataclass(slots=True)
class ReplayStats:
    """What the replay read: frames scheduled, markers skipped, unreadable records."""

    frames: int = 0
    markers_skipped: int = 0
    bad_records: int = 0
    bad_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The counts as a plain dict (for JSON summaries)."""
        return {"frames": self.frames, "markers_skipped": self.markers_skipped,
                "bad_records": self.bad_records, "bad_reasons": dict(self.bad_reasons)}


def replay_schedule(frames: Iterable[Frame | BadRecord], speed: float = 1.0,
                    stats: ReplayStats | None = None) -> Iterator[ScheduledFrame]:
    """Turn frames (in file order) into `ScheduledFrame`s with captured timing ÷ `speed`.

    Raises:
        ConfigError: `speed` ≤ 0.
    """
    if not speed > 0:
        raise ConfigError(f"Invalid --speed {speed!r}: expected a number > 0 (1 = as captured).")
    st = stats if stats is not None else ReplayStats()
    at_s = 0.0
    prev_ts: int | None = None
    prev_src: str | None = None
    for fr in frames:
        if isinstance(fr, BadRecord):
            st.bad_records += 1
            st.bad_reasons[fr.reason] = st.bad_reasons.get(fr.reason, 0) + 1
            continue
        if fr.event in MARKER_EVENTS:
            st.markers_skipped += 1
            continue
        if fr.source != prev_src:
            prev_ts = None
            prev_src = fr.source
        if fr.recv_ts_us is not None:
            if prev_ts is not None and fr.recv_ts_us > prev_ts:
                at_s += (fr.recv_ts_us - prev_ts) / 1e6 / speed
            prev_ts = fr.recv_ts_us if prev_ts is None else max(prev_ts, fr.recv_ts_us)
        st.frames += 1
        yield ScheduledFrame(at_s, fr.event, list(fr.args))


def read_files(paths: Sequence[Path | str]) -> Iterator[Frame | BadRecord]:
    """The frames of every file in `paths`, in order (any format `read_frames` reads).

    Raises:
        InputFormatError: a file is missing or in no readable format (raised before any
            frame of that file is yielded).
    """
    for p in paths:
        yield from read_frames(p)
