"""Per-player ledgers of one game, replayed from the feed's trades and side bets.

How the server computes its leaderboard numbers (PROTOCOL terms; established on the Dec 2025
captures `2025-12-06_active-to-cooldown.jsonl` and `2025-12-12_two-rugs.jsonl`, 3,850
leaderboard entries of 3 games and 52 `standard/newTrade` records; docs/players.md has the
tables):

- `avgCost` is the average cost: a buy of `qty` at `price` moves it to
  (held·avgCost + qty·price)/(held + qty); a sell leaves it unchanged; it is 0 when the
  position is 0. E.g. xwrrde held 0.181128891 at 2.760465191 and shows 0.236216017 at
  2.645883217 (a buy of 0.125 SOL at 2.2691 between). FIFO is available
  (`method="fifo"`) but is not the server's convention.
- No fees: every trade's `amount` = `qty`·`price` (to the 9th decimal), and a closing sell's
  realized PnL is `amount` - qty·avgCost exactly (xwrrde sells 1.138843691 bought for 1 SOL
  at 2.199885209 → 2.505325388; `regularPnl` becomes 1.505325388).
- `regularPnl` = realized PnL + `positionQty`·(mark - `avgCost`), marked at the price of
  `mark_tick` (`rugslab.assembly.leaderboard`): the frame's tick - 1 for the stream's frames,
  the frame's own tick for the full frame sent on connect. Over the runs of snapshots with an
  unchanged position, the implied realized PnL is constant to 1e-8 in 90 of 103 runs marked
  at tick - 1, in 0 marked at the frame's tick; the 13 others are the 2 full frames.
- `pnl` = `regularPnl` + `sidebetPnl` + `shortPnl`; `pnlPercent` = 100·`pnl`/`totalInvested`.
- `totalInvested` is the peak of net cash put in (cumulative buy amounts - sell proceeds):
  r19t2l, 0.3 SOL in, sells for 0.419010812, buys 0.6 → 0.480989188.
- The rug liquidates an open position at the crash price (the rug tick's price): it is not
  set to 0. vdrunq's 0.15469417 at avg 2.411209159 ends with `regularPnl` 0.124569235 =
  0.496136977 - 0.373 + 0.15469417·0.00925864 (crash price).
- `sidebetPnl` sums resolved side bets: a loss -stake once the mark tick reaches the bet's end
  tick alive, a win +(payout_x - 1)·stake at the rug (PROTOCOL: win iff rug tick ≤ end);
  an open bet counts 0. auitwq: two 0.002 bets lost (-0.004), a third won at the rug
  (+0.008) → 0.004.
- A trade at tick k shows in the leaderboard marked at tick k + 1 (26 of the 30 trades whose
  player was on the stream's board at frames k..k+2), sometimes already at mark tick k (4):
  the ledger at a snapshot includes trades before its mark tick, and those at the mark tick
  are "in flight" (the reconciliation tries both).
- The feed's trades are a sample: one `standard/newTrade` every ~2 s while `tradeCount` rises
  by ~1 a tick (e.g. game 20251212-6114b2ff44ef4b71: 3 trades received, `tradeCount` 121 at
  the rug). A ledger is complete only for players none of whose trades were left out.

Short trades (`short_open`, `short_close`) are counted but not replayed (`shortPnl` is left
out of the comparisons).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from rugslab.errors import ConfigError
from rugslab.feed.rules import SIDEBET_PAYOUT_X

Method = Literal["average", "fifo"]
METHODS = ("average", "fifo")
#: A position below this quantity is flat (the server rounds quantities to 9 decimals).
QTY_EPS = 1e-9


@dataclass(slots=True)
class Position:
    """One player's long position in one game, replayed trade by trade.

    Attributes:
        method: "average" (the server's average cost) or "fifo" (lots sold oldest first).
        qty: held quantity. cost_sol: cost of what is held. realized_pnl_sol: closed PnL.
        net_invested_sol / total_invested_sol: buys - sell proceeds, and its peak.
        oversold_qty: quantity sold beyond what the ledger held (a missing buy).

    Raises:
        ConfigError: an unknown `method`.
    """

    method: Method = "average"
    qty: float = 0.0
    cost_sol: float = 0.0
    realized_pnl_sol: float = 0.0
    net_invested_sol: float = 0.0
    total_invested_sol: float = 0.0
    oversold_qty: float = 0.0
    lots: deque[list[float]] = field(default_factory=deque)  # [qty, price] oldest first

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"Invalid method {self.method!r}: expected one of {METHODS}.")

    @property
    def avg_cost_x(self) -> float:
        """Average cost of the held quantity (0 when flat), as the server's `avgCost`."""
        return self.cost_sol / self.qty if self.qty > QTY_EPS else 0.0

    def buy(self, qty: float, price_x: float, amount_sol: float | None = None) -> None:
        """Add `qty` bought at `price_x` for `amount_sol` (default qty·price)."""
        amount = qty * price_x if amount_sol is None else amount_sol
        self.qty += qty
        self.cost_sol += qty * price_x
        if self.method == "fifo":
            self.lots.append([qty, price_x])
        self._invest(amount)

    def sell(self, qty: float, price_x: float, amount_sol: float | None = None) -> None:
        """Remove `qty` sold at `price_x` for `amount_sol` (default qty·price); realizes
        proceeds - cost of what is removed. A sell beyond the held quantity realizes only
        the held part and counts the rest in `oversold_qty`."""
        amount = qty * price_x if amount_sol is None else amount_sol
        held = min(qty, self.qty)
        if qty - held > QTY_EPS:
            self.oversold_qty += qty - held
        proceeds = amount * (held / qty) if qty > 0 else 0.0
        removed = self._remove(held)
        self.realized_pnl_sol += proceeds - removed
        self._invest(-amount)

    def liquidate(self, price_x: float) -> None:
        """The rug: every held unit sold at the crash price `price_x`."""
        if self.qty > QTY_EPS:
            self.sell(self.qty, price_x)

    def unrealized_pnl_sol(self, mark_x: float) -> float:
        """qty·mark - cost of the held quantity."""
        return self.qty * mark_x - self.cost_sol if self.qty > QTY_EPS else 0.0

    def regular_pnl_sol(self, mark_x: float) -> float:
        """Realized + unrealized PnL marked at `mark_x` (the server's `regularPnl`)."""
        return self.realized_pnl_sol + self.unrealized_pnl_sol(mark_x)

    def _invest(self, amount: float) -> None:
        self.net_invested_sol += amount
        self.total_invested_sol = max(self.total_invested_sol, self.net_invested_sol)

    def _remove(self, qty: float) -> float:
        """Take `qty` out of the position; returns its cost."""
        if qty <= 0:
            return 0.0
        if self.method == "average":
            cost = qty * self.avg_cost_x
        else:
            cost, left = 0.0, qty
            while left > QTY_EPS and self.lots:
                lot = self.lots[0]
                take = min(left, lot[0])
                cost += take * lot[1]
                lot[0] -= take
                left -= take
                if lot[0] <= QTY_EPS:
                    self.lots.popleft()
        self.qty -= qty
        self.cost_sol -= cost
        if self.qty <= QTY_EPS:
            self.qty, self.cost_sol = 0.0, 0.0
            self.lots.clear()
        return cost


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade of the ledger: `kind` buy / sell / short_open / short_close."""

    tick: int
    kind: str
    qty: float
    price_x: float
    amount_sol: float | None = None


def apply(pos: Position, trade: Trade) -> None:
    """Apply one trade to `pos` (short trades are not replayed)."""
    if trade.kind == "buy":
        pos.buy(trade.qty, trade.price_x, trade.amount_sol)
    elif trade.kind == "sell":
        pos.sell(trade.qty, trade.price_x, trade.amount_sol)


def replay(trades: Iterable[Trade], *, method: Method = "average",
           rug_tick: int | None = None, crash_price_x: float | None = None) -> Position:
    """The position after `trades` (in the order given), and after the rug's liquidation at
    `crash_price_x` when both rug arguments are given."""
    pos = Position(method=method)
    for t in trades:
        apply(pos, t)
    if rug_tick is not None and crash_price_x is not None:
        pos.liquidate(crash_price_x)
    return pos


@dataclass(frozen=True, slots=True)
class SideBet:
    """A side bet: stake `amount_sol` on the rug within [start_tick, end_tick]."""

    start_tick: int
    end_tick: int
    amount_sol: float
    payout_x: float = SIDEBET_PAYOUT_X


def side_bet_pnl_sol(bet: SideBet, *, tick: int, rug_tick: int | None) -> float | None:
    """The bet's PnL as the leaderboard shows it at mark tick `tick`: +(payout_x - 1)·stake
    once the game rugged at or before its end tick, -stake once `tick` reached the end tick
    alive, else None (open, or not yet placed)."""
    if tick < bet.start_tick:
        return None
    if rug_tick is not None and tick >= rug_tick:
        if rug_tick <= bet.end_tick:
            return (bet.payout_x - 1) * bet.amount_sol
        return -bet.amount_sol
    if tick >= bet.end_tick:
        return -bet.amount_sol
    return None


def side_bets_pnl_sol(bets: Iterable[SideBet], *, tick: int, rug_tick: int | None) -> float:
    """Sum of `side_bet_pnl_sol` over the resolved bets (0 when none is)."""
    total = 0.0
    for b in bets:
        v = side_bet_pnl_sol(b, tick=tick, rug_tick=rug_tick)
        if v is not None:
            total += v
    return total
