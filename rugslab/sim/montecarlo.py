"""Vectorized Monte Carlo of rugs.fun games: the provably-fair process on numpy's Generator.

Same process as `rugslab.fair.game` (see its docstring), drawn from `np.random.Generator`
instead of seedrandom, so it needs no seeds and runs many games at once. Two exact
rewrites make it fast without changing the distribution:

- the rug draw is independent of the price, so a game's length is drawn up front:
  `total_ticks = min(Geometric(0.005) − 1, 5000)`, rugged iff the geometric draw ≤ 5000;
- games are sorted by length, so the games still running at tick t are a prefix of the
  arrays: each tick is a handful of numpy operations on a slice, no compaction.

Within a tick, the big-move and drift branches share the draws r₂, r₃ (only one branch is
used per game and tick, so each still sees independent uniforms).

Games are produced in chunks (`chunk_size` games at a time), so memory is bounded by one
chunk whatever `n` is. `tests/sim/test_montecarlo.py` checks the rug-tick, peak and price
distributions against exact replays (two-sample KS tests).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import polars as pl

from rugslab.errors import ConfigError
from rugslab.feed.rules import (
    BIG_MOVE_CHANCE,
    BIG_MOVE_MAX,
    BIG_MOVE_MIN,
    DRIFT_MAX,
    DRIFT_MIN,
    GAME_VERSIONS,
    GOD_CANDLE_CHANCE,
    GOD_CANDLE_MAX_PRICE,
    GOD_CANDLE_MOVE,
    MAX_TICKS,
    RUG_PROB_PER_TICK,
    VOLATILITY_ROOT_CAP,
    VOLATILITY_SCALE,
)

DEFAULT_CHUNK = 100_000
MAX_PATH_GAMES = 20_000


def _check(n: int, version: str, at_ticks: Sequence[int], chunk_size: int) -> tuple[int, ...]:
    if n < 0:
        raise ConfigError(f"Invalid n {n}: expected a number of games ≥ 0.")
    if version not in GAME_VERSIONS:
        raise ConfigError(
            f"Invalid version {version!r}: expected one of {', '.join(GAME_VERSIONS)}.")
    if chunk_size <= 0:
        raise ConfigError(f"Invalid chunk_size {chunk_size}: expected a positive number of games.")
    ticks = tuple(int(t) for t in at_ticks)
    bad = [t for t in ticks if not 0 <= t <= MAX_TICKS]
    if bad:
        raise ConfigError(f"Invalid at_ticks {bad}: ticks run from 0 to {MAX_TICKS}.")
    return ticks


def draw_game_lengths(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(total_ticks, rugged) of `n` games: total_ticks = min(Geometric(0.005) − 1, 5000) is the
    last tick with a price (int64); rugged is False for a game that ran to the cap. The feed's
    rug tick is total_ticks + 1."""
    k = rng.geometric(RUG_PROB_PER_TICK, size=n)  # the iteration (1-based) whose rug draw hits
    rugged = k <= MAX_TICKS
    return np.where(rugged, k - 1, MAX_TICKS).astype(np.int64), rugged


def step_prices(rng: np.random.Generator, price: np.ndarray, version: str) -> np.ndarray:
    """One tick of the price process for games alive at the next tick: the prices after it.

    Args:
        rng: the stream to draw from (3 uniforms per game, plus 1 for the god candle in v3).
        price: the games' prices now (float64, one per game; not modified).
        version: "v1", "v2" or "v3" (not checked here: callers check it once).

    The rug draw is not here: the game's length is drawn up front (`draw_game_lengths`), so
    only games still alive at the next tick step. `rugslab.strategy` steps the games a
    strategy watches with this same function, tick by tick.
    """
    m = price.shape[0]
    u = rng.random((3, m))
    r1, r2, r3 = u[0], u[1], u[2]
    big = r1 < BIG_MOVE_CHANCE
    size = BIG_MOVE_MIN + r2 * (BIG_MOVE_MAX - BIG_MOVE_MIN)
    root = np.sqrt(price)
    capped = root if version == "v1" else np.minimum(VOLATILITY_ROOT_CAP, root)
    vol = VOLATILITY_SCALE * capped
    change = np.where(
        big,
        np.where(r3 > 0.5, size, -size),
        DRIFT_MIN + r2 * (DRIFT_MAX - DRIFT_MIN) + vol * (2.0 * r3 - 1.0),
    )
    new = np.maximum(price * (1.0 + change), 0.0)
    if version == "v3":
        god = (rng.random(m) < GOD_CANDLE_CHANCE) & (price <= GOD_CANDLE_MAX_PRICE)
        if god.any():
            new = np.where(god, price * GOD_CANDLE_MOVE, new)
    return new


