"""Execution rules on hand-built games, every bankroll worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from rugslab.errors import ConfigError, LookaheadError
from rugslab.feed.rules import MAX_TICKS
from rugslab.strategy import builtins
from rugslab.strategy.book import PathSummaries
from rugslab.strategy.engine import ExecutionRules
from rugslab.strategy.ensemble import run_ensemble
from rugslab.strategy.protocol import (
    CAPPED,
    CENSORED,
    NO_GAME,
    Decision,
    TickView,
    ViewExpired,
)
from rugslab.strategy.sources import MonteCarloSource, ScriptedSource, scripted_game


def _run(strategy, games, *, bankroll=10.0, latency=1, paths=1, n_games=None,
         stop_at_ruin=False, censored=()) -> PathSummaries:
    src = ScriptedSource(tuple(games), censored=tuple(censored))
    rules = ExecutionRules(bankroll_sol=bankroll, latency_ticks=latency,
                           stop_at_ruin=stop_at_ruin)
    return run_ensemble(strategy, src, paths=paths, games_per_path=n_games or len(games),
                        rules=rules).summaries


# rug ticks 30, 100, 11, 5, 52, 51: a bet decided at 10 starts at 11 and covers 11..51
SIX = [scripted_game(r) for r in (30, 100, 11, 5, 52, 51)]


def test_fixed_side_bet_fills_a_tick_later_and_wins_iff_the_rug_is_within_40_ticks() -> None:
    s = _run(builtins.SidebetFixed(start_tick=10, stake=1.0), SIX)
    # 30 ≤ 51 win (+4 → 14); 100: loss (13); rug 11: the game has no tick 11, no bet; rug 5:
    # no decision; rug 52 > 51: loss (12); rug 51 ≤ 51: win (16)
    assert s.final_sol.tolist() == [16.0]
    assert (s.bets[0], s.wins[0], s.staked_sol[0], s.pnl_sol[0]) == (4, 2, 4.0, 6.0)
    assert (s.games_played[0], s.exposed_games[0], s.ruin_game[0]) == (6, 4, -1)
    assert s.cp_bankroll[0].tolist() == [10.0, 14.0, 13.0, 13.0, 13.0, 12.0, 16.0]


def test_latency_moves_the_window() -> None:
    at = builtins.SidebetFixed(start_tick=10, stake=1.0)
    # latency 0: the bet covers 10..50: rug 11 now wins, rug 51 now loses
    assert _run(at, SIX, latency=0).final_sol.tolist() == [10 + 4 - 1 + 4 - 1 - 1]
    # latency 3: 13..53: rug 11 no bet, rugs 52 and 51 both win
    assert _run(at, SIX, latency=3).final_sol.tolist() == [10 + 4 - 1 + 4 + 4]


def test_every_path_of_a_batch_is_booked_alike() -> None:
    s = _run(builtins.SidebetFixed(start_tick=10, stake=1.0), SIX, paths=7)
    assert s.final_sol.tolist() == [16.0] * 7


def test_martingale_and_the_stake_cap() -> None:
    games = [scripted_game(r) for r in (100, 200, 20, 300)]
    m = builtins.SidebetMartingale(start_tick=10, base=1.0)
    # stakes 1 (→ 9), 2 (→ 7), 4 wins (7 − 4 + 20 = 23), 1 (→ 22)
    s = _run(m, games)
    assert (s.final_sol[0], s.staked_sol[0], s.bets[0], s.ruin_game[0]) == (22.0, 8.0, 4, -1)
    # from 5 SOL: 1 (→ 4), 2 (→ 2), 4 wanted but 2 held: ruin in game 2, all in, wins 10 → 10
    s = _run(m, games, bankroll=5.0)
    assert (s.final_sol[0], s.staked_sol[0], s.ruin_game[0]) == (9.0, 6.0, 2)


def test_ruin_is_the_first_stake_the_cash_cannot_cover() -> None:
    losing = [scripted_game(100)] * 4
    fixed = builtins.SidebetFixed(start_tick=0, stake=1.0)
    s = _run(fixed, losing, bankroll=2.5)
    # 1 (→ 1.5), 1 (→ 0.5), 1 wanted: ruin in game 2, bets the 0.5 left; game 3: nothing left
    assert (s.final_sol[0], s.bets[0], s.staked_sol[0], s.ruin_game[0]) == (0.0, 3, 2.5, 2)
    stop = _run(fixed, losing, bankroll=2.5, stop_at_ruin=True)
    assert (stop.final_sol[0], stop.bets[0], stop.games_played[0], stop.ruin_game[0]) == (
        0.5, 2, 3, 2)
    # a hundred 0.1 bets use up 10 SOL exactly despite float rounding, and the 101st is ruin
    s = _run(builtins.SidebetFixed(start_tick=0, stake=0.1), [scripted_game(100)],
             n_games=102)
    assert (s.bets[0], s.ruin_game[0], s.final_sol[0]) == (100, 100, 0.0)


def test_a_trade_fills_at_the_next_ticks_price_and_the_rug_wipes_it() -> None:
    up = scripted_game(6, prices={1: 1.2, 2: 1.5, 3: 2.1, 4: 1.8, 5: 2.5})
    t = builtins.TradeTarget(entry_tick=1, stake=1.0, target=1.5)
    # latency 1: buys at tick 2 (1.5), target 2.25 first seen at tick 5, sell due at tick 6:
    # the game rugs at 6, so the position is wiped
    s = _run(t, [up])
    assert (s.final_sol[0], s.bets[0], s.wins[0]) == (9.0, 1, 0)
    # latency 0: buys at tick 1 (1.2), target 1.8 seen at tick 3 and sold there at 2.1
    s = _run(t, [up], latency=0)
    assert s.final_sol[0] == pytest.approx(10.0 + 2.1 / 1.2 - 1.0)
    # an exit tick sells at the next tick's price: decided at 3, sold at 4 (1.8 / 1.5)
    s = _run(builtins.TradeTarget(entry_tick=1, stake=1.0, target=10.0, exit_tick=3), [up])
    assert s.final_sol[0] == pytest.approx(10.0 + 1.8 / 1.5 - 1.0)


def test_the_cap_sells_at_the_last_price_and_a_side_bet_there_loses() -> None:
    capped = scripted_game(None, prices={4991: 2.0, MAX_TICKS: 3.0})
    t = builtins.TradeTarget(entry_tick=4990, stake=1.0, target=100.0)
    s = _run(t, [capped])
    assert s.final_sol[0] == pytest.approx(10.0 + 3.0 / 2.0 - 1.0)
    bet = _run(builtins.SidebetFixed(start_tick=4980, stake=1.0), [capped])
    assert (bet.final_sol[0], bet.bets[0], bet.wins[0]) == (9.0, 1, 0)


def test_a_fill_waits_for_a_recorded_price() -> None:
    gap = scripted_game(10, prices={2: float("nan"), 3: 2.0, 4: 4.0})
    s = _run(builtins.TradeTarget(entry_tick=1, stake=1.0, target=1.5), [gap])
    # buy due at 2 (no price) fills at 3 (2.0); target 3.0 seen at 4, sold at 5 (1.0)
    assert s.final_sol[0] == pytest.approx(10.0 + 1.0 / 2.0 - 1.0)


@dataclass
class _Watch:
    """A side bet of 1 decided at tick 10, then watches every tick (never done)."""

    name: str = "watch"

    def decide(self, view: TickView) -> Decision:
        return Decision(sidebet_sol=np.where(view.tick == 10, 1.0, 0.0))


@pytest.mark.parametrize("strategy", [builtins.SidebetFixed(start_tick=10, stake=1.0),
                                      _Watch()])
def test_a_censored_game_settles_what_it_shows_and_voids_the_rest(strategy) -> None:
    # the bet covers 11..51. Game 0 was recorded alive to tick 300: no rug in the window, a
    # known loss (leaving the game out would drop it). Game 1 stopped being recorded at tick
    # 30: the rug may or may not fall in 31..51, so the bet is void. Game 2 rugs at 30: win.
    games = [scripted_game(301), scripted_game(31), scripted_game(30)]
    s = _run(strategy, games, censored=(0, 1))
    assert (s.final_sol[0], s.bets[0], s.wins[0], s.voided[0]) == (13.0, 2, 1, 1)
    assert (s.staked_sol[0], s.games_played[0]) == (2.0, 3)
    # a window closing on the last recorded tick: alive there, so a loss
    assert _run(strategy, [scripted_game(52)], censored=(0,)).final_sol.tolist() == [9.0]
    # decided at the last recorded tick, the bet would start after it: never placed
    late = _run(builtins.SidebetFixed(start_tick=30, stake=1.0), [scripted_game(31)],
                censored=(0,))
    assert (late.final_sol[0], late.bets[0], late.voided[0]) == (10.0, 0, 0)


def test_a_position_open_when_a_game_is_censored_is_voided() -> None:
    game = scripted_game(20, prices={2: 2.0, 10: 3.0})
    hold = builtins.TradeTarget(entry_tick=1, stake=1.0, target=100.0)
    # bought at tick 2; the recording stops at tick 19 with the position open: exit unknown
    s = _run(hold, [game], censored=(0,))
    assert (s.final_sol[0], s.bets[0], s.voided[0], s.staked_sol[0]) == (10.0, 0, 1, 0.0)
    assert _run(hold, [game]).final_sol.tolist() == [9.0]  # the same game rugging: wiped
    # a sell decided at the last recorded tick would fill after it: not filled, voided
    out = _run(builtins.TradeTarget(entry_tick=1, stake=1.0, target=100.0, exit_tick=19),
               [game], censored=(0,))
    assert (out.final_sol[0], out.bets[0], out.voided[0]) == (10.0, 0, 1)
    # sold before the censoring point: settled as usual (0.5 bought at 2.0, sold at 3.0)
    sold = _run(builtins.TradeTarget(entry_tick=1, stake=1.0, target=100.0, exit_tick=9),
                [game], censored=(0,))
    assert (sold.final_sol[0], sold.bets[0], sold.voided[0]) == (10.5, 1, 0)


@dataclass
class _Seen:
    """Records everything a view shows at each tick it is asked about."""

    rows: list = field(default_factory=list)
    name: str = "seen"

    def decide(self, view: TickView) -> Decision:
        self.rows.append((view.tick.tolist(), view.price.tolist(), view.bet_open.tolist(),
                          view.recent_rug_ticks[:, :2].tolist()))
        return Decision(sidebet_sol=np.where(view.tick == 5, 1.0, 0.0))


def test_a_strategy_cannot_tell_a_censored_game_until_it_is_over() -> None:
    game = scripted_game(40, prices={7: 1.4})
    seen = {}
    for censored in ((), (0,)):
        r = _Seen()
        _run(r, [game, scripted_game(9)], censored=censored)
        seen[censored] = r.rows
    first = [row for row in seen[()] if row[3] == [[NO_GAME, NO_GAME]]]
    assert len(first) == 40 and first == seen[(0,)][:40]
    # once the game is over its entry says what is known
    assert seen[()][40][3] == [[40, NO_GAME]] and seen[(0,)][40][3] == [[CENSORED, NO_GAME]]


@dataclass
class _Peek:
    """Reads the price one tick ahead."""

    name: str = "peek"

    def decide(self, view: TickView) -> Decision:
        view.past_price(view.tick + 1)
        return Decision()


@dataclass
class _Keep:
    """Keeps its views and reads an old one later."""

    views: list = field(default_factory=list)
    name: str = "keep"

    def decide(self, view: TickView) -> Decision | None:
        self.views.append(view)
        if len(self.views) > 1:
            self.views[0].price  # noqa: B018 - the read is the test
        return None


@pytest.mark.parametrize("source", [ScriptedSource((scripted_game(50),)), MonteCarloSource()])
def test_a_strategy_that_reads_ahead_gets_an_error(source) -> None:
    with pytest.raises(LookaheadError, match=r"reads ticks 0\.\.0"):
        run_ensemble(_Peek(), source, paths=3, games_per_path=2)
    with pytest.raises(ViewExpired, match="expired"):
        run_ensemble(_Keep(), source, paths=3, games_per_path=2)


@dataclass
class _Remember:
    """Checks past_price(t − 3) against the price it saw at t − 3 (a test may keep state)."""

    seen: dict = field(default_factory=dict)
    checked: list = field(default_factory=list)
    name: str = "remember"

    def decide(self, view: TickView) -> Decision:
        path, game, tick = view.path.tolist(), view.game.tolist(), view.tick.tolist()
        for key, price in zip(zip(path, game, tick, strict=True), view.price.tolist(),
                              strict=True):
            self.seen[key] = price
        back = np.maximum(view.tick - 3, 0)
        past = view.past_price(back).tolist()
        self.checked += [self.seen[(p, g, t)] == x for p, g, t, x in zip(
            path, game, back.tolist(), past, strict=True)]
        # a third of the paths stop watching at tick 20: paths drift apart in their games
        return Decision(done=(view.path % 3 == 0) & (view.tick >= 20))


def test_past_prices_of_generated_games_are_the_prices_seen_then() -> None:
    r = _Remember()
    run_ensemble(r, MonteCarloSource(), paths=50, games_per_path=3, seed=4)
    assert len(r.checked) > 1000 and all(r.checked)


@dataclass
class _History:
    rows: list = field(default_factory=list)
    name: str = "history"

    def decide(self, view: TickView) -> Decision:
        self.rows.append((int(view.game[0]), view.recent_rug_ticks[0, :3].tolist(),
                          int(view.games_played[0])))
        return Decision(done=True)


def test_the_view_carries_earlier_games_rug_ticks() -> None:
    h = _History()
    _run(h, [scripted_game(7), scripted_game(None), scripted_game(3)])
    assert h.rows == [(0, [NO_GAME] * 3, 0), (1, [7, 0, 0], 1), (2, [CAPPED, 7, 0], 2)]


def test_kelly_bets_nothing_at_the_published_odds_and_its_share_for_a_belief() -> None:
    games = [scripted_game(20), scripted_game(100)]
    assert _run(builtins.SidebetKelly(), games).bets[0] == 0
    # p 0.3: f* = (4·0.3 − 0.7)/4 = 0.125; half: 6.25% of 10 = 0.625, wins → 12.5; then
    # 6.25% of 12.5 lost
    s = _run(builtins.SidebetKelly(p_win=0.3), games)
    assert s.final_sol[0] == pytest.approx(12.5 - 0.0625 * 12.5)


def test_the_due_strategy_waits_for_ten_long_games() -> None:
    games = [scripted_game(300)] * 10 + [scripted_game(20)]
    s = _run(builtins.SidebetDue(start_tick=0, stake=1.0, threshold=250), games)
    assert (s.bets[0], s.final_sol[0]) == (1, 14.0)
    # a censored game's rug tick is unknown: left out of the mean (300), not counted as 5000
    games = [scripted_game(300)] * 9 + [scripted_game(30), scripted_game(20)]
    s = _run(builtins.SidebetDue(start_tick=0, stake=1.0, threshold=500), games,
             censored=(9,))
    assert s.bets[0] == 0


@dataclass
class _Bad:
    value: object
    name: str = "bad"

    def decide(self, view: TickView) -> object:
        return self.value


@pytest.mark.parametrize(("value", "match"), [
    (Decision(sidebet_sol=-1.0), "sidebet_sol -1.0 at tick 0"),
    (Decision(buy_sol=float("nan")), "buy_sol nan"),
    (Decision(sidebet_sol=np.ones(5)), "one value per path of the view"),
    ("bet", "returned str"),
])
def test_a_bad_decision_names_the_strategy_and_the_value(value, match) -> None:
    with pytest.raises(ConfigError, match=match):
        run_ensemble(_Bad(value), ScriptedSource((scripted_game(9),)), paths=2,
                     games_per_path=1)
