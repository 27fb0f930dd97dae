"""The real captures read into exact frame counts; broken lines become BadRecords."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from rugslab.feed.frames import BadRecord, Frame, is_trace
from rugslab.readers import read_frames

# Established independently with a json.loads loop over each file (see the report).
EXPECTED = {
    "2025-12-06_active-to-cooldown.jsonl": {
        "gameStateUpdate": 176,
        "standard/newTrade": 18,
        "rugRoyaleUpdate": 2,
        "battleEventUpdate": 1,
        "newChatMessage": 3,
    },
    "2025-12-12_two-rugs.jsonl": {
        "connect": 1,
        "gameStateUpdate": 510,
        "standard/newTrade": 31,
        "newChatMessage": 11,
        "battleEventUpdate": 1,
    },
    "2026-02-06_phase-samples.json": {"gameStateUpdate": 7, "standard/newTrade": 4},
}


def _split(items: list[Frame | BadRecord]) -> tuple[list[Frame], list[BadRecord]]:
    frames = [x for x in items if isinstance(x, Frame)]
    bad = [x for x in items if isinstance(x, BadRecord)]
    return frames, bad


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_frames_per_event_type(captures_dir: Path, name: str) -> None:
    counters: Counter[str] = Counter()
    frames, bad = _split(list(read_frames(captures_dir / name, counters=counters)))
    assert dict(Counter(f.event for f in frames)) == EXPECTED[name]
    assert bad == []
    assert counters["frames"] == sum(EXPECTED[name].values())
    # both line captures were recorded at UTC-05:00 (chat timestamps tell); curated JSON is UTC
    clock = {k: v for k, v in counters.items() if k.startswith("clock.")}
    expected_clock = {} if name.endswith(".json") else {
        "clock.local_time_corrected (UTC-05:00)": 1
    }
    assert clock == expected_clock


def test_seq_capture_keeps_seq_time_and_trace_arguments(captures_dir: Path) -> None:
    frames, _ = _split(list(read_frames(captures_dir / "2025-12-12_two-rugs.jsonl")))
    first = frames[0]
    assert (first.event, first.args, first.seq) == ("connect", [], 1)
    # 2025-12-12T17:16:58.624285 at UTC-05:00 = 22:16:58.624285 UTC;
    # `date -u -d '2025-12-12 22:16:58' +%s` = 1765577818
    assert first.recv_ts_us == 1765577818_624285
    assert [f.seq for f in frames] == list(range(1, 555))
    trades = [f for f in frames if f.event == "standard/newTrade"]
    assert all(len(t.args) == 2 and is_trace(t.args[0]) for t in trades)
    assert all(isinstance(t.payload, dict) and "tickIndex" in t.payload for t in trades)
    state = frames[1]
    assert state.event == "gameStateUpdate" and len(state.args) == 1
    assert state.source == str(captures_dir / "2025-12-12_two-rugs.jsonl")


def test_event_type_capture_wraps_payloads_and_keeps_trace_lists(captures_dir: Path) -> None:
    frames, _ = _split(list(read_frames(captures_dir / "2025-12-06_active-to-cooldown.jsonl")))
    first = frames[0]
    # 2025-12-06T19:57:10.420892 at UTC-05:00 = 2025-12-07 00:57:10 UTC (the game's id date);
    # `date -u -d '2025-12-07 00:57:10' +%s` = 1765069030
    assert first.recv_ts_us == 1765069030_420892
    assert first.seq == 1 and first.payload["tickCount"] == 129
    chats = [f for f in frames if f.event == "newChatMessage"]
    assert [len(c.args) for c in chats] == [2, 2, 2] and all(is_trace(c.args[0]) for c in chats)


def test_curated_json_is_ordered_by_timestamp_then_name(captures_dir: Path) -> None:
    frames, _ = _split(list(read_frames(captures_dir / "2026-02-06_phase-samples.json")))
    order = [f.payload.get("type") or f.payload.get("tickCount") for f in frames]
    # by timestamp_ms: 01, 02 (same ms, by name), 03, 04, 09, 07, 06, 08, 05, 10, 11
    assert order == [None, 0, 0, 0, "short_open", "sell", "buy", "short_close", 103, 255, 255]
    assert [f.seq for f in frames] == list(range(1, 12))
    assert frames[0].recv_ts_us == 1770365059440_000
    assert frames[-1].recv_ts_us == 1770365138733_000


def test_gzipped_capture_reads_the_same_frames(captures_dir: Path, tmp_path: Path) -> None:
    plain = captures_dir / "2025-12-06_active-to-cooldown.jsonl"
    gz = tmp_path / "capture.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    a = [(f.event, f.args, f.recv_ts_us, f.seq) for f in read_frames(plain)]  # type: ignore[union-attr]
    b = [(f.event, f.args, f.recv_ts_us, f.seq) for f in read_frames(gz)]  # type: ignore[union-attr]
    assert a == b and len(a) == 200


def test_broken_lines_become_bad_records_with_reasons(tmp_path: Path) -> None:
    p = tmp_path / "seq.jsonl"
    p.write_text(
        '{"seq": 1, "ts": "2025-12-12T17:16:58.624285", "event": "connect", "data": null}\n'
        '{"seq": 2, "ts": "2025-12-12T17:16:59", "event": "gameStateUpdate", "da\n'
        '{"seq": 3, "ts": "2025-12-12T17:17:00", "event": "x"}\n'
        '{"seq": 4, "ts": "yesterday", "event": "x", "data": 1}\n'
        "[1, 2]\n"
        "\n"
        '{"seq": 7, "ts": "2025-12-12T17:17:01Z", "event": "x", "data": [1, 2]}\n'
    )
    items = list(read_frames(p))
    frames, bad = _split(items)
    assert [(f.seq, f.event, f.args) for f in frames] == [
        (1, "connect", []),
        (7, "x", [[1, 2]]),
    ]
    assert [(b.line_no, b.reason.split(" ", 2)[2][:22]) for b in bad] == [
        (2, "is not valid JSON (une"),
        (3, "missing field 'data'"),
        (4, "'ts' 'yesterday' is no"),
        (5, "is a JSON list, expect"),
    ]
    assert bad[0].raw.startswith('{"seq": 2') and not bad[0].raw.endswith("\n")
