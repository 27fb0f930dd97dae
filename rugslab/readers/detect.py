"""Detect: which capture/recording format a file holds, from its first bytes (never its name).

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

Detection reads the first 64 KiB, plus the rest of the first line when that is longer (up to
8 MiB), so it stays cheap on big files. Gzip is decompressed transparently.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

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

HEAD_BYTES = 64 * 1024
FIRST_LINE_LIMIT = 8 * 1024 * 1024
# a legacy record start, possibly after torn-write debris such as `{"` or `{`
_LEGACY_START = re.compile(rb'^[{"\s]*\{"type":\s*"(game_start|tick|game_end|session_start)"')
_ARCHIVE_KEYS = frozenset({"v", "session", "seq", "recv_wall_ns", "event", "args"})


def read_head(path: Path | str) -> tuple[bytes, bytes]:
    """The first `HEAD_BYTES` of the (decompressed) file, and its first non-blank line.

    Raises:
        InputFormatError: the file cannot be opened.
    """
    with open_binary(path) as f:
        head = f.read(HEAD_BYTES)
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        nl = stripped.find(b"\n")
        if nl >= 0:
            return head, stripped[:nl]
        rest = f.readline(FIRST_LINE_LIMIT)
        return head, stripped + rest.rstrip(b"\r\n")


def classify_record(obj: Any) -> str | None:
    """The line format one decoded first-line object belongs to, or None."""
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


def detect_format(path: Path | str) -> str:
    """Sniff the format of `path` from its content.

    Args:
        path: a capture, recording or archive file (plain or gzip).

    Returns:
        One of the format strings listed in this module's docstring; `unreadable` when no
        format fits (the reader then raises `InputFormatError`).

    Raises:
        InputFormatError: the file cannot be opened.
    """
    head, first = read_head(path)
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        return EMPTY
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        fmt = classify_record(obj)
        if fmt is not None:
            return fmt
    if _LEGACY_START.match(first):
        return LEGACY_RECORDING
    if body.startswith(b"{") and b'"event_type"' in head and b'"timestamp_ms"' in head:
        return CURATED_JSON
    if body.startswith(b"["):
        if isinstance(obj, list):
            kinds = {classify_record(o) for o in obj[:5]}
            return BROWSER_INTERCEPT if kinds == {BROWSER_INTERCEPT} else UNREADABLE
        if re.match(rb'\[\s*\{[^\n]*"direction"', body) or (
            body.lstrip(b"[ \t\r\n").startswith(b"{") and b'"direction"' in head
        ):
            return BROWSER_INTERCEPT
    return UNREADABLE
