"""Exact ledgers on hand-built trade sequences (`rugslab.players.ledger`)."""

from __future__ import annotations

import pytest

from rugslab.errors import ConfigError
from rugslab.players.ledger import Position, SideBet, Trade, replay, side_bet_pnl_sol

TRADES = [Trade(1, "buy", 1.0, 1.0), Trade(2, "buy", 1.0, 2.0), Trade(3, "sell", 0.5, 3.0),
          Trade(4, "buy", 0.5, 1.0)]
EPS = 1e-12


def test_average_cost_weights_buys_and_a_partial_sell_keeps_it() -> None:
    pos = replay(TRADES[:2])
    assert (pos.qty, pos.avg_cost_x) == (2.0, 1.5)
    pos = replay(TRADES[:3])
    assert pos.qty == 1.5 and pos.avg_cost_x == pytest.approx(1.5, abs=EPS)
    assert pos.realized_pnl_sol == pytest.approx(0.75, abs=EPS)  # 0.5 * (3 - 1.5)
    pos = replay(TRADES)
    assert pos.avg_cost_x == pytest.approx(1.375, abs=EPS)  # (1.5*1.5 + 0.5*1) / 2
    assert pos.regular_pnl_sol(2.0) == pytest.approx(0.75 + 2 * (2.0 - 1.375), abs=EPS)


def test_total_invested_is_the_peak_of_buys_less_sell_proceeds() -> None:
    pos = replay(TRADES)  # 1 + 2 = 3 (peak), - 1.5 = 1.5, + 0.5 = 2
    assert (pos.net_invested_sol, pos.total_invested_sol) == (2.0, 3.0)


def test_the_rug_liquidates_the_open_position_at_the_crash_price() -> None:
    pos = replay(TRADES, rug_tick=9, crash_price_x=0.01)
    assert (pos.qty, pos.avg_cost_x) == (0.0, 0.0)
    # 0.75 realized, then 2 units costing 2.75 sold for 0.02
    assert pos.realized_pnl_sol == pytest.approx(0.75 + 0.02 - 2.75, abs=EPS)


def test_fifo_sells_the_oldest_lot_first() -> None:
    pos = replay(TRADES[:3], method="fifo")
    assert pos.realized_pnl_sol == pytest.approx(1.0, abs=EPS)  # 0.5 * (3 - 1)
    assert pos.avg_cost_x == pytest.approx(2.5 / 1.5, abs=EPS)  # 0.5@1 + 1@2 left
    pos = replay(TRADES, method="fifo")
    assert (pos.qty, pos.avg_cost_x) == (2.0, 1.5)


def test_a_sell_beyond_the_position_realizes_only_what_was_held() -> None:
    pos = Position()
    pos.buy(1.0, 1.0)
    pos.sell(3.0, 2.0, 6.0)
    assert pos.qty == 0.0 and pos.oversold_qty == 2.0
    assert pos.realized_pnl_sol == pytest.approx(1.0, abs=EPS)  # 2 of the 6 SOL - cost 1


def test_an_unknown_method_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="average"):
        Position(method="lifo")  # type: ignore[arg-type]


@pytest.mark.parametrize(("tick", "rug_tick", "expected"), [
    (9, None, None),        # not placed yet
    (49, None, None),       # open
    (50, None, -0.1),       # end tick reached alive: lost
    (50, 50, 0.4),          # rug at the end tick: won, 4x the stake
    (60, 51, -0.1),         # rug after the window: lost
    (30, 30, 0.4),          # rug inside the window
])
def test_side_bets_follow_the_5x_rule(tick: int, rug_tick: int | None,
                                      expected: float | None) -> None:
    got = side_bet_pnl_sol(SideBet(10, 50, 0.1), tick=tick, rug_tick=rug_tick)
    assert got == (None if expected is None else pytest.approx(expected, abs=EPS))
