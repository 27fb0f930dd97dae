"""Time travel: a lake ingested in two steps answers `--as-of` the first step's time with the
first step's rows, in the CLI (`rugslab sql --as-of`) and in Python (`connect(as_of=)`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rugslab.cli import main
from rugslab.lake.catalog import connect, read_table
from rugslab.lake.snapshot import lake_snapshot

FIRST = "2025-12-06_active-to-cooldown.jsonl"
SECOND = "2025-12-12_two-rugs.jsonl"
COUNTS = ("SELECT (SELECT count(*) FROM games) AS games, (SELECT count(*) FROM ticks) AS "
          "ticks, (SELECT count(*) FROM raw_events) AS frames")


def _csv(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    code = main(["sql", "--format", "csv", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.splitlines()


@pytest.fixture(scope="module")
def two_steps(tmp_path_factory: pytest.TempPathFactory, captures_dir: Path
              ) -> tuple[Path, datetime, datetime, tuple[int, ...], tuple[int, ...]]:
    lake = tmp_path_factory.mktemp("asof") / "lake"
    before = datetime.now(UTC)
    time.sleep(0.05)
    assert main(["ingest", "--no-progress", "--lake", str(lake), str(captures_dir / FIRST)]) == 0
    time.sleep(1.1)
    between = datetime.now(UTC)
    with connect(lake) as con:
        first = con.sql(COUNTS).fetchall()[0]
    time.sleep(1.1)
    assert main(["ingest", "--no-progress", "--lake", str(lake), str(captures_dir / SECOND)]) == 0
    with connect(lake) as con:
        both = con.sql(COUNTS).fetchall()[0]
    assert all(b > f > 0 for f, b in zip(first, both, strict=True))
    return lake, before, between, first, both


def test_sql_as_of_the_first_steps_time_gives_its_rows(
    two_steps: tuple[Path, datetime, datetime, tuple[int, ...], tuple[int, ...]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    lake, _, between, first, both = two_steps
    stamp = between.strftime("%Y-%m-%dT%H:%M:%SZ")  # to the second: the commits are 1 s away
    assert _csv(capsys, "--lake", str(lake), "--as-of", stamp, COUNTS)[1] == ",".join(
        map(str, first))
    assert _csv(capsys, "--lake", str(lake), COUNTS)[1] == ",".join(map(str, both))
    # the same instant written with an offset
    local = between.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
    assert _csv(capsys, "--lake", str(lake), "--as-of", local, COUNTS)[1] == ",".join(
        map(str, first))


def test_python_as_of_and_the_snapshot_it_read(
    two_steps: tuple[Path, datetime, datetime, tuple[int, ...], tuple[int, ...]],
) -> None:
    lake, before, between, first, _ = two_steps
    with connect(lake, as_of=between) as con:
        assert con.sql(COUNTS).fetchall()[0] == first
        versions = con.snapshot.versions()
    assert lake_snapshot(lake).versions()["games"] > versions["games"]
    assert read_table("games", lake, as_of=between).height == first[0]
    # before the lake existed: every table reads as empty
    with connect(lake, as_of=before) as con:
        assert con.sql(COUNTS).fetchall()[0] == (0, 0, 0)
        assert con.snapshot.tables == {}
    line = lake_snapshot(lake, as_of=between).describe()
    assert f"as of {between:%Y-%m-%dT%H:%M:%S}." in line and "games v" in line


def test_a_bad_as_of_names_the_flag_value_and_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--lake", str(tmp_path), "--as-of", "yesterday", "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert "Invalid --as-of 'yesterday'" in err and "2026-12-03T13:40:02Z" in err


def test_status_prints_versions_and_the_time_to_pass_to_as_of(
    two_steps: tuple[Path, datetime, datetime, tuple[int, ...], tuple[int, ...]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    lake = two_steps[0]
    capsys.readouterr()
    assert main(["status", "--lake", str(lake)]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith(f"lake {lake} read")]
    assert len(line) == 1 and "games v" in line[0] and "(reproduce with --as-of " in line[0]
    stamp = line[0].rsplit("--as-of ", 1)[1].rstrip(")")
    read = datetime.fromisoformat(stamp)
    assert abs(datetime.now(UTC) - read) < timedelta(minutes=5)
    # that time reads the lake as status saw it
    with connect(lake, as_of=read) as con:
        assert con.snapshot.versions() == lake_snapshot(lake).versions()


def test_a_snapshot_as_of_an_instant_reports_commit_times_at_or_before_it(
    two_steps: tuple[Path, datetime, datetime, tuple[int, ...], tuple[int, ...]],
) -> None:
    lake, _, between, _, _ = two_steps
    snap = lake_snapshot(lake, as_of=between)
    assert snap.tables and all(s.committed_at <= between for s in snap.tables.values())
    latest = lake_snapshot(lake)
    assert any(s.committed_at > between for s in latest.tables.values())


def test_commits_landing_while_a_snapshot_opens_its_tables_are_left_out(
    two_steps: tuple[Path, datetime, datetime, tuple[int, ...], tuple[int, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The snapshot's read time is taken before its tables are opened: a version committed
    after it (here: the whole second step, as if it landed during the opening) is replaced by
    the version of the read time, so `--as-of <read time>` gives the same snapshot."""
    from rugslab.lake import snapshot as snapshot_module

    lake, _, between, _, _ = two_steps
    monkeypatch.setattr(snapshot_module, "_now", lambda: between)
    snap = lake_snapshot(lake)
    assert snap.read_at == between
    assert snap.versions() == lake_snapshot(lake, as_of=between).versions()
    monkeypatch.undo()
    assert lake_snapshot(lake).versions() != snap.versions()  # the second step is newer
