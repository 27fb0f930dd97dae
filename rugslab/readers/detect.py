"""Detect: which capture/recording format a file holds, from its first lines (never its name).

Formats (the strings `detect_format` returns):

    jsonl-event-type   `{"timestamp": ISO naive, "event_type", "data"}` a line (2025-12-06 capture)
    jsonl-seq          `{"seq", "ts": ISO naive, "event", "data"}` a line (2025-12-12 capture)
    curated-json       one object: name → `{"_meta", "event_type", "timestamp_ms", "data"}`
    browser-intercept  JSON lines, or one JSON array, of `{"direction", "source", ...}` objects
                       written by browser WebSocket interceptors (see `rugslab.readers.browser`)
    rugslab-archive    the collector's raw journal (see `rugslab.readers.archive`)
    legacy-recording   `{"type": "game_start"|"tick"|"game_end"|"session_start", ...}` a line
                       (see `rugslab.readers.legacy`; torn lines are common)
    empty              no content (e.g. a journal the collector has just opened)
    unreadable         anything else, e.g. the 2025-08-10 console text copy

A line format is told from the first lines that are records of one (`VOTE_LINES` of them, the
most common format winning): a first line cut, garbled, oversized, deeply nested or holding
NaN is passed over, and the reader then rejects it with its file and line. Detection reads at
most `SCAN_LINES` non-blank lines and `SCAN_BYTES` (a line longer than `LINE_LIMIT` is passed
over unparsed), so it stays cheap on big files. The one-document formats (curated JSON, a
browser array) are told from the first 64 KiB when no line is a record. Gzip is decompressed
transparently; a cut gzip stream is read up to the cut.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson

from rugslab.readers.files import open_binary

JSONL_EVENT_TYPE: Final = "jsonl-event-type"
JSONL_SEQ: Final = "jsonl-seq"
CURATED_JSON: Final = "curated-json"
BROWSER_INTERCEPT: Final = "browser-intercept"
RUGSLAB_ARCHIVE: Final = "rugslab-archive"
LEGACY_RECORDING: Final = "legacy-recording"
EMPTY: Final = "empty"
UNREADABLE: Final = "unreadable"

#: Formats whose reader yields frames (`read_frames`); legacy recordings are imported instead.
FRAME_FORMATS = frozenset(
    {JSONL_EVENT_TYPE, JSONL_SEQ, CURATED_JSON, BROWSER_INTERCEPT, RUGSLAB_ARCHIVE}
)
LEGACY_TYPES = frozenset({"game_start", "tick", "game_end", "session_start"})

#: Bytes of the file the one-document checks look at.
HEAD_BYTES = 64 * 1024
#: Longest line detection parses; a longer one is passed over (the reader still reads it).
LINE_LIMIT = 8 * 1024 * 1024
#: Detection reads at most this many non-blank lines and this many bytes of text.
SCAN_LINES = 256
SCAN_BYTES = 32 * 1024 * 1024
#: Record lines whose formats are counted; the most common wins (ties: the earliest).
VOTE_LINES = 5
# a legacy record start, possibly after torn-write debris such as `{"` or `{`
_LEGACY_START = re.compile(rb'^[{"\s]*\{"type":\s*"(game_start|tick|game_end|session_start)"')
_ARCHIVE_KEYS = frozenset({"v", "session", "seq", "recv_wall_ns", "event", "args"})
_BLANK = b"\xef\xbb\xbf \t\r\n"


@dataclass(frozen=True, slots=True)
class Detection:
    """What `detect` found: the format, and for `unreadable` why (the first line's problem)."""

    format: str
    lines_scanned: int = 0
    problem: str | None = None  # e.g. "line 1 is not valid JSON"

    def skip_reason(self) -> str:
        """The message for a file no reader can read: why, where, and what to do."""
        where = f" ({self.problem})" if self.problem else ""
        return (
            f"format not readable ({self.format}): none of its first {self.lines_scanned} "
            f"non-blank lines is a capture, recording or archive record{where}. A free-text "
            "copy (e.g. a browser-console dump) cannot be ingested: leave it out of the inputs; "
            "for the formats read, see README 'Input formats'."
        )


def classify_record(obj: Any) -> str | None:
    """The line format one decoded record object belongs to, or None."""
    if not isinstance(obj, dict):
        return None
    keys = obj.keys()
    if keys >= _ARCHIVE_KEYS:
        return RUGSLAB_ARCHIVE
    if "direction" in keys and ("source" in keys or "data" in keys or "event" in keys):
        return BROWSER_INTERCEPT
    if obj.get("type") in LEGACY_TYPES:
        return LEGACY_RECORDING
    if {"seq", "ts", "event"} <= keys:
        return JSONL_SEQ
    if {"timestamp", "event_type"} <= keys:
        return JSONL_EVENT_TYPE
    if obj and all(isinstance(v, dict) and "event_type" in v for v in obj.values()):
        return CURATED_JSON
    return None


def _lines(f: BinaryIO) -> Iterator[tuple[int, bytes, bool, int]]:
    """(line_no, line (its first `LINE_LIMIT` bytes), longer than that?, bytes read so far)
    of the non-blank lines."""
    read = n = seen = 0
    while read < SCAN_BYTES and seen < SCAN_LINES:
        line = f.readline(LINE_LIMIT)
        if not line:
            return
        n += 1
        read += len(line)
        long = len(line) == LINE_LIMIT and not line.endswith(b"\n")
        while long and read < SCAN_BYTES:  # pass over the rest of the long line
            rest = f.readline(LINE_LIMIT)
            read += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        if line.strip(_BLANK):
            seen += 1
            yield n, line, long, read


def _judge(n: int, line: bytes, long: bool) -> tuple[str | None, str | None]:
    """(format of the line, or None) and, when None, the line's problem."""
    if long:
        return None, f"line {n} is longer than {LINE_LIMIT // (1 << 20)} MiB"
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        if _LEGACY_START.match(line.lstrip(_BLANK)):
            return LEGACY_RECORDING, None
        return None, f"line {n} is not valid JSON"
    kind = classify_record(obj)
    if isinstance(obj, list) and obj:  # a browser log written as one JSON array on one line
        kinds = {classify_record(o) for o in obj[:5]}
        kind = BROWSER_INTERCEPT if kinds == {BROWSER_INTERCEPT} else None
    if kind is None:
        return None, f"line {n} is a JSON {type(obj).__name__} of no known record format"
    return kind, None


def detect(path: Path | str) -> Detection:
    """Sniff the format of `path` from its content, saying why when no format fits.

    Args:
        path: a capture, recording or archive file (plain or gzip).

    Returns:
        A `Detection`: `format` is one of the strings listed in this module's docstring.

    Raises:
        InputFormatError: the file cannot be opened.
    """
    votes: Counter[str] = Counter()
    first: dict[str, int] = {}
    head = b""
    problem: str | None = None
    scanned = 0
    with open_binary(path) as f:
        for n, line, long, read in _lines(f):
            scanned += 1
            if len(head) < HEAD_BYTES:
                head += line[: HEAD_BYTES - len(head)]
            kind, why = _judge(n, line, long)
            if kind is None:
                problem = problem or why
                continue
            votes[kind] += 1
            first.setdefault(kind, n)
            if sum(votes.values()) >= VOTE_LINES or (read >= HEAD_BYTES and len(votes) == 1):
                break
    body = head.lstrip(_BLANK)
    if votes:
        best = max(votes.values())
        return Detection(min((k for k, v in votes.items() if v == best), key=first.__getitem__),
                         scanned)
    if not scanned:
        return Detection(EMPTY, scanned)
    if body.startswith(b"{") and b'"event_type"' in head and b'"timestamp_ms"' in head:
        return Detection(CURATED_JSON, scanned)
    if body.startswith(b"[") and (
        re.match(rb'\[\s*\{[^\n]*"direction"', body)
        or (body.lstrip(b"[ \t\r\n").startswith(b"{") and b'"direction"' in head)
    ):
        return Detection(BROWSER_INTERCEPT, scanned)
    return Detection(UNREADABLE, scanned, problem)


def detect_format(path: Path | str) -> str:
    """Sniff the format of `path` from its content (`detect(path).format`).

    Args:
        path: a capture, recording or archive file (plain or gzip).

    Returns:
        One of the format strings listed in this module's docstring; `unreadable` when no
        format fits (the reader then raises `InputFormatError`).

    Raises:
        InputFormatError: the file cannot be opened.
    """
    return detect(path).format
