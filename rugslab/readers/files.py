"""Files: open capture files (plain or gzip, told apart by content), walk input folders.

Every line format rugslab reads may also be gzip-compressed (`.jsonl.gz`, `.gz`, or any name):
`open_binary` looks at the two magic bytes `1f 8b`, never at the file name.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

from rugslab.errors import InputFormatError

GZIP_MAGIC = b"\x1f\x8b"
#: Read buffer of `open_binary`. Frames run to ~6 KB (gameHistory frames ~300 KB): with the
#: default 8 KB buffer most lines take several reads and a join; 1 MiB made line iteration
#: over a 770 MB archive 4x faster (0.42 s → 0.10 s, bench/ingest.py's input).
READ_BUFFER = 1 << 20
#: Longest raw text kept in a BadRecord / rejects row (bytes of the line, before decoding).
RAW_LIMIT = 64 * 1024
#: File names `iter_inputs` never yields: documentation beside the data.
SKIP_NAMES = frozenset({"README.md", "README", "README.txt"})


def is_gzip(path: Path | str) -> bool:
    """True when the file starts with the gzip magic bytes.

    Raises:
        InputFormatError: the file cannot be opened (missing, a folder, no permission).
    """
    try:
        with open(path, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError as e:
        raise InputFormatError(f"Cannot open input file {str(path)!r}: {e}", path=path) from e


class ReadMeter:
    """How far the input file opened last under `metered()` has been read, for progress bars.

    `position` is the byte offset read from the file on disk (for gzip: compressed bytes, as
    the file's size counts them), at most one read buffer (`READ_BUFFER`) ahead of the lines
    handed out; 0 before a file is opened and once it is closed.
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


def open_binary(path: Path | str) -> BinaryIO:
    """Open `path` for reading bytes, decompressing gzip transparently.

    Raises:
        InputFormatError: the file cannot be opened.
    """
    gz = is_gzip(path)
    f: Any
    try:
        if gz:
            gzf = gzip.GzipFile(path, "rb")
            f, raw = io.BufferedReader(gzf, buffer_size=READ_BUFFER), gzf.fileobj
        else:
            f = open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - the caller closes it
            raw = f.raw
    except OSError as e:
        raise InputFormatError(f"Cannot open input file {str(path)!r}: {e}", path=path) from e
    meter = _METER.get()
    if meter is not None:
        meter._raw = raw
    return f


def iter_lines(path: Path | str) -> Iterator[tuple[int, bytes]]:
    """Yield `(line_no, line)` for every line that is not blank; `line_no` is 1-based.

    Lines keep their trailing newline (JSON parsers ignore it and copying big lines costs;
    `raw_text` drops it). Streaming: one line in memory at a time.

    Raises:
        InputFormatError: the file cannot be opened or a gzip stream is corrupt.
    """
    with open_binary(path) as f:
        try:
            for n, line in enumerate(f, 1):
                # isspace() stops at the first visible byte: O(1) on real lines
                if not line.isspace():
                    yield n, line
        except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
            raise InputFormatError(
                f"Input file {str(path)!r} is cut short or corrupt ({e}); "
                "re-copy it or pass the readable part.",
                path=path,
            ) from e


def raw_text(data: bytes | str, limit: int = RAW_LIMIT) -> str:
    """`data` as text for a rejects row: at most `limit` bytes, invalid UTF-8 replaced."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    data = data.rstrip(b"\r\n")
    if len(data) > limit:
        data = data[:limit]
    return data.decode("utf-8", "replace")


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name not in SKIP_NAMES


def iter_inputs(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Expand files and folders into input files, for the CLI.

    Folders are walked recursively in sorted order; hidden entries (name starting with `.`)
    and README files are skipped. A file named explicitly is always yielded, even if hidden.

    Args:
        paths: files and/or folders.

    Yields:
        Paths of regular files, folders expanded in place, in the order given.

    Raises:
        InputFormatError: a path does not exist (the message names it).
    """
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            yield p
        elif p.is_dir():
            yield from _walk(p)
        else:
            raise InputFormatError(
                f"Input path {str(p)!r} does not exist; pass capture files or folders.", path=p
            )


def _walk(folder: Path) -> Iterator[Path]:
    for child in sorted(folder.iterdir()):
        if not _visible(child):
            continue
        if child.is_dir():
            yield from _walk(child)
        elif child.is_file():
            yield child
