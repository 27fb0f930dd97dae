"""detect_format sniffs content, never names; unreadable files raise InputFormatError."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rugslab.errors import InputFormatError
from rugslab.readers import detect_format, read_frames
from rugslab.readers.detect import (
    BROWSER_INTERCEPT,
    CURATED_JSON,
    EMPTY,
    JSONL_EVENT_TYPE,
    JSONL_SEQ,
    LEGACY_RECORDING,
    RUGSLAB_ARCHIVE,
    UNREADABLE,
)

CAPTURE_FORMATS = {
    "2025-12-06_active-to-cooldown.jsonl": JSONL_EVENT_TYPE,
    "2025-12-12_two-rugs.jsonl": JSONL_SEQ,
    "2026-02-06_phase-samples.json": CURATED_JSON,
    "2025-08-10_console-frames.txt": UNREADABLE,
    "README.md": UNREADABLE,
}


@pytest.mark.parametrize(("name", "expected"), sorted(CAPTURE_FORMATS.items()))
def test_each_capture_is_detected_by_content(captures_dir: Path, name: str, expected: str) -> None:
    assert detect_format(captures_dir / name) == expected


def test_every_recording_is_a_legacy_recording_even_with_a_torn_first_line(
    recordings_dir: Path,
) -> None:
    kinds = {detect_format(p) for p in recordings_dir.glob("*.jsonl")}
    assert kinds == {LEGACY_RECORDING}
    assert len(list(recordings_dir.glob("*.jsonl"))) == 125


def test_detection_ignores_the_file_name_and_sees_through_gzip(
    captures_dir: Path, tmp_path: Path
) -> None:
    src = (captures_dir / "2025-12-12_two-rugs.jsonl").read_bytes()
    disguised = tmp_path / "notes.txt"
    disguised.write_bytes(gzip.compress(src))
    assert detect_format(disguised) == JSONL_SEQ


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"v": 1, "session": "ab", "seq": 1, "recv_wall_ns": 1, "recv_mono_ns": 2, '
            '"event": "x", "args": []}\n',
            RUGSLAB_ARCHIVE,
        ),
        (
            '{"timestamp": 1, "direction": "received", "source": "websocket", "data": "2"}\n',
            BROWSER_INTERCEPT,
        ),
        (
            '[\n  {"timestamp": 1, "direction": "sent", "source": "websocket", "data": "3"}\n]\n',
            BROWSER_INTERCEPT,
        ),
        ('{"{"type": "tick", "timestamp": "2025-10-31T15:05:33", "game_id"\n', LEGACY_RECORDING),
        (
            '{\n  "a": {\n    "_meta": {},\n    "event_type": "x",\n    "timestamp_ms": 1,\n'
            '    "data": {}\n  }\n}\n',
            CURATED_JSON,
        ),
        ("", EMPTY),
        ("\n\n", EMPTY),
        ("hello world\n", UNREADABLE),
        ('{"some": "object"}\n', UNREADABLE),
        ("[1, 2, 3]\n", UNREADABLE),
    ],
)
def test_small_samples_are_classified(tmp_path: Path, text: str, expected: str) -> None:
    p = tmp_path / "sample"
    p.write_text(text)
    assert detect_format(p) == expected


def test_console_text_copy_raises_naming_the_file(captures_dir: Path) -> None:
    path = captures_dir / "2025-08-10_console-frames.txt"
    with pytest.raises(InputFormatError, match="not a recognised format") as info:
        read_frames(path)
    assert "2025-08-10_console-frames.txt" in str(info.value)
    assert info.value.path == path


def test_legacy_recording_is_refused_by_read_frames(recordings_dir: Path) -> None:
    with pytest.raises(InputFormatError, match="import_recording"):
        read_frames(recordings_dir / "game_20251029_183608.jsonl")


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    p = tmp_path / "empty.jsonl"
    p.write_bytes(b"")
    assert list(read_frames(p)) == []


def test_missing_file_raises_input_format_error(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="Cannot open"):
        detect_format(tmp_path / "nope.jsonl")
