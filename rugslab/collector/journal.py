"""The collector's raw journal: every frame, on disk within a second, before anything else.

The journal is the raw archive (`rugslab.readers.archive`, one JSON line per frame) kept under
`<lake>/_journal/<YYYY-MM-DD>/<session>-<n>.jsonl`. The collector appends each frame the
moment it arrives and fsyncs at least every `fsync_every_s` (≤ 1 s), so `kill -9` loses at
most the last second. Lake partitions are written later from the same frames; a journal file
is listed in `<lake>/_journal/INGESTED` once everything in it is in the lake. On start, the
collector ingests every journal file not listed there (a previous run that crashed), which adds
no duplicates: lake writes are idempotent by key and a frame's id does not depend on whether it
came live or from the journal.

A full disk does not stop the journal: it holds the frames it cannot write in memory and
writes them once the disk takes them again (`Journal`).

One collector per lake: `collector_lock` holds `<lake>/_journal/.collector.lock`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from rugslab.backoff import JOURNAL_RETRY_BASE_S, JOURNAL_RETRY_CAP_S, Backoff
from rugslab.errors import LakeError
from rugslab.feed.frames import Frame
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
    lock = filelock.FileLock(root / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout as e:
        raise LakeError(
            f"another collector is already writing to the lake {lake}: stop it, or give "
            "this one its own --lake",
            path=lake,
        ) from e
    try:
        yield
    finally:
        lock.release()


class Journal:
    """Appends frames to the session's journal and fsyncs at least every `fsync_every_s`.

    Args:
        lake: lake root; files go to `<lake>/_journal/`.
        session_id: the collector session (file names start with it).
        fsync_every_s: the longest time a written frame may wait for its fsync.
        max_held_bytes: bytes of frame arguments (`Frame.args_json`) held in memory while the
            disk refuses writes; past it the oldest held frames are let go (`frames_let_go`).
        retry_base_s, retry_cap_s: the backoff of `retry()` after a refused write (first and
            largest ceiling, seconds; `backoff.Backoff`).

    A disk that refuses writes (full, read-only, I/O error) never raises out of this class:
    `error` says why while it lasts (`last_error` keeps it, `failures` counts them), the
    frames not surely on disk (since the last fsync, and every frame after) are held in memory
    in order, and `retry()` (called on a timer; backoff `retry_base_s`/`retry_cap_s`, by
    default `JOURNAL_RETRY_*`) writes them to a new file of the session once the disk takes
    them. The file that failed is cut back to its last
    fsynced byte (removed when that is 0), so every journal file holds whole lines only and no
    frame twice. Held frames keep their `seq`, hence their `frame_id`.
    """

    def __init__(self, lake: Path, session_id: str, *, fsync_every_s: float = 0.5,
                 max_held_bytes: int = 256 * 2**20, retry_base_s: float = JOURNAL_RETRY_BASE_S,
                 retry_cap_s: float = JOURNAL_RETRY_CAP_S) -> None:
        self.root = journal_root(lake)
        self.session_id = session_id
        self.writer = ArchiveWriter(self.root, session_id)
        self.fsync_every_s = fsync_every_s
        self.max_held_bytes = max_held_bytes
        self.frames = 0
        self.error: str | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.frames_let_go = 0
        self.backoff = Backoff(retry_base_s, retry_cap_s)
        self._retry_at = 0.0
        self._unsynced: list[Frame] = []  # written since the last fsync: in doubt on failure
        self._held: deque[Frame] = deque()  # not on disk: the disk refused them
        self._held_bytes = 0
        self._old_paths: list[Path] = []  # files of writers abandoned after a failure
        self._durable: tuple[Path, int] | None = None  # the current file and its fsynced size
        self._last_sync = time.monotonic()

    @property
    def paths(self) -> list[Path]:
        """The files this session has written."""
        return self._old_paths + [p for p in self.writer.paths if p not in self._old_paths]

    @property
    def held(self) -> int:
        """Frames held in memory because the disk refused them."""
        return len(self._held)

    def held_after(self, seq: int) -> int:
        """Held frames whose `seq` is past `seq` (those before it are in the lake already)."""
        return sum(1 for f in self._held if f.seq is None or f.seq > seq)

    def append(self, frame: Frame) -> None:
        """Write one frame (durable within `fsync_every_s`; call `sync_if_due` on a timer).

        While the disk refuses writes the frame is held in memory instead (class docstring).
        """
        self.frames += 1
        if self.error is not None:
            self._hold([frame])
        elif self._write(frame):
            self.sync_if_due()

    def sync_if_due(self) -> None:
        """fsync when the oldest unsynced frame is about to be `fsync_every_s` old."""
        if self._unsynced and time.monotonic() - self._last_sync >= self.fsync_every_s:
            self.sync()

    def sync(self) -> bool:
        """Flush and fsync now. Returns False when the disk refused (`error` says why)."""
        if self.error is not None:
            return False
        try:
            self.writer.flush_durable()
            path = self.writer.path
            self._durable = None if path is None else (path, path.stat().st_size)
        except (LakeError, OSError) as e:
            self._fail(e, [])
            return False
        self._unsynced.clear()
        self._last_sync = time.monotonic()
        return True

    def retry(self) -> bool:
        """Write the held frames when the retry backoff allows; True when none is held."""
        if self.error is None:
            return True
        if time.monotonic() < self._retry_at:
            return False
        return self._write_held()

    def seconds_since_durable(self) -> float:
        """Seconds since everything written was last on disk (0 when nothing is pending)."""
        if not self._unsynced and not self._held:
            return 0.0
        return time.monotonic() - self._last_sync

    def close(self) -> bool:
        """Write what is held (one last try), fsync and close.

        Returns:
            True when every appended frame is on disk; otherwise `held` frames (and
            `frames_let_go` earlier) are not, and `error` says why.
        """
        if self.error is not None:
            self._write_held()
        if self.error is None:
            try:
                self.writer.close()
            except (LakeError, OSError) as e:
                self._fail(e, [])
        return self.error is None

    def _write(self, frame: Frame) -> bool:
        before = self.writer.path
        try:
            self.writer.write_frame(frame)
        except (LakeError, OSError) as e:
            self._fail(e, [frame])
            return False
        if self.writer.path != before:  # a new file; the writer closed the last one durably
            self._unsynced.clear()
            self._durable = (self.writer.paths[-1], 0)
        self._unsynced.append(frame)
        return True

    def _write_held(self) -> bool:
        frames = list(self._held)
        self._held.clear()
        self._held_bytes = 0
        self.error = None
        for i, f in enumerate(frames):
            if not self._write(f):
                self._hold(frames[i + 1 :])
                return False
        if not self.sync():
            return False
        self.backoff.reset()
        return True

    def _fail(self, e: Exception, frames: list[Frame]) -> None:
        """Abandon the writer, cut its file back to the last fsync, hold what is in doubt."""
        self.failures += 1
        self.error = self.last_error = str(e)
        with contextlib.suppress(Exception):  # its flush fails again; the cut undoes any of it
            self.writer.close()
        if self._durable is not None:
            # a cut needs no free space; if it fails anyway, recovery drops a torn last line
            # and the held frames rewritten later have the same frame ids (no duplicate rows)
            path, size = self._durable
            with contextlib.suppress(OSError):
                if size:
                    os.truncate(path, size)
                else:  # nothing of it was on disk: no empty file per failed retry
                    path.unlink()
                    self.writer.paths.remove(path)
        self._old_paths.extend(p for p in self.writer.paths if p not in self._old_paths)
        self.writer = ArchiveWriter(self.root, self.session_id)
        self._durable = None
        older, self._held, self._held_bytes = self._held, deque(), 0
        self._hold([*self._unsynced, *frames, *older])
        self._unsynced = []
        self._retry_at = time.monotonic() + self.backoff.next_delay()

    def _hold(self, frames: list[Frame]) -> None:
        for f in frames:
            self._held.append(f)
            self._held_bytes += len(f.args_json)
        while self._held_bytes > self.max_held_bytes and self._held:
            f = self._held.popleft()
            self._held_bytes -= len(f.args_json)
            self.frames_let_go += 1
