"""Input folders and the lake's disk: symlink loops, links, unreadable folders and files, pipes,
a read-only and a full lake disk. Each: exit status, message, no traceback, the rest ingested.

Permissions are tested for real by running rugslab as user nobody (root bypasses them), disks
with a small tmpfs (root only; skipped otherwise).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from procs import remount

import rugslab.readers.files as files_module
import rugslab.readers.inputs as inputs_module
from rugslab.cli import main
from rugslab.lake.catalog import read_table
from rugslab.lake.delta_read import read_rows
from rugslab.readers import iter_inputs

TABLES = ("games", "ticks", "trades", "side_bets", "seeds", "gaps", "raw_events", "rejects")
CURATED = "2026-02-06_phase-samples.json"  # 11 frames
LINES = "2025-12-06_active-to-cooldown.jsonl"  # 200 frames


def _counts(lake: Path) -> dict[str, int]:
    return {t: read_rows(lake, t).height for t in TABLES}


def _raw_sources(lake: Path) -> list[str]:
    raw = read_rows(lake, "raw_events")
    return sorted(raw["source"].unique())


def _ingest(lake: Path, *paths: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["ingest", "--no-progress", "--lake", str(lake), *map(str, paths)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def folder(captures_dir: Path, tmp_path: Path) -> Path:
    """`in/` with the curated capture in `in/sub/`."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    shutil.copy(captures_dir / CURATED, root / "sub" / CURATED)
    return root


def test_a_symlink_loop_under_a_folder_walks_each_real_folder_once(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "sub" / "loop").symlink_to(".")
    (folder / "sub" / "up").symlink_to("..")
    (folder / "zz-again").symlink_to("sub")  # after `sub`: the real path is reached first
    walked = list(itertools.islice(iter_inputs([folder]), 100))  # the loop once gave 41
    assert walked == [folder / "sub" / CURATED]
    code, out, _ = _ingest(folder.parent / "lake", folder, capsys=capsys)
    assert code == 0
    assert out.startswith("files read: 1, skipped: 0\nframes: 11  bad records: 0\n")
    assert "  inputs.folders_seen_again: 3" in out.splitlines()


def test_many_symlink_loops_end_at_once(folder: Path) -> None:
    for i in range(6):  # each link multiplies the paths of a walk that follows them blindly
        (folder / "sub" / f"loop{i}").symlink_to("..")
    walked = list(itertools.islice(iter_inputs([folder]), 100))
    assert walked == [folder / "sub" / CURATED]


def test_a_file_reached_twice_is_read_once(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = folder / "sub" / CURATED
    (folder / "alias.json").symlink_to(real)
    os.link(real, folder / "hard.json")
    code, out, _ = _ingest(folder.parent / "lake", folder, real, capsys=capsys)
    assert code == 0
    assert out.startswith("files read: 1, skipped: 0\nframes: 11  bad records: 0\n")
    assert "  inputs.files_seen_again: 3" in out.splitlines()


def _link_loop(d: Path) -> None:
    (d / "x1").symlink_to("x1")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_link_loop, "symbolic link loop (the link leads back to itself); remove or fix the link"),
        (lambda d: (d / "x1").symlink_to("nowhere"),
         "broken symbolic link (its target does not exist); remove or fix the link"),
        (lambda d: os.mkfifo(d / "x1"),
         "not a regular file (a pipe, socket or device); leave it out of the inputs"),
    ],
    ids=["link-loop", "broken-link", "fifo"],
)
def test_an_entry_that_is_no_file_is_skipped_with_its_reason(
    folder: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], None], reason: str
) -> None:
    make(folder)
    code, out, err = _ingest(folder.parent / "lake", folder, capsys=capsys)
    assert code == 1
    assert out.startswith(f"files read: 1, skipped: 1\n  skipped {folder / 'x1'}: {reason}\n")
    assert "frames: 11  bad records: 0" in out
    assert err == ("rugslab: 1 input(s) skipped or cut short (listed above with the reason); "
                   "everything else was ingested. Exit status 1.\n")


