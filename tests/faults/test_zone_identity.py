"""One recording, one zone: slices of a capture ingested in any order store each frame once,
under one zone decision (issue item 6).

A short slice of `2025-12-12_two-rugs.jsonl` (its first 120 lines: 2 chat messages, 3 are
needed) cannot tell the recorder's zone (UTC−05:00) and is taken as UTC; the whole file can.
Before the fix, ingesting the slice and then the file stored the slice's 120 frames twice
(their ids hashed the zone-corrected receive time) and put a 5-hour interval between two
ticks of one game.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import orjson
import polars as pl
import pytest

from rugslab.assembly.assembler import GameAssembler
from rugslab.cli import main
from rugslab.errors import ConfigError
from rugslab.feed.frames import BadRecord, Frame
from rugslab.ingest import ingest
from rugslab.lake.delta_read import read_rows
from rugslab.lake.keys import may_match
from rugslab.lake.writer import write_batch
from rugslab.readers.captures import read_event_type_lines, read_seq_lines
from rugslab.readers.clock import RecordingZones, parse_utc_offset
from rugslab.readers.timestamps import iso_to_us

SEQ_FILE = "2025-12-12_two-rugs.jsonl"  # 554 lines, chat on lines 75, 114, 140, ...
EVENT_TYPE_FILE = "2025-12-06_active-to-cooldown.jsonl"  # 200 lines, chat on 56, 150, 170
H_US = 3600 * 1_000_000
UTC_MINUS_5 = -5 * H_US


def _slice(src: Path, dest: Path, first: int, last: int) -> Path:
    """Lines first..last (1-based, inclusive) of `src` written to `dest`."""
    lines = src.read_bytes().splitlines(keepends=True)
    dest.write_bytes(b"".join(lines[first - 1 : last]))
    return dest


def _stamps(path: Path, ts_key: str) -> list[int]:
    """The local stamps (µs, read as if UTC) of every line of a line capture."""
    return [iso_to_us(json.loads(line)[ts_key]) for line in path.read_text().splitlines()]


def _frames(items: Iterable[Frame | BadRecord]) -> list[Frame]:
    """The frames a reader gives (the real captures have no bad lines)."""
    out = list(items)
    assert not [x for x in out if isinstance(x, BadRecord)]
    return [f for f in out if isinstance(f, Frame)]


def _raw(lake: Path) -> pl.DataFrame:
    return read_rows(lake, "raw_events")


def _zone_offsets(lake: Path, stamps: list[int]) -> set[int]:
    """The offsets (stamp − recv_ts, µs) under which the lake holds a recording's frames:
    one value when the recording has one zone (the lake's receive times, sorted, against
    the file's stamps, sorted)."""
    recv = sorted(_raw(lake)["recv_ts"].dt.epoch("us").to_list())
    assert len(recv) == len(stamps)
    return {s - r for s, r in zip(sorted(stamps), recv, strict=True)}


def _longest_tick_interval_s(lake: Path) -> float:
    """The longest time between two received ticks of one game, in seconds."""
    ticks = read_rows(lake, "ticks")
    gaps = (
        ticks.filter(pl.col("recv_ts").is_not_null())
        .sort("game_id", "tick")
        .select((pl.col("recv_ts").diff().over("game_id").dt.total_microseconds() / 1e6)
                .abs().max())
        .item()
    )
    return float(gaps)


def _run(paths: list[Path], lake: Path) -> str:
    return str(ingest(paths, lake=lake, progress=False))


@pytest.mark.parametrize("order", ["slice_first", "whole_first"])
def test_a_slice_and_its_whole_recording_store_each_frame_once_under_one_zone(
    captures_dir: Path, tmp_path: Path, order: str
) -> None:
    whole = captures_dir / SEQ_FILE
    part = _slice(whole, tmp_path / "part.jsonl", 1, 120)
    lake = tmp_path / "lake"
    if order == "slice_first":
        part_summary = _run([part], lake)
        whole_summary = _run([whole], lake)
        # the slice cannot tell its zone: the summary names the file, what was assumed, the fix
        assert ("clock.zone_unknown_taken_as_utc (part.jsonl: 2 chat message(s), 3 needed to "
                "infer its zone; state the recorder's zone with --utc-offset, e.g. -05:00, or "
                "ingest the whole recording first): 1") in part_summary
        # the whole file keeps the zone its frames already have, and says so
        assert ("clock.zone_kept_from_earlier_ingest (2025-12-12_two-rugs.jsonl: kept "
                "UTC+00:00, the zone its frames have in the lake, though its chat messages say "
                "UTC-05:00;") in whole_summary
        expected_offset = 0
    else:
        whole_summary = _run([whole], lake)
        part_summary = _run([part], lake)
        assert "clock.local_time_corrected (UTC-05:00): 1" in whole_summary
        assert ("clock.zone_from_earlier_ingest (part.jsonl: UTC-05:00, the zone its frames "
                "have in the lake): 1") in part_summary
        assert "zone_unknown" not in part_summary
        expected_offset = UTC_MINUS_5
    raw = _raw(lake)
    assert raw.height == 554
    assert raw["frame_id"].n_unique() == 554
    assert _zone_offsets(lake, _stamps(whole, "ts")) == {expected_offset}
    assert _longest_tick_interval_s(lake) < 60


@pytest.mark.parametrize("order", ["slice_first", "whole_first"])
def test_a_slice_and_its_recording_in_one_run_get_one_zone(
    captures_dir: Path, tmp_path: Path, order: str
) -> None:
    whole = captures_dir / SEQ_FILE
    part = _slice(whole, tmp_path / "part.jsonl", 1, 120)
    lake = tmp_path / "lake"
    paths = [part, whole] if order == "slice_first" else [whole, part]
    summary = _run(paths, lake)
    assert _raw(lake).height == 554
    offset = 0 if order == "slice_first" else UTC_MINUS_5
    assert _zone_offsets(lake, _stamps(whole, "ts")) == {offset}
    assert _longest_tick_interval_s(lake) < 60
    assert "the zone its frames have in an earlier file of this run" in summary


def test_overlapping_slices_renumbered_by_line_are_one_recording(
    captures_dir: Path, tmp_path: Path
) -> None:
    # the 12-06 format numbers frames by line: a slice renumbers them; ids must not care
    whole = captures_dir / EVENT_TYPE_FILE
    head = _slice(whole, tmp_path / "head.jsonl", 1, 120)  # 1 chat message
    tail = _slice(whole, tmp_path / "tail.jsonl", 80, 200)  # 2 chat messages
    lake = tmp_path / "lake"
    _run([tail], lake)
    _run([head], lake)
    summary = _run([whole], lake)
    assert "clock.zone_kept_from_earlier_ingest (2025-12-06_active-to-cooldown.jsonl" in summary
    assert _raw(lake).height == 200
    assert _zone_offsets(lake, _stamps(whole, "timestamp")) == {0}
    assert _longest_tick_interval_s(lake) < 60


def test_a_stated_zone_reads_a_short_slice_like_its_whole_recording(
    captures_dir: Path, tmp_path: Path
) -> None:
    whole = captures_dir / SEQ_FILE
    part = _slice(whole, tmp_path / "part.jsonl", 1, 120)
    zones = RecordingZones()
    counters: Counter[str] = Counter()
    frames = _frames(read_seq_lines(part, counters, utc_offset_us=parse_utc_offset("-05:00"),
                                    zones=zones))
    # 2025-12-12T17:16:58.624285 at UTC-05:00 = 22:16:58.624285 UTC = 1765577818.624285
    assert frames[0].recv_ts_us == 1765577818_624285
    assert frames[0].local_ts_us == 1765559818_624285
    assert counters == Counter({"clock.local_time_corrected (UTC-05:00)": 1})
    counters = Counter()
    again = _frames(read_seq_lines(whole, counters, zones=zones))
    assert counters == Counter({"clock.local_time_corrected (UTC-05:00)": 1})
    ids = {f.frame_id for f in frames}
    assert sum(f.frame_id in ids for f in again) == 120


def test_frame_ids_do_not_depend_on_the_zone_decision(captures_dir: Path) -> None:
    path = captures_dir / EVENT_TYPE_FILE
    as_utc = _frames(read_event_type_lines(path, utc_offset_us=0, zones=RecordingZones()))
    inferred = _frames(read_event_type_lines(path))
    assert len(as_utc) == len(inferred) == 200
    assert [f.frame_id for f in as_utc] == [f.frame_id for f in inferred]
    assert {(f.recv_ts_us or 0) - (g.recv_ts_us or 0)
            for f, g in zip(inferred, as_utc, strict=True)} == {5 * H_US}


@pytest.mark.parametrize(
    ("text", "us"),
    [("-05:00", -5 * H_US), ("+05:30", 5 * H_US + 30 * 60_000_000), ("UTC-5", -5 * H_US),
     ("+0545", 5 * H_US + 45 * 60_000_000), ("Z", 0), ("+14:00", 14 * H_US)],
)
def test_utc_offset_text_is_parsed(text: str, us: int) -> None:
    assert parse_utc_offset(text) == us


@pytest.mark.parametrize(
    ("text", "says"),
    [("five", "expected the recorder's offset from UTC as ±HH:MM"),
     ("-05:07", "whole number of quarter hours"),
     ("+15:00", "civil time zones lie within -12:00 and +14:00"),
     ("-05:75", "expected the recorder's offset from UTC as ±HH:MM")],
)
def test_a_bad_utc_offset_names_the_option_the_value_and_the_fix(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_utc_offset(text)
    assert f"Invalid --utc-offset {text!r}" in str(e.value)
    assert says in str(e.value)


def _write_frames(frames: list[Frame], lake: Path) -> None:
    assembler = GameAssembler()
    for f in frames:
        assembler.feed(f)
    write_batch(lake, assembler.drain())


def test_a_lake_written_with_receipt_time_ids_gets_no_frame_twice(
    captures_dir: Path, tmp_path: Path
) -> None:
    # lakes written before this change hold capture frames under ids over their corrected
    # receive time: a frame without `local_ts_us` hashes its receive time, as they did
    whole = captures_dir / SEQ_FILE
    lake = tmp_path / "lake"
    old = _frames(read_seq_lines(whole))
    for f in old:
        f.local_ts_us = None
    _write_frames(old, lake)
    before = _raw(lake)
    part = _slice(whole, tmp_path / "part.jsonl", 1, 120)
    _run([part], lake)
    summary = _run([whole], lake)
    after = _raw(lake)
    assert after.height == 554
    assert sorted(after["frame_id"].to_list()) == sorted(before["frame_id"].to_list())
    assert "zone_unknown" not in summary


def test_a_frame_read_under_another_zone_is_still_found_by_the_key_check(
    captures_dir: Path, tmp_path: Path
) -> None:
    # the readers give a recording one zone; the writer's key check must not rely on it
    path = captures_dir / SEQ_FILE
    frames = _frames(read_seq_lines(path))[1:40]
    lake = tmp_path / "lake"
    _write_frames(frames, lake)
    shifted = [
        Frame(f.event, orjson.loads(f.args_json), f.source, (f.recv_ts_us or 0) + 5 * H_US,
              seq=f.seq, local_ts_us=f.local_ts_us)
        for f in frames
    ]
    assert [f.frame_id for f in shifted] == [f.frame_id for f in frames]
    _write_frames(shifted, lake)
    assert _raw(lake).height == 39


def test_the_key_filter_reaches_a_day_of_zone_spread() -> None:
    part = pl.DataFrame(
        {"session_id": [None], "seq": [3], "recv_ts": [1765577818_624285]},
        schema={"session_id": pl.String, "seq": pl.Int64, "recv_ts": pl.Int64},
    ).with_columns(pl.col("recv_ts").cast(pl.Datetime("us", "UTC")))
    lake_rows = pl.DataFrame(
        {"session_id": [None, None, None],
         "seq": [3, 3, 3],
         "recv_ts": [1765577818_624285 - 14 * H_US, 1765577818_624285 + 12 * H_US,
                     1765577818_624285 - 27 * H_US]},
        schema={"session_id": pl.String, "seq": pl.Int64, "recv_ts": pl.Int64},
    ).with_columns(pl.col("recv_ts").cast(pl.Datetime("us", "UTC")))
    where = may_match("raw_events", part)
    assert where is not None
    # within 26 h (+14:00 .. -12:00) of the batch's receive times: kept; beyond: ruled out
    assert lake_rows.with_row_index().filter(where)["index"].to_list() == [0, 1]



def test_the_ingest_command_takes_the_recorders_zone_for_a_short_slice(
    captures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    part = _slice(captures_dir / SEQ_FILE, tmp_path / "part.jsonl", 1, 120)
    lake = tmp_path / "lake"
    code = main(["ingest", "--no-progress", "--lake", str(lake), "--utc-offset", "-05:00",
                 str(part)])
    assert code == 0
    assert "zone_unknown" not in capsys.readouterr().out
    first = _raw(lake)["recv_ts"].min()
    # 17:16:58.624285 local at UTC-05:00 is 22:16:58.624285 UTC
    assert first.isoformat() == "2025-12-12T22:16:58.624285+00:00"
    assert main(["ingest", "--lake", str(lake), "--utc-offset", "-25:00", str(part)]) == 2
    assert "--utc-offset" in capsys.readouterr().err


class _Receipts:
    """A lake holding the given session-less receipts (recv µs, event, frame id)."""

    def __init__(self, rows: list[tuple[int, str, str]]) -> None:
        self.rows = rows

    def receipts(self, lo_us: int, hi_us: int) -> list[tuple[int, str, str]]:
        return [r for r in self.rows if lo_us <= r[0] <= hi_us]

    def args_of(self, frame_ids: list[str]) -> dict[str, str]:
        return {}


_HOUR_US = 3600 * 1_000_000
_T0 = 1_765_000_000_000_000  # 2025-12-06, µs
_FILE = [(_T0 + i * 250_000 + 17, "gameStateUpdate") for i in range(400)]


def test_one_chance_match_with_an_unrelated_recording_does_not_move_a_file() -> None:
    # another recording's frame happens to share a stamp's event and microsecond of the
    # quarter hour at a whole-quarter-hour distance (here 6 h 30 min)
    stray = [(_FILE[0][0] - 13 * _HOUR_US // 2, "gameStateUpdate", "f-other")]
    assert RecordingZones(_Receipts(stray)).decide(_FILE) is None


def test_a_file_whose_frames_the_lake_holds_keeps_their_zone() -> None:
    held = [(s - 5 * _HOUR_US, e, f"f{i}") for i, (s, e) in enumerate(_FILE[:300])]
    noise = [(_FILE[7][0] - _HOUR_US, "gameStateUpdate", "f-noise")]
    decision = RecordingZones(_Receipts(held + noise)).decide(_FILE)
    assert decision is not None and decision.offset_us == 5 * _HOUR_US
    assert decision.where == "the lake"
