"""Built-in strategies and their registry (names, parameters with defaults and bounds).

    sidebet-fixed        a side bet of `stake` at `start_tick` in every game
    sidebet-martingale   the stake × `factor` after each loss, back to `base` after a win
    sidebet-kelly        `fraction` × the Kelly stake for a believed win probability `p_win`
    sidebet-due          bet only when the last 10 games averaged ≥ `threshold` ticks (the
                         gambler's fallacy: "a rug is due")
    trade-target         buy `stake` at `entry_tick`; sell at `target` × the entry price or at
                         `exit_tick`; the rug wipes the position

Ticks are decision ticks: a strategy decides at `start_tick` and its bet starts (or its buy
fills) `latency_ticks` later (`rugslab.strategy.engine`). `make_strategy(name, params)`
validates every parameter; `parse_params` reads the CLI's `k=v` texts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from rugslab.analysis.sidebet import rug_within_probability
from rugslab.errors import ConfigError
from rugslab.feed.rules import MAX_TICKS, SIDEBET_PAYOUT_X
from rugslab.strategy.protocol import CAPPED, CENSORED, NO_GAME, Decision, Strategy, TickView

#: P(win) of a side bet well below the cap under the published hazard: 1 − 0.995^40.
P_WIN_CONSTANT = float(rug_within_probability(0))


def kelly_fraction(p_win: float, payout_x: float = SIDEBET_PAYOUT_X) -> float:
    """Kelly fraction f* = (b·p − q)/b of a bet paying `payout_x`× the stake (b = payout − 1).

    At the published hazard, p = 0.1817 and f* = (5p − 1)/4 = −0.0229: negative, no bet."""
    b = payout_x - 1.0
    return (b * p_win - (1.0 - p_win)) / b


def _sidebet_at(view: TickView, start_tick: int, stake: float | np.ndarray) -> Decision:
    """The side-bet strategies' shape: wait until `start_tick`, then bet `stake` (a scalar or
    one per path; 0: no bet) and be done with the game."""
    now = view.tick >= start_tick
    return Decision(sidebet_sol=np.where(now, stake, 0.0), done=now, wait_until=start_tick)


@dataclass(frozen=True, slots=True)
class SidebetFixed:
    """A side bet of `stake` (SOL) decided at `start_tick` in every game."""

    start_tick: int = 10
    stake: float = 0.1
    name: str = "sidebet-fixed"

    def decide(self, view: TickView) -> Decision:
        """Wait until `start_tick`, then bet and be done with the game."""
        return _sidebet_at(view, self.start_tick, self.stake)


@dataclass(frozen=True, slots=True)
class SidebetMartingale:
    """Stake `base` × `factor`^k after k losses in a row (k capped at `max_steps`; 0: no
    cap), back to `base` after a win."""

    start_tick: int = 10
    base: float = 0.1
    factor: float = 2.0
    max_steps: int = 0
    name: str = "sidebet-martingale"

    def decide(self, view: TickView) -> Decision:
        """Wait until `start_tick`, then bet the progression's stake."""
        k = view.consecutive_losses
        if self.max_steps > 0:
            k = np.minimum(k, self.max_steps)
        return _sidebet_at(view, self.start_tick, self.base * self.factor ** k.astype(float))


@dataclass(frozen=True, slots=True)
class SidebetKelly:
    """Bet `fraction` × f* × cash when f* = kelly_fraction(`p_win`) > 0. The default p_win is
    the published one, whose f* < 0: this strategy then never bets (as it should)."""

    start_tick: int = 10
    fraction: float = 0.5
    p_win: float = P_WIN_CONSTANT
    name: str = "sidebet-kelly"

    def decide(self, view: TickView) -> Decision:
        """Wait until `start_tick`, then stake the Kelly share of the cash (or nothing)."""
        f = kelly_fraction(self.p_win)
        return _sidebet_at(view, self.start_tick,
                           self.fraction * f * view.cash_sol if f > 0 else 0.0)


@dataclass(frozen=True, slots=True)
class SidebetDue:
    """Bet `stake` at `start_tick` only when the last 10 games' mean rug tick ≥ `threshold`
    (and 10 games were seen); a capped game counts as 5000 ticks, a censored one (rug not
    recorded) is left out of the mean."""

    start_tick: int = 10
    stake: float = 0.1
    threshold: float = 250.0
    name: str = "sidebet-due"

    def decide(self, view: TickView) -> Decision:
        """Wait until `start_tick`, then bet where the recent games ran long."""
        recent = view.recent_rug_ticks
        seen = (recent != NO_GAME).all(axis=1)
        known = recent != CENSORED
        total = np.where(recent == CAPPED, MAX_TICKS, np.where(known, recent, 0)).sum(axis=1)
        count = known.sum(axis=1)
        mean = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
        bet = seen & (mean >= self.threshold)
        return _sidebet_at(view, self.start_tick, np.where(bet, self.stake, 0.0))


@dataclass(frozen=True, slots=True)
class TradeTarget:
    """Buy `stake` SOL at `entry_tick`; sell once the price is ≥ `target` × the entry price
    or the tick is ≥ `exit_tick` (0: no exit tick); the rug wipes what is still held."""

    entry_tick: int = 5
    stake: float = 0.1
    target: float = 2.0
    exit_tick: int = 0
    name: str = "trade-target"

    def decide(self, view: TickView) -> Decision:
        """Buy at the entry tick; then watch every tick for the exit signal."""
        t = view.tick
        after = t > self.entry_tick
        held, pending = view.position_open, view.order_pending
        hit = view.price >= view.position_entry_price * self.target  # NaN compares False
        if self.exit_tick > 0:
            hit |= t >= self.exit_tick
        sell = after & held & ~pending & hit
        return Decision(buy_sol=np.where(t == self.entry_tick, self.stake, 0.0), sell=sell,
                        done=after & ((~held & ~pending) | sell), wait_until=self.entry_tick)


