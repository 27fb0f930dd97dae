"""The backtest engine: a Strategy places at most one order per game; bankroll kept exactly.

Games come as a "game paths" frame, one row per game in play order, from the lake
(`game_paths_from_lake`) or from simulations (`game_paths_from_rug_ticks`, or any frame with
the same columns, e.g. from `rugslab.sim.montecarlo`):

    game_id     str
    rug_tick    Int (null: no rug within the known path)
    first_tick  Int, the first tick the path is known from (a strategy cannot act before it)
    last_tick   Int, the last tick known alive (rug_tick - 1 when rugged)
    ended       bool, the path is complete: rugged, or ran to the cap without a rug
    prices      List[Float64] (optional; needed by trading orders): price_x per tick
                0..last_tick, null where the tick was not recorded

Orders and their resolution (no fees: the house edge is in the generator's drift and rug):
- `SideBetOrder(start_tick, stake_sol)`: placed only if the game is alive and observed at
  start_tick; wins iff rug_tick ≤ start_tick + 40 (`sidebet.sidebet_outcome`); a win adds
  stake·(payout_x - 1), a loss takes the stake. A bet whose outcome the path cannot tell
  (censored before the window ends) is not placed.
- `TradeOrder(stake_sol, entry_tick, entry_price_x, exit_multiple, exit_tick)`: buys at the
  first recorded tick ≥ entry_tick whose price ≥ entry_price_x (when given); sells at the first
  later recorded tick whose price ≥ entry·exit_multiple or whose tick ≥ exit_tick, at that
  tick's price; the rug wipes the position (value 0); at the cap it sells at the last price.

Orders that cannot be placed are recorded in `BacktestResult.skipped` with a reason; no money
moves for them. `RiskLimits` clip stakes and stop the run (max stake, max consecutive losses,
drawdown breaker, ruin floor).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from rugslab.analysis._frames import require_columns, require_positive
from rugslab.errors import ConfigError
from rugslab.feed.rules import MAX_TICKS, SIDEBET_PAYOUT_X, SIDEBET_WINDOW_TICKS

PATH_COLUMNS = ("game_id", "rug_tick", "first_tick", "last_tick", "ended")


@dataclass(frozen=True, slots=True)
class GameView:
    """What a strategy may see of a game before placing its order (plus `extra` columns)."""

    index: int
    game_id: str
    first_tick: int
    prices: np.ndarray | None = None  # NaN where not recorded; use only ticks ≤ the decision
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Account:
    """The bankroll state before a game (amounts in SOL)."""

    bankroll_sol: float
    start_sol: float
    peak_sol: float
    n_bets: int = 0
    consecutive_losses: int = 0
    consecutive_wins: int = 0
    last_stake_sol: float | None = None
    last_won: bool | None = None


@dataclass(frozen=True, slots=True)
class SideBetOrder:
    """A side bet: `stake_sol` SOL placed at `start_tick`, covering ticks start..start+40."""

    start_tick: int
    stake_sol: float


@dataclass(frozen=True, slots=True)
class TradeOrder:
    """A long position of `stake_sol` SOL; entry and exit rules as in the module docstring
    (`TradeOrder(stake_sol, entry_tick, entry_price_x, exit_multiple, exit_tick)`)."""

    stake_sol: float
    entry_tick: int = 0
    entry_price_x: float | None = None
    exit_multiple: float | None = None
    exit_tick: int | None = None


Order = SideBetOrder | TradeOrder


class Strategy(Protocol):
    """A betting rule: at most one order per game, decided from the view and the account."""

    name: str

    def order(self, game: GameView, account: Account) -> Order | None:
        """The order for this game, or None to sit it out."""
        ...


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits the engine enforces whatever the strategy asks.

    Attributes:
        max_stake_sol: stakes above are clipped to it.
        max_consecutive_losses: stop after this many losses in a row.
        max_drawdown: stop when (peak - bankroll) / peak reaches this fraction.
        min_bankroll_sol: stop (ruin) when the bankroll is at or below it.
    """

    max_stake_sol: float | None = None
    max_consecutive_losses: int | None = None
    max_drawdown: float | None = None
    min_bankroll_sol: float = 0.0


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """`bets`: one row per placed order; `bankroll`: one row per game played (after it);
    `skipped`: orders not placed, with `reason`; `stop_reason`: why the run ended early."""

    strategy: str
    start_sol: float
    final_sol: float
    bets: pl.DataFrame
    bankroll: pl.DataFrame
    skipped: pl.DataFrame
    stop_reason: str | None


