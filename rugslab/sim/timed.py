"""Simulated lakes with receive times, where the truth about timing and the hazard is known.

For tests and power studies of `rugslab.analysis`: `simulate_timed_lake` returns `games` and
`ticks` frames shaped like the lake's tables (the columns the analyses read), drawn from a model
whose parameters are the ground truth.

The model, per game and tick t = 1, 2, ...:
- a latent load s_t follows a stationary AR(1): s_t = φ·s_{t-1} + √(1-φ²)·ε_t, s ~ N(0, 1);
- the receive interval of tick t is NOMINAL_TICK_MS · exp(σ·s_t + τ·η_t) ms (η_t ~ N(0, 1):
  receiver jitter), with probability `stall_prob` replaced by a stall of `stall_ms`;
- the game rugs at tick t with probability h_t, logit h_t = logit(p) + log(odds_ratio)·s_{t-1}:
  the load known before the draw at t moves the hazard; `odds_ratio` 1 is the published
  constant hazard p, and then rug ticks are Geometric(p) as in `rugslab.sim.montecarlo`.
Games are independent; a game started at tick 0 and watched until its rug, or joined mid-way
(`first_live_tick` uniform on 1..`max_join_tick` for a `late_share` of games, kept only when
still running then: left truncation, as a receiver sees them).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
from scipy import special

from rugslab.errors import ConfigError
from rugslab.feed.rules import MAX_TICKS, NOMINAL_TICK_MS, RUG_PROB_PER_TICK

START = datetime(2026, 1, 1, tzinfo=UTC)


def simulate_timed_lake(
    n_games: int,
    *,
    odds_ratio: float = 1.0,
    p: float = RUG_PROB_PER_TICK,
    phi: float = 0.9,
    sigma: float = 0.1,
    tau: float = 0.03,
    stall_prob: float = 0.0,
    stall_ms: float = 20_000.0,
    late_share: float = 0.0,
    max_join_tick: int = 200,
    seed: int = 0,
    start: datetime = START,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Simulate `n_games` games with receive times and a hazard driven by the latent load.

    Args:
        n_games: games to draw (fewer are returned when `late_share` drops some).
        odds_ratio: exp(β): the change in the odds of a rug per SD of the latent load.
        p: the hazard at average load; phi, sigma, tau: the load's persistence, its effect on
            the log interval, and the receiver's jitter; stall_prob, stall_ms: stalls.
        late_share, max_join_tick: left truncation (see the module docstring).
        seed: seed of `np.random.default_rng`; start: receive time of the first game's tick 0
            (games follow one another with 15 s between them).

    Returns:
        (games, ticks). games: `game_id`, `first_live_tick` (Int32), `last_live_tick` (the
        tick before the rug), `rug_tick` (null when the game reached MAX_TICKS), `rugged`,
        `start_ts`. ticks: `game_id`, `tick` (Int32, first_live_tick..rug tick), `recv_ts`
        (UTC), `price_x` (1.0: prices are not modelled), `is_rug`, `source` ("live").

    Raises:
        ConfigError: n_games < 1, odds_ratio ≤ 0, p or late_share outside their range.
    """
    if n_games < 1 or odds_ratio <= 0 or not 0 < p < 1 or not 0 <= late_share <= 1:
        raise ConfigError(f"Invalid simulation: n_games={n_games}, odds_ratio={odds_ratio}, "
                          f"p={p}, late_share={late_share}: need n ≥ 1, odds ratio > 0, "
                          "0 < p < 1, 0 ≤ late_share ≤ 1.")
    rng = np.random.default_rng(seed)
    beta, base = math.log(odds_ratio), float(special.logit(p))
    load = rng.standard_normal(n_games)  # s_0
    alive = np.ones(n_games, bool)
    rug = np.full(n_games, -1, np.int64)
    steps: list[np.ndarray] = []  # per tick t ≥ 1: intervals (NaN once rugged)
    noise = math.sqrt(1.0 - phi * phi)
    for t in range(1, MAX_TICKS + 1):
        if not alive.any():
            break
        h = special.expit(base + beta * load)
        rugs = alive & (rng.random(n_games) < h)
        rug[rugs] = t
        load = phi * load + noise * rng.standard_normal(n_games)
        ms = NOMINAL_TICK_MS * np.exp(sigma * load + tau * rng.standard_normal(n_games))
        ms = np.where(rng.random(n_games) < stall_prob, stall_ms, ms)
        steps.append(np.where(alive, ms, np.nan))  # the rug frame arrives too
        alive &= ~rugs
    iv = np.column_stack(steps) if steps else np.zeros((n_games, 0))
    entry = np.where(rng.random(n_games) < late_share,
                     rng.integers(1, max_join_tick + 1, n_games), 0)
    last = np.where(rug > 0, rug, iv.shape[1])
    keep = last > entry
    g = np.flatnonzero(keep)
    ids = np.array([f"{(start + timedelta(days=int(i) // 5000)):%Y%m%d}-{int(i):016x}"
                    for i in g])
    start_us = np.int64(start.timestamp() * 1e6) + (g * 15_000_000).astype(np.int64)
    arrival = np.concatenate([np.zeros((g.size, 1)), np.nancumsum(iv[g], axis=1)], axis=1)
    tick = np.arange(arrival.shape[1])
    seen = (tick >= entry[g][:, None]) & (tick <= last[g][:, None])
    row, col = np.nonzero(seen)
    ticks = pl.DataFrame({
        "game_id": ids[row], "tick": col.astype(np.int32),
        "recv_ts": pl.Series(start_us[row] + (arrival[row, col] * 1000).astype(np.int64))
        .cast(pl.Datetime("us", "UTC")),
        "price_x": np.ones(row.size), "is_rug": col == rug[g][row],
        "source": np.full(row.size, "live"),
    })
    games = pl.DataFrame({
        "game_id": ids, "first_live_tick": entry[g].astype(np.int32),
        "last_live_tick": np.where(rug[g] > 0, last[g] - 1, last[g]).astype(np.int32),
        "rug_tick": pl.Series(np.where(rug[g] > 0, rug[g], -1).astype(np.int32)),
        "rugged": rug[g] > 0,
        "start_ts": pl.Series(start_us).cast(pl.Datetime("us", "UTC")),
    }).with_columns(pl.col("rug_tick").replace(-1, None))
    return games, ticks
