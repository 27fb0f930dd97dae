"""The provably-fair price path of one rugs.fun game (v1, v2, v3): the plain-Python reference.

A game's whole path is fixed by its server seed: `seedrandom(serverSeed + "-" + gameId)` is
drawn from tick by tick. Tick 0 is the start price 1.0; then, for each tick, in this order:

1. draw r; r < 0.005 → the game rugs now (this tick gets no price from the generator);
2. v3 only: draw r; r < 0.00001 and price ≤ 100 → god candle, price × 10, skip 3–4
   (the draw is consumed on every v3 tick, even when price > 100);
3. draw r; r < 0.125 → big move of size 0.15 + r₂·0.10, up if r₃ > 0.5 else down;
4. otherwise drift −0.02 + r₂·0.05 plus volatility·(2r₃ − 1), volatility = 0.005·√price (v1)
   or 0.005·min(10, √price) (v2, v3);

new price = price·(1 + change), clamped at 0. At most 5000 ticks are drawn.

Tick arithmetic (checked against every revealed Dec 2025 game in `../shared/captures`): the
server's `gameHistory[].prices` is this path followed by ONE extra crash price, so the rug
tick the feed reports is `total_ticks + 1` = `len(prices)`.

Source: `../shared/PROTOCOL.md` ("Provably fair") and the public rugs.fun verifier.
`rugslab.fair.fast` is the compiled twin of `replay_game`, tested equal bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rugslab.errors import FairnessError
from rugslab.fair.seedrandom import SeedRandom
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
    START_PRICE,
    VOLATILITY_ROOT_CAP,
    VOLATILITY_SCALE,
)


@dataclass(frozen=True, slots=True)
class GamePath:
    """The generator's output for one game.

    Attributes:
        prices: multiplier per tick, `prices[0] == 1.0`, one entry per tick before the rug
            (the post-rug crash price is not generated and not included).
        peak_multiplier: `max(prices)`.
        rugged: False only when the game ran to the 5000-tick cap.
        total_ticks: `len(prices) - 1`.
    """

    prices: list[float]
    peak_multiplier: float
    rugged: bool
    total_ticks: int

    @property
    def rug_tick(self) -> int | None:
        """The tick the feed reports the rug at (`total_ticks + 1`), None when not rugged."""
        return self.total_ticks + 1 if self.rugged else None


def seed_string(server_seed: str, game_id: str) -> str:
    """The seedrandom key of a game: `serverSeed + "-" + gameId`."""
    return f"{server_seed}-{game_id}"


def check_version(version: str, *, game_id: str | None = None) -> str:
    """Return `version` if it is one of v1/v2/v3.

    Raises:
        FairnessError: any other value, naming it and the accepted ones.
    """
    if version not in GAME_VERSIONS:
        raise FairnessError(
            f"Invalid version {version!r}: expected one of {', '.join(GAME_VERSIONS)} "
            "(the game's provablyFair.version / gameVersion).",
            game_id=game_id,
        )
    return version


def next_price(price: float, rng: Callable[[], float], version: str) -> float:
    """One non-rug tick: the price after `price` (steps 2–4 of the module docstring).

    Args:
        price: the current multiplier (≥ 0).
        rng: a seedrandom stream; draws 2 or 3 values (v3: one more for the god candle).
        version: "v1", "v2" or "v3" (not checked here; see `check_version`).
    """
    if version == "v3" and rng() < GOD_CANDLE_CHANCE and price <= GOD_CANDLE_MAX_PRICE:
        return price * GOD_CANDLE_MOVE
    if rng() < BIG_MOVE_CHANCE:
        size = BIG_MOVE_MIN + rng() * (BIG_MOVE_MAX - BIG_MOVE_MIN)
        change = size if rng() > 0.5 else -size
    else:
        drift = DRIFT_MIN + rng() * (DRIFT_MAX - DRIFT_MIN)
        root = math.sqrt(price)
        capped = root if version == "v1" else min(VOLATILITY_ROOT_CAP, root)
        volatility = VOLATILITY_SCALE * capped
        change = drift + volatility * (2.0 * rng() - 1.0)
    new_price = price * (1.0 + change)
    return max(new_price, 0.0)


def replay_game(
    server_seed: str, game_id: str, version: str = "v3", *, max_ticks: int = MAX_TICKS
) -> GamePath:
    """Replay one game from its revealed server seed.

    Args:
        server_seed: the revealed seed (`gameHistory[].provablyFair.serverSeed`), any string.
        game_id: the game id, e.g. "20251207-e8186dbf38e046d1" (any string is accepted).
        version: "v1", "v2" or "v3".
        max_ticks: the tick cap (5000 on the server; lower only for experiments).

    Returns:
        The `GamePath`: prices from tick 0 up to the last tick before the rug.

    Raises:
        FairnessError: `version` is not v1/v2/v3.
    """
    check_version(version, game_id=game_id)
    rng = SeedRandom(seed_string(server_seed, game_id))
    price = START_PRICE
    prices = [price]
    peak = price
    rugged = False
    for _ in range(max_ticks):
        if rng() < RUG_PROB_PER_TICK:
            rugged = True
            break
        price = next_price(price, rng, version)
        prices.append(price)
        if price > peak:
            peak = price
    return GamePath(prices=prices, peak_multiplier=peak, rugged=rugged, total_ticks=len(prices) - 1)
