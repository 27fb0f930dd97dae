"""A small year (issue 21): `rugslab sim lake` spreads 2,190 games over the 365 days of 2026,
then every named query, `rugslab report --origin sim` and `--origin real` run on it."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rugslab.cli import main
from rugslab.lake.catalog import QUERIES_DIR, connect, named_queries

pytestmark = pytest.mark.slow

GAMES, PER_DAY = 2_190, 6  # 365 days of 6 games, one every 4 hours


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("year") / "lake"
    code, out, err = _run("sim", "lake", "--lake", str(lake), "--games", str(GAMES),
                          "--games-per-day", str(PER_DAY), "--start", "2026-01-01",
                          "--seed", "21", "--no-progress")
    assert code == 0, err
    assert f"{GAMES:,} simulated games over 365 days (2026-01-01 .. 2026-12-31)" in out
    assert "rejected: 0 rows" in out
    return lake


def test_every_named_query_runs_on_the_year(year: Path) -> None:
    names = sorted(named_queries(QUERIES_DIR))
    assert names  # the repository's queries/
    counts: dict[str, int] = {}
    with connect(year) as con:
        for name in names:
            counts[name] = len(con.sql(f"SELECT * FROM {name}").fetchall())
        days = con.sql("SELECT min(date), max(date), sum(games), min(games), max(games), "
                       "sum(games_revealed) FROM games_per_day").fetchall()[0]
        seeds = con.sql("SELECT count(*) FILTER (WHERE hash_ok), count(*) "
                        "FROM seed_status").fetchall()[0]
        intervals = con.sql("SELECT median(interval_ms), count(DISTINCT game_id) "
                            "FROM tick_intervals").fetchall()[0]
        bets = con.sql("SELECT sum(bets) FROM sidebet_results_by_start_tick").fetchall()[0]
        side_bets = con.sql("SELECT count(*) FROM side_bets WHERE resolved").fetchall()[0]
    assert counts["games_per_day"] == 365
    assert days == (date(2026, 1, 1), date(2026, 12, 31), GAMES, PER_DAY, PER_DAY, GAMES)
    assert seeds == (GAMES, GAMES)
    assert counts["rejects_by_reason"] == 0 and counts["paper_runs"] == 0  # none written
    assert 240 < intervals[0] < 260 and intervals[1] == GAMES  # ~250 ms ticks, every game
    assert bets[0] == side_bets[0] > GAMES
    assert counts["tick_intervals"] > 100 * GAMES


def test_report_origin_sim_describes_every_simulated_game(year: Path) -> None:
    code, out, err = _run("report", "--lake", str(year), "--origin", "sim", "--format", "json",
                          "--resamples", "20")
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    assert report["games"] == report["rugged_games"] == GAMES
    assert report["verified_games"] == GAMES and report["verification_failures"] == 0
    assert report["settings"]["origin"] == "sim"
    assert report["settings"]["games_of_origins"] == GAMES
    assert report["real_bets"] > 0 and 200 < report["interval_ms_median"] < 300
    assert report["timing_verdict"] is not None and report["hazard_pooled"] is not None


def test_report_origin_real_says_it_holds_no_real_games_and_names_the_flag(year: Path) -> None:
    code, out, err = _run("report", "--lake", str(year), "--origin", "real",
                          "--resamples", "20")
    assert code == 0, err
    assert (f"0 games of --origin real (live, capture, recording, history, unknown) in this "
            f"lake; it holds {GAMES:,} sim. Pass --origin sim or --origin all") in out
    assert [line.split() for line in out.splitlines() if line.startswith("games ")] == [
        ["games", "0", "games", "described"]]
