"""One recipe for `reject_id` (`tables.rejects.reject_id`), pinned by its bytes; every builder of
`rejects` rows uses it; a file name that is not UTF-8 no longer crashes the ingest of a bad line."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from rugslab.ingest import ingest
from rugslab.lake.catalog import read_table
from rugslab.lake.validate import content_reject
from rugslab.readers.legacy import fragment_key, import_recording
from rugslab.tables.rejects import reject_id, reject_row, storable_text

GID = "20251030-0123456789abcdef"


def _blake(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def test_the_recipe_is_each_part_then_nul_hashed_with_blake2b_128() -> None:
    rid = reject_id("ticks", "", '{"x":1}')
    assert rid == "04dec5f2474f1069ac51c56b15c83c9c"
    assert rid == _blake(b'ticks\x00\x00{"x":1}\x00')
    assert reject_id(b"\x00\x01\x02\x03", "ticks", "r") == _blake(
        b"\x00\x01\x02\x03\x00ticks\x00r\x00"
    )
    assert reject_id("ab", "c") != reject_id("a", "bc")


def test_lone_surrogates_hash_as_their_utf8_forms_and_never_raise() -> None:
    # a file name that is not UTF-8, as Python decodes it (surrogateescape)
    name = os.fsdecode(b"cap-\xff")
    assert name == "cap-\udcff"
    assert reject_id(name) == "23b595287c0f59e50ad29ae3828ed9ab"
    assert reject_id(name) == _blake(b"cap-\xed\xb3\xbf\x00")


@pytest.mark.parametrize("parts", [("f" * 32, "ticks", "price_x × 2 failed"), ("", "", "")])
def test_ids_of_the_assembler_recipe_are_unchanged(parts: tuple[str, ...]) -> None:
    # before: str parts encoded with 'backslashreplace'; the same bytes without lone surrogates
    old = b"".join(p.encode("utf-8", "backslashreplace") + b"\x00" for p in parts)
    assert reject_id(*parts) == _blake(old)


def test_every_builder_takes_the_id_from_the_recipe(tmp_path: Path) -> None:
    row = reject_row(("k1", b"k2"), "ticks", "why", "raw", source="s", recv_ts=5)
    assert row == {"reject_id": reject_id("k1", b"k2"), "table": "ticks", "reason": "why",
                   "source": "s", "recv_ts": 5, "raw": "raw"}
    assert content_reject("ticks", "r", "{}")["reject_id"] == reject_id("ticks", "", "{}")
    located = content_reject("raw_events", "f.jsonl:3: bad", "x", locator="f.jsonl:3")
    assert located["reject_id"] == reject_id("raw_events", "f.jsonl:3", "x")
    p = tmp_path / "game_20251030_150000.jsonl"
    bad = json.dumps({"type": "tick", "timestamp": "2025-10-30T15:00:03", "game_id": "bad"})
    p.write_text(json.dumps({"type": "game_start", "timestamp": "2025-10-30T15:00:00",
                             "game_id": GID}) + "\n" + bad + "\n")
    (rid,) = import_recording(p).frame("rejects")["reject_id"]
    assert rid == reject_id(p.name, "2", "0", bad) == reject_id(*fragment_key(p.name, 2, 0, bad))


def test_text_that_is_not_utf8_is_stored_escaped() -> None:
    assert storable_text("plain ×") == "plain ×"
    assert storable_text("cap-\udcff.jsonl") == "cap-\\udcff.jsonl"
    row = reject_row(("cap-\udcff",), "raw_events", "cap-\udcff: bad", "x", source="/d/cap-\udcff")
    assert (row["reason"], row["source"]) == ("cap-\\udcff: bad", "/d/cap-\\udcff")
    assert row["reject_id"] == reject_id("cap-\udcff")  # the id is over the parts as given


def test_a_bad_line_in_a_file_whose_name_is_not_utf8_becomes_a_reject(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = Path(os.fsdecode(os.fsencode(folder) + b"/cap-\xff\xfe.jsonl"))
    line = '{"timestamp": "yesterday", "event_type": "gameStateUpdate", "data": {}}'
    try:
        path.write_text(line + "\n")
    except OSError as e:  # a file system that allows only UTF-8 names
        pytest.skip(f"cannot make a file with a name that is not UTF-8 here: {e}")
    lake = tmp_path / "lake"
    summary = ingest([folder], lake=lake, progress=False)
    assert (summary.files_read, summary.bad_records, summary.rows_new["rejects"]) == (1, 1, 1)
    (row,) = read_table("rejects", lake).to_dicts()
    where = "cap-\\udcff\\udcfe.jsonl:1"  # the source as stored (`readers.files.source_name`)
    assert row["reason"] == ("cap-\\udcff\\udcfe.jsonl:1: line 1: 'timestamp' 'yesterday' is "
                             "not an ISO timestamp")
    assert row["source"] == storable_text(str(path))
    assert row["reject_id"] == reject_id("raw_events", where, line)
    again = ingest([folder], lake=lake, progress=False)
    assert again.rows_new["rejects"] == 0


def test_good_lines_of_a_file_whose_name_is_not_utf8_are_kept(
    tmp_path: Path, captures_dir: Path
) -> None:
    # the frames' `source` carries the name: it crashed the raw_events write before
    folder = tmp_path / "in"
    folder.mkdir()
    path = Path(os.fsdecode(os.fsencode(folder) + b"/cap-\xff.jsonl"))
    try:
        path.write_bytes((captures_dir / "2025-12-12_two-rugs.jsonl").read_bytes())
    except OSError as e:  # a file system that allows only UTF-8 names
        pytest.skip(f"cannot make a file with a name that is not UTF-8 here: {e}")
    summary = ingest([folder], lake=tmp_path / "lake", progress=False)
    assert (summary.files_read, summary.bad_records, summary.rows_new["raw_events"]) == (1, 0, 554)
    sources = read_table("raw_events", tmp_path / "lake")["source"].unique().to_list()
    assert sources == [storable_text(str(path))] and "\\udcff" in sources[0]
