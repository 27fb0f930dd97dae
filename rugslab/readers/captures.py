"""Captures: the wrapper formats other people's recorders wrote, read into `Frame`s.

    jsonl-event-type  `{"timestamp": ISO naive, "event_type": str, "data": payload | args}`
    jsonl-seq         `{"seq": int, "ts": ISO naive, "event": str, "data": payload | args | null}`;
                      the first line is a `connect` marker with `data: null` (→ `args == []`)
    curated-json      one object: name → `{"_meta", "event_type", "timestamp_ms", "data"}`;
                      frames come out ordered by (`timestamp_ms`, name), `seq` 1-based in that order

`data` holding a trace-led list is the argument list, anything else is the single payload
(`rugslab.feed.frames.normalize_args`). Lines that are not JSON objects, or lack a field, become
`BadRecord`s with the reason and the raw text (at most 64 KiB).

The two line formats stamp frames with the recorder's local clock and no zone. Each frame keeps
that stamp as written (`Frame.local_ts_us`, which its id hashes, so the id does not depend on
the zone) and gets `recv_ts_us` = stamp − the recording's zone offset, decided once per file
(`rugslab.readers.clock`, "One recording, one zone"): the zone the recording already has in
the lake or in this run (`zones`), else the zone the caller states (`utc_offset_us`), else
the zone a first pass over the file's server-stamped chat messages infers, else UTC. The
counters say what was decided when it is not plain (`clock.*`, module `_note`):

    clock.local_time_corrected (UTC-05:00)       receive times shifted by that zone
    clock.zone_unknown_taken_as_utc (<file>: …)  no zone inferred nor given: stamps taken as UTC
    clock.zone_from_earlier_ingest (<file>: …)   zone taken from the recording's other frames
    clock.zone_kept_from_earlier_ingest (…)      ditto, though the file's chat or the caller
                                                 says another zone (and how to correct it)
    clock.zone_given_differs_from_chat (…)       the stated zone wins over the chat's

Source: captures/README.md.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from rugslab.feed.frames import BadRecord, Frame, extract_payload, normalize_args
from rugslab.readers.clock import (
    MAX_SAMPLES,
    SERVER_STAMPED_EVENTS,
    RecordingZones,
    ZoneDecision,
    check_offset_us,
    describe_offset,
    why_unknown,
    zone_offset_us,
)
from rugslab.readers.files import iter_lines, line_text, open_binary, source_name
from rugslab.readers.timestamps import iso_to_us

_STAMPED_BYTES = tuple(e.encode() for e in SERVER_STAMPED_EVENTS)  # a cheap line filter


def _args(data: Any) -> list[Any]:
    # a null `data` is a marker without arguments (the 12-12 `connect` line)
    return [] if data is None else normalize_args(data)


def _bad(src: str, n: int | None, raw: bytes | str, reason: str) -> BadRecord:
    return BadRecord(source=src, line_no=n, raw=line_text(raw), reason=reason)


def _load(src: str, n: int, line: bytes) -> dict[str, Any] | BadRecord:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return _bad(src, n, line, f"line {n} is not valid JSON ({e})")
    if not isinstance(obj, dict):
        return _bad(src, n, line, f"line {n} is a JSON {type(obj).__name__}, expected an object")
    return obj


def _stamp(obj: Any, ts_key: str) -> int | None:
    ts = obj.get(ts_key) if isinstance(obj, dict) else None
    try:
        return iso_to_us(ts) if isinstance(ts, str) else None
    except ValueError:
        return None


def _scan(
    path: Path | str, event_key: str, ts_key: str, *, window: bool
) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    """(chat samples for `clock.zone_offset_us`, (first, last) line stamps or None).

    Stops after `MAX_SAMPLES` chat messages unless `window` is asked for (it needs the last
    line)."""
    samples: list[tuple[int, int]] = []
    first = last = None
    line = b""
    for i, (_n, line) in enumerate(iter_lines(path)):
        if window and i == 0:  # a damaged first line leaves no window: `decide` reads all
            try:
                first = _stamp(orjson.loads(line), ts_key)
            except orjson.JSONDecodeError:
                first = None
        if len(samples) >= MAX_SAMPLES:
            if window:
                continue
            break
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
    if not window or first is None or not line:
        return samples, None
    try:
        last = _stamp(orjson.loads(line), ts_key)
    except orjson.JSONDecodeError:
        last = None
    return samples, None if last is None else (min(first, last), max(first, last))


def _stamps(path: Path | str, event_key: str, ts_key: str) -> list[tuple[int, str]]:
    """(stamp µs as written, event) of every line that has both."""
    out: list[tuple[int, str]] = []
    for _n, line in iter_lines(path):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        us = _stamp(obj, ts_key)
        event = obj.get(event_key) if isinstance(obj, dict) else None
        if us is not None and isinstance(event, str):
            out.append((us, event))
    return out


def _decide(
    path: Path | str,
    event_key: str,
    ts_key: str,
    counters: Counter[str] | None,
    utc_offset_us: int | None,
    zones: RecordingZones | None,
) -> tuple[int, bool]:
    """(the file's zone offset, µs; True when its ids hash receive times: an old lake's)."""
    if utc_offset_us is not None:
        check_offset_us(utc_offset_us)
    samples, window = _scan(path, event_key, ts_key, window=zones is not None)
    inferred = zone_offset_us(samples)
    known = None
    if zones is not None and (window is None or zones.may_know(*window)):
        known = zones.decide(_stamps(path, event_key, ts_key))
    if known is not None:
        offset = known.offset_us
    elif utc_offset_us is not None:
        offset = utc_offset_us
    else:
        offset = inferred or 0
    if counters is not None:
        for key in _notes(Path(path).name, known, utc_offset_us, inferred, samples):
            counters[key] += 1
        if offset:
            counters[f"clock.local_time_corrected ({describe_offset(offset)})"] += 1
    return offset, known is not None and known.receipt_ids


def _notes(
    name: str,
    known: ZoneDecision | None,
    given: int | None,
    inferred: int | None,
    samples: list[tuple[int, int]],
) -> list[str]:
    """The `clock.*` counter keys that explain a zone decision that is not plain."""
    if known is not None:
        kept = describe_offset(known.offset_us)
        other = [f"--utc-offset says {describe_offset(given)}"] if given not in (
            None, known.offset_us) else []
        if inferred is not None and inferred != known.offset_us:
            other.append(f"its chat messages say {describe_offset(inferred)}")
        if not other:
            if given is None and inferred is None:
                return [f"clock.zone_from_earlier_ingest ({name}: {kept}, the zone its frames "
                        f"have in {known.where})"]
            return []
        return [f"clock.zone_kept_from_earlier_ingest ({name}: kept {kept}, the zone its "
                f"frames have in {known.where}, though {' and '.join(other)}; to correct it, "
                "ingest the whole recording into a new lake, with --utc-offset if its chat "
                "cannot tell)"]
    if given is not None:
        if inferred is not None and inferred != given:
            return [f"clock.zone_given_differs_from_chat ({name}: --utc-offset "
                    f"{describe_offset(given)} used, its chat messages say "
                    f"{describe_offset(inferred)})"]
        return []
    if inferred is None:
        return [f"clock.zone_unknown_taken_as_utc ({name}: {why_unknown(samples)}; state the "
                "recorder's zone with --utc-offset, e.g. -05:00, or ingest the whole recording "
                "first)"]
    return []


def read_event_type_lines(
    path: Path | str,
    counters: Counter[str] | None = None,
    *,
    utc_offset_us: int | None = None,
    zones: RecordingZones | None = None,
) -> Iterator[Frame | BadRecord]:
    """Frames of a `jsonl-event-type` file; `seq` is the 1-based line number.

    Args:
        path: the file (plain or gzip).
        counters: receives the `clock.*` counts (module docstring).
        utc_offset_us: the recorder's offset from UTC (local − UTC, µs; a whole quarter hour
            within −12..+14 h, see `clock.parse_utc_offset`), used when the recording's zone
            is not already decided by `zones`; None: infer it from chat messages, else UTC.
        zones: the run's zone decisions (`clock.RecordingZones`), so that all files of one
            recording get one zone; None: this file alone decides.

    Yields:
        One `Frame` per valid line (`local_ts_us` = its stamp as written, `recv_ts_us` = that
        stamp in UTC under the zone decided), a `BadRecord` per invalid one.

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
        ConfigError: `utc_offset_us` is not a zone offset (raised when iteration starts).
    """
    return _read_lines(path, "event_type", "timestamp", None, counters, utc_offset_us, zones)


def read_seq_lines(
    path: Path | str,
    counters: Counter[str] | None = None,
    *,
    utc_offset_us: int | None = None,
    zones: RecordingZones | None = None,
) -> Iterator[Frame | BadRecord]:
    """Frames of a `jsonl-seq` file; `seq` is the record's `seq` (the line number if absent).

    Args: as `read_event_type_lines`.

    Yields:
        One `Frame` per valid line (the `connect` marker included, with `args == []`;
        `local_ts_us` and `recv_ts_us` as `read_event_type_lines`), a `BadRecord` per
        invalid one.

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
        ConfigError: `utc_offset_us` is not a zone offset (raised when iteration starts).
    """
    return _read_lines(path, "event", "ts", "seq", counters, utc_offset_us, zones)


def _read_lines(
    path: Path | str,
    event_key: str,
    ts_key: str,
    seq_key: str | None,
    counters: Counter[str] | None,
    utc_offset_us: int | None,
    zones: RecordingZones | None,
) -> Iterator[Frame | BadRecord]:
    """The loop both line formats share; `seq` is the record's `seq_key` or the line number."""
    src = source_name(path)
    offset, receipt_ids = _decide(path, event_key, ts_key, counters, utc_offset_us, zones)
    stamps: array[int] = array("q")
    try:
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
            stamps.append(us)
            yield Frame(event=event, args=_args(obj["data"]), source=src, recv_ts_us=us - offset,
                        seq=seq, local_ts_us=None if receipt_ids else us)
    finally:
        if zones is not None:
            zones.remember(stamps, offset, receipt_ids)


def read_curated_json(path: Path | str) -> Iterator[Frame | BadRecord]:
    """Frames of a `curated-json` file (loaded whole: these files are small, hand-picked).

    Yields:
        Frames in (`timestamp_ms`, name) order with `seq` 1..n, then a `BadRecord` per entry
        that lacks `event_type`/`timestamp_ms`/`data` (its `line_no` is None, its raw text
        starts with the entry's name). A file that is not one JSON object is one `BadRecord`.

    Raises:
        InputFormatError: the file cannot be opened or its gzip stream is corrupt.
    """
    src = source_name(path)
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
