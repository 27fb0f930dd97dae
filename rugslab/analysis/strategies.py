"""Strategies for `rugslab.analysis.backtest.run_backtest`.

Side bets: `FixedStartTick`, `ThresholdSideBet` (bet when a model's probability crosses a
threshold), `Martingale`, `AntiMartingale`, `FractionalKelly`, and the `StopLossTakeProfit`
wrapper. Trading: `Trade` (enter at a tick or price, exit at a target multiple or tick).
Strategies are stateless: progressions read the `Account` (consecutive wins/losses, bankroll).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rugslab.analysis.backtest import (
    Account,
    GameView,
    Order,
    SideBetOrder,
    Strategy,
    TradeOrder,
)
from rugslab.errors import ConfigError
from rugslab.feed.rules import RUG_PROB_PER_TICK, SIDEBET_PAYOUT_X, SIDEBET_WINDOW_TICKS


@dataclass(frozen=True, slots=True)
class FixedStartTick:
    """Bet `stake_sol` at `start_tick` in every game."""

    start_tick: int
    stake_sol: float
    name: str = "fixed start tick"

    def order(self, game: GameView, account: Account) -> Order | None:
        """This game's order, or None to sit it out (see `backtest.Strategy`)."""
        return SideBetOrder(self.start_tick, self.stake_sol)


@dataclass(frozen=True, slots=True)
class ThresholdSideBet:
    """Bet at the first tick ≥ `min_tick` where the model probability ≥ `threshold`.

    The game paths need a list column `prob_col`: P(rug within 40 ticks) per tick 0..,
    computed from information up to that tick only (e.g. `rugmodel.TimingModel.predict`
    on `rug_window_rows`, null where unavailable).
    """

    threshold: float
    stake_sol: float
    prob_col: str = "p_rug_window"
    min_tick: int = 0
    name: str = "threshold"

    def order(self, game: GameView, account: Account) -> Order | None:
        """This game's order, or None to sit it out (see `backtest.Strategy`)."""
        probs: Sequence[float | None] | None = game.extra.get(self.prob_col)
        if probs is None:
            raise ConfigError(f"ThresholdSideBet needs a list column {self.prob_col!r} in the "
                              "game paths (model probability per tick).")
        for t, p in enumerate(probs):
            if t >= self.min_tick and p is not None and p >= self.threshold:
                return SideBetOrder(t, self.stake_sol)
        return None


@dataclass(frozen=True, slots=True)
class Martingale:
    """Multiply the stake by `factor` after each loss, back to `base_sol` after a win.

    `max_steps` caps the progression (stake ≤ base·factor^max_steps).
    """

    base_sol: float
    start_tick: int = 0
    factor: float = 2.0
    max_steps: int | None = None
    name: str = "martingale"

    def order(self, game: GameView, account: Account) -> Order | None:
        """This game's order, or None to sit it out (see `backtest.Strategy`)."""
        steps = account.consecutive_losses
        if self.max_steps is not None:
            steps = min(steps, self.max_steps)
        return SideBetOrder(self.start_tick, self.base_sol * self.factor**steps)


@dataclass(frozen=True, slots=True)
class AntiMartingale:
    """Multiply the stake by `factor` after each win, back to `base_sol` after a loss or after
    `max_steps` wins in a row (bank the streak)."""

    base_sol: float
    start_tick: int = 0
    factor: float = 2.0
    max_steps: int = 3
    name: str = "anti-martingale"

    def order(self, game: GameView, account: Account) -> Order | None:
        """This game's order, or None to sit it out (see `backtest.Strategy`)."""
        steps = account.consecutive_wins % (self.max_steps + 1)
        return SideBetOrder(self.start_tick, self.base_sol * self.factor**steps)


def kelly_fraction(p_win: float, payout_x: float = SIDEBET_PAYOUT_X) -> float:
    """Kelly fraction of the bankroll for a bet returning `payout_x`× the stake on a win.

    f* = (b·p - q) / b with net odds b = payout_x - 1, q = 1 - p; negative means do not bet.
    At p = 1 - 0.995^40 = 0.1817, f* = (5p - 1)/4 = -0.0229: the side bet has no Kelly stake.
    """
    b = payout_x - 1.0
    return (b * p_win - (1.0 - p_win)) / b


@dataclass(frozen=True, slots=True)
class FractionalKelly:
    """Stake `fraction`·f*·bankroll at `start_tick` when f* > 0, with p from `prob_col` (the
    model's probability at start_tick) or the constant `p_win`."""

    fraction: float = 0.5
    start_tick: int = 0
    p_win: float = 1.0 - (1.0 - RUG_PROB_PER_TICK) ** SIDEBET_WINDOW_TICKS
    prob_col: str | None = None
    payout_x: float = SIDEBET_PAYOUT_X
    name: str = "fractional kelly"

    def order(self, game: GameView, account: Account) -> Order | None:
        """This game's order, or None to sit it out (see `backtest.Strategy`)."""
        p = self.p_win
        if self.prob_col is not None:
            probs = game.extra.get(self.prob_col)
            if probs is None or len(probs) <= self.start_tick or probs[self.start_tick] is None:
                return None
            p = probs[self.start_tick]
        f = kelly_fraction(p, self.payout_x)
        if f <= 0:
            return None
        return SideBetOrder(self.start_tick, self.fraction * f * account.bankroll_sol)


@dataclass(frozen=True, slots=True)
class StopLossTakeProfit:
    """Wrap a strategy; stop betting once the bankroll is ≤ start·(1 - stop_loss) or
    ≥ start·(1 + take_profit) (either may be None)."""

    inner: Strategy
    stop_loss: float | None = None
    take_profit: float | None = None
    name: str = "stop-loss/take-profit"

    def order(self, game: GameView, account: Account) -> Order | None:
        """This game's order, or None to sit it out (see `backtest.Strategy`)."""
        if self.stop_loss is not None and (
                account.bankroll_sol <= account.start_sol * (1.0 - self.stop_loss)):
            return None
        if self.take_profit is not None and (
                account.bankroll_sol >= account.start_sol * (1.0 + self.take_profit)):
            return None
        return self.inner.order(game, account)


@dataclass(frozen=True, slots=True)
class Trade:
    """Buy `stake_sol` at `entry_tick` (or the first tick at/above `entry_price_x`), sell at
    `exit_multiple` × the entry price or at `exit_tick`; the rug wipes the position."""

    stake_sol: float
    entry_tick: int = 0
    entry_price_x: float | None = None
    exit_multiple: float | None = 2.0
    exit_tick: int | None = None
    name: str = "trade"

    def order(self, game: GameView, account: Account) -> Order | None:
        """This game's order, or None to sit it out (see `backtest.Strategy`)."""
        if self.exit_multiple is None and self.exit_tick is None:
            raise ConfigError("Trade needs exit_multiple or exit_tick (else it only exits at "
                              "the rug or the cap).")
        return TradeOrder(self.stake_sol, self.entry_tick, self.entry_price_x,
                          self.exit_multiple, self.exit_tick)
