"""The DuckDB catalog: views per table and named query, read-only, on empty and filled lakes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from rugslab.errors import ConfigError, LakeError, QueryError
from rugslab.lake.catalog import (
    QUERIES_DIR,
    connect,
    describe_query,
    named_queries,
    queries_folder,
    read_table,
)
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch
from rugslab.tables.schemas import TABLES

GID = "20251207-e8186dbf38e046d1"
QUERY_NAMES = ["games_per_day", "paper_runs", "rejects_by_reason", "seed_status",
               "sidebet_results_by_start_tick", "tick_intervals"]


def _bets_lake(lake: Path) -> None:
    b = RowBatch()
    for i, (start, won) in enumerate([(0, True), (0, False), (0, False), (10, True), (10, None)]):
        b.add("side_bets", {
            "game_id": GID, "player_id": f"p{i}", "start_tick": start, "end_tick": start + 40,
            "bet_amount_sol": 0.1, "practice": False, "resolved": won is not None, "won": won,
            "payout_sol": (0.5 if won else 0.0) if won is not None else None,
            "profit_sol": (0.4 if won else -0.1) if won is not None else None,
        })
    write_batch(lake, b)


def test_every_table_has_a_typed_empty_view_on_a_fresh_lake(tmp_path: Path) -> None:
    with connect(tmp_path) as con:
        for name, table in TABLES.items():
            rel = con.sql(f"SELECT * FROM {name}")
            assert rel.columns == [*table.columns, "date"]
            assert rel.fetchall() == []
        described = con.sql("DESCRIBE ticks").fetchall()
        assert described[3][:2] == ("recv_ts", "TIMESTAMP WITH TIME ZONE")


def test_named_queries_are_views_that_run_on_an_empty_lake(tmp_path: Path) -> None:
    assert sorted(named_queries()) == QUERY_NAMES
    with connect(tmp_path) as con:
        for name in QUERY_NAMES:
            assert con.sql(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]


def test_each_named_query_starts_with_a_comment_saying_what_it_gives() -> None:
    for name, sql in named_queries().items():
        assert len(describe_query(sql)) > 30, name
    assert describe_query("-- one\n-- two\nSELECT 1") == "one two"


def test_sidebet_results_by_start_tick_counts_resolved_bets(tmp_path: Path) -> None:
    _bets_lake(tmp_path)
    with connect(tmp_path) as con:
        rows = con.sql("SELECT * FROM sidebet_results_by_start_tick").fetchall()
    assert [r[:5] for r in rows] == [(0, False, 3, 1, pytest.approx(1 / 3)), (10, False, 1, 1, 1.0)]
    assert [tuple(round(x, 9) for x in r[5:]) for r in rows] == [(0.3, 0.5, 0.2, 1.666666667),
                                                               (0.1, 0.5, 0.4, 5.0)]


def test_read_table_gives_polars_rows_with_the_partition_date(tmp_path: Path) -> None:
    _bets_lake(tmp_path)
    bets = read_table("side_bets", tmp_path)
    assert bets.height == 5
    assert bets.schema["date"] == pl.Date
    assert bets["date"].cast(pl.String).unique().to_list() == ["2025-12-07"]
    assert read_table("sidebet_results_by_start_tick", tmp_path).height == 2


def test_read_table_names_the_choices_for_an_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match=r"unknown table or query 'tiks'.*'ticks'"):
        read_table("tiks", tmp_path)


def test_missing_lake_names_the_path_and_suggests_ingest(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(LakeError, match=r"no lake at .*nope: run `rugslab ingest") as err:
        connect(missing)
    assert err.value.path == missing


@pytest.mark.parametrize("sql", [
    "CREATE TABLE x (a INT)", "INSERT INTO ticks VALUES (1)", "COPY ticks TO 'out.csv'",
    "ATTACH 'other.db'", "SET threads = 1", "INSTALL httpfs", "DROP VIEW ticks",
    "SELECT 1; DELETE FROM ticks", "PRAGMA enable_profiling", "EXPORT DATABASE 'x'",
])
def test_statements_that_write_are_refused(tmp_path: Path, sql: str) -> None:
    with connect(tmp_path) as con, pytest.raises(QueryError, match="read-only"):
        con.sql(sql)


@pytest.mark.parametrize("sql", [
    "SELECT 1", "WITH a AS (SELECT 1 AS x) SELECT x FROM a", "FROM games", "DESCRIBE games",
    "SHOW TABLES", "SUMMARIZE ticks", "EXPLAIN SELECT * FROM trades", "PRAGMA table_info('games')",
])
def test_reading_statements_run(tmp_path: Path, sql: str) -> None:
    with connect(tmp_path) as con:
        con.sql(sql).fetchall()


def test_files_outside_the_lake_cannot_be_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    lake = tmp_path / "lake"
    lake.mkdir()
    with connect(lake) as con, pytest.raises(QueryError, match=r"refused table function read_csv"):
        con.sql(f"SELECT * FROM read_csv('{outside}')").fetchall()


def test_writable_connection_allows_temporary_tables(tmp_path: Path) -> None:
    con = connect(tmp_path, read_only=False)
    con.execute("CREATE TEMP TABLE t AS SELECT count(*) AS n FROM games")
    assert con.sql("SELECT n FROM t").fetchall() == [(0,)]
    con.close()


def test_queries_dir_is_the_repository_queries_folder() -> None:
    assert QUERIES_DIR.name == "queries"
    assert (QUERIES_DIR / "games_per_day.sql").is_file()
    assert queries_folder() == QUERIES_DIR


def test_rugslab_queries_names_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "answer.sql").write_text("SELECT 42 AS n")
    monkeypatch.setenv("RUGSLAB_QUERIES", str(tmp_path))
    assert named_queries() == {"answer": "SELECT 42 AS n"}
    lake = tmp_path / "lake"
    lake.mkdir()
    assert connect(lake).sql("SELECT n FROM answer").fetchall() == [(42,)]
    monkeypatch.setenv("RUGSLAB_QUERIES", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"RUGSLAB_QUERIES=.*missing.* is not a folder"):
        named_queries()


def test_tick_intervals_uses_live_ticks_in_tick_order(tmp_path: Path) -> None:
    b = RowBatch()
    base = 1_765_066_000_000_000  # µs since the epoch, 2025-12-07 UTC
    for tick, offset_us, source in [(0, 0, "live"), (1, 250_000, "live"), (2, 400_000, "partial"),
                                    (3, 760_000, "live")]:
        b.add("ticks", {"game_id": GID, "tick": tick, "price_x": 1.0, "recv_ts": base + offset_us,
                        "source": source, "is_rug": False})
    write_batch(tmp_path, b)
    with connect(tmp_path) as con:
        rows = con.sql("SELECT tick, prev_tick, ticks_apart, interval_ms FROM tick_intervals "
                       "ORDER BY game_id, tick")
        assert rows.fetchall() == [(1, 0, 1, 250.0), (3, 1, 2, 510.0)]


def test_tick_intervals_leaves_out_ticks_past_the_games_rug_tick(tmp_path: Path) -> None:
    b = RowBatch()
    base = 1_765_066_000_000_000  # µs since the epoch, 2025-12-07 UTC
    # a lone second rug frame wrote tick 3 (is_rug) before the revealed history said 2
    for tick in range(4):
        b.add("ticks", {"game_id": GID, "tick": tick, "price_x": 1.0,
                        "recv_ts": base + tick * 250_000, "source": "live", "is_rug": tick >= 2})
    b.add("games", {"game_id": GID, "rug_tick": 2, "seen_live": True, "revealed": True})
    write_batch(tmp_path, b)
    with connect(tmp_path) as con:
        rows = con.sql("SELECT tick, prev_tick FROM tick_intervals ORDER BY game_id, tick")
        assert rows.fetchall() == [(1, 0), (2, 1)]


def test_duckdb_memory_is_capped_and_a_bigger_query_spills_to_its_own_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from rugslab.lake.catalog import DEFAULT_DUCKDB_MEMORY, duckdb_memory_limit

    assert duckdb_memory_limit({}) == DEFAULT_DUCKDB_MEMORY == "2GB"
    assert duckdb_memory_limit({"RUGSLAB_DUCKDB_MEMORY": " 512MiB "}) == "512MiB"
    for bad in ("lots", "2 G", "-1GB", "1e9", "2GB; SET x=1"):
        with pytest.raises(ConfigError, match="Invalid RUGSLAB_DUCKDB_MEMORY"):
            duckdb_memory_limit({"RUGSLAB_DUCKDB_MEMORY": bad})
    monkeypatch.setenv("RUGSLAB_DUCKDB_MEMORY", "lots")
    with pytest.raises(ConfigError, match="RUGSLAB_DUCKDB_MEMORY 'lots'"):
        connect(tmp_path)
    # 120 MB for DuckDB and a sort of ~250 MB: it spills (a private folder, removed on
    # close; a 40 MB cap ran out of memory in CI: DuckDB pins blocks per thread)
    monkeypatch.setenv("RUGSLAB_DUCKDB_MEMORY", "120MB")
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill_root))
    with connect(tmp_path) as con, connect(tmp_path) as other:
        limit = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit.replace(" ", "") in ("114.4MiB", "120.0MB")
        dirs = [c.sql("SELECT current_setting('temp_directory')").fetchall()[0][0]
                for c in (con, other)]
        assert dirs[0] != dirs[1] and all(d.startswith(str(spill_root)) for d in dirs)
        n = con.sql("SELECT count(*) FROM (SELECT range AS i, md5(range::VARCHAR) AS h "
                    "FROM range(4000000) ORDER BY h)").fetchall()[0][0]
        assert n == 4_000_000
        assert Path(dirs[0]).is_dir() and not Path(dirs[1]).exists()  # only `con` spilled
    assert list(spill_root.iterdir()) == []
