"""Browser: WebSocket traffic saved by in-page interceptors (format `browser-intercept`).

Browser extensions and userscripts that wrap `window.WebSocket` log each message as an object;
rugslab reads them as JSON lines or as one JSON array (streamed element by element):

    {"timestamp": 1765559818624 | "2025-12-12T17:16:58.624Z",
     "direction": "received" | "sent" | "in" | "out" | "incoming" | "outgoing" | ...,
     "source": "websocket" | "socket.io" | "polling" | ...,
     "data": "42[\"gameStateUpdate\",{...}]"}

`data` is the raw Engine.IO/Socket.IO text. Already-parsed records are accepted too: an
`event` field with `data` (payload, or trace-led argument list) or `args` (argument list), or
`data` as a decoded `["event", arg...]` list. `timestamp` (or `ts`/`time`) may be epoch
seconds/ms/µs/ns (told by magnitude) or ISO (naive = UTC); a record without one gives a frame
with `recv_ts_us=None`.

Choices:
- Sent frames are kept (they are what the browser emitted: orders, subscriptions) with the
  event name as is; their `source` is `<path>#sent` so they never mix with the feed. Received
  frames have `source` = the path.
- Engine.IO ping/pong (`2`, `3`, `2probe`, `3probe`) are counted in `browser.pings` and
  skipped; other non-event packets (open `0{...}`, Socket.IO connect `40`, disconnect `41`,
  ack `43[...]`, noop `6`, upgrade `5`, ...) are counted in `browser.non_event_packets` and
  skipped. Neither is a reject.
- Polling payloads holding several packets separated by `\\x1e` are split; every frame of one
  record gets the record's `seq` (1-based line, or array index + 1).
- Binary events (`45...`) cannot be rebuilt without their attachments: `BadRecord`.
"""

from __future__ import annotations

import codecs
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from rugslab.errors import FrameError
from rugslab.feed.frames import BadRecord, Frame, normalize_args, parse_socketio_text
from rugslab.readers.files import iter_lines, line_text, open_binary, source_name
from rugslab.readers.timestamps import any_to_us

RECEIVED = frozenset({"received", "receive", "recv", "in", "incoming", "inbound", "down"})
SENT = frozenset({"sent", "send", "out", "outgoing", "outbound", "up"})
PINGS = frozenset({"2", "3", "2probe", "3probe"})
_TS_KEYS = ("timestamp", "ts", "time")
_CHUNK = 1 << 20


class _Skip(Exception):
    """A control packet: counted under `.counter`, not a frame and not a reject."""

    def __init__(self, counter: str) -> None:
        self.counter = counter


def _from_text(text: str) -> list[tuple[str, list[Any]]]:
    """Events in one raw Engine.IO message (several for a `\\x1e`-joined polling payload)."""
    out: list[tuple[str, list[Any]]] = []
    skipped: str | None = None
    for packet in text.split("\x1e"):
        p = packet.strip()
        if p in PINGS:
            skipped = "browser.pings"
        elif p.startswith("42"):
            out.append(parse_socketio_text(p))
        elif p.startswith("45"):
            raise FrameError("binary Socket.IO event (45...): attachments were not captured")
        elif p[:1] in ("0", "1", "3", "4", "5", "6") and p:
            skipped = "browser.non_event_packets"
        else:
            raise FrameError(f"not an Engine.IO packet (starts {p[:12]!r})")
    if not out:
        raise _Skip(skipped or "browser.non_event_packets")
    return out