def test_an_unreadable_subfolder_is_skipped_and_the_rest_ingested(
    folder: Path, captures_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = folder / "locked"
    locked.mkdir()
    shutil.copy(captures_dir / LINES, locked / LINES)
    listdir = os.listdir

    def refuse(p: str | Path) -> list[str]:
        if Path(p) == locked:
            raise PermissionError(13, "Permission denied", str(p))
        return listdir(p)

    monkeypatch.setattr(inputs_module.os, "listdir", refuse)
    code, out, _ = _ingest(folder.parent / "lake", folder, capsys=capsys)
    assert code == 1
    assert out.startswith(
        f"files read: 1, skipped: 1\n  skipped {locked}: folder cannot be listed (Permission "
        "denied), so none of its files were read; make it readable (chmod a+rx) or leave it "
        "out\nframes: 11  bad records: 0\n")


def test_an_unreadable_file_is_skipped_naming_it_and_the_fix(
    folder: Path, captures_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = folder / LINES
    shutil.copy(captures_dir / LINES, locked)

    def refuse(p: str | Path, *args: object, **kwargs: object) -> object:
        if Path(p) == locked:
            raise PermissionError(13, "Permission denied", str(p))
        return open(p, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(files_module, "open", refuse, raising=False)  # the module's builtin
    code, out, _ = _ingest(folder.parent / "lake", folder, capsys=capsys)
    assert code == 1
    assert out.startswith(
        f"files read: 1, skipped: 1\n  skipped {locked}: Cannot open input file '{locked}': "
        "Permission denied; check that it exists and is readable (permissions), or leave it "
        "out.\nframes: 11  bad records: 0\n")


@pytest.fixture
def nobody_inputs(open_tmp: Path, captures_dir: Path) -> Iterator[Path]:
    """`open_tmp/in`: a readable capture, a locked folder and a locked file (mode 000)."""
    root = open_tmp / "in"
    for sub in ("ok", "locked", "files"):
        (root / sub).mkdir(parents=True)
    shutil.copy(captures_dir / CURATED, root / "ok" / CURATED)
    shutil.copy(captures_dir / LINES, root / "locked" / LINES)
    shutil.copy(captures_dir / LINES, root / "files" / LINES)
    for p in root.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    root.chmod(0o755)
    (root / "locked").chmod(0)
    (root / "files" / LINES).chmod(0)
    yield root


def test_as_nobody_unreadable_folders_and_files_are_skipped_and_the_rest_ingested(
    nobody_inputs: Path, open_tmp: Path,
    rugslab_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    lake = open_tmp / "lake"
    res = rugslab_cli("ingest", "--no-progress", "--lake", str(lake), str(nobody_inputs),
                      as_nobody=True)
    assert "Traceback" not in res.stdout + res.stderr
    assert res.returncode == 1, res.stderr
    locked, file = nobody_inputs / "locked", nobody_inputs / "files" / LINES
    assert res.stdout.startswith(
        "files read: 1, skipped: 2\n"  # the walk finds the folder, reading finds the file
        f"  skipped {locked}: folder cannot be listed (Permission denied), so none of its files "
        "were read; make it readable (chmod a+rx) or leave it out\n"
        f"  skipped {file}: Cannot open input file '{file}': Permission denied; check that it "
        "exists and is readable (permissions), or leave it out.\n"
        "frames: 11  bad records: 0\n")
    assert _raw_sources(lake) == [str(nobody_inputs / "ok" / CURATED)]


@pytest.fixture
def small_disk(tmpfs: Callable[[str, str], Path]) -> Path:
    """A 160 KiB tmpfs (conftest `tmpfs`)."""
    return tmpfs("disk", "160k")


def _fresh_counts(tmp_path: Path, *paths: Path) -> dict[str, int]:
    lake = tmp_path / "fresh"
    assert main(["ingest", "--no-progress", "--lake", str(lake), *map(str, paths)]) == 0
    return _counts(lake)


@pytest.mark.slow
def test_a_read_only_lake_disk_is_one_line_naming_the_lake_and_the_fix(
    small_disk: Path, captures_dir: Path, tmp_path: Path,
    rugslab_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    lake = small_disk / "lake"
    remount(small_disk, "ro")
    src = captures_dir / CURATED
    res = rugslab_cli("ingest", "--no-progress", "--lake", str(lake), str(src))
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr == (
        f"rugslab: error: cannot create lake table raw_events at {lake}/raw_events: Read-only "
        "file system; make the lake folder writable (or point --lake at a writable folder). "
        f"Ingest stopped with 1 of 1 input files read; free space on the lake's disk or make "
        f"'{lake}' writable, then run the same ingest again: rows already written are kept once "
        "and the rest is added.\n")
    remount(small_disk, "rw,size=16m")  # a Delta lake needs more than 160 KiB
    again = rugslab_cli("ingest", "--no-progress", "--lake", str(lake), str(src))
    assert again.returncode == 0, again.stderr
    assert _counts(lake) == _fresh_counts(tmp_path, src)


@pytest.mark.slow
def test_a_full_lake_disk_stops_with_the_fix_and_a_rerun_adds_the_rest_once(
    small_disk: Path, captures_dir: Path, tmp_path: Path,
    rugslab_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    lake = small_disk / "lake"
    srcs = [captures_dir / CURATED, captures_dir / "2025-12-12_two-rugs.jsonl"]
    res = rugslab_cli("ingest", "--no-progress", "--batch-frames", "100", "--lake", str(lake),
                      *map(str, srcs))
    assert "Traceback" not in res.stdout + res.stderr
    assert res.returncode == 1
    assert len(res.stderr.splitlines()) == 1, res.stderr
    (line,) = res.stderr.splitlines()
    assert line.startswith("rugslab: error: cannot write lake table ")
    assert f" at {lake}/" in line  # the table's folder (no Rust panic report around it)
    assert "No space left on device" in line
    assert line.endswith(f"free space on the lake's disk or make '{lake}' writable, then run "
                         "the same ingest again: rows already written are kept once and the "
                         "rest is added.")
    assert [p for p in lake.rglob("*") if ".tmp-" in p.name] == []  # nothing half-made
    for t in TABLES:  # readers see whole files only
        assert isinstance(read_table(t, lake), pl.DataFrame)
    remount(small_disk, "size=16m")
    again = rugslab_cli("ingest", "--no-progress", "--lake", str(lake), *map(str, srcs))
    assert again.returncode == 0, again.stderr
    assert _counts(lake) == _fresh_counts(tmp_path, *srcs)


def test_ingest_help_states_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Exit status 0: every file was read" in out
    assert "Exit status 1: a file or folder could not be read or was cut short" in out
    assert "Exit status 1 also: the lake cannot be written" in out
    assert "Exit status 2: a usage error" in out


@pytest.mark.slow
def test_a_delta_lake_on_a_read_only_disk_can_still_be_queried(
    small_disk: Path, captures_dir: Path,
    rugslab_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    lake = small_disk / "lake"
    remount(small_disk, "size=16m")
    made = rugslab_cli("ingest", "--no-progress", "--lake", str(lake), str(captures_dir / LINES))
    assert made.returncode == 0, made.stderr
    remount(small_disk, "ro")
    sql = rugslab_cli("sql", "--lake", str(lake), "--format", "csv",
                      "SELECT count(*) AS n FROM raw_events")
    assert (sql.returncode, sql.stdout.splitlines()) == (0, ["n", "200"]), sql.stderr
    status = rugslab_cli("status", "--lake", str(lake))
    assert status.returncode == 0, status.stderr
    assert "raw_events v" in status.stdout
    nightly_like = rugslab_cli("ingest", "--no-progress", "--lake", str(lake),
                               str(captures_dir / CURATED))
    assert nightly_like.returncode == 1
    assert "Read-only file system" in nightly_like.stderr
    assert len(nightly_like.stderr.strip().splitlines()) == 1, nightly_like.stderr


def _curated_lake(tmp_path: Path, captures_dir: Path) -> tuple[Path, Path]:
    """A lake of the curated capture, and its raw_events table's log folder."""
    lake = tmp_path / "lake"
    assert main(["ingest", "--no-progress", "--lake", str(lake),
                 str(captures_dir / CURATED)]) == 0
    return lake, lake / "raw_events" / "_delta_log"


def test_a_lake_that_cannot_be_read_is_not_blamed_on_the_disk(
    tmp_path: Path, captures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, log = _curated_lake(tmp_path, captures_dir)
    for checkpoint in log.glob("*.checkpoint.parquet"):  # a damaged table: reading it fails
        checkpoint.write_bytes(b"not parquet")
    capsys.readouterr()
    code = main(["ingest", "--no-progress", "--lake", str(lake), str(captures_dir / LINES)])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert "is corrupt or unreadable" in err and str(log) in err
    assert "fix what the message names, then run the same ingest again" in err
    assert "free space" not in err


def test_a_damaged_commit_file_that_a_checkpoint_covers_leaves_sql_and_status_working(
    tmp_path: Path, captures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, log = _curated_lake(tmp_path, captures_dir)
    assert list(log.glob("*.checkpoint.parquet"))  # the first write is checkpointed
    newest = max(p for p in log.glob("*.json") if p.name[:20].isdigit())
    newest.write_text("{garbage")
    capsys.readouterr()
    assert main(["sql", "--lake", str(lake), "--format", "csv",
                 "SELECT count(*) AS n FROM raw_events"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "11"]
    assert main(["status", "--lake", str(lake)]) == 0
    assert "raw_events v" in capsys.readouterr().out