def _simulate_chunk(
    rng: np.random.Generator, n: int, version: str, at_ticks: tuple[int, ...], keep_paths: bool,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray] | None]:
    """(total_ticks, rugged, peak, price_at[len(at_ticks), n], paths or None) in input order.

    `lengths`: given total_ticks per game (the rug draws are then not made; rugged is True)."""
    if lengths is None:
        total, rugged = draw_game_lengths(rng, n)
    else:
        total, rugged = lengths.astype(np.int64), np.ones(n, bool)
    order = np.argsort(-total, kind="stable")
    length = total[order]
    price = np.ones(n)
    peak = np.ones(n)
    price_at = np.full((len(at_ticks), n), np.nan)
    slots = {t: [i for i, u in enumerate(at_ticks) if u == t] for t in set(at_ticks)}
    for i in slots.get(0, ()):
        price_at[i] = 1.0
    per_tick: list[np.ndarray] | None = (
        [] if keep_paths else None
    )  # prices of tick t+1, sorted order
    running = n
    # games[:running] have length ≥ t + 1: they draw a price for tick t + 1
    for t in range(int(length[0]) if n else 0):
        while running and length[running - 1] < t + 1:
            running -= 1
        m = running
        new = step_prices(rng, price[:m], version)
        price[:m] = new
        np.maximum(peak[:m], new, out=peak[:m])
        for i in slots.get(t + 1, ()):
            price_at[i, :m] = new
        if per_tick is not None:
            per_tick.append(new.copy())
    inverse = np.empty(n, np.int64)
    inverse[order] = np.arange(n)
    out_paths = None
    if per_tick is not None:
        flat = np.concatenate([np.ones(1), *per_tick])
        starts = np.concatenate([[1], 1 + np.cumsum([a.shape[0] for a in per_tick])])[:-1]
        out_paths = []
        for g in range(n):
            j = inverse[g]
            out_paths.append(np.concatenate([[1.0], flat[starts[: total[g]] + j]]))
    return total, rugged, peak[inverse], price_at[:, inverse], out_paths


def simulate_summaries(
    n: int,
    *,
    seed: int | np.random.SeedSequence | None = None,
    version: str = "v3",
    at_ticks: Sequence[int] = (),
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[pl.DataFrame]:
    """Simulate `n` games and yield their summaries, `chunk_size` games per frame.

    Args:
        n: number of games.
        seed: seed for `np.random.default_rng` (fixed seed + fixed chunk_size → same games).
        version: "v1", "v2" or "v3" (v3 adds god candles; v1 leaves volatility uncapped).
        at_ticks: ticks at which to report the price (null when the game rugged earlier).
        chunk_size: games per yielded frame; memory is O(chunk_size · (1 + len(at_ticks))).

    Yields:
        Frames with columns `game` (0..n−1, Int64), `total_ticks` (Int32, ticks drawn after
        tick 0), `rug_tick` (Int32, `total_ticks + 1`; null when the game hit the cap),
        `peak_x` (Float64), and `price_at_<t>_x` (Float64) per requested tick.

    Raises:
        ConfigError: negative n, unknown version, a tick outside 0..5000, chunk_size ≤ 0.
    """
    ticks = _check(n, version, at_ticks, chunk_size)
    rng = np.random.default_rng(seed)
    for lo in range(0, n, chunk_size):
        m = min(chunk_size, n - lo)
        total, rugged, peak, price_at, _ = _simulate_chunk(rng, m, version, ticks, False)
        cols: dict[str, pl.Series] = {
            "game": pl.Series(np.arange(lo, lo + m, dtype=np.int64)),
            "total_ticks": pl.Series(total.astype(np.int32)),
            "rug_tick": pl.Series((total + 1).astype(np.int32)).zip_with(
                pl.Series(rugged), pl.Series([None] * m, dtype=pl.Int32)
            ),
            "peak_x": pl.Series(peak),
        }
        for i, t in enumerate(ticks):
            cols[f"price_at_{t}_x"] = pl.Series(price_at[i], nan_to_null=True)
        yield pl.DataFrame(cols)


def simulate_paths(
    n: int, *, seed: int | np.random.SeedSequence | None = None, version: str = "v3"
) -> list[np.ndarray]:
    """Simulate `n` whole games (for small n): one float64 array of prices per game.

    Each array starts at 1.0 and holds `total_ticks + 1` prices, like
    `rugslab.fair.game.GamePath.prices`.

    Raises:
        ConfigError: n above 20,000 (use `simulate_summaries`), or as `simulate_summaries`.
    """
    _check(n, version, (), 1)
    if n > MAX_PATH_GAMES:
        raise ConfigError(
            f"Invalid n {n} for simulate_paths: at most {MAX_PATH_GAMES} games keep whole paths; "
            "use simulate_summaries for more."
        )
    rng = np.random.default_rng(seed)
    *_, paths = _simulate_chunk(rng, n, version, (), True)
    return paths or []


def simulate_peaks(
    total_ticks: Sequence[int] | np.ndarray,
    *,
    seed: int | np.random.SeedSequence | None = None,
    version: str = "v3",
    chunk_size: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """Peaks of games of given lengths: one simulated price path per entry of `total_ticks`.

    The rug draw is independent of the price (module docstring), so a game that rugged at tick
    T has the price path of T - 1 ticks of the process, whatever made it that long: this is the
    generator's peak conditional on the rug tick.

    Args:
        total_ticks: price ticks after tick 0 per game (rug tick - 1), each in 0..5000.

    Returns:
        float64 peaks (≥ 1.0), in the order of `total_ticks`.

    Raises:
        ConfigError: a length outside 0..5000, unknown version, chunk_size ≤ 0.
    """
    lengths = np.asarray(total_ticks, dtype=np.int64).reshape(-1)
    _check(lengths.size, version, (), chunk_size)
    if lengths.size and (lengths.min() < 0 or lengths.max() > MAX_TICKS):
        raise ConfigError(f"Invalid total_ticks: expected values in 0..{MAX_TICKS}.")
    rng = np.random.default_rng(seed)
    out = np.empty(lengths.size)
    for lo in range(0, lengths.size, chunk_size):
        part = lengths[lo:lo + chunk_size]
        out[lo:lo + part.size] = _simulate_chunk(rng, part.size, version, (), False, part)[2]
    return out
