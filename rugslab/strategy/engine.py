"""The backtest engine: a strategy plays games on many independent bankrolls at once.

A chunk of `n` paths (independent bankrolls) plays its games in sequence, each path on its
own clock: when a path's game ends it starts its next one, so every step of the engine moves
every path that is still playing to its own next event. The games come from the source's
`GameStream` (`rugslab.strategy.sources`); the strategy is called with a `TickView` of the
paths that want a decision at their tick (`rugslab.strategy.protocol`).

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
- Censored games (a real game whose recording stopped before its rug: `LakeSource`) end at
  their last known tick, without a rug and without being the cap. What the data decide is
  settled as usual: a side bet whose window closed by that tick lost (the game was alive at
  its last tick). What they do not decide is voided, the stake returned and counted in
  `voided`, neither a win nor a loss nor a bet: a side bet whose window reaches past the last
  known tick (the rug may fall inside it or not), and a position still open there (its exit
  is unknown: selling at the last price would invent a sale the game may not have allowed,
  wiping it would invent a rug). Orders that would fill after the last known tick never fill,
  as after a rug. Counting a censored game as a loss, a win, or leaving it out would each
  bias the results; only the void keeps to what was seen. The strategy is not told a game is
  censored (nor its end) while it plays it; afterwards its `recent_rug_ticks` entry is
  `CENSORED`.
- Stakes are capped by the cash (money not at risk). Ruin: the first time a path orders a
  stake its cash cannot cover (1e-9 relative tolerance, so a bankroll of 10 SOL covers a
  hundred 0.1 bets despite float rounding). From then on the path bets what it has
  (`stop_at_ruin=False`, default) or stops playing (`stop_at_ruin=True`); the ruin statistics
  are the same either way (first passage).
- `Decision.done` ends a path's decisions in a game; the engine then settles it from the
  game's end without stepping (the rug tick is known to the engine, never to the strategy).
  `Decision.wait_until` skips ticks, so the engine jumps from event to event.

Why a clock per path: a strategy that watches every tick (a trade waiting for its target)
needs one engine step per tick. Played in lockstep (game g of every path at once), a game
would take as many steps as the longest game of the batch (~200·ln n ticks); with a clock per
path the steps per game are the mean length (~200), and the batch stays full. Strategy ticks
are decision ticks: `sidebet-fixed` with `start_tick` 10 decides at tick 10 and its bet starts
at tick 10 + latency (`startedAtTick` in the feed).

The engine places and fills orders; what a side bet's window or a game's end settles is
settled by `rugslab.strategy.settlement`, by the rules above. Memory is O(n) per chunk (plus
the prices of the current games): each path is summarised on the fly (`PathSummaries`,
`rugslab.strategy.book`), never stored game by game; an `OrderLog`
(`rugslab.strategy.orders`), when given, records every order and what became of it.

One step function serves a backtest and a live game: `Engine.step` moves each path to its
next event; `run` repeats it over whole games, and the paper runner (`rugslab.paper`) calls
it for one path as the feed's ticks arrive, ending each game at the observed rug.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rugslab.errors import ConfigError
from rugslab.feed.rules import SIDEBET_PAYOUT_X, SIDEBET_WINDOW_TICKS
from rugslab.strategy.book import DUST, STAKE_TOLERANCE, Book, PathSummaries, checkpoint_games
from rugslab.strategy.orders import NO_CASH, NO_PRICE, OrderLog
from rugslab.strategy.protocol import Decision, GameStream, Strategy, TickView
from rugslab.strategy.settlement import close_bet_windows, settle_game_ends

_NEVER = np.iinfo(np.int64).max // 2


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
    if isinstance(value, int | float | bool | np.number | np.bool_):
        return np.full(m, value, dtype=dtype)
    try:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (m,))
    except (ValueError, TypeError) as e:
        raise ConfigError(
            f"Strategy {strategy!r} returned Decision.{what} {value!r}: expected a scalar or "
            f"one value per path of the view ({m}).") from e


class Engine:
    """Plays one chunk: `n` paths from `first_path`, `games` games each (`play_chunk`).

    `run` plays every game; `begin` and `step` are its parts, for a driver that feeds a game
    tick by tick as it happens (`rugslab.paper`). `log` receives every order and what became
    of it (`rugslab.strategy.orders`); None keeps no log."""

    def __init__(self, strategy: Strategy, rules: ExecutionRules, stream: GameStream, *,
                 n: int, games: int, first_path: int = 0,
                 checkpoints: np.ndarray | None = None, log: OrderLog | None = None) -> None:
        self.strategy = strategy
        self.log = log
        self.name = getattr(strategy, "name", type(strategy).__name__)
        self.rules = rules
        self.stream = stream
        self.games = games
        cps = checkpoint_games(games) if checkpoints is None else np.asarray(checkpoints,
                                                                               np.int64)
        self.book = Book(n, first_path, rules.bankroll_sol, cps)

    # -- orders ---------------------------------------------------------------------------
    def _stake(self, idx: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """Stakes after the cash cap; marks ruin (module docstring)."""
        b = self.book
        cash = b.cash[idx]
        short = wanted > cash * (1.0 + STAKE_TOLERANCE) + DUST
        first = idx[short & (b.ruin_game[idx] < 0)]
        b.ruin_game[first] = b.games_played[first]
        if self.rules.stop_at_ruin:
            stake = np.where(short, 0.0, np.minimum(wanted, cash))
            b.stopped[idx[short]] = True
            b.done[idx[short]] = True
        else:
            stake = np.minimum(wanted, cash)
        return np.where(stake > DUST, stake, 0.0)

    def _fill(self, idx: np.ndarray) -> None:
        """Orders due at each path's tick."""
        b, t, log = self.book, self.book.tick, self.log
        s = idx[b.pend_sell_tick[idx] == t[idx]]
        if s.size:
            p = self.stream.prices(s, t[s])
            gap = ~np.isfinite(p)
            b.pend_sell_tick[s[gap]] += 1  # no price recorded: the next tick
            s, p = s[~gap], p[~gap]
            cost, back = b.pos_cost[s], b.pos_qty[s] * p
            b.settle(s, cost, back)
            b.pos_qty[s], b.pos_cost[s], b.pos_entry[s], b.pend_sell_tick[s] = 0, 0, np.nan, -1
            if log is not None:
                log.filled(b, s, "sell", p, np.nan)
                log.settled(b, s, "buy", t[s], cost, back, "sold", p)
        u = idx[b.pend_buy_tick[idx] == t[idx]]
        if u.size:
            p = self.stream.prices(u, t[u])
            gap = ~np.isfinite(p)
            b.pend_buy_tick[u[gap]] += 1
            u, p = u[~gap], p[~gap]
            b.pend_buy_tick[u] = -1
            if log is not None:
                log.lapsed(b, u[p <= 0], "buy", t[u[p <= 0]], NO_PRICE)
            u, p = u[p > 0], p[p > 0]  # a price of 0 buys nothing: the order lapses
            stake = self._stake(u, b.pend_buy_stake[u])
            ok = stake > 0
            if log is not None:
                log.lapsed(b, u[~ok], "buy", t[u[~ok]], NO_CASH)
            u, p, stake = u[ok], p[ok], stake[ok]
            b.cash[u] -= stake
            b.pos_qty[u], b.pos_cost[u], b.pos_entry[u] = stake / p, stake, p
            b.risked[u] = True
            if log is not None:
                log.filled(b, u, "buy", p, stake)
        v = idx[b.pend_bet_tick[idx] == t[idx]]
        if v.size:
            stake = self._stake(v, b.pend_bet_stake[v])
            ok = stake > 0
            w = v[ok]
            b.cash[w] -= stake[ok]
            b.bet_stake[w], b.bet_start[w], b.risked[w] = stake[ok], t[w], True
            b.pend_bet_tick[v], b.pend_bet_stake[v] = -1, 0.0
            if log is not None:
                log.lapsed(b, v[~ok], "sidebet", t[v[~ok]], NO_CASH)
                if w.size:  # a side bet needs no price; the log keeps it for the record
                    log.filled(b, w, "sidebet", self.stream.prices(w, t[w]), stake[ok])

    def end_games(self, idx: np.ndarray) -> None:
        """Settle everything open of paths `idx`, whose game is over (or who are done with
        it), from the game's end (`rugslab.strategy.settlement`), close the game's books; each
        path then starts its next game, at its tick 0, if it has one."""
        b, rules = self.book, self.rules
        settle_game_ends(b, idx, self.stream, self.log, payout_x=rules.payout_x,
                         window_ticks=rules.window_ticks)
        played = b.close_games(idx, rules.bankroll_sol)
        more = idx[(played < self.games) & ~b.stopped[idx]]
        if more.size:
            b.start_games(more, *self.stream.deal(more))

    def _ask(self, idx: np.ndarray) -> None:
        b, name = self.book, self.name
        view = TickView(latency_ticks=self.rules.latency_ticks, idx=idx, book=b,
                        tape=self.stream)
        try:
            d = self.strategy.decide(view)
        finally:
            view.close()
        if d is None:
            return
        if not isinstance(d, Decision):
            raise ConfigError(f"Strategy {name!r} returned {type(d).__name__}: expected a "
                              "Decision or None.")
        m = idx.size
        fill = b.tick[idx] + self.rules.latency_ticks
        for what, value in (("sidebet_sol", d.sidebet_sol), ("buy_sol", d.buy_sol)):
            if value is None:
                continue
            x = _broadcast(value, m, float, what, name)
            if not np.all(x >= 0):  # NaN fails too
                i = int(np.argmax(~(x >= 0)))
                raise ConfigError(f"Strategy {name!r} ordered {what} {float(x[i])!r} at tick "
                                  f"{int(b.tick[idx[i]])}: expected a stake ≥ 0 SOL (0: no "
                                  "order).")
            if what == "sidebet_sol":
                ok = (x > 0) & (b.bet_start[idx] < 0) & (b.pend_bet_tick[idx] < 0)
                b.pend_bet_stake[idx[ok]], b.pend_bet_tick[idx[ok]] = x[ok], fill[ok]
            else:
                ok = ((x > 0) & (b.pos_qty[idx] == 0) & (b.pend_buy_tick[idx] < 0)
                      & (b.pend_sell_tick[idx] < 0))
                b.pend_buy_stake[idx[ok]], b.pend_buy_tick[idx[ok]] = x[ok], fill[ok]
            if self.log is not None:
                self.log.ordered(b, idx[ok], "sidebet" if what == "sidebet_sol" else "buy",
                                 x[ok])
        if d.sell is not None:
            x = _broadcast(d.sell, m, bool, "sell", name)
            ok = x & (b.pos_qty[idx] > 0) & (b.pend_sell_tick[idx] < 0)
            b.pend_sell_tick[idx[ok]] = fill[ok]
            if self.log is not None:
                self.log.ordered(b, idx[ok], "sell", np.nan)
        if d.done is not None:
            b.done[idx[_broadcast(d.done, m, bool, "done", name)]] = True
        if d.wait_until is not None:
            b.wake[idx] = _broadcast(d.wait_until, m, np.int64, "wait_until", name)

    def _next_ticks(self, idx: np.ndarray) -> np.ndarray:
        """Each path's next event: a wanted decision, a fill or a window end. A game's end is
        not an event: what it settles is settled from the end tick whenever the engine next
        looks (`end_games`), so a path jumps over it."""
        b = self.book
        t = b.tick[idx]
        nxt = np.where(b.done[idx], _NEVER, np.maximum(b.wake[idx], t + 1))
        for ticks in (b.pend_bet_tick[idx], b.pend_buy_tick[idx], b.pend_sell_tick[idx]):
            nxt = np.where(ticks >= 0, np.minimum(nxt, ticks), nxt)
        start = b.bet_start[idx]
        nxt = np.where(start >= 0, np.minimum(nxt, start + self.rules.window_ticks), nxt)
        nxt = np.where(nxt == _NEVER, b.end[idx] + 1, nxt)
        return np.maximum(nxt, t + 1)

    # -- the loop -------------------------------------------------------------------------
    def begin(self) -> np.ndarray:
        """Start every path's first game; the paths in play (for `step`)."""
        everyone = np.arange(self.book.n)
        self.book.start_games(everyone, *self.stream.deal(everyone))
        return everyone

    def step(self, act: np.ndarray, *, settle_quiet: bool = True) -> np.ndarray:
        """One step of paths `act`, each at its own tick: settle a game that ended before
        it (and start the next), close side-bet windows, fill due orders, ask the strategy,
        then move each path to its next event. Returns the paths still in play.

        `settle_quiet`: a path that is done with its game and has nothing pending is settled
        from the game's end at once (a backtest knows the end). A live driver, which learns
        the end only at the rug, passes False: the path then steps to its open bet's window
        end, or waits, and the driver ends the game (`end_games`) when the rug comes."""
        b = self.book
        over = b.end[act] < b.tick[act]
        if over.any():
            self.end_games(act[over])  # and start the next game, at its tick 0
            act = act[b.live[act]]
            if not act.size:
                return act
        close_bet_windows(b, act, self.rules.window_ticks, self.log)
        self._fill(act)
        ask = act[~b.done[act] & (b.wake[act] <= b.tick[act])]
        if ask.size:
            self._ask(ask)
            if self.rules.latency_ticks == 0:
                self._fill(ask)
        fresh = np.zeros(b.n, bool)
        if settle_quiet:
            quiet = (b.done[act] & (b.pend_bet_tick[act] < 0) & (b.pend_buy_tick[act] < 0)
                     & (b.pend_sell_tick[act] < 0))
            if quiet.any():
                q = act[quiet]
                self.end_games(q)
                fresh[q] = b.live[q]  # started its next game
        act = act[b.live[act]]
        move = act[~fresh[act]]  # a path that just started a game is at its tick 0
        b.tick[move] = self._next_ticks(move)
        return act

    def run(self) -> PathSummaries:
        """Play every game of every path; the paths' summaries."""
        act = self.begin()
        while act.size:
            act = self.step(act)
        return self.book.summaries(self.rules.bankroll_sol)


def play_chunk(strategy: Strategy, stream: GameStream, rules: ExecutionRules, *, n: int,
               games: int, first_path: int = 0, checkpoints: np.ndarray | None = None,
               log: OrderLog | None = None) -> PathSummaries:
    """Play `games` games from `stream` on each of `n` paths.

    Returns:
        The paths' `PathSummaries` (paths numbered from `first_path` in the views); `log`,
        when given, receives every order's events (`rugslab.strategy.orders`).

    Raises:
        ConfigError: the strategy returned something that is not a Decision, or a bad stake.
        LookaheadError: the strategy asked for a tick after a path's own.
    """
    return Engine(strategy, rules, stream, n=n, games=games, first_path=first_path,
                  checkpoints=checkpoints, log=log).run()
