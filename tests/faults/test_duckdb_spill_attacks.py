"""Attacks on the lake catalog's DuckDB memory cap and spill folder (`lake.catalog`): a query
bigger than the cap with the temporary folder full or read-only, SIGINT / SIGTERM / kill -9 in
the middle of a spill, and SQL that tries to lift the cap or move the spill folder.

Each spilling query is `rugslab sql` in its own process, with `TMPDIR` pointing at the folder
under attack and `RUGSLAB_DUCKDB_MEMORY` small enough that a sort of a few million md5 strings
must spill."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from procs import remount, rugslab_env, wait_for

from rugslab.cli import main
from rugslab.errors import QueryError
from rugslab.lake.catalog import connect

#: ~250 MB of sort keys: spills under a 60MB cap.
SPILL_SQL = ("SELECT count(*) AS n FROM (SELECT md5(range::VARCHAR) AS h, range AS i "
             "FROM range({rows}) ORDER BY h)")


def _start(lake: Path, tmp: Path, rows: int, cap: str = "60MB"
           ) -> tuple[subprocess.Popen[bytes], Path]:
    env = {**rugslab_env(), "TMPDIR": str(tmp), "RUGSLAB_DUCKDB_MEMORY": cap}
    log = tmp.parent / f"{tmp.name}-output.txt"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rugslab", "sql", "--lake", str(lake), "--format", "csv",
             SPILL_SQL.format(rows=rows)],
            env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, log


def _spills(tmp: Path, pid: int) -> list[Path]:
    return sorted(tmp.glob(f"rugslab-duckdb-{pid}-*"))


@pytest.fixture()
def lake(tmp_path: Path) -> Path:
    path = tmp_path / "lake"
    path.mkdir()  # an empty lake: the attacks query range(), not the lake
    return path


def test_a_full_spill_disk_is_a_clear_error_naming_the_fixes(
        lake: Path, tmpfs: Callable[[str, str], Path]) -> None:
    small = tmpfs("spill", "1m")
    proc, log = _start(lake, small, rows=4_000_000)
    assert proc.wait(timeout=120) == 2
    out = log.read_text()
    assert "Traceback" not in out
    assert out.startswith("rugslab: error: query failed: Out of Memory Error"), out
    assert "raise RUGSLAB_DUCKDB_MEMORY" in out and str(small) in out and "TMPDIR" in out
    assert list(small.iterdir()) == []  # its spill folder removed on the way out


def test_a_read_only_spill_disk_still_answers(lake: Path, tmpfs: Callable[[str, str], Path],
                                              tmp_path: Path) -> None:
    ro = tmpfs("ro", "1m")
    remount(ro, "ro")
    proc, log = _start(lake, ro, rows=2_000_000, cap="120MB")
    assert proc.wait(timeout=120) == 0, log.read_text()
    assert log.read_text().split() == ["n", "2000000"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_signal_mid_spill_leaves_no_spill_folder_behind(
        lake: Path, tmp_path: Path, sig: signal.Signals, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc, log = _start(lake, tmp, rows=20_000_000)
    wait_for("a spill folder", lambda: bool(_spills(tmp, proc.pid)), proc, log, timeout_s=120)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    out = log.read_text()
    assert "Traceback" not in out, out
    if sig == signal.SIGINT:
        # DuckDB stops the query; the CLI says so and exits 130, its folder removed on close
        assert code == 130 and "rugslab: interrupted (SIGINT)" in out, out
        assert _spills(tmp, proc.pid) == []
    else:
        # killed before DuckDB could close: the folder stays until the next connection
        assert code == -sig and _spills(tmp, proc.pid)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp))
        with connect(lake) as con:  # the next connection removes a dead process's folder
            assert con.sql("SELECT 1").fetchall() == [(1,)]
        assert _spills(tmp, proc.pid) == []


@pytest.mark.parametrize("sql", [
    "SET memory_limit = '100GB'",
    "RESET memory_limit",
    "SET temp_directory = '/'",
    "PRAGMA max_temp_directory_size = '1TB'",
    "SELECT 1; SET memory_limit = '100GB'",
    "SET GLOBAL threads = 1",
])
def test_sql_cannot_lift_the_cap_or_move_the_spill_folder(
        lake: Path, sql: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--lake", str(lake), sql]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rugslab: error:") and "Traceback" not in err
    with connect(lake) as con:
        with pytest.raises(QueryError):
            con.sql(sql)
        # past the statement check, DuckDB's locked configuration refuses it too
        raw = con._con  # the engine-level guarantee is what is tested
        if not sql.startswith("SELECT"):
            with pytest.raises(Exception, match=r"(?i)configuration|locked|lock"):
                raw.execute(sql)
        limit = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit.replace(" ", "") in ("1.8GiB", "1.9GiB", "2.0GB")
