"""What a paper run reads from one `gameStateUpdate`: game, phase, tick and prices.

The same sources of a tick's price as the lake's `ticks` table (`rugslab.assembly.ticks`):
the live `price` at `tickCount`, else the `partialPrices` window (the last 5 ticks, which
fills ticks a receiver missed), else a revealed `gameHistory[i].prices` path. A rug frame's
rug tick is `rugslab.feed.phases.rug_tick_of` (its `tickCount`, or its window's end when the
second rug frame has run on); its price is the crash price, not a price of the path.

Source: PROTOCOL.md, "Game cycle", "Prices per tick".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rugslab.assembly.ticks import parse_window
from rugslab.errors import FrameError
from rugslab.feed.frames import Frame
from rugslab.feed.payloads import as_dict, as_list, game_id, opt_price, price, req_int
from rugslab.feed.phases import GamePhase, no_phase_reason, phase_of, rug_tick_of
from rugslab.feed.rules import TICK_MAX

STATE_EVENT = "gameStateUpdate"


@dataclass(frozen=True, slots=True)
class StateObservation:
    """One `gameStateUpdate` as a paper run reads it.

    Attributes:
        game_id: the game; phase: its phase in this frame.
        tick: `tickCount` (active and rug frames; None otherwise).
        price_x: the price at `tick` (active frames; None when absent or on a rug frame).
        window: `partialPrices` values as (tick, price), ticks ≤ `tick`.
        rug_tick: on a rug frame, the rug tick it shows; None otherwise.
        history: the frame's `gameHistory` list (None when the frame has none).
        recv_ts_us: the frame's receive time (µs since the epoch, UTC; None unknown).
    """

    game_id: str
    phase: GamePhase
    tick: int | None
    price_x: float | None
    window: tuple[tuple[int, float], ...]
    rug_tick: int | None
    history: list[Any] | None
    recv_ts_us: int | None


def state_payload(frame: Frame) -> Any:
    """The payload of a `gameStateUpdate` frame (its decoded state fields when a reader left
    the rest undecoded), or None for any other event."""
    if frame.event != STATE_EVENT:
        return None
    return frame.state_fields if frame.state_fields is not None else frame.payload


def observe(frame: Frame) -> StateObservation | None:
    """The observation of a `gameStateUpdate` frame; None for other events.

    Raises:
        FrameError: the payload shows no phase, or a field the run needs is malformed (the
            reason names it, as the assembler's rejects do).
    """
    payload = state_payload(frame)
    if payload is None:
        return None
    ctx = STATE_EVENT
    payload = as_dict(payload, ctx)
    phase = phase_of(payload)
    if phase is None:
        raise FrameError(no_phase_reason(payload, ctx))
    gid = game_id(payload.get("gameId"), ctx)
    tick = live = rug = None
    window: list[tuple[int, float]] = []
    if phase in (GamePhase.ACTIVE, GamePhase.RUG):
        tick = req_int(payload, "tickCount", ctx, hi=TICK_MAX)
        end = None
        if payload.get("partialPrices") is not None:
            end, window, _ = parse_window(payload["partialPrices"], f"{ctx}.partialPrices")
        if phase is GamePhase.RUG:
            rug = rug_tick_of(tick, end)
        else:
            live = opt_price(payload, "price", ctx)
    history = payload.get("gameHistory")
    return StateObservation(
        gid, phase, tick, live, tuple((t, p) for t, p in window if tick is None or t <= tick),
        rug, history if isinstance(history, list) else None, frame.recv_ts_us)


def revealed_path(history: list[Any], gid: str) -> list[float] | None:
    """The price path of game `gid` in a `gameHistory` list: its `prices` with the crash price
    last (so the rug tick is `len - 1`); None when the game is not there, has no prices (the
    Feb 2026 era) or any of them is malformed."""
    for entry in history:
        if not isinstance(entry, dict) or entry.get("id") != gid:
            continue
        try:
            values = as_list(entry.get("prices"), f"gameHistory[{gid}].prices")
            path = [price(v, f"gameHistory[{gid}].prices", str(i)) for i, v in enumerate(values)]
        except FrameError:
            return None
        return path if 1 <= len(path) <= TICK_MAX + 1 else None
    return None
