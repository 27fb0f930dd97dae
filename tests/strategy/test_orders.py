"""The order log: every order's decision, fill or lapse, and settlement, as the engine books
them; worked out by hand on scripted games."""

from __future__ import annotations

import numpy as np

from rugslab.strategy import builtins
from rugslab.strategy.engine import Engine, ExecutionRules, play_chunk
from rugslab.strategy.orders import OrderEvent, OrderLog
from rugslab.strategy.sources import ScriptedSource, scripted_game


def _num(x: float) -> float | None:
    return None if np.isnan(x) else x


def _log(strategy, games, *, rules=None, n_games=None) -> tuple[list[tuple], float]:
    log = OrderLog()
    stream = ScriptedSource(tuple(games)).stream(1, 0, np.random.SeedSequence(0))
    s = play_chunk(strategy, stream, rules or ExecutionRules(), n=1,
                   games=n_games or len(games), log=log)
    rows = [(e.event, e.kind, e.game, e.order, e.tick, _num(e.stake_sol), _num(e.back_sol),
             e.cash_sol, e.outcome) for e in log.events]
    return rows, float(s.final_sol[0])


def test_a_fixed_side_bet_is_ordered_filled_and_settled_at_the_rug_or_the_window_end() -> None:
    games = [scripted_game(r) for r in (30, 100, 11)]
    rows, final = _log(builtins.SidebetFixed(start_tick=10, stake=1.0), games)
    assert rows[:3] == [
        ("order", "sidebet", 0, 0, 10, 1.0, None, 10.0, ""),
        ("fill", "sidebet", 0, 0, 11, 1.0, None, 9.0, ""),
        ("settle", "sidebet", 0, 0, 30, 1.0, 5.0, 14.0, "won"),
    ]
    # the rug at 100 is after the window 11..51: lost at its end, tick 51
    assert [r[:5] + r[7:] for r in rows[3:6]] == [
        ("order", "sidebet", 1, 1, 10, 14.0, ""), ("fill", "sidebet", 1, 1, 11, 13.0, ""),
        ("settle", "sidebet", 1, 1, 51, 13.0, "lost")]
    # the game rugs at 11, before the fill: the order lapses at the rug tick
    assert [r[:5] + r[7:] for r in rows[6:]] == [
        ("order", "sidebet", 2, 2, 10, 13.0, ""), ("lapse", "sidebet", 2, 2, 11, 13.0,
                                                   "game over")]
    assert final == 13.0


def test_a_trade_is_bought_sold_or_wiped_and_its_settlement_names_the_buy() -> None:
    games = [scripted_game(50, prices={6: 1.5, 8: 3.0}), scripted_game(9)]
    log = OrderLog()
    stream = ScriptedSource(tuple(games)).stream(1, 0, np.random.SeedSequence(0))
    play_chunk(builtins.TradeTarget(entry_tick=5, stake=1.0, target=2.0), stream,
               ExecutionRules(), n=1, games=2, log=log)
    got = [(e.event, e.kind, e.order, e.tick, e.price_x, e.outcome) for e in log.events
           if e.event != "order"]
    # bought at tick 6 at 1.5; 3.0 ≥ 2 × 1.5 at tick 8: sold at tick 9 at 1.0 (1/1.5 back);
    # then bought at 6 at 1.0 and wiped by the rug at 9
    assert [g[:4] + g[5:] for g in got] == [
        ("fill", "buy", 0, 6, ""), ("fill", "sell", 1, 9, ""), ("settle", "buy", 0, 9, "sold"),
        ("fill", "buy", 2, 6, ""), ("settle", "buy", 2, 9, "wiped")]
    assert [g[4] for g in got][:3] == [1.5, 1.0, 1.0]
    settle = [e for e in log.events if e.event == "settle"]
    assert [(e.stake_sol, e.back_sol) for e in settle] == [(1.0, 1.0 / 1.5), (1.0, 0.0)]
    assert settle[-1].cash_sol == 10.0 - 1.0 + 1.0 / 1.5 - 1.0


def test_a_stake_the_cash_cannot_cover_lapses_for_no_cash_when_stopped_at_ruin() -> None:
    games = [scripted_game(100)] * 3
    rows, final = _log(builtins.SidebetFixed(start_tick=10, stake=0.6), games,
                       rules=ExecutionRules(bankroll_sol=1.0, stop_at_ruin=True))
    assert [(r[0], r[2], r[8]) for r in rows] == [
        ("order", 0, ""), ("fill", 0, ""), ("settle", 0, "lost"),
        ("order", 1, ""), ("lapse", 1, "no cash")]
    assert final == 0.4


def test_the_log_listener_sees_each_event_as_it_is_booked_and_the_summaries_do_not_change(
) -> None:
    seen: list[OrderEvent] = []
    games = [scripted_game(r) for r in (30, 100)]
    log = OrderLog(listener=seen.append)
    stream = ScriptedSource(tuple(games)).stream(3, 0, np.random.SeedSequence(0))
    strategy = builtins.SidebetFixed(start_tick=10, stake=1.0)
    with_log = Engine(strategy, ExecutionRules(), stream, n=3, games=2, log=log).run()
    stream = ScriptedSource(tuple(games)).stream(3, 0, np.random.SeedSequence(0))
    without = Engine(strategy, ExecutionRules(), stream, n=3, games=2).run()
    assert seen == log.events and len(seen) == 3 * 6
    assert with_log.final_sol.tolist() == without.final_sol.tolist() == [13.0] * 3
    assert sorted({e.path for e in seen}) == [0, 1, 2]


def test_a_censored_game_logs_what_it_leaves_undecided_as_void() -> None:
    # the bet covers 11..51. Game 0 was recorded alive to 300: a known loss at 51. Game 1 was
    # last recorded at 30: the window reaches past it, so the bet is void at 30, stake back
    games = [scripted_game(301), scripted_game(31)]
    log = OrderLog()
    stream = ScriptedSource(tuple(games), censored=(0, 1)).stream(1, 0,
                                                                  np.random.SeedSequence(0))
    s = play_chunk(builtins.SidebetFixed(start_tick=10, stake=1.0), stream, ExecutionRules(),
                   n=1, games=2, log=log)
    settle = [(e.game, e.tick, e.stake_sol, e.back_sol, e.cash_sol, e.outcome)
              for e in log.events if e.event == "settle"]
    assert settle == [(0, 51, 1.0, 0.0, 9.0, "lost"), (1, 30, 1.0, 1.0, 9.0, "void")]
    assert (s.bets[0], s.voided[0], s.final_sol[0]) == (1, 1, 9.0)
    # a position open at the last recorded tick is void (stake back); a sell decided there
    # would fill after it: it lapses "censored"
    game = scripted_game(20, prices={2: 2.0})
    log = OrderLog()
    stream = ScriptedSource((game,), censored=(0,)).stream(1, 0, np.random.SeedSequence(0))
    play_chunk(builtins.TradeTarget(entry_tick=1, stake=1.0, target=100.0, exit_tick=19),
               stream, ExecutionRules(), n=1, games=1, log=log)
    got = [(e.event, e.kind, e.order, e.tick, _num(e.back_sol), e.outcome)
           for e in log.events if e.event != "order"]
    assert got == [("fill", "buy", 0, 2, None, ""), ("settle", "buy", 0, 19, 1.0, "void"),
                   ("lapse", "sell", 1, 20, None, "censored")]
    assert log.events[-1].cash_sol == 10.0
