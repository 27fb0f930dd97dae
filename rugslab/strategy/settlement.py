"""Settlement: what a side bet's window or a game's end decides about the bets, positions and
orders a path has open.

The rules (the payout at the rug, the loss at the window's end or the cap, the sale at the
cap, the wipe at the rug, the voids of a censored game) are written once, in the engine's
docstring (`rugslab.strategy.engine`); this module applies them to a `Book`
(`rugslab.strategy.book`), which then closes the game's books (`Book.close_games`). An
`OrderLog` (`rugslab.strategy.orders`), when given, receives every settlement and lapse.
"""

from __future__ import annotations

import numpy as np

from rugslab.strategy.book import Book
from rugslab.strategy.orders import CENSORED_END, GAME_OVER, OrderLog
from rugslab.strategy.protocol import GameStream


def close_bet_windows(book: Book, idx: np.ndarray, window_ticks: int,
                      log: OrderLog | None) -> None:
    """Side bets of paths `idx` whose window ends at the path's tick, the game alive there:
    lost."""
    b = book
    start = b.bet_start[idx]
    lost = idx[(start >= 0) & (start + window_ticks == b.tick[idx])]
    if lost.size:
        stake = b.bet_stake[lost]
        b.settle(lost, stake, np.zeros(lost.size))
        b.bet_stake[lost], b.bet_start[lost] = 0.0, -1
        if log is not None:
            log.settled(b, lost, "sidebet", b.tick[lost], stake, 0.0, "lost")


def settle_game_ends(book: Book, idx: np.ndarray, stream: GameStream, log: OrderLog | None, *,
                     payout_x: float, window_ticks: int) -> None:
    """Settle everything open of paths `idx`, whose game is over (or who are done with it),
    from the game's end; void what a censored game leaves undecided; lapse pending orders.

    Args:
        book: the books, updated in place (cash, bets, wins, voids; open bets, positions and
            pending orders cleared).
        idx: the paths (int64 indices into `b`).
        stream: the games' source, for the last price of a game that ran to the cap.
        log: receives every settlement and lapse; None keeps no log.
        payout_x: a winning side bet returns `payout_x` × its stake.
        window_ticks: a side bet started at s covers ticks s..s + `window_ticks`.
    """
    b = book
    end, rugged, censored = b.end[idx], b.rugged[idx], b.censored[idx]
    o = b.bet_start[idx] >= 0
    if o.any():
        i, e, stake = idx[o], end[o], b.bet_stake[idx[o]]
        close = b.bet_start[i] + window_ticks
        void = censored[o] & (close > e)
        if void.any():  # the window reaches past the last known tick: stake back
            b.void(i[void], stake[void])
            if log is not None:
                log.settled(b, i[void], "sidebet", e[void], stake[void], stake[void], "void")
        b.bet_stake[i], b.bet_start[i] = 0.0, -1
        i, e, close, stake = i[~void], e[~void], close[~void], stake[~void]
        win = rugged[o][~void] & (e + 1 <= close)
        back = np.where(win, payout_x * stake, 0.0)
        b.settle(i, stake, back)
        if log is not None:  # won at the rug; lost at the window's end (or the cap)
            log.settled(b, i, "sidebet", np.where(win, e + 1, np.minimum(close, e)), stake,
                        back, np.where(win, "won", "lost"))
    h = (b.pos_qty[idx] > 0) & censored
    if h.any():  # open at the last known tick of a censored game: exit unknown, void
        i = idx[h]
        cost = b.pos_cost[i]
        b.void(i, cost)
        b.pos_qty[i], b.pos_cost[i], b.pos_entry[i] = 0.0, 0.0, np.nan
        if log is not None:
            log.settled(b, i, "buy", b.end[i], cost, cost, "void")
    h = b.pos_qty[idx] > 0
    if h.any():
        i, back = idx[h], np.zeros(int(h.sum()))
        capped, price = ~rugged[h], np.full(i.size, np.nan)
        if capped.any():  # ran to the cap: sold at the last price
            c = i[capped]
            price[capped] = p = stream.prices(c, b.end[c])
            back[capped] = np.where(np.isfinite(p), b.pos_qty[c] * p, b.pos_cost[c])
        cost = b.pos_cost[i]
        b.settle(i, cost, back)
        b.pos_qty[i], b.pos_cost[i], b.pos_entry[i] = 0.0, 0.0, np.nan
        if log is not None:
            log.settled(b, i, "buy", np.where(capped, b.end[i], b.end[i] + 1), cost, back,
                        np.where(capped, "capped", "wiped"), price)
    if log is not None:  # orders still pending: the game ended (or its record) first
        for kind, ticks in (("sidebet", b.pend_bet_tick), ("buy", b.pend_buy_tick),
                            ("sell", b.pend_sell_tick)):
            w = idx[ticks[idx] >= 0]
            log.lapsed(b, w, kind, b.end[w] + 1,
                       np.where(b.censored[w], CENSORED_END, GAME_OVER))
    b.pend_bet_tick[idx], b.pend_buy_tick[idx], b.pend_sell_tick[idx] = -1, -1, -1
