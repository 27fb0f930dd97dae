"""GamePhase and the phase of one `gameStateUpdate` payload.

A game cycles COOLDOWN → PRESALE → ACTIVE → RUG, then a new `gameId` starts its cooldown.
Each phase is read from one payload alone (no state), so frames can be handled in any order.

Source: PROTOCOL.md, "Game cycle and how to detect each phase":

    phase     signs
    cooldown  a new gameId; cooldownTimer 15000 → 10100; allowPreRoundBuys=false;
              active/rugged absent or false
    presale   allowPreRoundBuys=true; timer 10000 → 100
    active    active=true, rugged=false, tickCount counts from 0, price = multiplier
    rug       rugged=true (active still true). Two frames: the first at tick N with the crash
              price, the second 0.3–5 s later with tickCount N+1…N+3 (its partialPrices window
              still ends at N)
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from rugslab.feed.payloads import shown


class GamePhase(Enum):
    """Phase of a game as shown by one `gameStateUpdate`."""

    COOLDOWN = "cooldown"
    PRESALE = "presale"
    ACTIVE = "active"
    RUG = "rug"


def _flag(payload: dict[str, Any], key: str) -> bool | None:
    """`payload[key]` as a bool: absent or null → False; any other non-bool → None (unusable)."""
    v = payload.get(key)
    if v is None:
        return False
    if v is True or v is False:
        return v
    return None


def no_phase_reason(payload: dict[str, Any], ctx: str) -> str:
    """Why `phase_of(payload)` is None, for a reject row: the first flag that is not a
    boolean (named with its value), else that the payload shows no phase."""
    for k in ("rugged", "active", "allowPreRoundBuys"):
        if _flag(payload, k) is None:
            return f"{ctx}.{k} {shown(payload[k])}: expected true/false"
    return f"{ctx}: no phase"


def phase_of(payload: Any) -> GamePhase | None:
    """The phase a `gameStateUpdate` payload shows, or None when it shows none.

    Args:
        payload: the event's payload (the last non-trace argument), normally a dict.

    Returns:
        RUG when `rugged` is true (whatever `active` says: the rug frames keep `active=true`);
        ACTIVE when `active` is true; PRESALE when `allowPreRoundBuys` is true; COOLDOWN when a
        `gameId` is present and none of these flags is set. None when `payload` is not a dict,
        when it names no game and shows no flag, or when one of the flags `rugged`, `active`,
        `allowPreRoundBuys` holds a non-boolean (e.g. the string "true"): such a payload
        cannot be placed and the assembler rejects it.

    Never raises.
    """
    if not isinstance(payload, dict):
        return None
    rugged = _flag(payload, "rugged")
    active = _flag(payload, "active")
    presale = _flag(payload, "allowPreRoundBuys")
    if rugged is None or active is None or presale is None:
        return None
    if rugged:
        return GamePhase.RUG
    if active:
        return GamePhase.ACTIVE
    if presale:
        return GamePhase.PRESALE
    if "gameId" in payload:
        return GamePhase.COOLDOWN
    return None


def rug_tick_of(tick_count: int, partial_end: int | None) -> int:
    """The rug tick a RUG frame shows: its `tickCount`, or its partialPrices `endTick` if lower.

    The second rug frame's `tickCount` has run on to N+1…N+3 while its `partialPrices`
    window still ends at the rug tick N (seen in every rug pair of the captures), so a
    receiver that missed the first rug frame still finds N. Over the frames of one game the
    rug tick is the minimum of these values, i.e. the first rug frame's `tickCount`.

    Args:
        tick_count: the frame's `tickCount` (int ≥ 0).
        partial_end: the frame's `partialPrices.endTick`, or None when absent.
    """
    if partial_end is not None and 0 <= partial_end < tick_count:
        return partial_end
    return tick_count
