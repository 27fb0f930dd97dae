"""Archive: the collector's raw journal of frames (format `rugslab-archive`, version 1).

One JSON object a line, one line per received Socket.IO event, written in arrival order:

    {"v": 1, "session": "<uuid4 hex>", "seq": 1, "recv_wall_ns": 1765559818624285000,
     "recv_mono_ns": 81234567890123, "event": "gameStateUpdate", "args": [{...}]}

    v             format version (1)
    session       collector session id: 32 lowercase hex chars (uuid4().hex), one per process run
    seq           1-based position within the session, increasing across the session's files
                  (a frame the collector received but could not write leaves a hole)
    recv_wall_ns  receive wall clock, ns since the Unix epoch, UTC (`time.time_ns()`)
    recv_mono_ns  receive monotonic clock, ns (`time.monotonic_ns()`); only comparable within
                  one session; null when unknown
    event         Socket.IO event name (markers such as `connect`/`disconnect` included)
    args          the full Socket.IO argument list, trace argument included, as received

Files: `<root>/<YYYY-MM-DD>/<session>-<n>.jsonl`, the date being the UTC date of the file's
first frame and `n` counting the session's files from 1. A writer starts a new file at UTC
midnight and when a file passes `max_bytes`. Lines are appended; `flush_durable()` (flush +
fsync) makes everything written so far survive a crash; a crash can only tear the last line,
which the reader reports as a `BadRecord`. Files may be gzipped later (`*.jsonl.gz`); the
reader decompresses transparently.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from rugslab.errors import FrameError, LakeError
from rugslab.feed.frames import BadRecord, Frame
from rugslab.readers.fields import state_fields
from rugslab.readers.files import iter_lines, line_text, source_name

ARCHIVE_VERSION = 1
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def archive_date(recv_wall_ns: int) -> str:
    """`YYYY-MM-DD`, the UTC date of an epoch-ns receive time."""
    return datetime.fromtimestamp(recv_wall_ns / 1e9, tz=UTC).strftime("%Y-%m-%d")


class ArchiveWriter:
    """Append frames to the raw journal of one collector session.

    Use as a context manager; `close()` flushes durably. Not thread-safe: one writer per
    session, called from the receive loop.

    Args:
        root: archive folder; day folders are created inside it.
        session: session id (32 hex chars); a fresh `uuid4().hex` when None.
        max_bytes: start a new file once the current one holds at least this many bytes.
        wall_ns / mono_ns: clocks used when `write` is not given receive times (test seams).

    Files are opened lazily on the first `write`; errors surface there as `LakeError`.
    """

    def __init__(
        self,
        root: Path | str,
        session: str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        wall_ns: Callable[[], int] = time.time_ns,
        mono_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.root = Path(root)
        self.session = session or uuid.uuid4().hex
        self.max_bytes = max_bytes
        self._wall_ns = wall_ns
        self._mono_ns = mono_ns
        self._seq = 0
        self._part = 0
        self._file: IO[bytes] | None = None
        self._date: str | None = None
        self._bytes = 0
        self.paths: list[Path] = []

    @property
    def seq(self) -> int:
        """The `seq` of the last frame written (0 before the first)."""
        return self._seq

    @property
    def path(self) -> Path | None:
        """The file being written, None before the first frame."""
        return self.paths[-1] if self._file is not None else None

    def write(
        self,
        event: str,
        args: list[Any],
        *,
        recv_wall_ns: int | None = None,
        recv_mono_ns: int | None = None,
    ) -> int:
        """Append one frame as received; returns its `seq`.

        Args:
            event: Socket.IO event name.
            args: the argument list as received (JSON-serialisable).
            recv_wall_ns / recv_mono_ns: receive times; read from the clocks when None.

        Raises:
            FrameError: `args` cannot be serialised to JSON (nothing is written).
            LakeError: the file cannot be opened or written.
        """
        wall = self._wall_ns() if recv_wall_ns is None else recv_wall_ns
        mono = self._mono_ns() if recv_mono_ns is None else recv_mono_ns
        return self._append(event, args, wall, mono)

    def write_frame(self, frame: Frame) -> int:
        """Append a `Frame` (µs receive time → ns; a missing monotonic time stays null);
        returns its `seq` in this session.

        A frame of this writer's own session (the collector journals the frames it builds,
        `Frame.session_id` = `session`) keeps its `seq` when it is past the last one written,
        so the frame read back has the live frame's `frame_id` even after a frame that could
        not be written (its seq is then a hole). Any other frame gets the next seq.

        Raises:
            FrameError: the frame has no receive time, or its args are not serialisable.
            LakeError: the file cannot be opened or written.
        """
        if frame.recv_ts_us is None:
            raise FrameError(
                f"frame {frame.event!r} from {frame.source} has no receive time; the archive "
                "needs recv_wall_ns (give the frame a recv_ts_us)."
            )
        seq = frame.seq
        if frame.session_id != self.session or type(seq) is not int or seq <= self._seq:
            seq = None
        return self._append(
            frame.event, frame.args, frame.recv_ts_us * 1000, frame.recv_mono_ns, seq
        )

    def _append(
        self, event: str, args: list[Any], wall: int, mono: int | None, seq: int | None = None
    ) -> int:
        seq = self._seq + 1 if seq is None else seq
        rec = {
            "v": ARCHIVE_VERSION,
            "session": self.session,
            "seq": seq,
            "recv_wall_ns": wall,
            "recv_mono_ns": mono,
            "event": event,
            "args": args,
        }
        try:
            line = orjson.dumps(rec) + b"\n"
        except TypeError as e:  # orjson.JSONEncodeError subclasses TypeError
            raise FrameError(f"event {event!r}: arguments are not JSON-serialisable ({e})") from e
        date = archive_date(wall)
        if self._file is None or date != self._date or self._bytes >= self.max_bytes:
            self._open(date)
        assert self._file is not None
        try:
            self._file.write(line)
        except OSError as e:
            raise LakeError(f"Cannot write archive file {self.path}: {e}", path=self.path) from e
        self._bytes += len(line)
        self._seq = seq
        return seq

    def flush_durable(self) -> None:
        """Flush Python's buffer and fsync the file: what was written survives a crash.

        Raises:
            LakeError: the flush or fsync failed (disk full, I/O error).
        """
        if self._file is None:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise LakeError(f"Cannot flush archive file {self.path}: {e}", path=self.path) from e

    def close(self) -> None:
        """Flush durably and close the current file (idempotent)."""
        if self._file is not None:
            try:
                self.flush_durable()
            finally:
                self._file.close()
                self._file = None

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self, date: str) -> None:
        self.close()
        folder = self.root / date
        try:
            folder.mkdir(parents=True, exist_ok=True)
            while True:
                self._part += 1
                p = folder / f"{self.session}-{self._part}.jsonl"
                if not p.exists() and not p.with_suffix(".jsonl.gz").exists():
                    break
            # "xb": never append to (or clobber) a file another writer owns
            self._file = open(p, "xb")  # noqa: SIM115 - closed in close()
        except OSError as e:
            raise LakeError(f"Cannot open archive file in {folder}: {e}", path=folder) from e
        self.paths.append(p)
        self._date = date
        self._bytes = 0
        # make the new directory entry itself durable
        if hasattr(os, "O_DIRECTORY"):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_archive_record(obj: Any) -> str | None:
    """Why a decoded archive line is invalid, or None when it is a valid version-1 record."""
    if not isinstance(obj, dict):
        return f"is a JSON {type(obj).__name__}, expected an object"
    why = _header_problem(obj)
    if why is not None:
        return why
    if not isinstance(obj.get("args"), list):
        return "missing or non-list 'args'"
    return None


def _header_problem(obj: dict[str, Any]) -> str | None:
    """Why the fields of a decoded archive line other than `args` are invalid, or None."""
    event, session, seq = obj.get("event"), obj.get("session"), obj.get("seq")
    wall, mono = obj.get("recv_wall_ns"), obj.get("recv_mono_ns")
    if (obj.get("v") == ARCHIVE_VERSION and type(event) is str and event
            and type(session) is str and session and type(seq) is int and type(wall) is int
            and (mono is None or type(mono) is int)):
        return None  # the usual line, on orjson's exact types; the rest is judged below
    if obj.get("v") != ARCHIVE_VERSION:
        return f"archive version {obj.get('v')!r} is not supported (expected {ARCHIVE_VERSION})"
    for key in ("session", "event"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            return f"missing or non-string {key!r}"
    for key in ("seq", "recv_wall_ns"):
        if not _int(obj.get(key)):
            return f"missing or non-integer {key!r}"
    if mono is not None and not _int(mono):
        return f"'recv_mono_ns' {mono!r} is not an integer"
    return None


_ARGS_KEY = b',"args":'
#: Events whose payload is decoded lazily: only `feed.frames.STATE_FIELDS` (the big rest of a
#: gameStateUpdate, e.g. its leaderboard, is never turned into Python objects).
LAZY_EVENTS = frozenset({"gameStateUpdate"})


def _fast_frame(line: bytes, src: str) -> Frame | None:
    """The frame of an `ArchiveWriter` line, decoding only the header and the arguments.

    `ArchiveWriter` writes `args` as the last key, compactly (orjson). The first `,"args":`
    of such a line is that key: an earlier one would sit inside a string or a nested value,
    and then the header cut before it would not parse as an object. The arguments are kept
    as the bytes of the line (`Frame.args_json`), not re-encoded; for `LAZY_EVENTS` only the
    payload's `STATE_FIELDS` are decoded (`Frame.lazy`). Returns None for any line that is
    not so (other key order or spacing, bad record): the caller decodes it whole.
    """
    i = line.find(_ARGS_KEY)
    if i < 0:
        return None
    end = line.rfind(b"}")  # the record's closing brace: only whitespace may follow it
    tail = line[end + 1 :]
    if end < 0 or (tail and not tail.isspace()):
        return None
    args_json = line[i + len(_ARGS_KEY) : end]
    try:
        head = orjson.loads(line[:i] + b"}")
    except orjson.JSONDecodeError:
        return None
    if type(head) is not dict or "args" in head or _header_problem(head) is not None:
        return None
    event, session, seq = head["event"], head["session"], head["seq"]
    wall, mono = head["recv_wall_ns"], head.get("recv_mono_ns")
    if event in LAZY_EVENTS:
        fields = state_fields(args_json)  # a JSON array whose payload is an object, or None
        if fields is not None:
            return Frame.lazy(event, args_json, fields, src, wall // 1000, mono, seq, session)
    try:
        args = orjson.loads(args_json)
    except orjson.JSONDecodeError:
        return None
    if type(args) is not list:
        return None
    return Frame(event, args, src, wall // 1000, mono, seq, session, args_json)


def read_archive(path: Path | str) -> Iterator[Frame | BadRecord]:
    """Frames of a `rugslab-archive` file (plain or gzip), streaming.

    Yields:
        A `Frame` per valid line (`recv_ts_us = recv_wall_ns // 1000`, `recv_mono_ns`,
        `seq`, `session_id` from the record; `source` the path; `args_json` the line's
        `args` text as written), a `BadRecord` per invalid line (a torn last line after a
        crash is the usual one).

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
    """
    src = source_name(path)
    for n, line in iter_lines(path):
        try:
            frame = _fast_frame(line, src)
        except Exception:  # the fast path is an optimisation: never fatal
            frame = None  # the line is read the ordinary way below
        if frame is not None:
            yield frame
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            yield BadRecord(src, n, line_text(line), f"line {n} is not valid JSON ({e})")
            continue
        why = parse_archive_record(obj)
        if why is not None:
            yield BadRecord(src, n, line_text(line), f"line {n}: {why}")
            continue
        yield Frame(
            event=obj["event"],
            args=obj["args"],
            source=src,
            recv_ts_us=obj["recv_wall_ns"] // 1000,
            recv_mono_ns=obj.get("recv_mono_ns"),  # optional (`parse_archive_record`)
            seq=obj["seq"],
            session_id=obj["session"],
        )