def game_paths_from_rug_ticks(rug_ticks: ArrayLike, *, game_ids: list[str] | None = None,
                              max_ticks: int = MAX_TICKS) -> pl.DataFrame:
    """Game paths for simulated games known by their rug tick only (no prices).

    Args:
        rug_ticks: feed-convention rug ticks (≥ 1); ≤ 0 or NaN = ran to the cap unrugged.
    """
    t = np.asarray(rug_ticks, dtype=float)
    rugged = ~np.isnan(t) & (t > 0)
    ids = game_ids if game_ids is not None else [f"sim-{i:07d}" for i in range(t.size)]
    return pl.DataFrame({
        "game_id": ids,
        "rug_tick": pl.Series([int(v) if r else None for v, r in zip(t, rugged, strict=True)],
                              dtype=pl.Int64),
        "first_tick": np.zeros(t.size, dtype=np.int64),
        "last_tick": np.where(rugged, np.nan_to_num(t) - 1, max_ticks).astype(np.int64),
        "ended": np.ones(t.size, dtype=bool),
    })


def game_paths_from_price_arrays(paths: list[np.ndarray], *, max_ticks: int = MAX_TICKS
                                 ) -> pl.DataFrame:
    """Game paths with prices from whole simulated paths (`rugslab.sim.montecarlo.
    simulate_paths` or `rugslab.fair.game.GamePath.prices`): prices for ticks 0..N; the game
    rugged at N + 1 unless N reached `max_ticks`."""
    last = np.array([len(p) - 1 for p in paths], dtype=np.int64)
    rugged = last < max_ticks
    return pl.DataFrame({
        "game_id": [f"sim-{i:07d}" for i in range(len(paths))],
        "rug_tick": pl.Series([int(n) + 1 if r else None for n, r in zip(last, rugged,
                                                                           strict=True)],
                              dtype=pl.Int64),
        "first_tick": np.zeros(len(paths), dtype=np.int64),
        "last_tick": last,
        "ended": np.ones(len(paths), dtype=bool),
        "prices": pl.Series([np.asarray(p, dtype=float).tolist() for p in paths],
                            dtype=pl.List(pl.Float64)),
    })


def game_paths_from_lake(games: pl.DataFrame, ticks: pl.DataFrame) -> pl.DataFrame:
    """Game paths from the lake's `games` and `ticks`, in `start_ts` (then game_id) order.

    `first_tick` is the first recorded tick, `last_tick` the last non-rug recorded tick,
    `ended` whether the game's rug was seen; `prices` lists price_x for ticks 0..last_tick
    with null for unrecorded ticks. Games without any non-rug tick are left out (no path).
    """
    require_columns(games, ("game_id", "rug_tick"), table="games")
    require_columns(ticks, ("game_id", "tick", "price_x", "is_rug"), table="ticks")
    alive = ticks.filter(~pl.col("is_rug")).select("game_id", pl.col("tick").cast(pl.Int64),
                                                   "price_x")
    spans = alive.group_by("game_id").agg(pl.col("tick").min().alias("first_tick"),
                                          pl.col("tick").max().alias("last_tick"))
    full = (
        spans.select("game_id", pl.int_ranges(0, pl.col("last_tick") + 1).alias("tick"))
        .explode("tick").join(alive, on=["game_id", "tick"], how="left")
        .sort("game_id", "tick").group_by("game_id", maintain_order=True)
        .agg(pl.col("price_x").alias("prices"))
    )
    order = ["start_ts", "game_id"] if "start_ts" in games.columns else ["game_id"]
    return (
        games.sort(order, nulls_last=True)
        .select("game_id", pl.col("rug_tick").cast(pl.Int64))
        .join(spans, on="game_id", how="inner", maintain_order="left")
        .join(full, on="game_id", how="left", maintain_order="left")
        .with_columns(pl.col("rug_tick").is_not_null().alias("ended"))
        .select(*PATH_COLUMNS, "prices")
    )