@dataclass(frozen=True, slots=True)
class Param:
    """A strategy parameter: name, type (int or float), default, bounds and help."""

    name: str
    kind: type
    default: float
    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def check(self, value: object, strategy: str) -> float | int:
        """The value as this parameter's type, within bounds.

        Raises:
            ConfigError: naming the key, the value and what is allowed.
        """
        allowed = self.allowed()
        try:
            if self.kind is int:
                f = float(value)  # type: ignore[arg-type]
                if not f.is_integer():
                    raise ValueError
                v: float | int = int(f)
            else:
                v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as e:
            raise ConfigError(f"Invalid --param {self.name}={value!r} for {strategy}: "
                              f"expected {allowed}.") from e
        low = self.minimum
        bad = (not math.isfinite(v)
               or (low is not None and (v <= low if self.exclusive_minimum else v < low))
               or (self.maximum is not None and v > self.maximum))
        if bad:
            raise ConfigError(f"Invalid --param {self.name}={value!r} for {strategy}: "
                              f"expected {allowed}.")
        return v

    def allowed(self) -> str:
        """What values are allowed, in words."""
        kind = "a whole number" if self.kind is int else "a number"
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '≥'} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"≤ {self.maximum:g}")
        return kind + (" " + " and ".join(parts) if parts else "")


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """A registered strategy: its class, one-line summary and parameters."""

    name: str
    summary: str
    build: Callable[..., Strategy]
    params: tuple[Param, ...]


def _tick(name: str, default: int, help: str) -> Param:
    return Param(name, int, default, help, 0, MAX_TICKS)


def _sol(name: str, default: float, help: str) -> Param:
    return Param(name, float, default, help, 0.0, None, exclusive_minimum=True)


STRATEGIES: dict[str, StrategySpec] = {s.name: s for s in (
    StrategySpec("sidebet-fixed", "a fixed side bet at one tick of every game", SidebetFixed, (
        _tick("start_tick", 10, "tick at which to bet"),
        _sol("stake", 0.1, "stake (SOL)"))),
    StrategySpec("sidebet-martingale", "multiply the stake after each loss", SidebetMartingale, (
        _tick("start_tick", 10, "tick at which to bet"),
        _sol("base", 0.1, "first stake (SOL)"),
        Param("factor", float, 2.0, "stake multiplier after a loss", 1.0),
        Param("max_steps", int, 0, "cap on the losses counted (0: none)", 0))),
    StrategySpec("sidebet-kelly", "a fraction of the Kelly stake for a believed p_win",
                 SidebetKelly, (
                     _tick("start_tick", 10, "tick at which to bet"),
                     Param("fraction", float, 0.5, "share of the Kelly stake", 0.0, 1.0,
                           exclusive_minimum=True),
                     Param("p_win", float, P_WIN_CONSTANT, "believed win probability", 0.0,
                           1.0, exclusive_minimum=True))),
    StrategySpec("sidebet-due", "bet only after long games (gambler's fallacy)", SidebetDue, (
        _tick("start_tick", 10, "tick at which to bet"),
        _sol("stake", 0.1, "stake (SOL)"),
        Param("threshold", float, 250.0, "mean rug tick of the last 10 games", 0.0))),
    StrategySpec("trade-target", "buy at a tick, sell at a multiple or a tick", TradeTarget, (
        _tick("entry_tick", 5, "tick at which to buy"),
        _sol("stake", 0.1, "SOL to buy with"),
        Param("target", float, 2.0, "sell at this multiple of the entry price", 0.0, None,
              exclusive_minimum=True),
        _tick("exit_tick", 0, "sell at this tick at the latest (0: none)"))),
)}


def strategy_spec(name: str) -> StrategySpec:
    """The registered strategy `name`.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    if name not in STRATEGIES:
        raise ConfigError(f"Unknown strategy {name!r}: expected one of "
                          f"{', '.join(STRATEGIES)} (rugslab backtest --list).")
    return STRATEGIES[name]


def make_strategy(name: str, params: Mapping[str, object] | None = None) -> Strategy:
    """Strategy `name` with `params` (others at their defaults).

    Raises:
        ConfigError: unknown strategy, unknown parameter (naming the allowed ones) or a value
            out of bounds.
    """
    spec = strategy_spec(name)
    known = {p.name: p for p in spec.params}
    values = {}
    for k, v in (params or {}).items():
        if k not in known:
            raise ConfigError(f"Unknown --param {k}={v!r} for {name}: expected one of "
                              f"{', '.join(known)}.")
        values[k] = known[k].check(v, name)
    return spec.build(**values)


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """`k=v` texts to a dict (values stay text; `make_strategy` checks them).

    Raises:
        ConfigError: a text without `=` or with an empty key.
    """
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"Invalid --param {pair!r}: expected KEY=VALUE, e.g. "
                              "--param stake=0.1.")
        out[key.strip()] = value.strip()
    return out


def describe_strategies() -> str:
    """The registry as text: each strategy, its summary and its parameters with defaults."""
    lines = []
    for spec in STRATEGIES.values():
        lines.append(f"{spec.name}: {spec.summary}")
        for p in spec.params:
            lines.append(f"    {p.name}={p.default:g}  {p.help} ({p.allowed()})")
    return "\n".join(lines)
