"""The streaming Strategy protocol: what a strategy sees at a tick, and what it may decide.

A strategy is an object with a `name` and one method, `decide(view) -> Decision | None`. The
engine (`rugslab.strategy.engine`) calls it with a `TickView` for a batch of independent
bankrolls ("paths"): every field of the view is a numpy array with one entry per path in the
batch (`view.size` of them), and every field of a `Decision` is a scalar (the same for the
whole batch) or such an array. Each path is at its own tick of its own game (`view.tick`,
`view.game` are arrays too): a path starts its next game as soon as its last one ended.

What a view holds, per path: the tick, the price at that tick (NaN where the source did not
record it), the receive time when the source has a clock, the path's own open side bet and
trading position and its pending orders, its cash, and the history of its earlier games
(counts, streaks, the rug ticks of the last 10 games, as the feed's `gameHistory` shows them).
Earlier prices of the current game come from `view.past_price(t)`, which raises
`LookaheadError` for any tick after the path's own. Nothing in a view refers to later ticks,
and a view expires when `decide` returns (any read after that raises), so a strategy cannot
keep one and read it later. The rug tick never reaches the strategy, nor whether the game is
censored (its recording stopped before the rug; known only once the game is over). (Python
cannot seal objects against introspection; the protocol guards the API, and the Monte Carlo
source does not even draw a price before a strategy asks for it.)

Why batches of paths: a backtest of 10⁶ games is 10⁶ strategy calls in Python if it runs one
game at a time; one call for thousands of paths is numpy work instead. A live feed (paper
trading) is a batch of one path, fed tick by tick as frames arrive: nothing here assumes the
game is complete, or that the next tick exists.

Strategies keep no state between calls: what they may know is in the view (the engine holds
the bankroll, positions and history), so one strategy object serves any number of paths,
chunks and processes, and a chunk's result is a pure function of its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rugslab.errors import LookaheadError, RugslabError

#: Rug ticks of earlier games a view carries (the feed's `gameHistory` holds the last 10).
RECENT_GAMES = 10
#: `recent_rug_ticks` entry of a game that ran to the cap without a rug.
CAPPED = -1
#: `recent_rug_ticks` entry of a censored game (the recording stopped before its rug).
CENSORED = -2
#: `recent_rug_ticks` entry where there was no earlier game.
NO_GAME = 0

Stake = float | np.ndarray
Flag = bool | np.ndarray


@dataclass(frozen=True, slots=True)
class Decision:
    """A strategy's orders at one tick. Each field is None (no order), a scalar for the whole
    batch, or an array with one value per path of the view.

    Attributes:
        sidebet_sol: place a side bet of this stake (SOL); 0 or None: none. Ignored while the
            path has a side bet open or pending (one at a time, as in the game).
        buy_sol: open a long position of this many SOL; ignored while one is open or pending.
        sell: close the open position (ignored without one).
        done: the strategy makes no more decisions in this game for these paths; open bets
            resolve from the game's end and an open position rides to the rug (wiped) or the
            cap (sold at the last price), without stepping tick by tick.
        wait_until: do not call again for these paths before this tick (a tick ≤ the current
            one means the next tick). Lets the engine skip quiet ticks.
    """

    sidebet_sol: Stake | None = None
    buy_sol: Stake | None = None
    sell: Flag | None = None
    done: Flag | None = None
    wait_until: int | np.ndarray | None = None


@runtime_checkable
class Strategy(Protocol):
    """A betting or trading rule: one decision per tick for a batch of paths."""

    @property
    def name(self) -> str:
        """The strategy's name in reports."""
        ...

    def decide(self, view: TickView) -> Decision | None:
        """The orders at `view.tick` for the paths of `view` (None: no orders)."""
        ...


