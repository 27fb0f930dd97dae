"""The paper trader on hand-built frames: every decision, fill and settlement worked out by
hand, and equal to the backtest engine's on the same prices."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from paper_frames import T0_US, Clock, flat, game, gid, revealed

from rugslab.lake.catalog import read_table
from rugslab.lake.writer import write_batch
from rugslab.paper.trader import CENSORED_MISSED_END, CENSORED_STOPPED, PaperTrader
from rugslab.strategy import builtins
from rugslab.strategy.engine import ExecutionRules, play_chunk
from rugslab.strategy.orders import OrderEvent, OrderLog
from rugslab.strategy.sources import ScriptedSource

FIXED = builtins.SidebetFixed(start_tick=10, stake=1.0)
TRADE = builtins.TradeTarget(entry_tick=5, stake=1.0, target=2.0)


def _trade(strategy, frames, **kw) -> PaperTrader:
    t = PaperTrader(strategy, ExecutionRules(), **kw)
    for f in frames:
        t.feed(f)
    return t


def _backtest(strategy, *paths: list[float]) -> list[OrderEvent]:
    """The backtest engine's events on these price paths (NaN: no price), one bankroll."""
    log = OrderLog()
    stream = ScriptedSource(tuple(tuple(p) for p in paths)).stream(1, 0, None)
    play_chunk(strategy, stream, ExecutionRules(), n=1, games=len(paths),
               checkpoints=np.zeros(1, np.int64), log=log)
    return log.events


def _same(a: list[OrderEvent], b: list[OrderEvent]) -> bool:
    nan = -1.0  # NaN never equals itself: compare with a stand-in
    def clean(e: OrderEvent) -> OrderEvent:
        return replace(e, price_x=nan if np.isnan(e.price_x) else e.price_x,
                       stake_sol=nan if np.isnan(e.stake_sol) else e.stake_sol,
                       back_sol=nan if np.isnan(e.back_sol) else e.back_sol)
    return [clean(e) for e in a] == [clean(e) for e in b]


def test_a_side_bet_is_decided_filled_and_settled_at_the_observed_rug() -> None:
    clock = Clock()
    frames = game(clock, gid(1), flat(30)) + game(clock, gid(2), flat(60))
    t = _trade(FIXED, frames)
    # game 1 rugs at 30 ≤ 51: won (+4 → 14); game 2 rugs at 60: lost at the window's end, 51
    assert t.played == [gid(1), gid(2)] and t.bankroll_sol == 13.0
    assert _same(t.log.events, _backtest(FIXED, flat(30), flat(60)))
    rows = t.take_rows()
    d = rows.frame("paper_decisions").drop("run_id").to_dicts()
    r = rows.frame("paper_results").drop("run_id").to_dicts()
    ts = lambda n: T0_US + n * 250_000  # noqa: E731 - the n-th frame's receive time
    assert [(x["decision_tick"], x["seen_tick"], x["decided_ts"].timestamp() * 1e6,
             x["fill_tick"], x["fill_price_x"], x["filled_stake_sol"], x["cash_sol"],
             x["status"]) for x in d] == [
        (10, 10, ts(2 + 11), 11, 1.0, 1.0, 10.0, "filled"),
        (10, 10, ts(34 + 2 + 11), 11, 1.0, 1.0, 14.0, "filled")]
    assert [(x["game_id"], x["kind"], x["outcome"], x["settle_tick"], x["rug_tick"],
             x["payout_sol"], x["pnl_sol"], x["bankroll_sol"]) for x in r] == [
        (gid(1), "sidebet", "won", 30, 30, 5.0, 4.0, 14.0),
        (gid(2), "sidebet", "lost", 51, 60, 0.0, -1.0, 13.0)]
    assert d[0]["params_json"] == "{}" and d[0]["latency_ticks"] == 1


def test_a_game_joined_after_its_start_is_skipped() -> None:
    clock = Clock()
    events: list[dict] = []
    frames = game(clock, gid(1), flat(30), from_tick=3) + game(clock, gid(2), flat(30))
    t = _trade(FIXED, frames, on_event=events.append)
    assert t.played == [gid(2)] and t.counts.games_skipped == 1
    assert events[0]["type"] == "game_skipped" and events[0]["reason"] == "joined at tick 3"
    assert [e.game for e in t.log.events] == [0, 0, 0]  # the skipped game is not a game


def test_a_missed_tick_is_priced_from_the_window_and_its_decision_is_late() -> None:
    clock = Clock()
    path = flat(40, t6=1.25)
    t = _trade(TRADE, game(clock, gid(1), path, skip=(5, 6)))
    # the frame of tick 7 brings ticks 3..7: the buy decided at 5 (seen at 7) fills at 6
    assert [(e.event, e.tick, e.outcome) for e in t.log.events] == [
        ("order", 5, ""), ("fill", 6, ""), ("settle", 40, "wiped")]
    assert t.log.events[1].price_x == 1.25 and t.counts.late_orders == 1
    assert t.take_rows().frame("paper_decisions")["seen_tick"].to_list() == [7]
    assert _same(t.log.events, _backtest(TRADE, path))