def _events(obj: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    if "event" in obj:
        event = obj["event"]
        if not isinstance(event, str) or not event:
            raise FrameError(f"'event' {event!r} is not a non-empty string")
        if isinstance(obj.get("args"), list):
            return [(event, obj["args"])]
        if "data" not in obj:
            raise FrameError("parsed record has 'event' but neither 'data' nor 'args'")
        data = obj["data"]
        return [(event, [] if data is None else normalize_args(data))]
    if "data" not in obj:
        raise FrameError("missing field 'data'")
    data = obj["data"]
    if isinstance(data, str):
        return _from_text(data)
    if isinstance(data, list) and data and isinstance(data[0], str):
        return [(data[0], data[1:])]
    raise FrameError(f"'data' is a {type(data).__name__}, expected Socket.IO text")


def convert_record(obj: Any, src: str, n: int, counters: Counter[str]) -> list[Frame] | BadRecord:
    """Frames from one decoded interceptor record (empty list = counted control packet).

    Args:
        obj: the decoded record.
        src: the file path (frames' `source`, with `#sent` appended for sent frames).
        n: the record's position (1-based line or array element), used as `seq`.
        counters: incremented for skipped control packets and sent frames.
    """

    def bad(reason: str, us: int | None = None) -> BadRecord:
        return BadRecord(src, n, line_text(orjson.dumps(obj)), f"record {n}: {reason}", us)

    if not isinstance(obj, dict):
        return bad(f"is a JSON {type(obj).__name__}, expected an object")
    direction = str(obj.get("direction", "")).strip().lower()
    if direction in RECEIVED:
        source = src
    elif direction in SENT:
        source = f"{src}#sent"
    else:
        return bad(f"'direction' {obj.get('direction')!r} is neither received nor sent")
    ts = next((obj[k] for k in _TS_KEYS if obj.get(k) is not None), None)
    try:
        us = None if ts is None else any_to_us(ts)
    except ValueError as e:
        return bad(str(e))
    try:
        events = _events(obj)
    except _Skip as s:
        counters[s.counter] += 1
        return []
    except FrameError as e:
        return bad(e.reason, us)
    if source != src:
        counters["browser.sent_frames"] += len(events)
    return [Frame(event=e, args=a, source=source, recv_ts_us=us, seq=n) for e, a in events]


def _iter_array(path: Path | str) -> Iterator[tuple[int, Any, str | None]]:
    """(index+1, element, None) per element of a top-level JSON array, streamed in chunks;
    (n, None, reason) once when the rest cannot be decoded."""
    dec = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    buf, pos, n, eof = "", 0, 0, False
    with open_binary(path) as f:

        def fill() -> bool:
            nonlocal buf, pos
            chunk = f.read(_CHUNK)
            buf = buf[pos:] + utf8.decode(chunk, final=not chunk)
            pos = 0
            return bool(chunk)

        fill()
        buf = buf.lstrip("\ufeff \t\r\n")
        if not buf.startswith("["):
            yield 1, None, "file does not start with a JSON array"
            return
        pos = 1
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(buf):
                if eof or not fill():
                    yield n + 1, None, "JSON array is not closed (file cut short?)"
                    return
                continue
            if buf[pos] == "]":
                return
            try:
                obj, end = dec.raw_decode(buf, pos)
            except json.JSONDecodeError as e:
                if eof:
                    yield n + 1, None, f"element {n + 1} is not valid JSON ({e.msg})"
                    return
                eof = not fill()
                continue
            except RecursionError:  # deeper than Python's own limit: never valid here
                yield n + 1, None, f"element {n + 1} is nested too deep to read"
                return
            n += 1
            yield n, obj, None
            pos = end


def read_browser(
    path: Path | str, counters: Counter[str] | None = None
) -> Iterator[Frame | BadRecord]:
    """Frames of a `browser-intercept` file (JSON lines or one JSON array), streaming.

    Args:
        path: the interceptor's log (plain or gzip).
        counters: receives `browser.pings`, `browser.non_event_packets`, `browser.sent_frames`.

    Yields:
        Frames (sent ones with source `<path>#sent`) and a `BadRecord` per unusable record.

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
    """
    counters = Counter() if counters is None else counters
    src = source_name(path)
    with open_binary(path) as f:
        first = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        for n, obj, why in _iter_array(path):
            if why is not None:
                yield BadRecord(src, n, "", why)
                return
            out = convert_record(obj, src, n, counters)
            yield from ([out] if isinstance(out, BadRecord) else out)
        return
    for n, line in iter_lines(path):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            yield BadRecord(src, n, line_text(line), f"line {n} is not valid JSON ({e})")
            continue
        out = convert_record(obj, src, n, counters)
        yield from ([out] if isinstance(out, BadRecord) else out)
