"""Compiled (numba) replay: the same ARC4 stream and price path as `rugslab.fair.game`, fast.

Bit for bit equal to the plain-Python reference (`rugslab.fair.seedrandom`,
`rugslab.fair.game.replay_game`); `tests/fair/test_fast.py` checks this on the captures, the
golden vectors and many hypothesis-drawn seeds. Use this module for bulk work (verifying a
lake, statistics over replayed games); read the reference to audit the algorithm.

Integer arithmetic replaces seedrandom's double arithmetic where it is exact: a draw's
numerator stays below 2^60 and is a multiple of 256 before the final shifts, so int64 holds
it exactly and `>> 1` equals JavaScript's `n / 2`.

The first call compiles the kernels (a few seconds; cached on disk in `__pycache__`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from rugslab.fair.game import GamePath, check_version, seed_string
from rugslab.fair.seedrandom import utf16_units
from rugslab.feed.rules import (
    BIG_MOVE_CHANCE,
    BIG_MOVE_MAX,
    BIG_MOVE_MIN,
    DRIFT_MAX,
    DRIFT_MIN,
    GOD_CANDLE_CHANCE,
    GOD_CANDLE_MAX_PRICE,
    GOD_CANDLE_MOVE,
    MAX_TICKS,
    RUG_PROB_PER_TICK,
    START_PRICE,
    VOLATILITY_ROOT_CAP,
    VOLATILITY_SCALE,
)

_VERSION_CODES = {"v1": 1, "v2": 2, "v3": 3}
_SIGNIFICANCE = 1 << 52
_OVERFLOW = 1 << 53
_START_DENOM = float(1 << 48)


@numba.njit(cache=True, nogil=True)
def _init_state(units: np.ndarray, start: int, stop: int, st: np.ndarray) -> None:
    """mixkey + ARC4 key schedule + drop[256] into `st`.

    Layout of `st`: S in st[0:256], i = st[256], j = st[257].
    """
    key = np.zeros(256, np.int64)
    n = stop - start
    smear = 0
    for j in range(n):
        slot = j & 255
        if j >= 256:
            smear ^= key[slot] * 19
        key[slot] = (smear + np.int64(units[start + j])) & 255
    keylen = min(n, 256)
    if keylen == 0:
        keylen = 1  # seedrandom: an empty key becomes [0]
    for i in range(256):
        st[i] = i
    j = 0
    for i in range(256):
        t = st[i]
        j = (j + key[i % keylen] + t) & 255
        st[i] = st[j]
        st[j] = t
    st[256] = 0
    st[257] = 0
    _bytes(st, 256)


@numba.njit(cache=True, nogil=True, inline="always")
def _bytes(st: np.ndarray, count: int) -> int:
    """`arc4.g(count)` for count ≤ 7 (or any count when only the side effect matters)."""
    i = st[256]
    j = st[257]
    r = 0
    for _ in range(count):
        i = (i + 1) & 255
        t = st[i]
        j = (j + t) & 255
        st[i] = st[j]
        st[j] = t
        r = ((r << 8) + st[(st[i] + t) & 255]) & 0x7FFFFFFFFFFFFFFF
    st[256] = i
    st[257] = j
    return r


@numba.njit(cache=True, nogil=True)
def _draw(st: np.ndarray) -> float:
    """One seedrandom double in [0, 1)."""
    n = _bytes(st, 6)
    d = _START_DENOM
    x = 0
    while n < _SIGNIFICANCE:
        n = (n + x) << 8
        d *= 256.0
        x = _bytes(st, 1)
    while n >= _OVERFLOW:
        n >>= 1
        d /= 2.0
        x >>= 1
    return float(n + x) / d


@numba.njit(cache=True, nogil=True)
def _run_game(st: np.ndarray, version: int, max_ticks: int, buf: np.ndarray, keep: bool):
    """Draw one game from a fresh state; write prices to `buf` if `keep`.

    Returns (total_ticks, rugged, peak).
    """
    price = START_PRICE
    peak = price
    if keep:
        buf[0] = price
    n = 1
    rugged = False
    for _ in range(max_ticks):
        if _draw(st) < RUG_PROB_PER_TICK:
            rugged = True
            break
        if version == 3 and _draw(st) < GOD_CANDLE_CHANCE and price <= GOD_CANDLE_MAX_PRICE:
            price = price * GOD_CANDLE_MOVE
        else:
            if _draw(st) < BIG_MOVE_CHANCE:
                size = BIG_MOVE_MIN + _draw(st) * (BIG_MOVE_MAX - BIG_MOVE_MIN)
                change = size if _draw(st) > 0.5 else -size
            else:
                drift = DRIFT_MIN + _draw(st) * (DRIFT_MAX - DRIFT_MIN)
                root = np.sqrt(price)
                capped = root if version == 1 else min(VOLATILITY_ROOT_CAP, root)
                volatility = VOLATILITY_SCALE * capped
                change = drift + volatility * (2.0 * _draw(st) - 1.0)
            price = price * (1.0 + change)
            if price < 0.0:
                price = 0.0
        if keep:
            buf[n] = price
        n += 1
        if price > peak:
            peak = price
    return n - 1, rugged, peak


@numba.njit(cache=True, nogil=True)
def _replay_batch(units, starts, versions, max_ticks, keep):
    """Replay every game; returns (total_ticks, rugged, peak, prices_flat, offsets)."""
    n_games = starts.shape[0] - 1
    total = np.empty(n_games, np.int32)
    rugged = np.empty(n_games, np.bool_)
    peak = np.empty(n_games, np.float64)
    offsets = np.zeros(n_games + 1, np.int64)
    cap = max(1024, n_games * 256) if keep else 1
    flat = np.empty(cap, np.float64)
    buf = np.empty(max_ticks + 1, np.float64)
    st = np.empty(258, np.int64)
    pos = 0
    for g in range(n_games):
        _init_state(units, starts[g], starts[g + 1], st)
        t, r, p = _run_game(st, versions[g], max_ticks, buf, keep)
        total[g] = t
        rugged[g] = r
        peak[g] = p
        if keep:
            m = t + 1
            if pos + m > cap:
                while pos + m > cap:
                    cap *= 2
                grown = np.empty(cap, np.float64)
                grown[:pos] = flat[:pos]
                flat = grown
            flat[pos : pos + m] = buf[:m]
            pos += m
        offsets[g + 1] = pos
    return total, rugged, peak, flat[:pos], offsets


@numba.njit(cache=True, nogil=True)
def _draws(units, n):
    st = np.empty(258, np.int64)
    _init_state(units, 0, units.shape[0], st)
    out = np.empty(n, np.float64)
    for k in range(n):
        out[k] = _draw(st)
    return out


@dataclass(frozen=True, slots=True)
class ReplayBatch:
    """Results of `replay_games`, one entry per input game, as numpy arrays.

    Attributes:
        total_ticks: int32[n], `len(prices) - 1` per game.
        rugged: bool[n], False only for games that hit the tick cap.
        peak_multiplier: float64[n], the path maximum.
        prices: float64[sum(total_ticks + 1)], all paths back to back (empty when the batch
            was run with `with_prices=False`).
        offsets: int64[n + 1]; game i's prices are `prices[offsets[i]:offsets[i + 1]]`.
    """

    total_ticks: np.ndarray
    rugged: np.ndarray
    peak_multiplier: np.ndarray
    prices: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return int(self.total_ticks.shape[0])

    def path(self, i: int) -> GamePath:
        """Game `i` as a `GamePath`.

        Raises:
            ValueError: the batch was run with `with_prices=False`.
        """
        if self.offsets[-1] == 0 and len(self):
            raise ValueError("this batch holds no prices; run replay_games(..., with_prices=True)")
        return GamePath(
            prices=self.prices[self.offsets[i] : self.offsets[i + 1]].tolist(),
            peak_multiplier=float(self.peak_multiplier[i]),
            rugged=bool(self.rugged[i]),
            total_ticks=int(self.total_ticks[i]),
        )


def replay_games(
    server_seeds: Sequence[str],
    game_ids: Sequence[str],
    versions: Sequence[str] | str = "v3",
    *,
    max_ticks: int = MAX_TICKS,
    with_prices: bool = True,
) -> ReplayBatch:
    """Replay many games in one compiled call (one core).

    Args:
        server_seeds: revealed seeds, one per game.
        game_ids: game ids, same length as `server_seeds`.
        versions: one version for all games, or one per game ("v1", "v2", "v3").
        max_ticks: tick cap (5000 on the server).
        with_prices: False to compute only total_ticks / rugged / peak (faster, no paths).

    Returns:
        A `ReplayBatch`, equal game by game to `rugslab.fair.game.replay_game`.

    Raises:
        FairnessError: a version is not v1/v2/v3.
        ValueError: the sequences differ in length.
    """
    n = len(server_seeds)
    if len(game_ids) != n:
        raise ValueError(
            f"game_ids has {len(game_ids)} entries, server_seeds has {n}: pass one per game"
        )
    if isinstance(versions, str):
        codes = np.full(n, _VERSION_CODES[check_version(versions)], np.int64)
    else:
        if len(versions) != n:
            raise ValueError(
                f"versions has {len(versions)} entries, server_seeds has {n}: pass one per game"
            )
        codes = np.array(
            [
                _VERSION_CODES[check_version(v, game_id=g)]
                for v, g in zip(versions, game_ids, strict=True)
            ],
            dtype=np.int64,
        )
    keys = [seed_string(s, g) for s, g in zip(server_seeds, game_ids, strict=True)]
    units = utf16_units("".join(keys))
    starts = np.zeros(n + 1, np.int64)
    if n:
        np.cumsum([len(k.encode("utf-16-le", "surrogatepass")) // 2 for k in keys], out=starts[1:])
    total, rugged, peak, flat, offsets = _replay_batch(
        units, starts, codes, int(max_ticks), with_prices
    )
    return ReplayBatch(total, rugged, peak, flat, offsets)


def replay_game_fast(
    server_seed: str, game_id: str, version: str = "v3", *, max_ticks: int = MAX_TICKS
) -> GamePath:
    """`rugslab.fair.game.replay_game`, compiled. Same arguments, same result, same errors."""
    check_version(version, game_id=game_id)
    return replay_games([server_seed], [game_id], version, max_ticks=max_ticks).path(0)


def seedrandom_draws(seed: str, n: int) -> np.ndarray:
    """The first `n` doubles of `seedrandom(seed)`, compiled (float64[n])."""
    return _draws(utf16_units(seed), int(n))
