"""Hand-built `gameStateUpdate` frames of whole games, shaped as in the Dec 2025 captures
(cooldown, presale, active ticks with a 5-tick `partialPrices` window, the two rug frames),
with ticks, rug frames or history left out on request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rugslab.feed.frames import Frame

T0_US = 1_765_584_000_000_000  # 2025-12-13 00:00 UTC
CRASH = 0.001


def gid(n: int) -> str:
    """Game id number `n` (valid: `YYYYMMDD-<16 hex>`)."""
    return f"20251213-{n:016x}"


class Clock:
    """Receive times 250 ms apart, and frame numbers."""

    def __init__(self) -> None:
        self.n = 0

    def frame(self, payload: dict[str, Any]) -> Frame:
        self.n += 1
        return Frame("gameStateUpdate", [payload], "test", recv_ts_us=T0_US + self.n * 250_000,
                     seq=self.n)


def window(prices: list[float], tick: int) -> dict[str, Any]:
    start = max(0, tick - 4)
    return {"startTick": start, "endTick": tick,
            "values": {str(t): prices[t] for t in range(start, tick + 1)}}


def game(clock: Clock, game_id: str, path: list[float], *, skip: Iterable[int] = (),
         rug_frames: bool = True, from_tick: int | None = None,
         history: list[dict[str, Any]] | None = None, cooldown: bool = True) -> list[Frame]:
    """The frames of a game whose price path is `path` (ticks 0..N-1) and that rugs at tick
    N = len(path): cooldown (with `history` as its `gameHistory` when given) and presale
    unless `cooldown` is False or `from_tick` is set (the receiver joined then), active
    frames but those in `skip`, and the two rug frames unless `rug_frames` is False."""
    out = []
    if cooldown and from_tick is None:
        first: dict[str, Any] = {"gameId": game_id, "cooldownTimer": 15000,
                                 "allowPreRoundBuys": False}
        if history is not None:
            first["gameHistory"] = history
        out.append(clock.frame(first))
        out.append(clock.frame({"gameId": game_id, "cooldownTimer": 5000,
                                "allowPreRoundBuys": True}))
    n = len(path)
    full = [*path, CRASH]
    skipped = set(skip)
    for t in range(from_tick or 0, n):
        if t in skipped:
            continue
        out.append(clock.frame({"gameId": game_id, "active": True, "rugged": False,
                                "tickCount": t, "price": path[t],
                                "partialPrices": window(full, t)}))
    if rug_frames:
        out.append(clock.frame({"gameId": game_id, "active": True, "rugged": True,
                                "tickCount": n, "price": CRASH, "partialPrices": window(full, n)}))
        out.append(clock.frame({"gameId": game_id, "active": True, "rugged": True,
                                "tickCount": n + 2, "price": CRASH,
                                "partialPrices": window(full, n)}))
    return out


def revealed(game_id: str, path: list[float]) -> dict[str, Any]:
    """A `gameHistory` entry revealing `game_id`'s path (the crash price last)."""
    return {"id": game_id, "prices": [*path, CRASH]}


def flat(n: int, **at: float) -> list[float]:
    """A path of `n` ticks at 1.0 but the ticks given as `t<tick>=price`."""
    p = [1.0] * n
    for k, v in at.items():
        p[int(k[1:])] = v
    return p