def test_ticks_beyond_the_window_stay_unpriced_and_the_fill_waits_for_a_price() -> None:
    clock = Clock()
    path = flat(40)
    t = _trade(TRADE, game(clock, gid(1), path, skip=range(5, 12)))
    # the frame of tick 12 brings 8..12; 5..7 are never known: the buy fills at 8
    fill = [e for e in t.log.events if e.event == "fill"]
    assert [(e.tick, e.price_x) for e in fill] == [(8, 1.0)]
    seen = [*path[:5], np.nan, np.nan, np.nan, *path[8:]]
    assert _same(t.log.events, _backtest(TRADE, seen))


def test_a_missed_rug_ends_the_game_from_the_path_the_next_game_reveals() -> None:
    clock = Clock()
    path = flat(30, t27=2.5, t28=3.0)
    frames = (game(clock, gid(1), path, skip=range(26, 30), rug_frames=False)
              + game(clock, gid(2), flat(20), history=[revealed(gid(1), path)]))
    t = _trade(TRADE, frames)
    # ticks 26..29 come from the revealed path: 2.5 ≥ 2 × 1.0 at 27, sold at 28 at 3.0
    settle = [e for e in t.log.events if e.event == "settle"]
    assert [(e.game, e.tick, e.outcome, e.back_sol) for e in settle] == [
        (0, 28, "sold", 3.0), (1, 20, "wiped", 0.0)]
    assert t.ended_from_history == [gid(1)] and t.played == [gid(1), gid(2)]
    assert _same(t.log.events, _backtest(TRADE, path, flat(20)))


def test_a_game_whose_end_is_never_seen_is_censored_at_its_last_tick_seen_alive() -> None:
    clock = Clock()
    events: list[dict] = []
    frames = (game(clock, gid(1), flat(30), rug_frames=False)
              + game(clock, gid(2), flat(20), cooldown=False))
    t = _trade(FIXED, frames, on_event=events.append)
    ends = [e for e in events if e["type"] == "game_end"]
    assert [(e["game_id"], e["ended_by"], e["end_tick"], e["rug_tick"], e["reason"],
             e["bankroll_sol"]) for e in ends] == [
        (gid(1), "censored", 29, None, CENSORED_MISSED_END, 10.0),
        (gid(2), "rug", 19, 20, None, 14.0)]
    # game 1's bet covers 11..51, past its last tick seen (29): void, the stake back, as the
    # backtest settles a censored game; game 2's bet (order 1) wins at 20: 14
    assert t.played == [gid(1), gid(2)] and t.censored == [gid(1)]
    assert t.bankroll_sol == 14.0 and t.counts.games_censored == 1
    rows = t.take_rows()
    r = rows.frame("paper_results").select("order_no", "outcome", "settle_tick", "payout_sol",
                                           "pnl_sol", "bankroll_sol", "rug_tick")
    assert r.rows() == [(0, "void", 29, 1.0, 0.0, 10.0, None), (1, "won", 20, 5.0, 4.0, 14.0, 20)]
    assert rows.frame("paper_decisions")["status"].to_list() == ["filled", "filled"]
    b = t.book
    assert (int(b.bets[0]), int(b.voided[0]), int(b.games_played[0])) == (1, 1, 2)
    g = rows.frame("paper_games").select("game_id", "game_no", "status", "ended_by",
                                         "end_tick", "rug_tick", "orders", "bets", "voided")
    assert g.rows() == [(gid(1), 0, "played", "censored", 29, None, 1, 0, 1),
                        (gid(2), 1, "played", "rug", 19, 20, 1, 1, 0)]


def test_a_censored_game_settles_what_its_last_tick_decides_and_voids_the_rest() -> None:
    clock = Clock()
    # game 1 seen alive to 69: the bet over 11..51 lost at 51 (a known loss); game 2 stops at
    # tick 10: the bet decided there would fill at 11, after its last tick seen: censored
    frames = (game(clock, gid(1), flat(70), rug_frames=False)
              + game(clock, gid(2), flat(11), rug_frames=False))
    t = _trade(FIXED, frames)
    t.stop()
    assert t.played == t.censored == [gid(1), gid(2)]
    assert [(e.event, e.tick, e.outcome) for e in t.log.events] == [
        ("order", 10, ""), ("fill", 11, ""), ("settle", 51, "lost"),
        ("order", 10, ""), ("lapse", 11, "censored")]
    rows = t.take_rows()
    d = rows.frame("paper_decisions").select("status", "reason", "fill_tick")
    assert d.rows() == [("filled", None, 11), ("void", "censored", None)]
    assert rows.frame("paper_results")["outcome"].to_list() == ["lost"]
    reasons = rows.frame("paper_games")["reason"].to_list()
    assert reasons == [CENSORED_MISSED_END, CENSORED_STOPPED] and t.bankroll_sol == 9.0


