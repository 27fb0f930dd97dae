"""Captures: the wrapper formats other people's recorders wrote, read into `Frame`s.

    jsonl-event-type  `{"timestamp": ISO naive, "event_type": str, "data": payload | args}`
    jsonl-seq         `{"seq": int, "ts": ISO naive, "event": str, "data": payload | args | null}`;
                      the first line is a `connect` marker with `data: null` (→ `args == []`)
    curated-json      one object: name → `{"_meta", "event_type", "timestamp_ms", "data"}`;
                      frames come out ordered by (`timestamp_ms`, name), `seq` 1-based in that order

`data` holding a trace-led list is the argument list, anything else is the single payload
(`rugslab.events.normalize_args`). Lines that are not JSON objects, or lack a field, become
`BadRecord`s with the reason and the raw text (at most 64 KiB).

The two line formats stamp frames with the recorder's local clock and no zone. A first pass
over the file's chat messages (server-stamped, see `rugslab.readers.clock`) infers the
recorder's UTC offset; frames are then shifted to true UTC and the counter
`clock.local_time_corrected (UTC-05:00)` (say) records it. Without such messages, or when they
disagree, the stamps are taken as UTC and `clock.zone_unknown_taken_as_utc` is counted.

Source: captures/README.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from rugslab.events import BadRecord, Frame, extract_payload, normalize_args
from rugslab.readers.clock import (
    MAX_SAMPLES,
    SERVER_STAMPED_EVENTS,
    describe_offset,
    zone_offset_us,
)
from rugslab.readers.files import iter_lines, open_binary, raw_text
from rugslab.readers.timestamps import iso_to_us

_STAMPED_BYTES = tuple(e.encode() for e in SERVER_STAMPED_EVENTS)  # a cheap line filter


def _args(data: Any) -> list[Any]:
    # a null `data` is a marker without arguments (the 12-12 `connect` line)
    return [] if data is None else normalize_args(data)


def _bad(src: str, n: int | None, raw: bytes | str, reason: str) -> BadRecord:
    return BadRecord(source=src, line_no=n, raw=raw_text(raw), reason=reason)


def _load(src: str, n: int, line: bytes) -> dict[str, Any] | BadRecord:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return _bad(src, n, line, f"line {n} is not valid JSON ({e})")
    if not isinstance(obj, dict):
        return _bad(src, n, line, f"line {n} is a JSON {type(obj).__name__}, expected an object")
    return obj


def _local_offset_us(
    path: Path | str, event_key: str, ts_key: str, counters: Counter[str] | None
) -> int:
    """The recorder's UTC offset for a line capture (0 when unknown: taken as UTC)."""
    samples: list[tuple[int, int]] = []
    for _n, line in iter_lines(path):
        if not any(e in line for e in _STAMPED_BYTES):
            continue
        try:
            obj = orjson.loads(line)
            if obj.get(event_key) not in SERVER_STAMPED_EVENTS:
                continue
            server_ms = extract_payload(normalize_args(obj["data"]))["timestamp"]
            local = iso_to_us(obj[ts_key])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            continue  # a damaged line is reported by the main pass
        if isinstance(server_ms, int | float) and not isinstance(server_ms, bool):
            samples.append((local, round(server_ms * 1000)))
        if len(samples) >= MAX_SAMPLES:
            break
    offset = zone_offset_us(samples)
    if counters is not None:
        if offset is None:
            counters["clock.zone_unknown_taken_as_utc"] += 1
        elif offset:
            counters[f"clock.local_time_corrected ({describe_offset(offset)})"] += 1
    return offset or 0


def read_event_type_lines(
    path: Path | str, counters: Counter[str] | None = None
) -> Iterator[Frame | BadRecord]:
    """Frames of a `jsonl-event-type` file; `seq` is the 1-based line number.

    Receive times are corrected to UTC when the recorder's zone can be inferred (module
    docstring); `counters` receives the `clock.*` count.

    Yields:
        One `Frame` per valid line, a `BadRecord` per invalid one.

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
    """
    return _read_lines(path, "event_type", "timestamp", None, counters)


