"""Paper trading on replayed feeds gives exactly the decisions the backtest engine gives on the
same games: decision tick, fill tick and price, stake, outcome and the bankroll after each.

The backtest side reads the games from a lake built from the same frames by the real
assembler (`ingest`, or the collector's `GameAssembler`). It is given what the run could have
known: the lake's live and `partialPrices` ticks; `history` ticks (a path revealed after the
game) only for the games the run itself ended from a revealed path, since a live run cannot
know the others' missing ticks when it decides; and for a game the run censored (its end
missed), no rug tick, even when a later `gameHistory` revealed it to the lake, since the run
had settled it by then. Where the lake itself never learnt the rug (`tests/paper/
test_paper_censored.py`), the lake's games are taken as they are.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rugslab.assembly.assembler import GameAssembler
from rugslab.cli import main
from rugslab.feed.frames import Frame
from rugslab.ingest import ingest
from rugslab.lake.catalog import read_table
from rugslab.lake.writer import write_batch
from rugslab.paper.compare import backtest_rows
from rugslab.paper.session import params_json
from rugslab.paper.trader import PaperTrader
from rugslab.strategy.builtins import make_strategy, parse_params
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.sources import lake_games, select_games
from rugslab.tables.batch import RowBatch
from rugslab.testing import replay_frames, running_server, sim_frames

#: Columns that belong to the run (ids, its clock, what it had seen), not to the decisions.
RUN_COLUMNS = ["run_id", "order_no", "seen_tick", "decided_ts", "settled_ts", "date"]
STRATEGIES = [
    ("sidebet-fixed", []),
    ("sidebet-martingale", ["start_tick=3"]),
    ("sidebet-due", ["threshold=50"]),
    ("trade-target", ["entry_tick=2", "target=1.3", "exit_tick=60"]),
]


def _decisions(rows: RowBatch | pl.DataFrame, table: str, played: list[str]) -> pl.DataFrame:
    df = rows.frame(table) if isinstance(rows, RowBatch) else rows
    df = df.filter(pl.col("game_id").is_in(played))
    return df.drop([c for c in RUN_COLUMNS if c in df.columns])


def _expected(lake: Path, strategy: str, params: list[str], played: list[str],
              from_history: list[str], rules: ExecutionRules,
              censored: Sequence[str] = ()) -> RowBatch:
    ticks = read_table("ticks", lake).filter(
        (pl.col("source") != "history") | pl.col("game_id").is_in(from_history))
    known = read_table("games", lake).with_columns(
        pl.when(pl.col("game_id").is_in(list(censored))).then(None)
        .otherwise(pl.col("rug_tick")).alias("rug_tick"))
    games = select_games(lake_games(known, ticks), played)
    s = make_strategy(strategy, parse_params(params))
    return backtest_rows(s, rules, games, params_json=params_json(s))


@pytest.mark.parametrize(("strategy", "params"), [STRATEGIES[0], STRATEGIES[3]],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_rugslab_paper_on_a_capture_replayed_over_loopback_gives_the_backtest_decisions(
        strategy: str, params: list[str], captures_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    capture = captures_dir / "2025-12-12_two-rugs.jsonl"
    paper_lake, lake = tmp_path / "paper", tmp_path / "lake"
    args = [a for p in params for a in ("--param", p)]
    with running_server(replay_frames([capture], speed=40), wait_for_clients=1) as srv:
        code = main(["paper", strategy, *args, "--feed", srv.url, "--lake", str(paper_lake),
                     "--max-games", "1", "--format", "json"])
        assert srv.stats()["totals"]["events"] == 0  # listen only: nothing was sent
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the capture joins game 25dcb… at tick 4 (skipped); 6114… is seen from its cooldown
    assert summary["played"] == ["20251212-6114b2ff44ef4b71"]
    assert summary["games_skipped"] == 1 and summary["stop_reason"] == "1 games played"
    ingest([capture], lake=lake, progress=False)
    want = _expected(lake, strategy, params, summary["played"], [], ExecutionRules())
    for table in ("paper_decisions", "paper_results"):
        got = read_table(table, paper_lake)
        assert got["run_id"].unique().to_list() == [summary["run_id"]]
        assert got.height == summary[f"{table.split('_')[1]}_written"] > 0
        assert_frame_equal(_decisions(got.sort("order_no"), table, summary["played"]),
                           _decisions(want, table, summary["played"]))


@pytest.fixture(scope="module")
def gappy_feed() -> list[Frame]:
    """40 simulated games as a receiver with trouble sees them: 15% of the active frames
    missed, bursts of 5-12 missed frames (ticks the window cannot fill), the rug frames of
    games 7 and 8 missed (the next cooldown reveals their paths), and game 15's rug frames
    and everything up to the next game's tick 2 missed (the run never learns 15's end:
    censored at its last tick seen, though a later history reveals it to the lake; 16 is
    joined late: skipped)."""
    rng = random.Random(4)
    out, game_no, current, burst, blind = [], 0, None, 0, False
    for i, sf in enumerate(sim_frames(40, seed=4, speed=1000, players=3)):
        p = sf.args[-1] if sf.args else None
        if sf.event == "gameStateUpdate" and isinstance(p, dict):
            if p.get("gameId") != current:
                current, game_no = p.get("gameId"), game_no + 1
            active = p.get("active") is True and not p.get("rugged")
            if blind and not (active and p.get("tickCount", 0) >= 2):
                continue
            blind = False
            if p.get("rugged") and game_no in (7, 8, 15):
                blind = game_no == 15
                continue
            if active and game_no not in (7, 8):  # their revealed paths fill only the end
                if burst:
                    burst -= 1
                    continue
                if rng.random() < 0.01:
                    burst = rng.randint(5, 12)
                    continue
            if active and rng.random() < 0.15:
                continue
        out.append(Frame(sf.event, sf.args, "sim", recv_ts_us=1_765_584_000_000_000
                         + int(sf.at_s * 1e6), seq=i + 1))
    return out


@pytest.fixture(scope="module")
def gappy_lake(gappy_feed: list[Frame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake the collector's assembler builds from `gappy_feed`."""
    lake = tmp_path_factory.mktemp("gappy")
    asm = GameAssembler()
    for f in gappy_feed:
        asm.feed(f)
    write_batch(lake, asm.drain())
    return lake


@pytest.mark.parametrize(("strategy", "params"), STRATEGIES,
                         ids=[s for s, _ in STRATEGIES])
def test_paper_trading_a_feed_with_gaps_and_missed_rugs_gives_the_backtest_decisions(
        strategy: str, params: list[str], gappy_feed: list[Frame], gappy_lake: Path) -> None:
    rules = ExecutionRules(bankroll_sol=2.0)
    s = make_strategy(strategy, parse_params(params))
    t = PaperTrader(s, rules, params_json=params_json(s))
    for f in gappy_feed:
        t.feed(f)
    t.stop()
    c = t.counts
    assert (c.games_played, c.games_censored, c.games_skipped,
            c.ended_from_history) == (39, 1, 1, 2)
    assert c.late_orders > 0  # decisions at ticks the run learnt of late, as the backtest
    rows = t.take_rows()
    want = _expected(gappy_lake, strategy, params, t.played, t.ended_from_history, rules,
                     t.censored)
    for table in ("paper_decisions", "paper_results"):
        got = _decisions(rows, table, t.played)
        assert got.height > 0
        assert_frame_equal(got, _decisions(want, table, t.played))
    ticks = read_table("ticks", gappy_lake).filter(pl.col("game_id").is_in(t.played))
    assert ticks.filter(pl.col("source") == "history").height > 0  # gaps beyond the window