def _resolve_sidebet(o: SideBetOrder, row: Mapping[str, Any], payout_x: float,
                     window: int) -> tuple[str | None, bool, float, int]:
    """(skip reason, won, value returned per unit stake, resolution tick)."""
    rug, last = row["rug_tick"], row["last_tick"]
    if o.start_tick < row["first_tick"]:
        return "before observed", False, 0.0, o.start_tick
    if rug is not None and rug <= o.start_tick:
        return "rugged before start", False, 0.0, o.start_tick
    if rug is None and last < o.start_tick:
        return "unknown outcome" if not row["ended"] else "game over", False, 0.0, o.start_tick
    end = o.start_tick + window
    if rug is not None:
        won = rug <= end
        return None, won, payout_x if won else 0.0, rug if won else end
    if row["ended"] or last >= end:
        return None, False, 0.0, end
    return "unknown outcome", False, 0.0, o.start_tick


def _resolve_trade(o: TradeOrder, row: Mapping[str, Any]) -> tuple[str | None, bool, float,
                                                                   int, int]:
    """(skip reason, won, value per unit stake, entry tick, exit tick)."""
    prices = row.get("prices")
    if prices is None:
        raise ConfigError("A TradeOrder needs a `prices` column in the game paths; build them "
                          "with game_paths_from_lake or a Monte Carlo with prices.")
    p = np.asarray([math.nan if v is None else v for v in prices], dtype=float)
    ticks = np.arange(p.size)
    ok = ~np.isnan(p) & (ticks >= max(o.entry_tick, row["first_tick"]))
    if o.entry_price_x is not None:
        ok &= p >= o.entry_price_x
    if not ok.any():
        return "no entry", False, 0.0, -1, -1
    e = int(np.argmax(ok))
    after = ticks > e
    seen = ~np.isnan(p) & after
    hit = np.zeros(p.size, dtype=bool)
    if o.exit_multiple is not None:
        hit |= seen & (p >= p[e] * o.exit_multiple)
    if o.exit_tick is not None:
        hit |= seen & (ticks >= o.exit_tick)
    if hit.any():
        x = int(np.argmax(hit))
        value = p[x] / p[e]
        return None, value > 1.0, value, e, x
    if row["rug_tick"] is not None:
        return None, False, 0.0, e, int(row["rug_tick"])  # the rug wipes the position
    if row["ended"]:
        x = int(np.flatnonzero(~np.isnan(p))[-1])
        return None, p[x] > p[e], p[x] / p[e], e, x
    return "unknown outcome", False, 0.0, e, -1


def _stop_reason(acc: Account, limits: RiskLimits) -> str | None:
    if acc.bankroll_sol <= limits.min_bankroll_sol:
        return "ruin"
    if (limits.max_consecutive_losses is not None
            and acc.consecutive_losses >= limits.max_consecutive_losses):
        return "max consecutive losses"
    if (limits.max_drawdown is not None and acc.peak_sol > 0
            and (acc.peak_sol - acc.bankroll_sol) / acc.peak_sol >= limits.max_drawdown):
        return "drawdown breaker"
    return None


