"""`rugslab sql` cannot write (issue 14.1): every DuckDB write path is refused, with EXPLAIN
ANALYZE of each, by the statement check and, past it, by the engine's settings.

A small real lake is built once from two `../shared` captures; every test checks that its
files are byte for byte unchanged and that nothing appeared at the statement's target.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from rugslab.cli import main
from rugslab.errors import QueryError
from rugslab.ingest import ingest
from rugslab.lake.catalog import QUERIES_DIR, connect, named_queries, read_table
from rugslab.lake.delta_read import snapshot_files
from rugslab.notebook import Lab

CAPTURES = ("2025-12-12_two-rugs.jsonl", "2026-02-06_phase-samples.json")

# {games} = an existing lake file (a merge table's data.parquet), {new_part} = a new file in a
# ticks partition, {lake} = the lake root; {out}, {out_dir}, {out_db} = targets outside it
WRITES = {
    "copy over a partition": "COPY (SELECT * EXCLUDE(date) FROM games WHERE false) "
    "TO '{games}' (FORMAT parquet)",
    "copy over a partition, no tmp file": "COPY (SELECT * EXCLUDE(date) FROM games WHERE false) "
    "TO '{games}' (FORMAT parquet, USE_TMP_FILE false)",
    "copy duplicate ticks": "COPY (SELECT * EXCLUDE(date) FROM ticks) TO '{new_part}' "
    "(FORMAT parquet)",
    "copy partitioned into the lake": "COPY (SELECT * FROM ticks) TO '{lake}/ticks' "
    "(FORMAT parquet, PARTITION_BY (date), OVERWRITE_OR_IGNORE)",
    "copy out": "COPY games TO '{out}'",
    "copy relative": "COPY (SELECT 1) TO 'relative.csv'",
    "copy from a file": "COPY games FROM '/etc/passwd'",
    "export database": "EXPORT DATABASE '{out_dir}'",
    "export database into the lake": "EXPORT DATABASE '{lake}/export'",
    "import database": "IMPORT DATABASE '{out_dir}'",
    "attach a new file": "ATTACH '{out_db}' AS x",
    "attach in the lake": "ATTACH '{lake}/x.db' AS x",
    "attach in memory": "ATTACH ':memory:' AS x",
    "detach": "DETACH memory",
    "use": "USE memory",
    "create table as": "CREATE TABLE t AS SELECT * FROM games",
    "create temp table as": "CREATE TEMP TABLE t AS SELECT * FROM games",
    "replace a view": "CREATE OR REPLACE VIEW games AS SELECT 1 AS x",
    "create macro": "CREATE MACRO m() AS 1",
    "create secret": "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "create persistent secret": "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "drop secret": "DROP SECRET s",
    "insert": "INSERT INTO games SELECT * FROM games",
    "update": "UPDATE games SET peak_x = 0",
    "delete": "DELETE FROM games",
    "truncate": "TRUNCATE games",
    "drop view": "DROP VIEW games",
    "alter view": "ALTER VIEW games RENAME TO g",
    "comment": "COMMENT ON VIEW games IS 'x'",
    "install": "INSTALL httpfs",
    "force install": "FORCE INSTALL httpfs",
    "load": "LOAD httpfs",
    "set": "SET enable_external_access = true",
    "set directories": "SET allowed_directories = ['/']",
    "set global": "SET GLOBAL threads = 1",
    "set variable": "SET VARIABLE x = 1",
    "reset": "RESET lock_configuration",
    "pragma profiling": "PRAGMA enable_profiling = 'json'",
    "pragma profiling output": "PRAGMA profiling_output = '{out}'",
    "pragma call form": "PRAGMA enable_profiling",
    "call checkpoint": "CALL checkpoint()",
    "call enable_logging": "CALL enable_logging()",
    "checkpoint": "CHECKPOINT",
    "force checkpoint": "FORCE CHECKPOINT",
    "vacuum": "VACUUM",
    "analyze": "ANALYZE",
    "prepare": "PREPARE p AS SELECT 1",
    "execute": "EXECUTE p",
    "deallocate": "DEALLOCATE p",
    "begin": "BEGIN TRANSACTION",
    "commit": "COMMIT",
    "rollback": "ROLLBACK",
    "pivot creating a type": "PIVOT games ON version USING count(*)",
    "select checkpoint()": "SELECT * FROM checkpoint()",
    "select enable_logging()": "SELECT * FROM enable_logging()",
    "select enable_profiling()": "SELECT * FROM enable_profiling()",
    "select query()": "SELECT * FROM query('SELECT 1')",
    "select write_log()": "SELECT write_log('x')",
    "select nextval()": "SELECT nextval('s')",
    "select read_csv outside": "SELECT * FROM read_csv('/etc/passwd')",
    "select read_text outside": "SELECT * FROM read_text('/etc/hostname')",
    "select read_blob of a lake file": "SELECT * FROM read_blob('{games}')",
    "select parquet_metadata": "SELECT * FROM parquet_metadata('{games}')",
    "select glob": "SELECT * FROM glob('{lake}/**')",
    "select a file by name": "SELECT * FROM '/etc/passwd'",
    "select in a subquery": "SELECT (SELECT count(*) FROM read_csv('/etc/passwd')) AS n",
}


def _parses(sql: str) -> bool:
    try:
        duckdb.extract_statements(sql)
    except duckdb.Error:
        return False
    return True


# EXPLAIN ANALYZE runs its statement: every write that parses under it is tried that way too,
# and under a plain EXPLAIN (the plan of a write is refused as well)
EXPLAINED = {f"explain analyze, {k}": f"EXPLAIN ANALYZE {v}" for k, v in WRITES.items()
             if _parses(f"EXPLAIN ANALYZE {v}")}
EXPLAINED |= {f"explain, {k}": f"EXPLAIN {v}" for k, v in WRITES.items()
              if not v.startswith("SELECT") and _parses(f"EXPLAIN {v}")}
EXPLAINED |= {
    "explain analyze of a read": "EXPLAIN ANALYZE SELECT * FROM games",
    "explain (analyze) of a read": "EXPLAIN (ANALYZE) SELECT * FROM games",
    "explain analyse, commented": "/* plan */ EXPLAIN analyse SELECT 1",
    "several statements": "SELECT 1; COPY (SELECT 1) TO '{out}'",
}


def _snapshot(lake: Path) -> dict[str, str]:
    return {str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(lake.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def real_lake(tmp_path_factory: pytest.TempPathFactory, captures_dir: Path) -> Path:
    lake = tmp_path_factory.mktemp("lake")
    ingest([captures_dir / c for c in CAPTURES], lake=lake, progress=False)
    assert snapshot_files(lake, "games") and snapshot_files(lake, "ticks")
    return lake


@pytest.fixture
def lake(
    real_lake: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """A copy of the real lake (a write that got through spoils no other test); afterwards its
    files are unchanged and the test's folder (the working directory, where relative targets
    land) is empty."""
    lake = tmp_path_factory.mktemp("lake") / "lake"
    shutil.copytree(real_lake, lake)
    before = _snapshot(lake)
    assert before == _snapshot(real_lake)
    monkeypatch.chdir(tmp_path)
    yield lake
    assert _snapshot(lake) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    shutil.rmtree(lake)


def _fill(template: str, lake: Path, tmp_path: Path) -> str:
    games = next(p for p, _ in snapshot_files(lake, "games"))
    part = next(p for p, _ in snapshot_files(lake, "ticks")).parent / "part-x.parquet"
    return template.format(games=games, new_part=part, lake=lake, out=tmp_path / "out.csv",
                           out_dir=tmp_path / "export", out_db=tmp_path / "x.db")


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("rugslab: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("template", [*WRITES.values(), *EXPLAINED.values()],
                         ids=[*WRITES, *EXPLAINED])
def test_sql_refuses_every_write_path(
    template: str, lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = _fill(template, lake, tmp_path)
    err = _refused(["sql", "--lake", str(lake), sql], capsys)
    assert "refused" in err or "statements given" in err


def test_the_issue_attack_leaves_the_partition_whole(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    games = next(p for p, _ in snapshot_files(lake, "games"))
    before = read_table("games", lake).height
    sql = (f"EXPLAIN ANALYZE COPY (SELECT * EXCLUDE(date) FROM games WHERE false) TO '{games}' "
           "(FORMAT parquet)")
    err = _refused(["sql", "--lake", str(lake), sql], capsys)
    assert "refused EXPLAIN ANALYZE: it runs the statement it explains" in err
    assert read_table("games", lake).height == before > 0


def test_reading_a_file_outside_the_lake_is_refused(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(["sql", "--lake", str(lake), "SELECT * FROM read_csv('/etc/passwd')"], capsys)
    assert "refused table function read_csv(): it reads files" in err


@pytest.mark.parametrize("body", [
    "SELECT 1; COPY (SELECT 1) TO '{out}'",
    "COPY (SELECT 1) TO '{out}'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{out}'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "CREATE TABLE t AS SELECT 1",
], ids=["select then copy", "copy", "explain analyze copy", "read outside", "create"])
def test_a_named_query_file_that_writes_is_refused_naming_the_file(
    body: str, lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    evil = queries / "evil.sql"
    evil.write_text(_fill(body, lake, tmp_path))
    monkeypatch.setenv("RUGSLAB_QUERIES", str(queries))
    err = _refused(["sql", "--lake", str(lake), "SELECT 1"], capsys)
    assert f"named query file {evil}: refused" in err
    assert "Fix the file (one SELECT statement) or move it out of the queries folder." in err
    evil.unlink()
    queries.rmdir()


def test_a_named_query_file_name_must_be_a_view_name(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    # the name itself would be SQL: CREATE VIEW x AS SELECT 1; COPY ... ; SELECT 1 -- AS <body>
    evil = queries / "x AS SELECT 1; COPY (SELECT 1) TO 'pwned.csv'; SELECT 1 --.sql"
    evil.write_text("SELECT 2")
    monkeypatch.setenv("RUGSLAB_QUERIES", str(queries))
    err = _refused(["sql", "--lake", str(lake), "SELECT 1"], capsys)
    assert "is not a view name; rename the file" in err
    evil.unlink()
    queries.rmdir()


# statements run on the DuckDB connection itself, past the statement check
ENGINE = {
    "copy a new file into the lake": "COPY (SELECT 1 AS a) TO '{new_part}' (FORMAT parquet)",
    "copy over a lake file": "COPY (SELECT * EXCLUDE(date) FROM games WHERE false) TO "
    "'{games}' (FORMAT parquet)",
    "copy partitioned into the lake": "COPY (SELECT * FROM ticks) TO '{lake}/ticks' "
    "(FORMAT parquet, PARTITION_BY (date), OVERWRITE_OR_IGNORE)",
    "copy out": "COPY (SELECT 1) TO '{out}'",
    "export database into the lake": "EXPORT DATABASE '{lake}/export'",
    "export database out": "EXPORT DATABASE '{out_dir}'",
    "attach a new file": "ATTACH '{out_db}' AS x",
    "attach in the lake": "ATTACH '{lake}/x.db' AS x",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "persistent secret": "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "set": "SET enable_external_access = true",
    "set directories": "SET allowed_directories = ['/']",
    "reset": "RESET lock_configuration",
    "pragma profiling output": "PRAGMA profiling_output = '{out}'",
    "read outside": "SELECT * FROM read_csv('/etc/passwd')",
    "read a file by name": "SELECT * FROM '/etc/passwd'",
    "glob the lake": "SELECT * FROM glob('{lake}/*')",
    "read the lake's lock file": "SELECT * FROM read_blob('{lake}/.write.lock')",
}


@pytest.mark.parametrize("template", list(ENGINE.values()), ids=list(ENGINE))
def test_the_engine_refuses_writes_and_outside_reads_past_the_check(
    template: str, lake: Path, tmp_path: Path
) -> None:
    sql = _fill(template, lake, tmp_path)
    with connect(lake) as con:
        raw: duckdb.DuckDBPyConnection = con._con
        with pytest.raises(duckdb.Error, match=r"disabled|locked|does not exist"):
            raw.execute(sql).fetchall()
        # the views still read after the refusal
        assert raw.execute("SELECT count(*) FROM games").fetchall()[0][0] > 0


def test_the_connection_does_not_hand_out_unchecked_entry_points(lake: Path) -> None:
    with connect(lake) as con:
        for name in ("cursor", "executemany", "register", "install_extension", "read_csv"):
            with pytest.raises(AttributeError, match=f"no '{name}'.*read_only=False"):
                getattr(con, name)
        assert con.table("games").aggregate("count(*)").fetchall()[0][0] > 0


READS = [
    "SELECT * FROM games_per_day",
    "WITH g AS (SELECT * FROM games) SELECT count(*) FROM g",
    "FROM ticks SELECT count(*)",
    "VALUES (1), (2)",
    "DESCRIBE games",
    "SHOW TABLES",
    "SUMMARIZE games",
    "EXPLAIN SELECT * FROM ticks",
    "EXPLAIN (FORMAT json) SELECT 1",
    "PRAGMA table_info('games')",
    "PRAGMA show_tables",
    "SELECT * FROM duckdb_views() WHERE NOT internal",
    "SELECT * FROM range(3)",
    "PIVOT games ON version IN ('v3') USING count(*)",
]


@pytest.mark.parametrize("sql", READS)
def test_ordinary_reads_still_run(sql: str, lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--lake", str(lake), "--format", "csv", sql]) == 0
    assert capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(named_queries(QUERIES_DIR)))
def test_every_named_query_runs_from_its_file(
    name: str, lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--lake", str(lake), "--format", "csv", "--file",
                 str(QUERIES_DIR / f"{name}.sql")]) == 0
    assert main(["sql", "--lake", str(lake), "--format", "csv", f"SELECT * FROM {name}"]) == 0
    out = capsys.readouterr().out.splitlines()
    half = len(out) // 2
    # same header and row count both ways (parallel float sums may differ in the last digit)
    assert len(out) == 2 * half and half >= 1 and out[0] == out[half]


def test_library_reads_keep_working(lake: Path) -> None:
    assert read_table("games_per_day", lake).height == 2
    assert Lab(lake).sql("SELECT count(*) AS n FROM games WHERE date = ?",
                         params=["2025-12-12"])["n"].to_list() == [13]
    writable = connect(lake, read_only=False)
    writable.execute("CREATE TEMP TABLE t AS SELECT count(*) AS n FROM ticks")
    assert writable.sql("SELECT n FROM t").fetchall()[0][0] > 0
    writable.close()


def test_a_refused_statement_in_the_library_is_a_query_error(lake: Path) -> None:
    with connect(lake) as con, pytest.raises(QueryError, match=r"refused COPY statement"):
        con.execute("COPY games TO 'x.csv'")


def test_a_writable_connection_checks_named_query_files_too(lake: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "evil.sql").write_text(f"SELECT 1; COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")
    with pytest.raises(QueryError, match=r"named query file .*evil\.sql: refused 2 statements"):
        connect(lake, read_only=False, queries_dir=queries)
    (queries / "evil.sql").unlink()
    queries.rmdir()
