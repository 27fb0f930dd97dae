"""Readers: every input file format → `rugslab.feed.frames.Frame`s (or `BadRecord`s), and the legacy
recordings → lake rows.

    detect     detect_format(path): sniff the format from the first bytes
    frames     read_frames(path): stream frames of any frame format
    captures   the 2025-12-06 / 2025-12-12 JSON-lines captures and curated JSON
    browser    browser WebSocket interceptor logs
    archive    the collector's raw journal: ArchiveWriter and read_archive
    legacy     import_recording(s): the Oct–Nov 2025 per-tick recordings → ticks/games rows
    salvage    split torn lines into whole records and fragments
    files      gzip-transparent opening and line reading (a cut gzip keeps its lines)
    inputs     iter_inputs(paths) for the CLI: folders walked, each real file once
"""

from rugslab.readers.archive import ArchiveWriter, read_archive
from rugslab.readers.detect import detect_format
from rugslab.readers.frames import read_frames
from rugslab.readers.inputs import iter_inputs

__all__ = ["ArchiveWriter", "detect_format", "iter_inputs", "read_archive", "read_frames"]
