"""Attacks on `rugslab report`: --out into a read-only folder, on a full disk, under a missing
folder, at a folder; hostile --as-of values; a truncated Delta log.

Each: exit status, one `rugslab: error:` line naming the flag or path and the fix, no
traceback, and --out as it was (no partial file, no temporary file left)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from procs import remount

from rugslab.cli import main
from rugslab.ingest import ingest

CAPTURE = "2025-12-06_active-to-cooldown.jsonl"
FAST = ("--resamples", "10", "--format", "json")


@pytest.fixture(scope="module")
def lake(captures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One capture ingested (read only by these tests, except where copied)."""
    path = tmp_path_factory.mktemp("report-attacks") / "lake"
    ingest([captures_dir / CAPTURE], lake=path, progress=False)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *FAST, *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rugslab: error: "), err
    return lines[0]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("value", [
    "garbage", "", "   ", "2026-13-45", "+275760-09-13", "2026-01-01\x00",
    "2026-12-03T13:40:02Z'; DROP TABLE games;--", "1 OR 1=1", "now()",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",  # leave years 1..9999 in UTC
])
def test_a_hostile_as_of_is_one_line_naming_it(
    lake: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, out, err = _run(capsys, "--lake", str(lake), "--as-of", value)
    assert (code, out) == (2, "")
    line = _error_line(err)
    assert line.startswith(f"rugslab: error: Invalid --as-of {value!r}: expected an ISO 8601")


@pytest.mark.parametrize("value", ["9999-12-31", "2999-01-01T00:00:00+01:00"])
def test_an_as_of_in_the_future_is_refused(
    lake: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """It used to read the latest version and label it "as of 9999-12-31": a report that
    the same --as-of would not give again once more rows arrive."""
    code, out, err = _run(capsys, "--lake", str(lake), "--as-of", value)
    assert (code, out) == (2, "")
    assert "later than now" in _error_line(err) and "Leave it out" in err


def test_an_as_of_before_the_lake_existed_is_an_empty_report_that_says_so(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--resamples", "10", "--lake", str(lake), "--as-of", "1970-01-01"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "as of 1970-01-01T00:00:00.000Z: no tables yet" in out.splitlines()[0]
    assert "games                      0" in out


@pytest.mark.parametrize("case", ["missing folder", "a folder", "read-only folder"])
def test_an_out_that_cannot_be_written_fails_before_the_work(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str,
    tmpfs: Callable[[str, str], Path],
) -> None:
    if case == "missing folder":
        out_path = tmp_path / "no" / "such" / "report.json"
        why = "does not exist (create it"
    elif case == "a folder":
        out_path = tmp_path
        why = "it is a folder; give a file name"
    else:
        disk = tmpfs("ro", "1m")
        remount(disk, "ro")
        out_path = disk / "report.json"
        why = "is not writable"
    before = _leftovers(out_path.parent) if out_path.parent.exists() else None
    code, out, err = _run(capsys, "--lake", str(lake), "--out", str(out_path))
    assert (code, out) == (2, "")
    line = _error_line(err)
    assert f"Invalid --out '{out_path}'" in line and why in line, line
    if before is not None:
        assert _leftovers(out_path.parent) == before


def test_an_out_on_a_full_disk_leaves_no_file(
    lake: Path, tmpfs: Callable[[str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    disk = tmpfs("full", "256k")
    (disk / "report.json").write_text("the old report\n")
    with open(disk / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)
    code, out, err = _run(capsys, "--lake", str(lake), "--out", str(disk / "report.json"))
    assert (code, out) == (2, "")
    line = _error_line(err)
    assert "cannot write it (No space left on device)" in line and "make room" in line
    assert _leftovers(disk) == ["filler", "report.json"]  # no temporary file
    assert (disk / "report.json").read_text() == "the old report\n"  # not half replaced


def test_a_truncated_delta_log_is_one_line_naming_it(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    broken = tmp_path / "lake"
    shutil.copytree(lake, broken)
    log = sorted((broken / "games" / "_delta_log").glob("*.json"))[-1]
    data = log.read_bytes()
    log.write_bytes(data[: len(data) // 2])  # cut mid-line, as a crashed copy would
    for p in (broken / "games" / "_delta_log").glob("*.checkpoint.parquet"):
        os.remove(p)  # no checkpoint covers it
    code, out, err = _run(capsys, "--lake", str(broken), "--out", str(tmp_path / "r.json"))
    assert (code, out) == (2, "")
    line = _error_line(err)
    assert str(broken / "games" / "_delta_log") in line and "corrupt" in line, line
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("name", [
    "report with spaces.json", "rapport-ü-λ-🚀.json", "-leading-dash.json", "new\nline.json",
    "quote'\"`$(touch pwned).json", "x" * 250 + ".json",
])
def test_an_odd_out_name_is_written_as_given_and_nothing_else(  # 255 bytes: the temporary
    # file's name (`<name>.tmp-<token>`) was too long and the report failed; it is cut now
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, err = _run(capsys, "--lake", str(lake), "--out", str(folder / name))
    assert (code, out) == (0, ""), err
    assert _leftovers(folder) == [name]  # no temporary file left, no `pwned`
    assert (folder / name).read_text().startswith("{")


def test_an_out_name_too_long_for_the_file_system_is_one_line(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / ("x" * 300 + ".json")  # names are at most 255 bytes
    code, out, err = _run(capsys, "--lake", str(lake), "--out", str(out_path))
    assert (code, out) == (2, "")
    line = _error_line(err)
    assert f"Invalid --out '{out_path}': File name too long; choose another path." in line
    assert _leftovers(tmp_path) == []
