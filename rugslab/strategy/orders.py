"""The order log: every order of a strategy and what became of it, as the engine books it.

An ensemble needs only per-path summaries (`rugslab.strategy.book`); paper trading and its
check against the backtest need each order: when it was decided, when and at what price it
filled (or why it lapsed), and how the bet or position it opened was settled. The engine
(`rugslab.strategy.engine.Engine`, argument `log`) reports these to an `OrderLog` at the
moment it books them, so the same code writes the log in a backtest and in a paper run
(`rugslab.paper`), and the two logs can be compared event for event.

Events (`OrderEvent.event`), each about one order of one path:

    order   a strategy ordered it at `tick` (its decision tick); `stake_sol` as ordered
    fill    it filled at `tick` at `price_x` (NaN where the source has no price: a side bet
            needs none); `stake_sol` after the cash cap
    lapse   it never filled (`outcome`: "game over" when the game ended first, "censored"
            when a censored game's record stopped first, so whether it would have filled is
            unknown: a paper table records it void; "no price" for a buy at a price of 0,
            "no cash" when the cash cap left nothing to stake)
    settle  the bet or position it opened was settled at `tick`: `outcome` "won" / "lost"
            (side bets; a win at the rug tick, a loss at the end of its window, or at the
            cap), "sold" (at the sell's fill), "wiped" (by the rug), "capped" (sold at the
            cap's last price) or "void" (a censored game left it undecided: settled at the
            game's last known tick, the stake returned, `back_sol` = `stake_sol`; the
            engine counts it in `voided`, not in `bets`: `rugslab.strategy.engine`);
            `stake_sol` paid, `back_sol` returned, `price_x` the exit price

`cash_sol` is the path's cash (money not at risk) after the event. A sell order settles the
position its buy opened: its own events are `order`, then `fill` or `lapse`; the position's
`settle` names the buy's order number.

Cost: nothing when no log is given (a backtest of 10⁶ games keeps none); with a log, one
Python object per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rugslab.strategy.book import Book

#: Kinds of order (`OrderEvent.kind`).
ORDER_KINDS = ("sidebet", "buy", "sell")
#: `OrderEvent.event` values.
EVENTS = ("order", "fill", "lapse", "settle")
GAME_OVER, NO_PRICE, NO_CASH = "game over", "no price", "no cash"
#: Lapse reason of an order pending when a censored game's record stopped (fill unknown).
CENSORED_END = "censored"
#: Per-path values, or one value for every path of the call.
Values = np.ndarray | float


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One event of one order (module docstring). Amounts in SOL, prices × the start price.

    Attributes:
        event: "order", "fill", "lapse" or "settle".
        kind: "sidebet", "buy" or "sell" (a settled position is its buy's: "buy").
        path: the path (bankroll): its index in the engine's chunk; game: the index of its
            game within the path.
        order: the order's number within the path (0, 1, ...).
        tick: decision tick (order), fill tick (fill), the tick the game ended (lapse: the
            rug tick; a price of 0 or no cash: the fill tick), settlement tick (settle).
        price_x: fill price (fill), exit price (settle of a sold or capped position); NaN
            otherwise or where the source has no price.
        stake_sol: ordered (order), staked (fill, settle); NaN for a sell.
        back_sol: paid back (settle); NaN otherwise.
        cash_sol: the path's cash after the event.
        outcome: settle: won, lost, sold, wiped, capped, void; lapse: why; "" otherwise.
    """

    event: str
    kind: str
    path: int
    game: int
    order: int
    tick: int
    price_x: float
    stake_sol: float
    back_sol: float
    cash_sol: float
    outcome: str = ""