def test_stopping_censors_a_game_in_play_and_leaves_one_not_started() -> None:
    clock = Clock()
    t = _trade(TRADE, game(clock, gid(1), flat(30), rug_frames=False))
    t.stop()
    # the position bought at 6 is open at 29, the last tick seen: its exit is unknown, void
    r = t.take_rows().frame("paper_results")
    assert r.select("kind", "outcome", "settle_tick", "payout_sol").rows() == [
        ("position", "void", 29, 1.0)]
    assert t.bankroll_sol == 10.0 and t.counts.games_censored == 1
    clock = Clock()
    t = _trade(FIXED, game(clock, gid(1), flat(30))[:2])  # cooldown and presale only
    t.stop()
    assert t.counts.games_observed == 0 and len(t.take_rows()) == 0


def test_late_frames_of_a_game_left_behind_are_ignored() -> None:
    clock = Clock()
    one, two = game(clock, gid(1), flat(30)), game(clock, gid(2), flat(20))
    # the second rug frame of game 1 arrives after game 2's first cooldown frame
    t = _trade(FIXED, [*one[:-1], two[0], one[-1], *two[1:]])
    assert t.counts.stale_frames == 1 and t.counts.games_censored == 0
    assert t.played == [gid(1), gid(2)] and t.bankroll_sol == 18.0


def test_a_broken_listener_is_counted_and_the_trading_goes_on() -> None:
    def broken(event: dict) -> None:
        raise RuntimeError("channel down")

    t = _trade(FIXED, game(Clock(), gid(1), flat(30)), on_event=broken)
    # game_start, order, fill, settle, game_end: five events, five errors
    assert t.bankroll_sol == 14.0 and t.counts.event_errors == 5
    assert t.counts.last_event_error == "RuntimeError: channel down"


def test_paper_rows_pass_the_lake_models_and_read_back(tmp_path: Path) -> None:
    clock = Clock()
    frames = (game(clock, gid(1), flat(30), from_tick=3) + game(clock, gid(2), flat(30))
              + game(clock, gid(3), flat(60)) + game(clock, gid(4), flat(30), rug_frames=False))
    t = _trade(FIXED, frames)
    t.stop()
    report = write_batch(tmp_path, t.take_rows())
    assert report.new("paper_decisions") == 3 and report.new("paper_results") == 3
    assert report.new("paper_games") == 4
    assert report.tables["paper_decisions"].rejected == 0
    r = read_table("paper_results", tmp_path).sort("order_no")
    assert r["outcome"].to_list() == ["won", "lost", "void"]
    assert r["date"].cast(str).to_list() == ["2025-12-13"] * 3
    d = read_table("paper_decisions", tmp_path).sort("order_no")
    assert d["status"].to_list() == ["filled"] * 3  # game 4's bet had filled when it stopped
    g = read_table("paper_games", tmp_path).sort("game_no")
    assert g.select("game_id", "status", "reason", "ended_by", "joined_tick", "end_tick",
                    "bankroll_start_sol", "bankroll_sol").rows() == [
        (gid(1), "skipped", "joined at tick 3", None, 3, None, 10.0, 10.0),
        (gid(2), "played", None, "rug", None, 29, 10.0, 14.0),
        (gid(3), "played", None, "rug", None, 59, 14.0, 13.0),
        (gid(4), "played", CENSORED_STOPPED, "censored", None, 29, 13.0, 13.0)]
    # first frame of game 2 is frame 30 (27 of game 1, its two rug frames): 250 ms apart
    assert g["seen_ts"][1].timestamp() * 1e6 == T0_US + 30 * 250_000
    assert g["ended_ts"].null_count() == 1 and g["run_id"].unique().to_list() == [t.run_id]


def test_a_malformed_frame_is_counted_with_its_reason_and_skipped() -> None:
    clock = Clock()
    frames = game(clock, gid(1), flat(30))
    frames[12].args[0]["tickCount"] = "10"  # the frame of tick 10
    t = _trade(FIXED, frames)
    assert t.counts.bad_frames == 1
    assert t.counts.last_bad_reason == "gameStateUpdate.tickCount '10' (str): expected an int " \
                                       "in [0, 5001]"
    # tick 10 is learnt from the frame of tick 11: the bet is decided late, and still filled
    assert t.counts.late_orders == 1 and t.bankroll_sol == 14.0


def test_a_bankroll_stopped_at_ruin_skips_every_later_game() -> None:
    clock = Clock()
    events: list[dict] = []
    frames = (game(clock, gid(1), flat(60)) + game(clock, gid(2), flat(60))
              + game(clock, gid(3), flat(60)))
    t = PaperTrader(builtins.SidebetFixed(start_tick=10, stake=0.6),
                    ExecutionRules(bankroll_sol=1.0, stop_at_ruin=True), on_event=events.append)
    for f in frames:
        t.feed(f)
    # 1.0 − 0.6 lost = 0.4; the 0.6 of game 2 cannot be covered: the order lapses, it stops
    assert t.stopped and t.bankroll_sol == pytest.approx(0.4) and t.played == [gid(1), gid(2)]
    assert [e.outcome for e in t.log.events if e.event == "lapse"] == ["no cash"]
    skipped = [e for e in events if e["type"] == "game_skipped"]
    assert [(e["game_id"], e["reason"]) for e in skipped] == [
        (gid(3), "the bankroll stopped at ruin")]
