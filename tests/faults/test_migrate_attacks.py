"""Attacks on `rugslab lake migrate` with a real old-layout lake (the captures ingested, then
turned back into `date=*/part-*.parquet` folders, rejects carrying an older recipe's ids):
kill -9 at several points and run again; an ingest into the same lake at the same time (and
one between the folder moves, which used to lose the old rows: the re-run said "already
Delta"); a read-only and a full lake disk.

Each: every key once, no row lost, reject ids unique and current, errors one line naming the
path and the fix, the old layout whole after a failure."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from procs import remount, run_at_once, start_rugslab, wait_for

import rugslab.lake.migrate as migrate_module
from rugslab.ingest import ingest
from rugslab.lake.catalog import read_table
from rugslab.lake.delta_write import append_absent
from rugslab.lake.migrate import WORK_DIR, migrate_lake
from rugslab.tables.rejects import reject_id
from rugslab.tables.schemas import TABLES

CAPTURES = ("2025-12-06_active-to-cooldown.jsonl", "2025-12-12_two-rugs.jsonl")
LATER = "2026-02-06_phase-samples.json"  # ingested during / after the migration


def _inputs(captures_dir: Path, root: Path) -> Path:
    """The two captures and a file with two bad lines (so `rejects` has rows)."""
    folder = root / "in"
    folder.mkdir()
    for name in CAPTURES:
        shutil.copy(captures_dir / name, folder / name)
    good = (captures_dir / CAPTURES[0]).read_bytes().splitlines()[:4]
    bad = [b"{not json", b'{"timestamp": "yesterday", "event_type": "x", "data": {}}']
    (folder / "bad.jsonl").write_bytes(b"\n".join(good[:2] + bad + good[2:]) + b"\n")
    return folder


def _with_old_reject_ids(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows with the id an older recipe gave them, where one did (migrate's own view)."""
    ids = []
    for rid, table, reason, raw in rows.select("reject_id", "table", "reason", "raw").iter_rows():
        for key in migrate_module._old_keys(table, reason, raw):
            if reject_id(*key) == rid:
                rid = migrate_module._old_reject_id(*key)
                break
        ids.append(rid)
    return rows.with_columns(pl.Series("reject_id", ids))


def _to_old_layout(lake: Path) -> dict[str, pl.DataFrame]:
    """Rewrite every Delta table of `lake` as the old layout (one part file per day, rejects
    with the older ids) and add the old writer's lock; returns the tables as they were."""
    tables = {t: read_table(t, lake) for t in TABLES if (lake / t).is_dir()}
    for table, rows in tables.items():
        shutil.rmtree(lake / table)
        if table == "rejects":
            rows = _with_old_reject_ids(rows)
        for (day,), part in rows.group_by(pl.col("date").cast(pl.String)):
            folder = lake / table / f"date={day}"
            folder.mkdir(parents=True)
            pq.write_table(part.drop("date").to_arrow(),
                           folder / "part-20251207T001000000000-aaaaaaaa.parquet")
    (lake / ".write.lock").touch()
    return tables


@pytest.fixture
def old_lake(captures_dir: Path, tmp_path: Path) -> tuple[Path, dict[str, pl.DataFrame]]:
    """An old-layout lake of `_inputs` and its tables as the current rugslab reads them."""
    lake = tmp_path / "lake"
    ingest([_inputs(captures_dir, tmp_path)], lake=lake, progress=False)
    tables = _to_old_layout(lake)
    assert tables["rejects"].height >= 2
    return lake, tables