@dataclass(slots=True)
class OrderLog:
    """The events of every order, in the order the engine booked them (`events`).

    `listener`, when set, is called with each event as it is booked (the paper runner
    publishes them live). Orders are numbered per path; a path has at most one pending order
    of each kind, one open side bet and one open position (the engine's rules)."""

    listener: Callable[[OrderEvent], None] | None = None
    events: list[OrderEvent] = field(default_factory=list)
    _count: dict[int, int] = field(default_factory=dict)
    _pending: dict[tuple[int, str], int] = field(default_factory=dict)
    _holding: dict[tuple[int, str], int] = field(default_factory=dict)

    def _add(self, ev: OrderEvent) -> None:
        self.events.append(ev)
        if self.listener is not None:
            self.listener(ev)

    def ordered(self, book: Book, idx: np.ndarray, kind: str, stake: Values) -> None:
        """Paths `idx` ordered `kind` at their tick (`stake` per path; NaN for a sell)."""
        b = book
        for i, x in zip(idx.tolist(), np.broadcast_to(stake, idx.shape).tolist(), strict=True):
            n = self._count.get(i, 0)
            self._count[i] = n + 1
            self._pending[(i, kind)] = n
            self._add(OrderEvent("order", kind, i, int(b.games_played[i]), n,
                                 int(b.tick[i]), np.nan, x, np.nan, float(b.cash[i])))

    def filled(self, book: Book, idx: np.ndarray, kind: str, price: Values,
               stake: Values) -> None:
        """The pending `kind` orders of paths `idx` filled at their tick."""
        b = book
        for i, p, x in zip(idx.tolist(), np.broadcast_to(price, idx.shape).tolist(),
                           np.broadcast_to(stake, idx.shape).tolist(), strict=True):
            n = self._pending.pop((i, kind))
            if kind != "sell":
                self._holding[(i, "sidebet" if kind == "sidebet" else "buy")] = n
            self._add(OrderEvent("fill", kind, i, int(b.games_played[i]), n, int(b.tick[i]),
                                 p, x, np.nan, float(b.cash[i])))

    def lapsed(self, book: Book, idx: np.ndarray, kind: str, ticks: np.ndarray,
               why: np.ndarray | str) -> None:
        """The pending `kind` orders of paths `idx` will never fill (`why`, per path or one
        for all)."""
        b = book
        rows = zip(idx.tolist(), np.broadcast_to(ticks, idx.shape).tolist(),
                   np.broadcast_to(np.asarray(why, object), idx.shape).tolist(), strict=True)
        for i, t, w in rows:
            n = self._pending.pop((i, kind), None)
            if n is None:
                continue
            self._add(OrderEvent("lapse", kind, i, int(b.games_played[i]), n, int(t), np.nan,
                                 np.nan, np.nan, float(b.cash[i]), str(w)))

    def settled(self, book: Book, idx: np.ndarray, kind: str, ticks: np.ndarray,
                stake: Values, back: Values, outcome: np.ndarray | str,
                price: Values = np.nan) -> None:
        """The open side bets (`kind` "sidebet") or positions ("buy") of paths `idx` were
        settled at `ticks`: `stake` paid, `back` returned (call after the cash is booked)."""
        b = book
        shape = idx.shape
        rows = zip(idx.tolist(), np.broadcast_to(ticks, shape).tolist(),
                   np.broadcast_to(stake, shape).tolist(), np.broadcast_to(back, shape).tolist(),
                   np.broadcast_to(np.asarray(outcome, object), shape).tolist(),
                   np.broadcast_to(price, shape).tolist(), strict=True)
        for i, t, x, y, what, p in rows:
            n = self._holding.pop((i, kind))
            self._add(OrderEvent("settle", kind, i, int(b.games_played[i]), n, int(t), p, x,
                                 y, float(b.cash[i]), what))

    def open_orders(self, path: int) -> list[tuple[str, int]]:
        """(kind, order number) of every pending order and open bet or position of `path`."""
        return sorted({(k[1], n) for d in (self._pending, self._holding)
                       for k, n in d.items() if k[0] == path}, key=lambda kn: kn[1])
