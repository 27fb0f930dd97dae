"""`rugslab lake migrate`: an old hive-Parquet lake becomes Delta tables, visible rows only,
counts checked, safe to re-run (also after a kill between the folder swaps)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from rugslab.cli import main
from rugslab.errors import LakeError
from rugslab.lake import layout
from rugslab.lake.catalog import read_table
from rugslab.lake.delta import LOG_DIR
from rugslab.lake.delta_read import snapshot_files
from rugslab.lake.migrate import WORK_DIR, migrate_lake
from rugslab.tables.schemas import TABLES

GID = "20251207-e8186dbf38e046d1"
T0 = datetime(2025, 12, 7, 0, 10, tzinfo=UTC)


def _trades(ids: range) -> pl.DataFrame:
    rows = [{"trade_id": f"t{i:03d}", "game_id": GID, "player_id": "p1", "trade_type": "buy",
             "tick": i, "price_x": 1.0, "qty": 1.0, "amount_sol": 0.1, "source": "live",
             "recv_ts": T0} for i in ids]
    return pl.DataFrame(rows, schema=TABLES["trades"].polars_schema)


def _write(path: Path, frame: pl.DataFrame, supersedes: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = frame.to_arrow()
    if supersedes is not None:
        meta = {layout.SUPERSEDES_KEY.encode(): json.dumps(supersedes).encode()}
        table = table.replace_schema_metadata(meta)
    pq.write_table(table, path)


def _old_lake(root: Path) -> Path:
    """An old-layout lake: trades with two part files, a compacted file superseding them
    (still on disk in its grace period), a later part file and a killed writer's temp file;
    games as one merged `data.parquet`."""
    lake = root / "lake"
    day = lake / "trades" / "date=2025-12-07"
    _write(day / "part-20251207T001000000000-aaaaaaaa.parquet", _trades(range(0, 3)))
    _write(day / "part-20251207T001100000000-bbbbbbbb.parquet", _trades(range(3, 5)))
    _write(day / "compact-20251207T001200000000-cccccccc.parquet", _trades(range(0, 5)),
           supersedes=["part-20251207T001000000000-aaaaaaaa.parquet",
                       "part-20251207T001100000000-bbbbbbbb.parquet"])
    _write(day / "part-20251207T001300000000-dddddddd.parquet", _trades(range(5, 7)))
    (day / "part-20251207T001400000000-eeeeeeee.parquet.tmp-0123456789ab").write_bytes(b"PAR1")
    games = pl.DataFrame([{"game_id": GID, "seen_live": True, "revealed": False,
                           "rug_tick": 6}], schema_overrides=TABLES["games"].polars_schema)
    games = games.select([pl.col(c).cast(t) if c in games.columns else pl.lit(None, t).alias(c)
                          for c, t in TABLES["games"].polars_schema.items()])
    _write(lake / "games" / "date=2025-12-07" / "data.parquet", games)
    (lake / ".write.lock").touch()
    return lake


def test_an_old_lake_is_migrated_with_its_visible_rows_only(tmp_path: Path) -> None:
    lake = _old_lake(tmp_path)
    with pytest.raises(LakeError, match="rugslab lake migrate"):
        read_table("trades", lake)  # the new reader refuses the old layout, naming the fix
    report = migrate_lake(lake)
    trades = {t.table: t for t in report.tables}["trades"]
    assert (trades.state, trades.rows_before, trades.rows_after) == ("migrated", 7, 7)
    assert trades.skipped_files == 3  # two superseded files and a temporary file
    got = read_table("trades", lake)
    assert got["trade_id"].to_list() == [f"t{i:03d}" for i in range(7)]
    assert got["date"].cast(pl.String).unique().to_list() == ["2025-12-07"]
    assert read_table("games", lake).select("game_id", "rug_tick").rows() == [(GID, 6)]
    assert (lake / "trades" / LOG_DIR).is_dir()
    assert (lake / WORK_DIR / "hive-trades" / "date=2025-12-07").is_dir()  # the backup
    assert not (lake / ".write.lock").exists()
    # plain engines read the Delta table right
    assert pl.scan_delta(str(lake / "trades")).collect().height == 7
    assert "migrated 2 table(s) to Delta" in str(report)


def test_migrating_again_leaves_a_delta_lake_alone(tmp_path: Path) -> None:
    lake = _old_lake(tmp_path)
    migrate_lake(lake)
    files = sorted(p for p, _ in snapshot_files(lake, "trades"))
    again = migrate_lake(lake)
    assert {t.state for t in again.tables} == {"already Delta", "absent"}
    assert str(again).endswith("is already in the Delta layout (2 tables): nothing to migrate")
    assert sorted(p for p, _ in snapshot_files(lake, "trades")) == files


def test_a_run_killed_between_the_folder_swaps_is_finished_by_the_next(tmp_path: Path) -> None:
    lake = _old_lake(tmp_path)
    real = os.replace
    calls: list[tuple[str, str]] = []

    def die_after_backup(src: object, dst: object) -> None:
        calls.append((str(src), str(dst)))
        real(src, dst)  # type: ignore[arg-type]
        if str(dst).endswith("hive-trades"):
            raise KeyboardInterrupt  # killed: the backup is made, the new table not moved in

    os.replace = die_after_backup  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            migrate_lake(lake)
    finally:
        os.replace = real
    assert not (lake / "trades").exists()
    report = migrate_lake(lake)
    trades = {t.table: t for t in report.tables}["trades"]
    assert (trades.rows_before, trades.rows_after) == (7, 7)
    assert read_table("trades", lake).height == 7


def test_rows_that_do_not_survive_leave_the_old_folder_as_it_was(tmp_path: Path) -> None:
    lake = _old_lake(tmp_path)
    day = lake / "trades" / "date=2025-12-07"
    _write(day / "part-20251207T001500000000-ffffffff.parquet", _trades(range(6, 8)))  # t006 twice
    before = sorted(p.name for p in day.iterdir())
    with pytest.raises(LakeError, match=r"holds 8 rows but the old layout showed 9"):
        migrate_lake(lake)
    assert sorted(p.name for p in day.iterdir()) == before
    assert not (lake / "trades" / LOG_DIR).exists()


def test_the_cli_migrates_and_explains_an_unmigrated_lake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = _old_lake(tmp_path)
    assert main(["sql", "--lake", str(lake), "SELECT count(*) FROM trades"]) == 2
    err = capsys.readouterr().err
    assert "old lake layout" in err and "rugslab lake migrate --lake" in err
    assert main(["lake", "migrate", "--lake", str(lake)]) == 0
    out = capsys.readouterr().out
    assert "trades" in out and "old folders kept in" in out
    assert main(["sql", "--lake", str(lake), "--format", "csv",
                 "SELECT count(*) AS n FROM trades"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "7"]


def test_migrate_help_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "rugslab", "lake", "migrate", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "old Parquet layout" in out.stdout


def test_a_full_disk_during_migration_leaves_the_old_layout_and_a_rerun_finishes(
    tmpfs: Callable[[str, str], Path], tmp_path: Path
) -> None:
    disk = tmpfs("disk", "16m")
    lake = _old_lake(disk)
    rows = {"trades": 7, "games": 1}
    filler = disk / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):  # the disk fills up
            while True:
                fh.write(b"\0" * 65536)
    before = sorted(str(p.relative_to(lake)) for p in lake.rglob("*.parquet"))
    with pytest.raises(LakeError) as err:
        migrate_lake(lake)
    assert "\n" not in str(err.value) and str(lake) in str(err.value)
    # every old table is still where it was, whole
    assert [p for p in before if (lake / p).exists()] == before
    filler.unlink()
    report = migrate_lake(lake)
    assert {t.table: t.rows_after for t in report.migrated} == rows
    assert read_table("trades", lake).height == 7


@pytest.mark.slow
@pytest.mark.parametrize("after_s", [1.0, 1.4, 1.8, 2.2, 2.6])
def test_a_migration_killed_at_any_moment_is_finished_by_the_next_run(
    tmp_path: Path, after_s: float
) -> None:
    import signal
    import time

    lake = _old_lake(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "rugslab", "lake", "migrate", "--lake",
                             str(lake)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    report = migrate_lake(lake)  # whatever the kill left: finishes, or finds it done
    assert {t.state for t in report.tables} <= {"migrated", "already Delta", "absent"}
    got = read_table("trades", lake)
    assert got["trade_id"].to_list() == [f"t{i:03d}" for i in range(7)]
    assert read_table("games", lake).height == 1