def _keys(table: str, rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select(list(TABLES[table].key)).sort(list(TABLES[table].key))


def _assert_lake_is(lake: Path, expected: dict[str, pl.DataFrame]) -> None:
    """Every table holds exactly the keys of `expected`, each once; rejects with current ids."""
    for table, rows in expected.items():
        got = read_table(table, lake)
        keys = list(TABLES[table].key)
        assert got.select(keys).is_duplicated().sum() == 0, table
        assert _keys(table, got).equals(_keys(table, rows)), table
    ids = read_table("rejects", lake)["reject_id"]
    assert ids.n_unique() == ids.len()
    assert set(ids) == set(expected["rejects"]["reject_id"])


def _old_parquet(lake: Path) -> list[str]:
    return sorted(str(p.relative_to(lake)) for p in lake.rglob("*.parquet")
                  if WORK_DIR not in p.parts)


@pytest.mark.slow
@pytest.mark.parametrize("after_lines", [1, 3, 6, 9])
def test_kill_9_mid_migration_then_a_rerun_loses_no_row_and_keeps_reject_ids_unique(
    old_lake: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path, after_lines: int
) -> None:
    lake, tables = old_lake
    proc, log = start_rugslab(tmp_path, "lake", "migrate", "--lake", str(lake))

    def progressed() -> bool:  # one progress line per partition written
        return sum(" rows" in ln for ln in log.read_text().splitlines()) >= after_lines

    wait_for(f"{after_lines} progress lines", progressed, proc, log, timeout_s=120)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    report = migrate_lake(lake)  # whatever the kill left
    assert {t.state for t in report.tables} <= {"migrated", "already Delta", "absent"}
    _assert_lake_is(lake, tables)
    again = migrate_lake(lake)
    assert str(again).endswith("nothing to migrate")
    _assert_lake_is(lake, tables)


def _expected_after(captures_dir: Path, tmp_path: Path) -> dict[str, pl.DataFrame]:
    """The tables of a lake that ingested `_inputs` and then `LATER`."""
    fresh, root = tmp_path / "fresh", tmp_path / "again"
    root.mkdir()
    ingest([_inputs(captures_dir, root)], lake=fresh, progress=False)
    ingest([captures_dir / LATER], lake=fresh, progress=False)
    return {t: read_table(t, fresh) for t in TABLES if (fresh / t).is_dir()}


def _new_trades(old: pl.DataFrame) -> pl.DataFrame:
    """Two trades a concurrent writer adds: keys the old lake does not have."""
    return old.tail(2).with_columns(pl.format("new-{}", pl.col("trade_id")).alias("trade_id"))


@pytest.mark.parametrize("how", ["ingest in the window", "kill, ingest, rerun"])
def test_a_trades_table_made_between_the_folder_moves_gets_the_old_rows_too(
    old_lake: tuple[Path, dict[str, pl.DataFrame]], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The window where the table folder is missing (old folder moved to the backup, new one
    not yet in): a writer creates a fresh Delta table there. It used to fail with "Directory
    not empty; make the lake folder writable", and every re-run found the table "already
    Delta": the old trades stayed in the backup, unseen by every reader."""
    lake, tables = old_lake
    new = _new_trades(tables["trades"])
    real = os.replace

    def write_in_the_window(src: object, dst: object) -> None:
        real(src, dst)  # type: ignore[arg-type]
        if str(dst).endswith("hive-trades"):
            if how == "ingest in the window":
                append_absent(lake, "trades", new)
            else:
                raise KeyboardInterrupt  # as a kill: the new table never moved in

    monkeypatch.setattr(migrate_module.os, "replace", write_in_the_window)
    if how == "ingest in the window":
        report = migrate_lake(lake)
    else:
        with pytest.raises(KeyboardInterrupt):
            migrate_lake(lake)
        monkeypatch.undo()
        assert not (lake / "trades").exists()
        append_absent(lake, "trades", new)  # an ingest before the re-run
        report = migrate_lake(lake)
    monkeypatch.undo()
    trades = {t.table: t for t in report.tables}["trades"]
    assert trades.state == "migrated"
    assert trades.rows_after == tables["trades"].height + 2
    assert not (lake / WORK_DIR / "swapping-trades").exists()
    _assert_lake_is(lake, tables | {"trades": pl.concat([tables["trades"], new])})
    assert str(migrate_lake(lake)).endswith("nothing to migrate")


@pytest.mark.slow
def test_migrate_and_ingest_at_once_end_in_a_clear_error_or_a_whole_lake(
    old_lake: tuple[Path, dict[str, pl.DataFrame]], captures_dir: Path, tmp_path: Path
) -> None:
    lake, _ = old_lake
    later = captures_dir / LATER
    migrate, ingested = run_at_once(
        tmp_path, ["lake", "migrate", "--lake", str(lake)],
        ["ingest", "--no-progress", "--lake", str(lake), str(later)])
    for res in (migrate, ingested):
        assert "Traceback" not in res.stdout + res.stderr, res.stderr
    assert migrate.returncode == 0, migrate.stderr
    if ingested.returncode != 0:  # it met a table still in the old layout: says the fix
        assert "rugslab lake migrate" in ingested.stderr, ingested.stderr
        assert len(ingested.stderr.strip().splitlines()) == 1, ingested.stderr
    # whatever the order: the next migrate and ingest complete the lake, nothing twice
    migrate_lake(lake)
    ingest([later], lake=lake, progress=False)
    expected = _expected_after(captures_dir, tmp_path)
    _assert_lake_is(lake, expected)


@pytest.fixture
def disk(tmpfs: Callable[[str, str], Path], old_lake: tuple[Path, dict[str, pl.DataFrame]]
         ) -> tuple[Path, dict[str, pl.DataFrame]]:
    """The old lake copied onto a 24 MiB tmpfs (conftest `tmpfs`)."""
    where = tmpfs("disk", "24m")
    shutil.copytree(old_lake[0], where / "lake")
    return where, old_lake[1]


def _assert_one_line_naming(res: subprocess.CompletedProcess[str], lake: Path, why: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("rugslab: error:")]
    assert len(lines) == 1, res.stderr
    assert str(lake) in lines[0] and why in lines[0], lines[0]
    assert "writable" in lines[0], lines[0]  # the fix


@pytest.mark.slow
def test_a_read_only_lake_disk_is_one_line_and_the_old_layout_stays(
    disk: tuple[Path, dict[str, pl.DataFrame]],
    rugslab_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    where, tables = disk
    lake = where / "lake"
    before = _old_parquet(lake)
    remount(where, "ro")
    res = rugslab_cli("lake", "migrate", "--lake", str(lake))
    _assert_one_line_naming(res, lake, "Read-only file system")
    assert _old_parquet(lake) == before
    remount(where, "rw")
    assert rugslab_cli("lake", "migrate", "--lake", str(lake)).returncode == 0
    _assert_lake_is(lake, tables)


@pytest.mark.slow
def test_a_full_lake_disk_is_one_line_and_the_old_layout_stays(
    disk: tuple[Path, dict[str, pl.DataFrame]],
    rugslab_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    where, tables = disk
    lake = where / "lake"
    before = _old_parquet(lake)
    filler = where / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 65536)
    res = rugslab_cli("lake", "migrate", "--lake", str(lake))
    _assert_one_line_naming(res, lake, "No space left on device")
    assert _old_parquet(lake) == before
    filler.unlink()
    assert rugslab_cli("lake", "migrate", "--lake", str(lake)).returncode == 0
    _assert_lake_is(lake, tables)