def read_seq_lines(
    path: Path | str, counters: Counter[str] | None = None
) -> Iterator[Frame | BadRecord]:
    """Frames of a `jsonl-seq` file; `seq` is the record's `seq` (the line number if absent).

    Receive times are corrected to UTC when the recorder's zone can be inferred (module
    docstring); `counters` receives the `clock.*` count.

    Yields:
        One `Frame` per valid line (the `connect` marker included, with `args == []`), a
        `BadRecord` per invalid one.

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
    """
    return _read_lines(path, "event", "ts", "seq", counters)


def _read_lines(
    path: Path | str,
    event_key: str,
    ts_key: str,
    seq_key: str | None,
    counters: Counter[str] | None,
) -> Iterator[Frame | BadRecord]:
    """The loop both line formats share; `seq` is the record's `seq_key` or the line number."""
    src = str(path)
    offset = _local_offset_us(path, event_key, ts_key, counters)
    for n, line in iter_lines(path):
        obj = _load(src, n, line)
        if isinstance(obj, BadRecord):
            yield obj
            continue
        event, ts = obj.get(event_key), obj.get(ts_key)
        seq = obj.get(seq_key, n) if seq_key is not None else n
        if not isinstance(event, str) or not event:
            yield _bad(src, n, line, f"line {n}: missing or non-string '{event_key}'")
            continue
        if "data" not in obj:
            yield _bad(src, n, line, f"line {n}: missing field 'data'")
            continue
        if not isinstance(seq, int) or isinstance(seq, bool):
            yield _bad(src, n, line, f"line {n}: '{seq_key}' {seq!r} is not an integer")
            continue
        try:
            us = iso_to_us(ts) if isinstance(ts, str) else None
        except ValueError:
            us = None
        if us is None:
            yield _bad(src, n, line, f"line {n}: '{ts_key}' {ts!r} is not an ISO timestamp")
            continue
        yield Frame(
            event=event, args=_args(obj["data"]), source=src, recv_ts_us=us - offset, seq=seq
        )


def read_curated_json(path: Path | str) -> Iterator[Frame | BadRecord]:
    """Frames of a `curated-json` file (loaded whole: these files are small, hand-picked).

    Yields:
        Frames in (`timestamp_ms`, name) order with `seq` 1..n, then a `BadRecord` per entry
        that lacks `event_type`/`timestamp_ms`/`data` (its `line_no` is None, its raw text
        starts with the entry's name). A file that is not one JSON object is one `BadRecord`.

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
    """
    src = str(path)
    with open_binary(path) as f:
        blob = f.read()
    try:
        doc = orjson.loads(blob)
    except orjson.JSONDecodeError as e:
        yield _bad(src, None, blob, f"curated JSON file is not valid JSON ({e})")
        return
    if not isinstance(doc, dict):
        yield _bad(
            src, None, blob, f"curated JSON file holds a {type(doc).__name__}, not an object"
        )
        return
    good: list[tuple[int, str, dict[str, Any]]] = []
    bad: list[BadRecord] = []
    for name, entry in doc.items():
        raw = name + ": " + orjson.dumps(entry).decode()
        if not isinstance(entry, dict):
            bad.append(_bad(src, None, raw, f"entry {name!r} is not an object"))
            continue
        event, ms = entry.get("event_type"), entry.get("timestamp_ms")
        if not isinstance(event, str) or not event:
            bad.append(_bad(src, None, raw, f"entry {name!r}: missing or non-string 'event_type'"))
        elif not isinstance(ms, int | float) or isinstance(ms, bool) or ms < 0:
            bad.append(
                _bad(src, None, raw, f"entry {name!r}: 'timestamp_ms' {ms!r} is not epoch ms")
            )
        elif "data" not in entry:
            bad.append(_bad(src, None, raw, f"entry {name!r}: missing field 'data'"))
        else:
            good.append((round(ms * 1000), name, entry))
    good.sort(key=lambda t: (t[0], t[1]))
    for i, (us, _name, entry) in enumerate(good, 1):
        yield Frame(
            event=entry["event_type"], args=_args(entry["data"]), source=src, recv_ts_us=us, seq=i
        )
    yield from bad
