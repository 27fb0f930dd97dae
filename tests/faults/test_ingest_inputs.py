"""Damaged input files: every good frame kept, every bad line a `rejects` row with its file and
line, a cut gzip read up to the cut (exit status 1), no traceback, re-ingest adds nothing.

The corpus (`corpus.py`) damages real captures, an archive and a recording at test time; the
default run takes the 12-12 capture's and the recording's mutants (about a minute), `-m slow`
the other line formats' and the 9 MiB lines.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from corpus import CASES, SLOW_CASES, Base, Case, Mutant

from rugslab.cli import main
from rugslab.errors import InputFormatError
from rugslab.ingest import ingest
from rugslab.lake.delta_read import read_rows
from rugslab.readers.detect import JSONL_EVENT_TYPE, JSONL_SEQ, LEGACY_RECORDING, detect
from rugslab.readers.files import cuts_recorded, iter_lines

TABLES = ("games", "ticks", "trades", "side_bets", "seeds", "gaps", "raw_events", "rejects")


def _table(lake: Path, table: str) -> pl.DataFrame:
    """The visible rows of `table` (the catalog's view, read without starting DuckDB)."""
    return read_rows(lake, table)


def _counts(lake: Path) -> dict[str, int]:
    return {t: _table(lake, t).height for t in TABLES}


def _of(lake: Path, table: str, path: Path) -> pl.DataFrame:
    return _table(lake, table).filter(pl.col("source") == str(path))


def _ingest(lake: Path, *paths: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["ingest", "--no-progress", "--lake", str(lake), *map(str, paths)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "Aborted" not in err
    return code, out, err


def _reject_lines(rejects: pl.DataFrame, m: Mutant, legacy: bool) -> list[int]:
    """The file lines the `rejects` rows name (legacy: one row per fragment of a line)."""
    pattern = (rf"^legacy recording {re.escape(m.file_name)} line (\d+) col \d+: " if legacy
               else rf"^{re.escape(m.file_name)}:(\d+): ")
    found = [re.match(pattern, r) for r in rejects["reason"]]
    assert all(found), list(rejects["reason"])
    lines = [int(f.group(1)) for f in found if f]
    return sorted(set(lines)) if legacy else sorted(lines)


def _check(case: Case, bases: dict[str, Base], tmp_path: Path,
           capsys: pytest.CaptureFixture[str]) -> None:
    m = case.build(bases)
    path = tmp_path / "in" / m.file_name
    path.parent.mkdir()
    path.write_bytes(m.data)
    lake = tmp_path / "lake"
    code, out, err = _ingest(lake, path, capsys=capsys)
    assert code == (1 if m.cut else 0), out + err
    lines = out.splitlines()
    assert lines[0] == "files read: 1, skipped: 0" + (", cut short: 1" if m.cut else "")
    if m.cut:
        (cut,) = [s for s in lines if s.startswith(f"  cut short {path}: ")]
        assert "Re-copy the file from its source to read the rest." in cut
        if m.cut_after is not None:
            assert f"is cut short or corrupt after line {m.cut_after}: its gzip stream" in cut
        assert "1 input(s) skipped or cut short" in err
    else:
        assert err == ""
    rejects = _of(lake, "rejects", path)
    if case.base == "legacy":
        # the recording's ticks are those of the good lines alone, ingested on their own
        clean = tmp_path / "clean" / m.file_name
        clean.parent.mkdir()
        clean.write_bytes(b"".join(line + b"\n" for line in m.good))
        oracle = tmp_path / "oracle"
        ingest([clean], lake=oracle, progress=False)
        cols = ["game_id", "tick", "price_x", "recv_ts", "is_rug"]
        assert _table(lake, "ticks").select(cols).sort(cols).equals(
            _table(oracle, "ticks").select(cols).sort(cols))
        assert _reject_lines(rejects, m, legacy=True) == m.bad_lines
    else:
        assert f"frames: {len(m.good)}  bad records: {len(m.bad_lines)}" in lines
        assert _of(lake, "raw_events", path).height == len(set(m.good))
        if m.bad_lines == [0]:  # the curated document: one record, no lines
            (reason,) = rejects["reason"]
            assert reason.startswith(f"{path}: curated JSON file is not valid JSON")
        else:
            assert _reject_lines(rejects, m, legacy=False) == m.bad_lines
    before = _counts(lake)
    again, out2, _ = _ingest(lake, path, capsys=capsys)
    assert again == code
    assert _counts(lake) == before
    assert out2.splitlines()[:2] == lines[:2]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_damaged_file_keeps_every_good_frame_and_rejects_each_bad_line(
    case: Case, bases: dict[str, Base], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check(case, bases, tmp_path, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=str)
def test_more_damaged_files_keep_every_good_frame_and_reject_each_bad_line(
    case: Case, bases: dict[str, Base], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check(case, bases, tmp_path, capsys)


def test_a_truncated_gzip_beside_a_good_file_keeps_both(
    bases: dict[str, Base], captures_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue item 3: the cut file's frames before the cut, the other file whole, exit 1."""
    src = (captures_dir / "2025-12-12_two-rugs.jsonl").read_bytes()
    packed = gzip.compress(src, mtime=0)
    folder = tmp_path / "in"
    folder.mkdir()
    cut = folder / "a-cut.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    good = folder / "b-good.jsonl"
    good.write_bytes((captures_dir / "2025-12-06_active-to-cooldown.jsonl").read_bytes())
    whole = src[: src.index(b"\n", len(src) // 3)]  # well inside what the half decodes
    lake = tmp_path / "lake"
    code, out, err = _ingest(lake, folder, capsys=capsys)
    assert code == 1
    assert out.startswith("files read: 2, skipped: 0, cut short: 1\n")
    assert f"  cut short {cut}: Input file '{cut}' is cut short or corrupt after line " in out
    assert _of(lake, "raw_events", good).height == 200  # every line of the 12-06 capture
    kept = _of(lake, "raw_events", cut).height
    assert kept >= whole.count(b"\n") + 1 > 100
    (partial,) = _of(lake, "rejects", cut)["reason"]  # the line the cut tore
    assert partial.startswith(f"a-cut.jsonl.gz:{kept + 1}: line {kept + 1} is not valid JSON")
    assert "skipped or cut short (listed above with the reason)" in err


def test_a_file_without_a_known_format_is_skipped_naming_its_first_line(
    captures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = captures_dir / "2025-08-10_console-frames.txt"
    code, out, err = _ingest(tmp_path / "lake", text, capsys=capsys)
    assert code == 1
    assert out.startswith("files read: 0, skipped: 1\n")
    assert (f"  skipped {text}: format not readable (unreadable): none of its first 256 "
            "non-blank lines is a capture, recording or archive record (line 1 is not valid "
            "JSON). A free-text copy (e.g. a browser-console dump) cannot be ingested: leave it "
            "out of the inputs; for the formats read, see README 'Input formats'.\n") in out
    assert "rugslab: 1 input(s) skipped or cut short" in err


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (b'{"seq": 1, "ts": "2025-12-1', JSONL_SEQ),  # cut
        (b"\xff\xfe{garbage", JSONL_SEQ),
        (b"[" * 5000 + b"]" * 5000, JSONL_SEQ),  # nested past orjson's limit
        (b'{"seq": NaN, "ts": "x", "event": "y", "data": 1}', JSONL_SEQ),
        (b'{"type": "tick"}', JSONL_SEQ),  # another format's record: outvoted
        (b'{"timestamp": "2025", "event_type": "x", "data": 1}', JSONL_SEQ),
    ],
)
def test_the_format_comes_from_the_first_lines_that_are_records(
    bases: dict[str, Base], tmp_path: Path, first: bytes, expected: str
) -> None:
    p = tmp_path / "f.jsonl"
    p.write_bytes(b"\n".join([first, *bases["seq"].lines]) + b"\n")
    assert detect(p).format == expected


def test_legacy_and_event_type_files_are_told_apart_after_a_bad_first_line(
    bases: dict[str, Base], tmp_path: Path
) -> None:
    for name, expected in (("legacy", LEGACY_RECORDING), ("event-type", JSONL_EVENT_TYPE)):
        p = tmp_path / name
        p.write_bytes(b"\n".join([b"}{ torn", *bases[name].lines[:3]]) + b"\n")
        assert detect(p).format == expected


def test_outside_a_run_a_cut_gzip_raises_after_its_last_line(
    bases: dict[str, Base], tmp_path: Path
) -> None:
    text = b"\n".join(bases["seq"].lines) + b"\n"
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(gzip.compress(text, mtime=0)[:-4])  # the trailer's size field cut off
    got = []
    with pytest.raises(InputFormatError, match=r"cut short or corrupt after line 12: its gzip"):
        got.extend(line.rstrip(b"\n") for _, line in iter_lines(p))
    assert got == bases["seq"].lines
    with cuts_recorded() as log:  # within a run: the lines, and the cut in the log
        assert [line.rstrip(b"\n") for _, line in iter_lines(p)] == bases["seq"].lines
    assert "after line 12" in (log.pop(p) or "")


def test_a_browser_array_element_nested_too_deep_is_a_reject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "browser.json"
    ok = b'{"timestamp": 1765559818000, "direction": "received", "source": "websocket", '
    p.write_bytes(b"[" + ok + b'"data": "42[\\"x\\",{}]"},\n' + b"[" * 5000 + b"]" * 5000 + b"]")
    code, out, _ = _ingest(tmp_path / "lake", p, capsys=capsys)
    assert code == 0
    assert out.startswith("files read: 1, skipped: 0\nframes: 1  bad records: 1\n")
    (reason,) = _of(tmp_path / "lake", "rejects", p)["reason"]
    assert reason == "browser.json:2: element 2 is nested too deep to read"


@pytest.mark.slow
def test_the_whole_corpus_in_one_subprocess_run_prints_no_traceback(
    bases: dict[str, Base], tmp_path: Path,
    rugslab_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    folder = tmp_path / "corpus"
    cases = CASES + SLOW_CASES
    for case in cases:
        m = case.build(bases)
        (folder / str(case)).mkdir(parents=True)
        (folder / str(case) / m.file_name).write_bytes(m.data)
    cuts = sum(1 for case in cases if case.build(bases).cut)
    res = rugslab_cli("ingest", "--no-progress", "--lake", str(tmp_path / "lake"), str(folder),
                      timeout=600)
    assert "Traceback" not in res.stdout + res.stderr
    assert res.returncode == 1, res.stderr
    assert res.stdout.startswith(f"files read: {len(cases)}, skipped: 0, cut short: {cuts}\n")
    assert res.stderr == f"rugslab: {cuts} input(s) skipped or cut short (listed above with the " \
        "reason); everything else was ingested. Exit status 1.\n"
