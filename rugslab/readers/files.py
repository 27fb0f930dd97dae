"""Files: open capture files (plain or gzip, told apart by content), read their lines.

Every line format rugslab reads may also be gzip-compressed (`.jsonl.gz`, `.gz`, or any name):
`open_binary` looks at the two magic bytes `1f 8b`, never at the file name. A gzip stream cut
short or corrupt ends where it breaks: every line before the break is read, and the break is
raised by `iter_lines` (or recorded, under `cuts_recorded()`, for a run that goes on).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

from rugslab.errors import InputFormatError
from rugslab.tables.rejects import storable_text

GZIP_MAGIC = b"\x1f\x8b"
#: Read buffer of `open_binary`. Frames run to ~6 KB (gameHistory frames ~300 KB): with the
#: default 8 KB buffer most lines take several reads and a join; 1 MiB made line iteration
#: over a 770 MB archive 4x faster (0.42 s → 0.10 s, bench/ingest.py's input).
READ_BUFFER = 1 << 20
#: Compressed bytes a gzip stream reads at a time, and the most text it decodes per read. 64 KiB
#: of text, not the reader's 1 MiB buffer: the lines of a 100 MB gzipped capture in 0.18-0.26 s
#: (`gzip.GzipFile`: 0.28-0.36 s; 1 MiB of text per read: 0.34-0.44 s).
GZIP_CHUNK = 64 * 1024
GZIP_TEXT_CHUNK = 64 * 1024
#: Longest raw text kept in a BadRecord / rejects row (bytes of the line, before decoding).
RAW_LIMIT = 64 * 1024


def _open_error(path: Path | str, e: OSError) -> InputFormatError:
    return InputFormatError(
        f"Cannot open input file {str(path)!r}: {e.strerror or e}; "
        "check that it exists and is readable (permissions), or leave it out.",
        path=path,
    )


def is_gzip(path: Path | str) -> bool:
    """True when the file starts with the gzip magic bytes.

    Raises:
        InputFormatError: the file cannot be opened (missing, a folder, no permission).
    """
    try:
        with open(path, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError as e:
        raise _open_error(path, e) from e


class ReadMeter:
    """How far the input file opened last under `metered()` has been read, for progress bars.

    `position` is the byte offset read from the file on disk (for gzip: compressed bytes, as
    the file's size counts them), at most one read buffer (`READ_BUFFER` by default) ahead of
    the lines handed out; 0 before a file is opened and once it is closed.
    """

    __slots__ = ("_raw",)

    def __init__(self) -> None:
        self._raw: Any = None

    @property
    def position(self) -> int:
        """Bytes read from the current file (0 when there is none)."""
        raw = self._raw
        if raw is None:
            return 0
        try:
            return int(raw.tell())
        except (OSError, ValueError):  # closed
            return 0


_METER: ContextVar[ReadMeter | None] = ContextVar("rugslab_read_meter", default=None)


def active_meter() -> ReadMeter | None:
    """The `ReadMeter` of the `metered()` block this code runs in, or None outside one."""
    return _METER.get()


@contextmanager
def metered() -> Iterator[ReadMeter]:
    """A `ReadMeter` that follows every input file `open_binary` opens in this context
    (the readers all open their files with it)."""
    meter = ReadMeter()
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


class CutLog:
    """Input files read only up to a break (cut-short or corrupt gzip, read error).

    `cuts` maps `str(path)` → the reason, which says where the file broke and what to do. A
    later report of the same file replaces an earlier one (`iter_lines` knows the line).
    """

    __slots__ = ("cuts",)

    def __init__(self) -> None:
        self.cuts: dict[str, str] = {}

    def record(self, path: Path | str, reason: str) -> None:
        """Note that `path` broke, for the reason given."""
        self.cuts[str(path)] = reason

    def pop(self, path: Path | str) -> str | None:
        """The reason `path` broke (forgotten once taken), or None when it read whole."""
        return self.cuts.pop(str(path), None)


_CUTS: ContextVar[CutLog | None] = ContextVar("rugslab_cut_log", default=None)


@contextmanager
def cuts_recorded() -> Iterator[CutLog]:
    """A `CutLog` of the input files that broke while read in this context.

    Inside it, `iter_lines` ends at a break (after yielding every line before it) and records
    the break instead of raising, so a reader's pre-pass or a whole-file importer keeps what
    was read; the caller takes each file's break from the log (`CutLog.pop`).
    """
    log = CutLog()
    token = _CUTS.set(log)
    try:
        yield log
    finally:
        _CUTS.reset(token)


class _GzipStream(io.RawIOBase):
    """The text of a gzip file, ending where the stream breaks instead of raising there.

    `gzip.GzipFile` raises EOFError at a cut after its buffers took the text decoded before it,
    and the buffered reader on top drops that text (a 316 KB capture cut at half gave 178 of
    its 263 whole lines). This stream hands out every byte that decompresses, then ends, with
    the reason in `error`. Members follow one another (concatenated gzip files are one
    stream); zero padding after a member is ignored, as `gzip` does.
    """

    def __init__(self, raw: BinaryIO, path: str) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._d: Any = zlib.decompressobj(wbits=31)  # 16 + 15: a gzip header and trailer
        self.text_bytes = 0  # text handed out
        self.error: str | None = None
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._next(len(b))
        n = len(data)
        b[:n] = data
        self.text_bytes += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    def _fail(self, why: str, pending: int = 0) -> None:
        self._ended = True
        self.error = f"{why}, {self.text_bytes + pending:,} bytes of text in"
        log = _CUTS.get()
        if log is not None:
            log.record(self._path, f"its gzip stream {self.error}; the text before was read. "
                       "Re-copy the file from its source to read the rest.")

    def _next(self, want: int) -> bytes:
        want = min(want, GZIP_TEXT_CHUNK)
        while not self._ended:
            d = self._d
            if d.unconsumed_tail:
                src = d.unconsumed_tail
            elif d.eof:  # a member ended: another may follow
                src = d.unused_data.lstrip(b"\0") or self._raw.read(GZIP_CHUNK).lstrip(b"\0")
                if not src:
                    self._ended = True
                    break
                self._d = d = zlib.decompressobj(wbits=31)
            else:
                src = self._raw.read(GZIP_CHUNK)
                if not src:
                    self._fail("ends before its end marker")
                    break
            saved = d.copy()
            try:
                data = d.decompress(src, want)
            except zlib.error as e:
                data = self._salvage(saved, src)
                self._fail(f"is corrupt ({e})", len(data))
                return data
            if data:
                return bytes(data)
        return b""

    @staticmethod
    def _salvage(d: Any, src: bytes) -> bytes:
        """The text `src` decompresses to before the byte zlib rejects: decoded in pieces,
        the piece that fails again byte by byte (a failing call gives none of its text)."""
        out = bytearray()
        for i in range(0, len(src), 256):
            before = d.copy()
            try:
                out += d.decompress(src[i : i + 256])
            except zlib.error:
                try:
                    for j in range(i, min(i + 256, len(src))):
                        out += before.decompress(src[j : j + 1])
                except zlib.error:
                    break
                break
        return bytes(out)


def open_binary(path: Path | str, *, buffer_size: int = READ_BUFFER) -> BinaryIO:
    """Open `path` for reading bytes, decompressing gzip transparently.

    A gzip stream that breaks (cut short, corrupt) reads as if the file ended there; its
    `raw.error` says why, and under `cuts_recorded()` the break is recorded. `buffer_size`:
    bytes of the read buffer (of the text, for gzip).

    Raises:
        InputFormatError: the file cannot be opened.
    """
    gz = is_gzip(path)
    f: Any
    raw: Any
    try:
        raw = open(path, "rb", buffering=0 if gz else buffer_size)  # noqa: SIM115 - the caller closes it
    except OSError as e:
        raise _open_error(path, e) from e
    if gz:
        f = io.BufferedReader(_GzipStream(raw, str(path)), buffer_size=buffer_size)
    else:
        f, raw = raw, raw.raw
    meter = _METER.get()
    if meter is not None:
        meter._raw = raw
    return f


def iter_lines(path: Path | str, *, buffer_size: int = READ_BUFFER) -> Iterator[tuple[int, bytes]]:
    """Yield `(line_no, line)` for every line that is not blank; `line_no` is 1-based.

    Lines keep their trailing newline (JSON parsers ignore it and copying big lines costs;
    `line_text` drops it). Streaming: one line in memory at a time. At a break in the file (a
    gzip stream cut short or corrupt, a read error) every line before it is yielded, the part
    of a line the break cut included (it has no newline); then the break is raised, or
    recorded under `cuts_recorded()` (the lines simply end). `buffer_size`: as `open_binary`.

    Raises:
        InputFormatError: the file cannot be opened, or it breaks (the message names the last
            line read and what to do).
    """
    n = 0
    with open_binary(path, buffer_size=buffer_size) as f:
        why: str | None = None
        try:
            for n, line in enumerate(f, 1):
                # isspace() stops at the first visible byte: O(1) on real lines
                if not line.isspace():
                    yield n, line
        except (OSError, EOFError) as e:  # a read error of the disk
            why = f"cannot be read past line {n} ({e})"
        stream = getattr(f, "raw", None)
        if why is None and isinstance(stream, _GzipStream) and stream.error is not None:
            why = f"is cut short or corrupt after line {n}: its gzip stream {stream.error}"
    if why is not None:
        msg = (
            f"Input file {str(path)!r} {why}; the lines before were read. Re-copy the file "
            "from its source to read the rest."
        )
        log = _CUTS.get()
        if log is None:
            raise InputFormatError(msg, path=path)
        log.record(path, msg)


def source_name(path: Path | str) -> str:
    """The `source` column's value for rows read from `path`: the path as text, with the bytes
    of a name that is not UTF-8 written as escapes (`\\udcff`; `tables.rejects.storable_text`),
    so the lake can store it."""
    return storable_text(str(path))


def line_text(data: bytes | str, limit: int = RAW_LIMIT) -> str:
    """`data` as text for a rejects row: at most `limit` bytes, invalid UTF-8 replaced."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    data = data.rstrip(b"\r\n")
    if len(data) > limit:
        data = data[:limit]
    return data.decode("utf-8", "replace")
