"""Frames: one entry point that reads any supported input file into `Frame`s and `BadRecord`s.

    read_frames(path)  sniff the format (`detect_format`) and stream the file's frames

Legacy recordings are not frames (they hold the old recorder's per-tick records): they are
imported into lake rows by `rugslab.readers.legacy.import_recording`; `read_frames` refuses
them with an `InputFormatError` that says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rugslab.errors import InputFormatError
from rugslab.feed.frames import BadRecord, Frame
from rugslab.readers import detect as fmt
from rugslab.readers.archive import read_archive
from rugslab.readers.browser import read_browser
from rugslab.readers.captures import read_curated_json, read_event_type_lines, read_seq_lines
from rugslab.readers.clock import RecordingZones


def read_frames(
    path: Path | str,
    *,
    format: str | None = None,
    counters: Counter[str] | None = None,
    utc_offset_us: int | None = None,
    zones: RecordingZones | None = None,
) -> Iterator[Frame | BadRecord]:
    """Stream the frames of one input file, whatever its (detected) format.

    Args:
        path: a capture, browser log or collector archive, plain or gzip.
        format: skip detection and read as this format (one of `detect.FRAME_FORMATS`).
        counters: receives `frames`, `bad_records` and the reader's own counts
            (`browser.pings`, `browser.non_event_packets`, `browser.sent_frames`).
        utc_offset_us, zones: for the two local-clock line captures, the recorder's zone
            when stated and the run's zone decisions (`captures.read_event_type_lines`);
            other formats carry UTC times and ignore them.

    Yields:
        `Frame`s in file order (curated JSON: by timestamp then name), and a `BadRecord` for
        every line/record that cannot be read, with its reason and raw text (≤ 64 KiB).
        `recv_ts_us` is µs since the epoch, UTC: naive capture stamps are corrected by the
        recording's zone (`rugslab.readers.clock`: the one it already has in `zones`, else
        the one stated, else the one its chat messages reveal, else UTC); a correction and
        an unknown zone are counted (`clock.*`), a recorder found to run on UTC is not.
        Detection runs at call time, so format errors raise before iteration starts.

    Raises:
        InputFormatError: the file cannot be opened, is in no known format (e.g. the
            2025-08-10 console text copy), or is a legacy recording (use `import_recording`);
            during iteration: the file cannot be read to its end (a disk error).
    """
    counters = Counter() if counters is None else counters
    kind = format or fmt.detect_format(path)
    if kind == fmt.EMPTY:
        return iter(())
    if kind == fmt.LEGACY_RECORDING:
        raise InputFormatError(
            f"{str(path)!r} is a legacy recording (per-tick records, not frames); "
            "import it with rugslab.readers.legacy.import_recording.",
            path=path,
        )
    if kind not in fmt.FRAME_FORMATS:
        raise InputFormatError(
            f"{str(path)!r} is not a recognised format (detected {kind!r}): expected JSON lines "
            "of a capture, browser log or rugslab archive, or a curated JSON object. "
            "Free-text copies such as browser-console dumps cannot be read; skip this file.",
            path=path,
        )
    if kind == fmt.JSONL_EVENT_TYPE:
        it: Iterator[Frame | BadRecord] = read_event_type_lines(
            path, counters, utc_offset_us=utc_offset_us, zones=zones)
    elif kind == fmt.JSONL_SEQ:
        it = read_seq_lines(path, counters, utc_offset_us=utc_offset_us, zones=zones)
    elif kind == fmt.CURATED_JSON:
        it = read_curated_json(path)
    elif kind == fmt.BROWSER_INTERCEPT:
        it = read_browser(path, counters)
    else:
        it = read_archive(path)
    return _counted(it, counters, path)


def _counted(
    it: Iterator[Frame | BadRecord], counters: Counter[str], path: Path | str
) -> Iterator[Frame | BadRecord]:
    try:
        for item in it:
            if type(item) is Frame:
                counters["frames"] += 1
            else:
                counters["bad_records"] += 1
            yield item
    except OSError as e:  # a read error of the input mid-file (the frames before were yielded)
        raise InputFormatError(
            f"Input file {str(path)!r} cannot be read to its end ({e.strerror or e}); the "
            "frames before were read. Re-copy the file or check the disk to read the rest.",
            path=path,
        ) from e
