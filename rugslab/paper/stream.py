"""The live game of a paper run as the engine's `GameStream`: one path, prices as they come.

The engine (`rugslab.strategy.engine`) reads a game through `deal`, `prices` and `recv_ts`.
A backtest's stream knows each game whole; this one holds what the feed has shown of the
game in play so far: a price per tick (NaN where none came yet, or none ever will: a tick
missed beyond the `partialPrices` window), chosen as the lake chooses (`observe`): the live
price first, then the window's. `deal` cannot know the next game's end: it returns an end
no tick reaches (`OPEN_END`), and the paper trader sets the real one when the rug comes.
"""

from __future__ import annotations

import numpy as np

from rugslab.feed.rules import TICKS_PER_GAME_MAX

#: The end tick `deal` gives: later than any tick, so the engine never ends a game by
#: itself (`Engine.step` ends a game whose end is before the path's tick).
OPEN_END = np.iinfo(np.int64).max // 4


class LiveStream:
    """Prices and receive times of the game in play, for a batch of one path."""

    has_clock = True

    def __init__(self) -> None:
        self.price = np.full(TICKS_PER_GAME_MAX, np.nan)
        self.recv_s = np.full(TICKS_PER_GAME_MAX, np.nan)

    def deal(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The next game: nothing known of it yet; its end is open, and not censored: the
        trader sets the end when it learns it (the rug, a revealed path, the cap), or
        censors the game at its last tick seen when it never does (`rugslab.paper.trader`)."""
        self.price[:] = np.nan
        self.recv_s[:] = np.nan
        m = idx.shape[0]
        return np.full(m, OPEN_END, np.int64), np.ones(m, bool), np.zeros(m, bool)

    def prices(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """The price at each tick (NaN: not known)."""
        return self.price[np.minimum(ticks, TICKS_PER_GAME_MAX - 1)]

    def recv_ts(self, idx: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """The receive time of each tick's live price (epoch s; NaN: not received live)."""
        return self.recv_s[np.minimum(ticks, TICKS_PER_GAME_MAX - 1)]

    def record_live(self, tick: int, price: float, recv_ts_us: int | None) -> None:
        """The live price at `tick` (it wins over a window's value, as in the lake)."""
        self.price[tick] = price
        self.recv_s[tick] = np.nan if recv_ts_us is None else recv_ts_us / 1e6

    def record_known(self, values: tuple[tuple[int, float], ...] | list[tuple[int, float]],
                     *, below: int) -> None:
        """Prices from a `partialPrices` window or a revealed path, for ticks below `below`
        that have none yet (the first offer stands, as the earlier receipt does in the lake)."""
        for t, p in values:
            if t < below and np.isnan(self.price[t]):
                self.price[t] = p
