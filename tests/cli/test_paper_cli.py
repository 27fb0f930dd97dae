"""`rugslab paper`: status lines, the summary, the event lines and the lake rows of a replayed
capture; bad flags name the flag, the value and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rugslab.cli import main
from rugslab.lake.catalog import read_table

CAPTURE = "2025-12-12_two-rugs.jsonl"


def test_paper_on_a_replayed_capture_prints_status_and_summary_and_writes_the_lake(
        captures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake, events = tmp_path / "lake", tmp_path / "events.jsonl"
    code = main(["paper", "sidebet-fixed", "-p", "stake=0.2", "--replay",
                 str(captures_dir / CAPTURE), "--lake", str(lake), "--events", str(events)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "nothing is sent to rugs.fun" in err
    assert "[paper] game 20251212-25dcb17086a24ad7 skipped: joined at tick 4" in err
    assert "[paper] sidebet 0.2 SOL at tick 10" in err
    assert ("[paper] game 20251212-6114b2ff44ef4b71 rugged at tick 16: bankroll 10.8000 SOL "
            "(+0.8000); 1 games, 1 bets, 1 won") in err
    assert 'sidebet-fixed {"stake": 0.2, "start_tick": 10}' in out
    assert ("games: 2 observed: 1 played (0 censored: end not seen), 1 skipped (joined late, "
            "or after a stop at ruin)") in out
    assert "lake: 1 paper_decisions, 1 paper_results, 2 paper_games rows written" in out
    assert "bets: 1 settled, 1 won; staked 0.2000 SOL, P&L +0.8000 SOL" in out
    assert "bankroll: 10.0000 → 10.8000 SOL" in out
    assert "stopped: end of the file" in out
    kinds = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    assert kinds == ["game_skipped", "game_start", "order", "fill", "settle", "game_end",
                     "game_start", "run_end"]
    r = read_table("paper_results", lake)
    assert r.select("outcome", "settle_tick", "payout_sol", "bankroll_sol").rows() == [
        ("won", 16, 1.0, 10.8)]
    g = read_table("paper_games", lake).sort("game_no")
    assert g.select("game_id", "status", "joined_tick", "ended_by", "rug_tick").rows() == [
        ("20251212-25dcb17086a24ad7", "skipped", 4, None, None),
        ("20251212-6114b2ff44ef4b71", "played", None, "rug", 16)]


def test_paper_summary_as_json(captures_dir: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["paper", "sidebet-fixed", "--replay", str(captures_dir / CAPTURE), "--lake",
                 str(tmp_path), "--format", "json", "--bankroll", "1", "--latency", "2"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (summary["bankroll_start_sol"], summary["bankroll_sol"]) == (1.0, 1.4)
    assert summary["played"] == ["20251212-6114b2ff44ef4b71"]
    assert read_table("paper_decisions", tmp_path)["fill_tick"].to_list() == [12]


@pytest.mark.parametrize(("args", "message"), [
    ([], "Missing STRATEGY: name a built-in strategy, e.g. `rugslab paper sidebet-fixed`"),
    (["sidebet-fixed", "--feed", "http://127.0.0.1:9", "--replay", "x.jsonl"],
     "Invalid --feed 'http://127.0.0.1:9' with --replay 'x.jsonl': give one frame source"),
    (["sidebet-fixed", "--bankroll", "0"], "Invalid --bankroll 0.0: expected SOL > 0."),
    (["sidebet-fixed", "--latency", "-1"], "Invalid --latency -1: expected ticks ≥ 0."),
    (["sidebet-fixed", "-p", "stake"], "Invalid --param 'stake': expected KEY=VALUE"),
    (["sidebet-fixed", "-p", "stake=-1"], "Invalid --param stake='-1' for sidebet-fixed"),
    (["no-such", "--replay", "x"], "Unknown strategy 'no-such'"),
    (["sidebet-fixed", "--max-games", "0", "--replay", "x"], "Invalid --max-games 0"),
    (["sidebet-fixed", "--duration", "soon"], "Invalid --duration 'soon'"),
])
def test_bad_flags_name_the_flag_the_value_and_the_fix(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paper", *args]) == 2
    assert message in capsys.readouterr().err


def test_an_events_file_that_cannot_be_opened_is_named(
        captures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["paper", "sidebet-fixed", "--replay", str(captures_dir / CAPTURE), "--lake",
                 str(tmp_path), "--events", str(tmp_path / "no" / "such" / "dir" / "e.jsonl")])
    assert code == 2
    assert "Invalid --events" in capsys.readouterr().err


def test_a_lake_that_cannot_be_written_is_said_and_exits_1(
        captures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "lake"
    not_a_folder.write_text("")
    code = main(["paper", "sidebet-fixed", "--replay", str(captures_dir / CAPTURE), "--lake",
                 str(not_a_folder)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "bets: 1 settled, 1 won" in out and "LAKE WRITE FAILED: LakeWriteError" in out
    assert "the rows are held and written with the next game" in err