def run_backtest(
    paths: pl.DataFrame,
    strategy: Strategy,
    *,
    bankroll_sol: float,
    limits: RiskLimits | None = None,
    payout_x: float = SIDEBET_PAYOUT_X,
    window: int = SIDEBET_WINDOW_TICKS,
) -> BacktestResult:
    """Play `strategy` over `paths` (in row order) from `bankroll_sol`.

    Returns:
        A `BacktestResult`. `bets` columns: `game_index`, `game_id`, `kind` ("sidebet" or
        "trade"), `tick` (start / entry), `resolved_tick` (rug, window end or exit), `stake_sol`,
        `clipped` (stake cut by a limit or the bankroll), `won`, `payout_sol` (money returned),
        `profit_sol`, `bankroll_before_sol`, `bankroll_after_sol`. `bankroll`: `game_index`,
        `game_id`, `bankroll_sol` (after the game; games after a stop are not played).

    Raises:
        SchemaViolation: `paths` lacks a column. ConfigError: bad bankroll or order.
    """
    require_columns(paths, PATH_COLUMNS, table="game_paths")
    require_positive("bankroll_sol", bankroll_sol)
    limits = limits or RiskLimits()
    acc = Account(bankroll_sol=bankroll_sol, start_sol=bankroll_sol, peak_sol=bankroll_sol)
    bets: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    path_rows: list[dict[str, Any]] = []
    stop = None
    extra_cols = [c for c in paths.columns if c not in (*PATH_COLUMNS, "prices")]
    for i, row in enumerate(paths.iter_rows(named=True)):
        stop = _stop_reason(acc, limits)
        if stop:
            break
        prices = row.get("prices")
        view = GameView(i, row["game_id"], row["first_tick"],
                        None if prices is None else np.array(prices, dtype=float),
                        {c: row[c] for c in extra_cols})
        o = strategy.order(view, acc)
        if o is not None:
            stake = min(o.stake_sol, acc.bankroll_sol)
            if limits.max_stake_sol is not None:
                stake = min(stake, limits.max_stake_sol)
            if isinstance(o, SideBetOrder):
                kind = "sidebet"
                reason, won, value, res_tick = _resolve_sidebet(o, row, payout_x, window)
                tick = o.start_tick
            elif isinstance(o, TradeOrder):
                kind = "trade"
                reason, won, value, tick, res_tick = _resolve_trade(o, row)
            else:
                raise ConfigError(f"Strategy {strategy.name!r} returned {o!r}: expected a "
                                  "SideBetOrder, a TradeOrder or None.")
            if not stake > 0:
                reason = reason or "zero stake"
            if reason:
                skipped.append({"game_index": i, "game_id": row["game_id"], "kind": kind,
                                "reason": reason})
            else:
                payout = stake * value
                after = acc.bankroll_sol - stake + payout
                bets.append({
                    "game_index": i, "game_id": row["game_id"], "kind": kind, "tick": tick,
                    "resolved_tick": res_tick, "stake_sol": stake,
                    "clipped": stake < o.stake_sol, "won": won, "payout_sol": payout,
                    "profit_sol": payout - stake, "bankroll_before_sol": acc.bankroll_sol,
                    "bankroll_after_sol": after,
                })
                acc = replace(
                    acc, bankroll_sol=after, peak_sol=max(acc.peak_sol, after),
                    n_bets=acc.n_bets + 1,
                    consecutive_losses=0 if won else acc.consecutive_losses + 1,
                    consecutive_wins=acc.consecutive_wins + 1 if won else 0,
                    last_stake_sol=stake, last_won=won,
                )
        path_rows.append({"game_index": i, "game_id": row["game_id"],
                          "bankroll_sol": acc.bankroll_sol})
    else:
        stop = _stop_reason(acc, limits)
    return BacktestResult(
        strategy=strategy.name, start_sol=bankroll_sol, final_sol=acc.bankroll_sol,
        bets=pl.DataFrame(bets, schema=_BET_SCHEMA),
        bankroll=pl.DataFrame(path_rows, schema={"game_index": pl.Int64, "game_id": pl.String,
                                                 "bankroll_sol": pl.Float64}),
        skipped=pl.DataFrame(skipped, schema={"game_index": pl.Int64, "game_id": pl.String,
                                              "kind": pl.String, "reason": pl.String}),
        stop_reason=stop,
    )


_BET_SCHEMA = {
    "game_index": pl.Int64, "game_id": pl.String, "kind": pl.String, "tick": pl.Int64,
    "resolved_tick": pl.Int64, "stake_sol": pl.Float64, "clipped": pl.Boolean,
    "won": pl.Boolean, "payout_sol": pl.Float64, "profit_sol": pl.Float64,
    "bankroll_before_sol": pl.Float64, "bankroll_after_sol": pl.Float64,
}
