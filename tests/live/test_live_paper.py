"""`serve_live` with paper trading: one process replays the feed, serves it and paper-trades
two strategies on the same ticks; a client subscribed to `paper` receives exactly the
decisions and results the paper tables hold (order numbers, ticks, stakes, outcomes), the
games `paper_games` holds, and each run's summary."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from live_clients import Recorder

from rugslab.lake.catalog import read_table
from rugslab.live.run import LiveOptions, LiveSummary, serve_live
from rugslab.paper.run import paper_specs
from rugslab.strategy.engine import ExecutionRules
from rugslab.testing import sim_frames

GAMES, SEED, SPEED = 6, 11, 100.0
SPECS = paper_specs(["sidebet-fixed", "trade-target"],
                    ["sidebet-fixed:start_tick=3", "stake=0.2", "trade-target:target=1.2"])


def _decisions_from(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Per order (in order): game, decision tick, seen tick, stake ordered, status, fill tick,
    fill price, stake filled, as `paper_decisions` rows hold them, from the channel's
    events."""
    rows: dict[int, dict[str, Any]] = {}
    for e in events:
        n = e.get("order_no")
        if e["type"] == "order":
            rows[n] = {"game_id": e["game_id"], "decision_tick": e["tick"],
                       "seen_tick": e["seen_tick"], "stake_sol": e["stake_sol"],
                       "status": None, "fill_tick": None, "fill_price_x": None,
                       "filled_stake_sol": None}
        elif e["type"] == "fill":
            rows[n] |= {"status": "filled", "fill_tick": e["tick"],
                        "fill_price_x": e["price_x"], "filled_stake_sol": e["stake_sol"]}
        elif e["type"] == "lapse":
            rows[n]["status"] = "void" if e["outcome"] == "censored" else "lapsed"
    return [(n, *r.values()) for n, r in sorted(rows.items())]


def _results_from(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((e["order_no"], e["game_id"], e["outcome"], e["tick"], e["stake_sol"],
                   e["back_sol"], e["cash_sol"]) for e in events if e["type"] == "settle")


async def _run(lake: Path) -> tuple[Recorder, Recorder, LiveSummary]:
    opts = LiveOptions(port=0, lake=lake, paper=SPECS, wait_for_clients=2,
                       paper_rules=ExecutionRules(bankroll_sol=3.0), refit_every_s=3600,
                       fit_resamples=20)
    stop, url = asyncio.Event(), asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve_live(opts, stop=stop, announce=url.set_result,
                                            frames=sim_frames(GAMES, seed=SEED, speed=SPEED),
                                            out=None))
    every, one = Recorder(), Recorder()
    try:
        await every.connect(await url)
        assert (await every.call("subscribe", {"channel": "paper"}))["subscribed"] == ["paper"]
        # the source starts with the second client: `every` holds its subscription by then
        await one.connect(await url)
        await one.call("subscribe", {"channel": "paper", "filter": {"strategy": "trade-target"}})
        status = await every.call("get_status")
        assert [r["strategy"] for r in status["paper"]] == ["sidebet-fixed", "trade-target"]
        await every.wait_for(lambda: len([e for e in every.of("paper")
                                          if e["type"] == "run_end"]) == 2, 120)
        await one.wait_for(lambda: any(e["type"] == "run_end" for e in one.of("paper")), 10)
    finally:
        await every.close()
        await one.close()
        stop.set()
    return every, one, await server


@pytest.mark.slow
def test_a_paper_subscriber_gets_exactly_what_the_paper_tables_hold(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    every, one, summary = asyncio.run(_run(lake))
    events = every.of("paper")
    ends = {e["strategy"]: e for e in events if e["type"] == "run_end"}
    assert [s.strategy for s in summary.paper] == ["sidebet-fixed", "trade-target"]
    decisions, results = read_table("paper_decisions", lake), read_table("paper_results", lake)
    games = read_table("paper_games", lake)
    for s in summary.paper:
        assert s.stop_reason == "end of the replay" and s.lake == str(lake)
        assert ends[s.strategy]["games_played"] == s.games_played >= GAMES - 2
        mine = [e for e in events if e["run_id"] == s.run_id]
        assert {e["strategy"] for e in mine} == {s.strategy}
        d = decisions.filter(pl.col("run_id") == s.run_id).sort("order_no")
        assert d.height == s.decisions_written == s.orders > 0
        assert _decisions_from(mine) == d.select(
            "order_no", "game_id", "decision_tick", "seen_tick", "stake_sol", "status",
            "fill_tick", "fill_price_x", "filled_stake_sol").rows()
        r = results.filter(pl.col("run_id") == s.run_id)
        assert r.height == s.results_written > 0
        assert _results_from(mine) == sorted(r.select(
            "order_no", "game_id", "outcome", "settle_tick", "stake_sol", "payout_sol",
            "bankroll_sol").rows())
        g = games.filter(pl.col("run_id") == s.run_id).sort("game_no")
        assert g.height == s.games_observed == s.games_written
        assert [(e["game_id"], e["ended_by"], e["end_tick"]) for e in mine
                if e["type"] == "game_end"] == g.filter(pl.col("status") == "played").select(
            "game_id", "ended_by", "end_tick").rows()
        assert [e["game_id"] for e in mine if e["type"] == "game_skipped"] == g.filter(
            pl.col("status") == "skipped")["game_id"].to_list()
    # the filtered subscriber got one strategy's messages only, up to its run's end
    theirs = one.of("paper")
    assert {e["strategy"] for e in theirs} == {"trade-target"}
    assert theirs[-1]["type"] == "run_end"
    # the collector wrote the same games the runs played
    played = {gid for s in summary.paper for gid in s.played}
    assert played <= set(read_table("games", lake)["game_id"].to_list())
    assert "paper run" in str(summary) and "paper_games rows written" in str(summary)
