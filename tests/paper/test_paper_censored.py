"""A replayed file with missed rugs and a missed end: `rugslab paper` settles its censored games
exactly as the backtest settles the same games in the lake built from the same file (what the
last tick seen decides is settled, the rest void), row for row, with no adjustment: the lake
never learns those rugs either."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from paper_frames import Clock, flat, game, gid
from polars.testing import assert_frame_equal

from rugslab.cli import main
from rugslab.feed.frames import Frame
from rugslab.ingest import ingest
from rugslab.lake.catalog import connect, read_table
from rugslab.paper.compare import backtest_rows
from rugslab.paper.session import params_json
from rugslab.strategy.builtins import make_strategy, parse_params
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.sources import lake_games, select_games

RUN_COLUMNS = ["run_id", "order_no", "seen_tick", "decided_ts", "settled_ts", "date"]


def _frames() -> list[Frame]:
    """Five games: 1 (alive to 69, rug frames missed, the next game shows no history), 2 (a
    rug at 30), 3 (alive to 24, rug missed, the next game joined at its tick 0), 4 (a rug at
    60), 5 (the file ends at its tick 10)."""
    c = Clock()
    return (game(c, gid(1), flat(70, t3=1.4, t8=1.2), rug_frames=False)
            + game(c, gid(2), flat(30, t8=1.5))
            + game(c, gid(3), flat(25), rug_frames=False)
            + game(c, gid(4), flat(60, t5=0.9), cooldown=False)
            + game(c, gid(5), flat(11), rug_frames=False))


def _write_capture(frames: list[Frame], path: Path) -> Path:
    """The frames as a capture file (`{"seq", "ts", "event", "data"}` lines, as the
    captures in ../shared/captures)."""
    with path.open("w", encoding="utf-8") as f:
        for fr in frames:
            assert fr.recv_ts_us is not None
            ts = datetime.fromtimestamp(fr.recv_ts_us / 1e6, UTC).replace(tzinfo=None)
            f.write(json.dumps({"seq": fr.seq, "ts": ts.isoformat(), "event": fr.event,
                                "data": fr.args[0]}) + "\n")
    return path


@pytest.mark.parametrize(("strategy", "params"), [
    ("sidebet-fixed", ["start_tick=10", "stake=0.5"]),
    ("trade-target", ["entry_tick=2", "target=1.3"]),
], ids=["sidebet-fixed", "trade-target"])
def test_missed_rugs_and_a_missed_end_settle_as_the_backtest_on_the_same_lake(
        strategy: str, params: list[str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    capture = _write_capture(_frames(), tmp_path / "gaps.jsonl")
    paper, lake = tmp_path / "paper", tmp_path / "lake"
    args = [a for p in params for a in ("--param", p)]
    assert main(["paper", strategy, *args, "--replay", str(capture), "--lake", str(paper),
                 "--bankroll", "2", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["played"] == [gid(n) for n in range(1, 6)]
    assert summary["censored"] == [gid(1), gid(3), gid(5)]
    assert (summary["games_observed"], summary["games_censored"]) == (5, 3)
    assert summary["stop_reason"] == "end of the file"

    ingest([capture], lake=lake, progress=False)
    games = read_table("games", lake).sort("game_id")
    # the lake never learnt those rugs either: the same games are censored there
    assert games.filter(pl.col("rug_tick").is_null())["game_id"].to_list() == summary["censored"]
    assert games["last_live_tick"].to_list() == [69, 30, 24, 60, 10]  # a rug frame counts
    s = make_strategy(strategy, parse_params(params))
    want = backtest_rows(s, ExecutionRules(bankroll_sol=2.0),
                         select_games(lake_games(games, read_table("ticks", lake)),
                                      summary["played"]), params_json=params_json(s))
    for table in ("paper_decisions", "paper_results"):
        got = read_table(table, paper).sort("order_no")
        assert_frame_equal(got.drop([c for c in RUN_COLUMNS if c in got.columns]),
                           want.frame(table).drop([c for c in RUN_COLUMNS
                                                   if c in want.frame(table).columns]))
    outcomes = read_table("paper_results", paper)["outcome"].to_list()
    assert "void" in outcomes and len(set(outcomes)) > 1  # censored and decided both seen


def test_the_sidebet_outcomes_of_the_censored_games_are_the_backtest_rules(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = _write_capture(_frames(), tmp_path / "gaps.jsonl")
    paper = tmp_path / "paper"
    assert main(["paper", "sidebet-fixed", "-p", "start_tick=10", "-p", "stake=0.5",
                 "--replay", str(capture), "--lake", str(paper), "--bankroll", "2"]) == 0
    out = capsys.readouterr().out
    assert "games: 5 observed: 5 played (3 censored: end not seen), 0 skipped" in out
    assert "bets: 3 settled, 1 won (1 void: a censored game left them undecided)" in out
    assert "lake: 5 paper_decisions, 4 paper_results, 5 paper_games rows written" in out
    r = read_table("paper_results", paper).sort("order_no")
    # 1: alive at 51 (seen to 69): lost; 2: rug at 30: won; 3: window 11..51 past its last
    # tick seen (24): void; 4: rug at 60: lost at 51; 5: decided at 10, due at 11 after the
    # file's last tick: no result, the decision void
    assert r.select("game_id", "outcome", "settle_tick", "payout_sol").rows() == [
        (gid(1), "lost", 51, 0.0), (gid(2), "won", 30, 2.5), (gid(3), "void", 24, 0.5),
        (gid(4), "lost", 51, 0.0)]
    d = read_table("paper_decisions", paper).sort("order_no")
    assert d["status"].to_list() == ["filled"] * 4 + ["void"]
    runs = connect(paper).sql("SELECT games_observed, games_played, games_censored, "
                              "games_skipped, bets, voided FROM paper_runs").fetchall()
    assert runs == [(5, 5, 3, 0, 3, 1)]
