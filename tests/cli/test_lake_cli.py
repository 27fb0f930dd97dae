"""`rugslab ingest` and `rugslab sql`: help text, output formats, error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rugslab.cli import main
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch

GID = "20251207-e8186dbf38e046d1"
QUERY = (
    "SELECT start_tick, count(*) AS bets, max(username) AS who FROM side_bets "
    "GROUP BY 1 ORDER BY 1"
)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    b = RowBatch()
    for player, start, name in [("p1", 0, "ann"), ("p2", 0, None), ("p3", 12, "bo")]:
        b.add("side_bets", {"game_id": GID, "player_id": player, "start_tick": start,
                            "end_tick": start + 40, "username": name, "bet_amount_sol": 0.1,
                            "practice": False, "resolved": False})
    write_batch(tmp_path, b)
    return tmp_path


@pytest.mark.parametrize("command", ["ingest", "sql"])
def test_every_lake_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--lake" in out
    assert {"ingest": "Read capture files", "sql": "read-only SQL"}[command] in out


def test_sql_prints_an_aligned_table(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--lake", str(lake), QUERY]) == 0
    assert capsys.readouterr().out == (
        "start_tick  bets  who\n"
        "----------  ----  ---\n"
        "0           2     ann\n"
        "12          1     bo\n"
        "(2 rows)\n"
    )


def test_sql_prints_csv(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--lake", str(lake), "--format", "csv", QUERY]) == 0
    assert capsys.readouterr().out == "start_tick,bets,who\n0,2,ann\n12,1,bo\n"


def test_sql_prints_json(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--lake", str(lake), "--format", "json", QUERY]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"start_tick": 0, "bets": 2, "who": "ann"}, {"start_tick": 12, "bets": 1, "who": "bo"}]


def test_sql_reads_a_named_query_file(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q = Path(__file__).resolve().parents[2] / "queries" / "seed_status.sql"
    assert main(["sql", "--lake", str(lake), "--format", "csv", "--file", str(q)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "game_id,date,version,server_seed_hash,seed_revealed,hash_ok,rug_tick,peak_x"]


def test_sql_needs_exactly_one_statement_source(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--lake", str(lake)]) == 2
    assert "Give exactly one of the SQL argument or --file (got neither)" in capsys.readouterr().err
    f = tmp_path / "q.sql"
    f.write_text("SELECT 1")
    assert main(["sql", "--lake", str(lake), "--file", str(f), "SELECT 2"]) == 2
    assert "(got both)" in capsys.readouterr().err


def test_sql_on_a_missing_lake_suggests_ingest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--lake", str(tmp_path / "none"), "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert f"no lake at {tmp_path / 'none'}: run `rugslab ingest" in err


def test_sql_refuses_writes(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--lake", str(lake), "DROP VIEW side_bets"]) == 2
    assert "refused DROP statement: the lake catalog is read-only" in capsys.readouterr().err


def test_sql_error_names_the_problem(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--lake", str(lake), "SELECT nope FROM side_bets"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rugslab: error: query failed: Binder Error")
    assert '"nope"' in err


def test_sql_lake_defaults_to_rugslab_lake_env(
    lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUGSLAB_LAKE", str(lake))
    assert main(["sql", "--format", "csv", "SELECT count(*) AS n FROM side_bets"]) == 0
    assert capsys.readouterr().out == "n\n3\n"


def test_ingest_rejects_a_non_positive_batch_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--lake", str(tmp_path), "--batch-frames", "0", str(tmp_path)]) == 2
    assert "Invalid --batch-frames 0" in capsys.readouterr().err


def test_ingest_names_a_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--lake", str(tmp_path / "lake"), str(tmp_path / "gone.jsonl")]) == 2
    assert "gone.jsonl' does not exist" in capsys.readouterr().err


def test_ingest_prints_the_summary_and_sql_sees_the_rows(
    captures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    src = str(captures_dir / "2026-02-06_phase-samples.json")
    assert main(["ingest", "--no-progress", "--lake", str(lake), src]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["files read: 1, skipped: 0", "frames: 11  bad records: 0"]
    assert "raw_events                11          11           0" in out
    assert main(["sql", "--lake", str(lake), "--format", "csv",
                 "SELECT count(*) AS n FROM raw_events"]) == 0
    assert capsys.readouterr().out == "n\n11\n"


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_prints_timestamp_columns_in_every_format(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    b = RowBatch()
    b.add("rejects", {"reject_id": "r1", "table": "frame", "reason": "bad", "raw": "x",
                      "recv_ts": datetime(2025, 12, 12, 22, 16, 58, tzinfo=UTC)})
    write_batch(tmp_path, b)
    assert main(["sql", "--lake", str(tmp_path), "--format", fmt,
                 "SELECT recv_ts FROM rejects"]) == 0
    assert "2025-12-12" in capsys.readouterr().out
    assert main(["sql", "--lake", str(tmp_path), "SELECT * FROM rejects_by_reason"]) == 0


def test_sql_refuses_several_statements_naming_the_count(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--lake", str(lake), "select 1; select 2"]) == 2
    assert "2 statements given" in capsys.readouterr().err
