"""The collector's raw journal: every frame, on disk within a second, before anything else.

The journal is the raw archive (`rugslab.readers.archive`, one JSON line per frame) kept under
`<lake>/_journal/<YYYY-MM-DD>/<session>-<n>.jsonl`. The collector appends each frame the
moment it arrives and fsyncs at least every `fsync_every_s` (≤ 1 s), so `kill -9` loses at
most the last second. Lake partitions are written later from the same frames; a journal file
is listed in `<lake>/_journal/INGESTED` once everything in it is in the lake. On start, the
collector ingests every journal file not listed there (a previous run that crashed), which adds
no duplicates: lake writes are idempotent by key and a frame's id does not depend on whether it
came live or from the journal.

One collector per lake: `collector_lock` holds `<lake>/_journal/.collector.lock`.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rugslab.errors import LakeError
from rugslab.events import Frame
from rugslab.readers.archive import ArchiveWriter

JOURNAL_DIR = "_journal"
INGESTED_FILE = "INGESTED"
LOCK_FILE = ".collector.lock"


def journal_root(lake: Path) -> Path:
    """`<lake>/_journal`."""
    return Path(lake) / JOURNAL_DIR


def ingested_journals(lake: Path) -> set[str]:
    """Journal files (paths relative to the journal root) already fully in the lake."""
    f = journal_root(lake) / INGESTED_FILE
    if not f.is_file():
        return set()
    return {line.strip() for line in f.read_text().splitlines() if line.strip()}


def pending_journals(lake: Path) -> list[Path]:
    """Journal files not yet fully in the lake, oldest first."""
    root = journal_root(lake)
    if not root.is_dir():
        return []
    done = ingested_journals(lake)
    files = [p for p in root.rglob("*.jsonl*") if p.is_file() and ".tmp-" not in p.name]
    return sorted(
        (p for p in files if str(p.relative_to(root)) not in done),
        key=lambda p: (p.stat().st_mtime, str(p)),
    )


def mark_ingested(lake: Path, paths: list[Path]) -> None:
    """Record `paths` as fully in the lake (appended to `INGESTED`, fsynced).

    Raises:
        LakeError: the list cannot be written.
    """
    if not paths:
        return
    root = journal_root(lake)
    lines = "".join(f"{p.resolve().relative_to(root.resolve())}\n" for p in paths)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(root / INGESTED_FILE, "a") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise LakeError(f"cannot update {root / INGESTED_FILE}: {e}", path=root) from e


@contextmanager
def collector_lock(lake: Path) -> Iterator[None]:
    """Hold the lake's collector lock, so two collectors never share one journal.

    Raises:
        LakeError: another collector is running on this lake (the message says so).
    """
    root = journal_root(lake)
    root.mkdir(parents=True, exist_ok=True)
    fh = open(root / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise LakeError(
                f"another collector is already writing to the lake {lake}: stop it, or give "
                "this one its own --lake",
                path=lake,
            ) from e
        yield
    finally:
        fh.close()


class Journal:
    """Appends frames to the session's journal and fsyncs at least every `fsync_every_s`.

    Args:
        lake: lake root; files go to `<lake>/_journal/`.
        session_id: the collector session (file names start with it).
        fsync_every_s: the longest time a written frame may wait for its fsync.
    """

    def __init__(self, lake: Path, session_id: str, *, fsync_every_s: float = 0.5) -> None:
        self.writer = ArchiveWriter(journal_root(lake), session_id)
        self.fsync_every_s = fsync_every_s
        self.frames = 0
        self._synced_frames = 0
        self._last_sync = time.monotonic()

    @property
    def paths(self) -> list[Path]:
        """The files this session has written."""
        return list(self.writer.paths)

    def append(self, frame: Frame) -> None:
        """Write one frame (durable within `fsync_every_s`; call `sync_if_due` on a timer)."""
        self.writer.write_frame(frame)
        self.frames += 1
        self.sync_if_due()

    def sync_if_due(self) -> None:
        """fsync when the oldest unsynced frame is about to be `fsync_every_s` old."""
        if self.frames != self._synced_frames and (
            time.monotonic() - self._last_sync >= self.fsync_every_s
        ):
            self.sync()

    def sync(self) -> None:
        """Flush and fsync now."""
        self.writer.flush_durable()
        self._synced_frames = self.frames
        self._last_sync = time.monotonic()

    def seconds_since_durable(self) -> float:
        """Seconds since everything written was last on disk (0 when nothing is pending)."""
        if self.frames == self._synced_frames:
            return 0.0
        return time.monotonic() - self._last_sync

    def close(self) -> None:
        """fsync and close."""
        self.writer.close()
        self._synced_frames = self.frames
