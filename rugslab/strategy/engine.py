"""The backtest engine: a strategy plays games on many independent bankrolls in lockstep.

A chunk of `n` paths (independent bankrolls) plays its games in sequence; game `g` of every
path is played at the same time, tick by tick, and each path's games come from the source
(`rugslab.strategy.ensemble`). The strategy is called once per tick with a `TickView` of the
paths that still want decisions (`rugslab.strategy.protocol`).

Execution rules (`ExecutionRules`; tests in `tests/strategy/test_engine.py`):

- Latency: an order decided at tick t fills at tick t + L (`latency_ticks`, default 1) at that
  tick's price, if the game is still running then (its last tick ≥ t + L). Otherwise it never
  fills. Where a source has no price at the fill tick (a gap in a recorded game), a buy or sell
  fills at the next tick that has one.
- Side bets: a bet ordered at t starts at s = t + L, is placed only if the game has tick s,
  and covers ticks s..s + 40; it wins iff the rug tick ≤ s + 40 and then pays 5× the stake
  (`rugslab.feed.rules`; `rugslab.analysis.sidebet`). A loss is settled at tick s + 40 (the
  game is alive there, so the rug is later) or at the cap. One side bet at a time per path.
- Trading: a buy of x SOL fills at price p for x/p tokens; a sell returns qty × price. The rug
  wipes an open position (nothing back), as it wipes pending orders. A game that reaches the
  cap (`MAX_TICKS`, no rug) sells an open position at the last price (a source without that
  price returns its cost), and its open side bet loses.
- Stakes are capped by the cash (money not at risk). Ruin: the first time a path orders a
  stake its cash cannot cover (1e-9 relative tolerance, so a bankroll of 10 SOL covers a
  hundred 0.1 bets despite float rounding). From then on the path bets what it has
  (`stop_at_ruin=False`, default) or stops playing (`stop_at_ruin=True`); the ruin statistics
  are the same either way (first passage).
- `Decision.done` ends a path's decisions in a game; the engine then settles it from the
  game's end without stepping (the rug tick is known to the engine, never to the strategy).
  `Decision.wait_until` skips ticks, so the engine jumps from event to event.

Why lockstep by game: game g of every path is played at the same time, so a view has one
tick for the whole batch and each step is a few numpy operations on the paths still in play.
A path whose game ends early waits for the others before its next game; paths are
independent, so waiting changes nothing but the order of the work. Strategy ticks are
decision ticks: `sidebet-fixed` with `start_tick` 10 decides at tick 10 and its bet starts at
tick 10 + latency (`startedAtTick` in the feed).

Memory is O(n) per chunk (plus the prices a strategy reads of the current game): each path
is summarised on the fly (`PathSummaries`), never stored game by game.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rugslab.errors import ConfigError
from rugslab.feed.rules import MAX_TICKS, SIDEBET_PAYOUT_X, SIDEBET_WINDOW_TICKS
from rugslab.strategy.book import Book, PathSummaries, checkpoint_games
from rugslab.strategy.protocol import CAPPED, Decision, GameTape, Strategy, TickView

#: Relative tolerance when comparing a stake with the cash (float rounding of sums).
STAKE_TOLERANCE = 1e-9
_DUST = 1e-12


@dataclass(frozen=True, slots=True)
class ExecutionRules:
    """How orders fill (module docstring). Amounts in SOL."""

    bankroll_sol: float = 10.0
    latency_ticks: int = 1
    stop_at_ruin: bool = False
    payout_x: float = SIDEBET_PAYOUT_X
    window_ticks: int = SIDEBET_WINDOW_TICKS

    def __post_init__(self) -> None:
        if not self.bankroll_sol > 0 or not np.isfinite(self.bankroll_sol):
            raise ConfigError(f"Invalid bankroll {self.bankroll_sol!r}: expected SOL > 0.")
        if self.latency_ticks < 0:
            raise ConfigError(f"Invalid latency {self.latency_ticks!r}: expected ticks ≥ 0.")


def _broadcast(value: object, m: int, dtype: type, what: str, strategy: str) -> np.ndarray:
    try:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (m,))
    except (ValueError, TypeError) as e:
        raise ConfigError(
            f"Strategy {strategy!r} returned Decision.{what} {value!r}: expected a scalar or "
            f"one value per path of the view ({m}).") from e


class Engine:
    """Plays one chunk: `n` paths from `first_path`, game by game (`play_chunk`)."""

    def __init__(self, strategy: Strategy, rules: ExecutionRules, *, n: int,
                 first_path: int = 0, checkpoints: np.ndarray | None = None) -> None:
        self.strategy = strategy
        self.rules = rules
        cps = checkpoint_games(0) if checkpoints is None else np.asarray(checkpoints, np.int64)
        self.book = Book(n, first_path, rules.bankroll_sol, cps)
        self._game = 0

    # -- orders ---------------------------------------------------------------------------
    def _stake(self, idx: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """Stakes after the cash cap; marks ruin (module docstring)."""
        b = self.book
        cash = b.cash[idx]
        short = wanted > cash * (1.0 + STAKE_TOLERANCE) + _DUST
        first = short & (b.ruin_game[idx] < 0)
        b.ruin_game[idx[first]] = self._game
        if self.rules.stop_at_ruin:
            stake = np.where(short, 0.0, np.minimum(wanted, cash))
            b.stopped[idx[short]] = True
            b.done[idx[short]] = True
        else:
            stake = np.minimum(wanted, cash)
        return np.where(stake > _DUST, stake, 0.0)

    def _fill(self, idx: np.ndarray, t: int, tape: GameTape) -> None:
        b = self.book
        s = idx[b.pend_sell_tick[idx] == t]
        if s.size:
            p = tape.prices(s, t)
            gap = ~np.isfinite(p)
            b.pend_sell_tick[s[gap]] = t + 1
            s, p = s[~gap], p[~gap]
            b.settle(s, b.pos_cost[s], b.pos_qty[s] * p)
            b.pos_qty[s], b.pos_cost[s], b.pos_entry[s], b.pend_sell_tick[s] = 0, 0, np.nan, -1
        u = idx[b.pend_buy_tick[idx] == t]
        if u.size:
            p = tape.prices(u, t)
            gap = ~np.isfinite(p)
            b.pend_buy_tick[u[gap]] = t + 1
            u, p = u[~gap], p[~gap]
            u, p = u[p > 0], p[p > 0]  # a price of 0 buys nothing: the order lapses
            stake = self._stake(u, b.pend_buy_stake[u])
            ok = stake > 0
            u, p, stake = u[ok], p[ok], stake[ok]
            b.cash[u] -= stake
            b.pos_qty[u], b.pos_cost[u], b.pos_entry[u] = stake / p, stake, p
            b.risked[u] = True
            b.pend_buy_tick[idx[b.pend_buy_tick[idx] == t]] = -1
        v = idx[b.pend_bet_tick[idx] == t]
        if v.size:
            stake = self._stake(v, b.pend_bet_stake[v])
            ok = stake > 0
            b.cash[v[ok]] -= stake[ok]
            b.bet_stake[v[ok]], b.bet_start[v[ok]] = stake[ok], t
            b.risked[v[ok]] = True
            b.pend_bet_tick[v], b.pend_bet_stake[v] = -1, 0.0

    def _close_windows(self, idx: np.ndarray, t: int) -> None:
        """Side bets whose window ends at t while the game is alive at t: lost."""
        b = self.book
        lost = idx[(b.bet_start[idx] >= 0) & (b.bet_start[idx] + self.rules.window_ticks == t)]
        if lost.size:
            b.settle(lost, b.bet_stake[lost], np.zeros(lost.size))
            b.bet_stake[lost], b.bet_start[lost] = 0.0, -1

    def _finish(self, idx: np.ndarray, tape: GameTape) -> None:
        """Settle everything open of paths whose game is over (or who are done with it)."""
        b = self.book
        end, rugged = tape.end_tick[idx], tape.rugged[idx]
        o = (b.bet_start[idx] >= 0)
        if o.any():
            i = idx[o]
            win = rugged[o] & (end[o] + 1 <= b.bet_start[i] + self.rules.window_ticks)
            b.settle(i, b.bet_stake[i], np.where(win, self.rules.payout_x * b.bet_stake[i], 0.0))
            b.bet_stake[i], b.bet_start[i] = 0.0, -1
        h = b.pos_qty[idx] > 0
        if h.any():
            i, rug, last = idx[h], rugged[h], end[h]
            back = np.zeros(i.size)
            capped = ~rug
            if capped.any():  # ran to the cap: sold at the last price
                c = i[capped]
                p = tape.prices(c, int(last[capped][0])) if np.unique(last[capped]).size == 1 \
                    else np.array([tape.prices(c[k:k + 1], int(x))[0]
                                   for k, x in enumerate(last[capped])])
                back[capped] = np.where(np.isfinite(p), b.pos_qty[c] * p, b.pos_cost[c])
            b.settle(i, b.pos_cost[i], back)
            b.pos_qty[i], b.pos_cost[i], b.pos_entry[i] = 0.0, 0.0, np.nan
        b.pend_bet_tick[idx], b.pend_buy_tick[idx], b.pend_sell_tick[idx] = -1, -1, -1

    def _ask(self, idx: np.ndarray, t: int, tape: GameTape) -> None:
        b, name = self.book, getattr(self.strategy, "name", type(self.strategy).__name__)
        view = TickView(tick=t, game=self._game, latency_ticks=self.rules.latency_ticks,
                        idx=idx, book=b, tape=tape)
        try:
            d = self.strategy.decide(view)
        finally:
            view.close()
        if d is None:
            return
        if not isinstance(d, Decision):
            raise ConfigError(f"Strategy {name!r} returned {type(d).__name__}: expected a "
                              "Decision or None.")
        m, fill = idx.size, t + self.rules.latency_ticks
        for what, value in (("sidebet_sol", d.sidebet_sol), ("buy_sol", d.buy_sol)):
            if value is None:
                continue
            x = _broadcast(value, m, float, what, name)
            if not np.all(x >= 0):  # NaN fails too
                bad = float(x[~(x >= 0)][0])
                raise ConfigError(f"Strategy {name!r} ordered {what} {bad!r} at tick {t}: "
                                  "expected a stake ≥ 0 SOL (0: no order).")
            if what == "sidebet_sol":
                ok = (x > 0) & (b.bet_start[idx] < 0) & (b.pend_bet_tick[idx] < 0)
                b.pend_bet_stake[idx[ok]], b.pend_bet_tick[idx[ok]] = x[ok], fill
            else:
                ok = ((x > 0) & (b.pos_qty[idx] == 0) & (b.pend_buy_tick[idx] < 0)
                      & (b.pend_sell_tick[idx] < 0))
                b.pend_buy_stake[idx[ok]], b.pend_buy_tick[idx[ok]] = x[ok], fill
        if d.sell is not None:
            x = _broadcast(d.sell, m, bool, "sell", name)
            ok = x & (b.pos_qty[idx] > 0) & (b.pend_sell_tick[idx] < 0)
            b.pend_sell_tick[idx[ok]] = fill
        if d.done is not None:
            b.done[idx[_broadcast(d.done, m, bool, "done", name)]] = True
        if d.wait_until is not None:
            b.wake[idx] = _broadcast(d.wait_until, m, np.int64, "wait_until", name)

    def _next_tick(self, act: np.ndarray, t: int, end: np.ndarray) -> int:
        """The next tick at which anything can happen: a wanted decision, a fill or a window
        end. A game's end is not an event: whatever it settles is settled from the end tick
        whenever the engine next looks (`_finish`), so the engine jumps over it."""
        b = self.book
        nxt = None
        asking = act[~b.done[act]]
        if asking.size:
            nxt = max(int(b.wake[asking].min()), t + 1)
        for ticks in (b.pend_bet_tick[act], b.pend_buy_tick[act], b.pend_sell_tick[act]):
            pending = ticks[ticks >= 0]
            if pending.size:
                nxt = min(nxt or MAX_TICKS + 1, int(pending.min()))
        starts = b.bet_start[act]
        starts = starts[starts >= 0]
        if starts.size:
            nxt = min(nxt or MAX_TICKS + 1, int(starts.min()) + self.rules.window_ticks)
        if nxt is None:
            return int(end[act].max()) + 1
        return max(nxt, t + 1)

    # -- games ----------------------------------------------------------------------------
    def play_game(self, tape: GameTape) -> None:
        """Play the next game of every path that has not stopped."""
        b = self.book
        b.reset_game()
        played = ~b.stopped
        act = np.flatnonzero(played)
        end = tape.end_tick
        t = 0
        while act.size:
            over = end[act] < t
            if over.any():
                self._finish(act[over], tape)
                act = act[~over]
                if not act.size:
                    break
            self._close_windows(act, t)
            self._fill(act, t, tape)
            ask = act[~b.done[act] & (b.wake[act] <= t)]
            if ask.size:
                self._ask(ask, t, tape)
                if self.rules.latency_ticks == 0:
                    self._fill(ask, t, tape)
            quiet = (b.done[act] & (b.pend_bet_tick[act] < 0) & (b.pend_buy_tick[act] < 0)
                     & (b.pend_sell_tick[act] < 0))
            if quiet.any():
                self._finish(act[quiet], tape)
                act = act[~quiet]
            if act.size:
                t = self._next_tick(act, t, end)
        self._close_game(tape, played)
        self._game += 1

    def _close_game(self, tape: GameTape, played: np.ndarray) -> None:
        b = self.book
        b.cash[b.cash < _DUST * self.rules.bankroll_sol] = 0.0  # float dust of sums: 1e-16 SOL
        pnl = b.cash - b.game_start
        r = np.where(b.game_start > 0, pnl / np.where(b.game_start > 0, b.game_start, 1.0), 0.0)
        r = np.where(played, r, 0.0)
        b.games_played += played
        b.exposed += played & b.risked
        b.sum_r += r
        b.sum_r2 += r * r
        b.sum_down2 += np.minimum(r, 0.0) ** 2
        np.maximum(b.peak, b.cash, out=b.peak)
        fall = b.peak - b.cash
        dd = np.where(b.peak > 0, fall / np.where(b.peak > 0, b.peak, 1.0), 0.0)
        np.maximum(b.max_dd, dd, out=b.max_dd)
        np.maximum(b.max_dd_sol, fall, out=b.max_dd_sol)
        b.under = np.where(b.cash < b.peak * (1.0 - STAKE_TOLERANCE), b.under + 1, 0)
        np.maximum(b.max_under, b.under, out=b.max_under)
        p = np.flatnonzero(played)
        b.recent[p, 1:] = b.recent[p, :-1]
        b.recent[p, 0] = np.where(tape.rugged[p], tape.end_tick[p] + 1, CAPPED)
        k = np.flatnonzero(b.cps == self._game + 1)
        if k.size:
            b.cp_bank[:, k[0]], b.cp_dd[:, k[0]] = b.cash, dd


def play_chunk(strategy: Strategy, tapes: Iterable[GameTape], rules: ExecutionRules, *,
               n: int, first_path: int = 0, checkpoints: np.ndarray | None = None
               ) -> PathSummaries:
    """Play every game of `tapes` (one `GameTape` per game, all for the same `n` paths).

    Returns:
        The paths' `PathSummaries` (paths numbered from `first_path` in the views).

    Raises:
        ConfigError: the strategy returned something that is not a Decision, or a bad stake.
        LookaheadError: the strategy asked for a tick after the current one.
    """
    engine = Engine(strategy, rules, n=n, first_path=first_path, checkpoints=checkpoints)
    for tape in tapes:
        engine.play_game(tape)
    return engine.book.summaries(rules.bankroll_sol)