class GameStream(Protocol):
    """The games of a chunk's paths, as a source gives them to the engine (never to a
    strategy). Each path has its own sequence of games; `deal` starts the next one."""

    has_clock: bool

    def deal(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start the next game of paths `idx` (sorted): (end_tick, rugged, censored), one per
        path. `end_tick` (int64) is the game's last known tick; a rugged game rugs at
        `end_tick + 1`; a game neither rugged nor censored ran to the cap; a censored game
        was alive at `end_tick` and nothing later is known (the recording stopped)."""
        ...

    def prices(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """Price of each path of `idx` at its tick in `ticks` of its current game (alive
        there); NaN where the source has no price."""
        ...

    def recv_ts(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """Receive time (epoch seconds, NaN where unknown) of each path's tick."""
        ...


class ViewExpired(RugslabError):
    """A strategy read a view after its `decide` call returned."""


class TickView:
    """One tick of the current game for a batch of paths (see the module docstring).

    Scalars: `latency_ticks` (a decision now fills at `tick + latency_ticks`), `size`.

    Arrays, one entry per path (read lazily; each read is a copy):
        tick            the path's tick in its game (int64)
        game            the index of that game within the path (0-based; = games_played)
        path            path number within the ensemble (int64)
        price           price at `tick` (×start; NaN where not recorded)
        recv_ts         receive time of `tick` (epoch s, NaN unknown); None without a clock
        cash_sol        money not at risk
        game_start_sol  cash at the start of this game
        peak_sol        highest cash at the end of a game so far (the start included)
        bet_open        a side bet is running; `bet_start_tick` (-1 none), `bet_stake_sol`
        bet_pending     a side bet was ordered and has not started yet
        position_open   a long position is held; `position_qty`, `position_entry_price`,
                        `position_cost_sol` (0 / NaN without one)
        order_pending   a buy or sell was ordered and has not filled yet
        games_played, bets, consecutive_losses, consecutive_wins (int64),
        last_stake_sol (0 before the first bet), last_won (int8: 1 won, 0 lost, -1 no bet yet)
        recent_rug_ticks  (size, 10) int64: rug ticks of the last 10 games, newest first;
                        `CAPPED` (-1) for a game that ran to the cap, `CENSORED` (-2) for
                        one whose rug was not recorded, `NO_GAME` (0) for none
    """

    __slots__ = ("_book", "_cache", "_idx", "_open", "_tape", "_tick", "latency_ticks")

    def __init__(self, *, latency_ticks: int, idx: np.ndarray, book: Any,
                 tape: GameStream) -> None:
        self._tick = book.tick[idx]
        self.latency_ticks = latency_ticks
        self._idx = idx
        self._book = book
        self._tape: Any = tape
        self._cache: dict[str, np.ndarray] = {}
        self._open = True

    def close(self) -> None:
        """Expire the view (the engine calls this when `decide` returns)."""
        self._open = False
        self._book = self._tape = None

    def _check(self) -> None:
        if not self._open:
            raise ViewExpired(
                "This view expired when decide() returned: read what a strategy needs inside "
                "decide(), from the view it is given.")

    @property
    def size(self) -> int:
        """Paths in the batch."""
        return int(self._idx.shape[0])

    def _field(self, name: str) -> np.ndarray:
        self._check()
        return np.asarray(getattr(self._book, name)[self._idx])

    @property
    def tick(self) -> np.ndarray:
        """Each path's tick in its current game."""
        self._check()
        return self._tick.copy()

    @property
    def price(self) -> np.ndarray:
        """Price at each path's tick (NaN where the source did not record it)."""
        self._check()
        if "price" not in self._cache:
            self._cache["price"] = self._tape.prices(self._idx, self._tick)
        return self._cache["price"].copy()

    @property
    def recv_ts(self) -> np.ndarray | None:
        """Receive time of each path's tick (epoch seconds, NaN where unknown); None without
        a clock."""
        self._check()
        if not self._tape.has_clock:
            return None
        return self._tape.recv_ts(self._idx, self._tick)

    def past_price(self, tick: int | np.ndarray) -> np.ndarray:
        """Price at an earlier tick of the current game (the path's own tick included): one
        tick for every path, or one per path.

        Raises:
            LookaheadError: a tick after the path's own tick (or negative).
        """
        self._check()
        t = np.broadcast_to(np.asarray(tick, np.int64), self._tick.shape)
        bad = (t > self._tick) | (t < 0)
        if bad.any():
            i = int(np.argmax(bad))
            now, asked = int(self._tick[i]), int(t[i])
            raise LookaheadError(
                f"Invalid tick {asked} for past_price at tick {now}: a strategy reads ticks "
                f"0..{now} only (later ticks have not happened yet).", tick=now, requested=asked)
        return self._tape.prices(self._idx, t)

    game = property(lambda self: self._field("games_played"),
                    doc="Index of each path's current game (= games played before it).")
    path = property(lambda self: self._field("path"), doc="Path number in the ensemble.")
    cash_sol = property(lambda self: self._field("cash"), doc="Money not at risk (SOL).")
    game_start_sol = property(lambda self: self._field("game_start"),
                              doc="Cash at the start of this game (SOL).")
    peak_sol = property(lambda self: self._field("peak"),
                        doc="Highest end-of-game cash so far, the start included (SOL).")
    bet_start_tick = property(lambda self: self._field("bet_start"),
                              doc="Start tick of the open side bet (-1: none).")
    bet_stake_sol = property(lambda self: self._field("bet_stake"),
                             doc="Stake of the open side bet (0: none).")
    bet_open = property(lambda self: self._field("bet_start") >= 0, doc="A side bet runs.")
    bet_pending = property(lambda self: self._field("pend_bet_tick") >= 0,
                           doc="A side bet was ordered and has not started.")
    position_qty = property(lambda self: self._field("pos_qty"),
                            doc="Tokens held (0: no position).")
    position_open = property(lambda self: self._field("pos_qty") > 0, doc="A position is held.")
    position_entry_price = property(lambda self: self._field("pos_entry"),
                                    doc="Fill price of the open position (NaN: none).")
    position_cost_sol = property(lambda self: self._field("pos_cost"),
                                 doc="SOL paid for the open position (0: none).")
    order_pending = property(
        lambda self: (self._field("pend_buy_tick") >= 0) | (self._field("pend_sell_tick") >= 0),
        doc="A buy or a sell was ordered and has not filled.")
    games_played = game
    bets = property(lambda self: self._field("bets"), doc="Bets and trades settled so far.")
    consecutive_losses = property(lambda self: self._field("consec_losses"),
                                  doc="Losing bets in a row (0 after a win).")
    consecutive_wins = property(lambda self: self._field("consec_wins"),
                                doc="Winning bets in a row (0 after a loss).")
    last_stake_sol = property(lambda self: self._field("last_stake"),
                              doc="Stake of the last settled bet (0 before the first).")
    last_won = property(lambda self: self._field("last_won"),
                        doc="1 the last bet won, 0 lost, -1 no bet yet.")
    recent_rug_ticks = property(lambda self: self._field("recent"),
                                doc="(size, 10) rug ticks of the last games, newest first.")
